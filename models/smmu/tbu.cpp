#include "smmuv3tlm/models/smmu/tbu.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/event_queue.h"
#include "smmuv3tlm/models/smmu/tcu.h"
#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::smmu {

namespace {

// What the SMMU changes on a transaction's side-band (IHI 0070 chapter 13): the
// PRIVCFG/INSTCFG overrides (IDR1.ATTR_PERMS_OVR), the memory attributes the
// overrides and translation stages produced, and NS: every stream of this SMMU
// is Non-secure, and a Non-secure stream always outputs NS = 1 (§13.4.4).
struct SidebandChanges {
  std::uint8_t privcfg = 0;
  std::uint8_t instcfg = 0;
  MemoryAttributes attributes;

  bool any(const TranslationRequest& request, bool perms_overrides) const {
    return (perms_overrides && (privcfg >= 2 || instcfg >= 2)) || attributes != request.incoming || request.secure;
  }
};

// The side-band a downstream piece carries for the duration of the forwarded
// call: the upstream's extension as it is when the SMMU changed nothing;
// otherwise a copy with the changes (the initiator's own object is never
// written: it may be shared by transactions in flight), or, for a transaction
// that came without one, an extension describing it, so that the changed
// attributes reach the target. The piece's own extension is put back after.
class DownstreamSideband {
 public:
  DownstreamSideband(tlm::tlm_generic_payload& piece, tlm_ext::SidebandExtension* upstream,
                     const TranslationRequest& request, const SidebandChanges& changes, bool perms_overrides)
      : piece_(piece), previous_(piece.get_extension<tlm_ext::SidebandExtension>()) {
    if (!changes.any(request, perms_overrides)) {
      if (upstream != nullptr && previous_ != upstream) {
        piece_.set_extension(upstream);
        replaced_ = true;
      }
      return;
    }
    tlm_ext::SidebandExtension& local = upstream != nullptr ? local_.emplace(*upstream) : local_.emplace();
    if (upstream == nullptr) {
      local.stream_id = request.stream_id;
      local.privileged = request.privileged;
      local.instruction = request.instruction;
    }
    if (perms_overrides && changes.privcfg >= 2) local.privileged = changes.privcfg == 3;
    if (perms_overrides && changes.instcfg >= 2) local.instruction = changes.instcfg == 3 && piece.is_read();
    local.secure = false;
    local.memory_type = changes.attributes.type;
    local.shareability = static_cast<std::uint8_t>(changes.attributes.shareability);
    piece_.set_extension(&local);
    replaced_ = true;
  }
  ~DownstreamSideband() {
    if (!replaced_) return;
    if (previous_ != nullptr) {
      piece_.set_extension(previous_);
    } else {
      piece_.clear_extension<tlm_ext::SidebandExtension>();
    }
  }
  DownstreamSideband(const DownstreamSideband&) = delete;
  DownstreamSideband& operator=(const DownstreamSideband&) = delete;

 private:
  tlm::tlm_generic_payload& piece_;
  tlm_ext::SidebandExtension* previous_;
  std::optional<tlm_ext::SidebandExtension> local_;  // built only when something changed
  bool replaced_ = false;
};

SidebandChanges changes_of(const TranslationResult& result) {
  return SidebandChanges{result.privcfg, result.instcfg, result.attributes};
}

}  // namespace

Tbu::Tbu(const sc_core::sc_module_name& name, const TbuConfig& config, Tcu& tcu, EventQueue& events,
         tlm::tlm_initiator_socket<>& downstream)
    : sc_core::sc_module(name),
      upstream("upstream"),
      config_(config),
      tcu_(tcu),
      events_(events),
      downstream_(downstream),
      micro_tlb_(config.micro_tlb_entries) {
  upstream.register_b_transport(this, &Tbu::b_transport);
  upstream.register_get_direct_mem_ptr(this, &Tbu::get_direct_mem_ptr);
  upstream.register_transport_dbg(this, &Tbu::transport_dbg);
  registration_.add(
      this->name(), [this] { return stats::to_json(statistics()); }, [this] { clear_statistics(); });
  if (config_.mode == TimingMode::ApproximatelyTimed) {
    // Every access is timed: no DMI (it would bypass the pipeline).
    config_.dmi = false;
    upstream.register_nb_transport_fw(this, &Tbu::nb_transport_fw);
    const unsigned slots = std::max(1u, config_.at.tbu_outstanding);
    slot_memos_.resize(slots);
    slots_ = SlotPool(slots);
    requests_ = std::make_unique<tlm_utils::peq_with_get<tlm::tlm_generic_payload>>("requests");
    for (unsigned i = 0; i < slots; ++i) {
      sc_core::sc_spawn_options options;
      options.dont_initialize();
      options.set_sensitivity(&requests_->get_event());
      sc_core::sc_spawn([this] { serve_requests(); }, fmt::format("slot_{}", i).c_str(), &options);
    }
    registration_.add(
        std::string(this->name()) + ".at", [this] { return stats::to_json(timing_stats_); },
        [this] { timing_stats_ = TbuTimingStatistics{}; });
  }
}

TranslationRequest Tbu::request_for(const tlm::tlm_generic_payload& trans) const {
  TranslationRequest request;
  request.stream_id = config_.default_stream_id;
  request.address = trans.get_address();
  request.read = trans.get_command() != tlm::TLM_WRITE_COMMAND;
  if (const auto* ext = trans.get_extension<tlm_ext::SidebandExtension>()) {
    request.stream_id = ext->stream_id;
    request.ssv = ext->substream_valid;
    request.substream_id = ext->substream_id & tlm_ext::SidebandExtension::kSubstreamIdMask;
    request.privileged = ext->privileged;
    request.instruction = ext->instruction;
    request.secure = ext->secure;
    request.incoming.type = ext->memory_type;
    request.incoming.shareability = shareability_from_sh(ext->shareability);
  }
  return request;
}

// Loosely timed: the translation's cost is annotated on the caller's time.
struct Tbu::LooselyTimed {
  Tbu& tbu;
  sc_core::sc_time now(const sc_core::sc_time& delay) const { return delay; }
  TranslationResult translate(const TranslationRequest& request, sc_core::sc_time& delay) {
    TranslationResult result = tbu.tcu_.translate(request, tbu.memo_, &tbu.micro_tlb_);
    delay += tbu.config_.hit_latency;
    return result;
  }
  void synchronize(sc_core::sc_time&) {}
};

// Approximately timed: the micro-TLB lookup, the hop to the TCU and back, and
// the TCU's own stages are waited for, so concurrent transactions contend for
// the walk slots while hits go on (hit-under-miss).
struct Tbu::ApproximatelyTimed {
  Tbu& tbu;
  TranslationEngine::ContextMemo& memo;  // the transaction slot's own
  sc_core::sc_time now(const sc_core::sc_time& delay) const { return sc_core::sc_time_stamp() + delay; }
  TranslationResult translate(const TranslationRequest& request, sc_core::sc_time& delay) {
    synchronize(delay);
    const ApproximateTiming& at = tbu.config_.at;
    sc_core::wait(at.utlb_lookup);
    if (tbu.tcu_.engine().micro_tlb_lookup(request, tbu.micro_tlb_) != nullptr) {
      ++tbu.timing_stats_.micro_tlb_hits;
      return tbu.tcu_.translate(request, memo, &tbu.micro_tlb_);
    }
    sc_core::wait(at.tbu_to_tcu);
    TranslationResult result = tbu.tcu_.translate_timed(request, memo, &tbu.micro_tlb_, delay);
    sc_core::wait(at.tcu_to_tbu);
    return result;
  }
  void synchronize(sc_core::sc_time& delay) {
    if (delay == sc_core::SC_ZERO_TIME) return;
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
  }
};

void Tbu::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (config_.mode == TimingMode::LooselyTimed) {
    LooselyTimed timing{*this};
    if (observers_.empty()) {
      if (!micro_tlb_transport(trans, delay)) transport(trans, delay, timing, nullptr);
    } else {
      serve(trans, delay, timing);
    }
    return;
  }
  // A blocking caller takes a transaction slot as a BEGIN_REQ would.
  ++timing_stats_.blocking_requests;
  sc_core::wait(delay);
  delay = sc_core::SC_ZERO_TIME;
  const unsigned slot = slots_.take();
  note_outstanding();
  sc_core::wait(lookup_turn(sc_core::SC_ZERO_TIME));
  serve(trans, delay, ApproximatelyTimed{*this, slot_memos_[slot]});
  slots_.give_back(slot);
}

bool Tbu::micro_tlb_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  // The hit path (loosely timed, nobody observing): a whole transaction that
  // the micro-TLB answers goes downstream without the general loop's result,
  // splitting and fault handling; anything else returns false untouched.
  const unsigned length = trans.get_data_length();
  if (trans.get_command() == tlm::TLM_IGNORE_COMMAND || trans.get_streaming_width() < length || length == 0) {
    return false;
  }
  const TranslationRequest request = request_for(trans);
  TranslationEngine& engine = tcu_.engine();
  const TranslationEngine::MicroTlbEntry* entry = engine.micro_tlb_lookup(request, micro_tlb_);
  const std::uint64_t address = request.address;
  // Not answered or crossing the page: the general path.
  if (entry == nullptr || ((address + length - 1) ^ entry->input_base) >> entry->size_log2 != 0) return false;
  engine.count_micro_tlb_hit();
  ++stats_.transactions;
  ++stats_.translated;
  delay += config_.hit_latency;
  record_stream(request.stream_id, config_.hit_latency, length);
  trans.set_address(entry->output_base + (address - entry->input_base));
  const SidebandChanges changes{entry->privcfg, entry->instcfg, entry->attributes};
  if (changes.any(request, config_.attribute_overrides)) {
    DownstreamSideband sideband(trans, trans.get_extension<tlm_ext::SidebandExtension>(), request, changes,
                                config_.attribute_overrides);
    downstream_->b_transport(trans, delay);
  } else {
    downstream_->b_transport(trans, delay);
  }
  if (trans.is_dmi_allowed() && !config_.dmi) trans.set_dmi_allowed(false);
  trans.set_address(address);
  return true;
}

tlm::tlm_sync_enum Tbu::nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                        sc_core::sc_time& t) {
  if (phase == tlm::BEGIN_REQ) {
    ++timing_stats_.nb_requests;
    if (const std::optional<unsigned> slot = slots_.try_take()) {
      note_outstanding();
      accept_request(trans, *slot, t);
      phase = tlm::END_REQ;
      return tlm::TLM_UPDATED;
    }
    // Every slot is busy: END_REQ when one frees (the initiator sends no
    // other BEGIN_REQ meanwhile: the base protocol's request exclusion rule).
    if (deferred_ != nullptr) {
      SC_REPORT_ERROR(("smmu/" + std::string(name())).c_str(), (std::string(name()) +
                                        ": BEGIN_REQ before the END_REQ of the previous request (TLM-2.0 base "
                                        "protocol request exclusion rule); answered with a generic error")
                                           .c_str());
      trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return tlm::TLM_COMPLETED;
    }
    ++timing_stats_.deferred_requests;
    deferred_ = &trans;
    slots_.take_later([this](unsigned slot) {
      // The slot passes to the request waiting for its END_REQ.
      tlm::tlm_generic_payload& waiting = *deferred_;
      deferred_ = nullptr;
      accept_request(waiting, slot, sc_core::SC_ZERO_TIME);
      tlm::tlm_phase end_req = tlm::END_REQ;
      sc_core::sc_time zero = sc_core::SC_ZERO_TIME;
      upstream->nb_transport_bw(waiting, end_req, zero);
    });
    return tlm::TLM_ACCEPTED;
  }
  if (phase == tlm::END_RESP) {
    response_in_progress_ = false;
    response_ended_.notify(t);
    return tlm::TLM_COMPLETED;
  }
  SC_REPORT_ERROR(("smmu/" + std::string(name())).c_str(), (std::string(name()) + ": nb_transport_fw with phase " +
                                    phase.get_name() + ", which an initiator never sends (base protocol)")
                                       .c_str());
  return tlm::TLM_COMPLETED;
}

void Tbu::note_outstanding() {
  timing_stats_.peak_outstanding = std::max<std::uint64_t>(timing_stats_.peak_outstanding, slots_.busy());
}

void Tbu::accept_request(tlm::tlm_generic_payload& trans, unsigned slot, const sc_core::sc_time& delay) {
  slot_of_[&trans] = slot;
  requests_->notify(trans, lookup_turn(delay));
}

sc_core::sc_time Tbu::lookup_turn(const sc_core::sc_time& delay) {
  // The micro-TLB takes one lookup per utlb_lookup (gem5's utlb_slots = 1):
  // requests that arrive together are served in their order of arrival.
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time start = std::max(now + delay, next_lookup_);
  next_lookup_ = start + config_.at.utlb_lookup;
  return start - now;
}

void Tbu::serve_requests() {
  for (;;) {
    while (tlm::tlm_generic_payload* trans = requests_->get_next_transaction()) {
      const auto it = slot_of_.find(trans);
      const unsigned slot = it->second;
      slot_of_.erase(it);
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      serve(*trans, delay, ApproximatelyTimed{*this, slot_memos_[slot]});
      if (delay != sc_core::SC_ZERO_TIME) sc_core::wait(delay);
      // One response at a time on the socket (response exclusion rule).
      while (response_in_progress_) sc_core::wait(response_ended_);
      tlm::tlm_phase phase = tlm::BEGIN_RESP;
      sc_core::sc_time t = sc_core::SC_ZERO_TIME;
      const tlm::tlm_sync_enum status = upstream->nb_transport_bw(*trans, phase, t);
      if (status == tlm::TLM_ACCEPTED || (status == tlm::TLM_UPDATED && phase == tlm::BEGIN_RESP)) {
        response_in_progress_ = true;
      }
      slots_.give_back(slot);
    }
    sc_core::wait();  // the request queue's event (static sensitivity)
  }
}

template <typename Timing>
void Tbu::serve(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay, Timing timing) {
  if (observers_.empty()) {
    transport(trans, delay, timing, nullptr);
    timing.synchronize(delay);
    return;
  }
  TransactionRecord record;
  const TranslationRequest request = request_for(trans);
  record.stream_id = request.stream_id;
  record.ssv = request.ssv;
  record.substream_id = request.substream_id;
  record.address = trans.get_address();
  record.length = trans.get_data_length();
  record.write = trans.is_write();
  record.start = sc_core::sc_time_stamp() + delay;
  std::optional<std::uint64_t> first_output;
  transport(trans, delay, timing, &first_output);
  timing.synchronize(delay);
  record.end = sc_core::sc_time_stamp() + delay;
  record.status = trans.get_response_status();
  record.forwarded = first_output.has_value();
  record.output_address = first_output.value_or(0);
  for (const TransactionObserver& observer : observers_) observer(record);
}

template <typename Timing>
void Tbu::transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay, Timing& timing,
                    std::optional<std::uint64_t>* first_output) {
  ++stats_.transactions;
  if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  const std::uint64_t address = trans.get_address();
  const unsigned length = trans.get_data_length();
  TranslationRequest request = request_for(trans);
  request.local_time = &delay;  // walk accesses start at the caller's local time
  const bool streaming = trans.get_streaming_width() < length;
  unsigned done = 0;
  // A transaction may cross a translation boundary: translate and forward it
  // one translated piece at a time (a streaming burst stays at one address).
  while (done < length) {
    request.address = address + (streaming ? 0 : done);
    const sc_core::sc_time start = timing.now(delay);
    const TranslationResult result = timing.translate(request, delay);
    if (result.event) {
      AccessContext context;  // the record's write adds to this transaction's time
      context.stream_id = request.stream_id;
      context.ssv = request.ssv;
      context.substream_id = request.substream_id;
      context.local_time = &delay;
      events_.record(*result.event, context);
    }
    // A transaction's bytes count once, with its first translation (a transaction
    // split at a translation boundary adds a latency sample per piece).
    record_stream(request.stream_id, timing.now(delay) - start,
                  done == 0 && result.outcome != TranslationOutcome::Terminated ? length : 0);
    if (result.outcome == TranslationOutcome::Terminated) {
      ++stats_.terminated;
      trans.set_response_status(result.fault == EventId::F_PERMISSION ? tlm::TLM_COMMAND_ERROR_RESPONSE
                                                                       : tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    const std::uint64_t piece_end =
        streaming ? length : std::min<std::uint64_t>(length, done + (result.input_base + result.size - request.address));
    const unsigned piece = static_cast<unsigned>(piece_end - done);
    if (result.outcome == TranslationOutcome::RazWi) {
      ++stats_.terminated;
      if (trans.is_read()) std::memset(trans.get_data_ptr() + done, 0, piece);
      done += piece;
      continue;
    }
    ++(result.outcome == TranslationOutcome::Bypassed ? stats_.bypassed : stats_.translated);
    if (done == 0 && piece == length) {
      // The whole transaction in one piece: forward it as it is (the hit path),
      // its side-band changed only when the SMMU changed an attribute.
      trans.set_address(result.output_address);
      if (first_output != nullptr) *first_output = result.output_address;
      if (changes_of(result).any(request, config_.attribute_overrides)) {
        DownstreamSideband sideband(trans, trans.get_extension<tlm_ext::SidebandExtension>(), request,
                                    changes_of(result), config_.attribute_overrides);
        downstream_->b_transport(trans, delay);
      } else {
        downstream_->b_transport(trans, delay);
      }
      if (trans.is_dmi_allowed() && !config_.dmi) trans.set_dmi_allowed(false);
      trans.set_address(address);
      return;
    }
    if (first_output != nullptr && !*first_output) *first_output = result.output_address;
    forward_piece(trans, result, done, piece, streaming, delay);
    timing.synchronize(delay);
    if (!trans.is_response_ok()) return;
    done += piece;
  }
  trans.set_dmi_allowed(false);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Tbu::record_stream(std::uint32_t stream_id, const sc_core::sc_time& latency, unsigned bytes) {
  // Picoseconds per time unit: an integer for every resolution of 1 ps or coarser.
  static const std::uint64_t kPsPerUnit =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(sc_core::sc_get_time_resolution().to_seconds() * 1e12 + 0.5));
  const std::uint64_t ps = latency.value() * kPsPerUnit;
  if (latency_stream_stats_ == nullptr || stream_id != latency_stream_) {
    flush_latency_run();
    latency_stream_stats_ = &stats_.streams[stream_id];
    latency_stream_ = stream_id;
  } else if (ps != latency_run_ps_) {
    flush_latency_run();
  }
  latency_run_ps_ = ps;
  ++latency_run_length_;
  latency_stream_stats_->bytes += bytes;
}

void Tbu::flush_latency_run() const {
  if (latency_run_length_ == 0) return;
  latency_stream_stats_->latency.add_repeated(latency_run_ps_, latency_run_length_);
  latency_run_length_ = 0;
}

nlohmann::json counter_json(const std::map<std::uint32_t, TbuStatistics::Stream>& streams) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [sid, s] : streams) {
    j[fmt::format("{:#x}", sid)] = {{"bytes", s.bytes}, {"transactions", s.latency.count()}, {"latency", s.latency.to_json()}};
  }
  return j;
}

void Tbu::forward_piece(tlm::tlm_generic_payload& trans, const TranslationResult& result, unsigned offset,
                        unsigned length, bool streaming, sc_core::sc_time& delay) {
  ++stats_.split_pieces;
  tlm::tlm_generic_payload part;
  part.set_command(trans.get_command());
  part.set_address(result.output_address);
  part.set_data_ptr(trans.get_data_ptr() + offset);
  part.set_data_length(length);
  part.set_streaming_width(streaming ? trans.get_streaming_width() : length);
  std::vector<std::uint8_t> piece_enables;
  if (const std::uint8_t* byte_enables = trans.get_byte_enable_ptr()) {
    // Byte enables repeat every be_length bytes: keep the pattern's phase.
    const unsigned be_length = trans.get_byte_enable_length();
    piece_enables.resize(length);
    for (unsigned i = 0; i < length; ++i) piece_enables[i] = byte_enables[(offset + i) % be_length];
    part.set_byte_enable_ptr(piece_enables.data());
    part.set_byte_enable_length(length);
  }
  part.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  {
    TranslationRequest request = request_for(trans);
    DownstreamSideband sideband(part, trans.get_extension<tlm_ext::SidebandExtension>(), request,
                                changes_of(result), config_.attribute_overrides);
    downstream_->b_transport(part, delay);
  }
  trans.set_response_status(part.is_response_ok() ? tlm::TLM_OK_RESPONSE : part.get_response_status());
}

bool Tbu::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  // LRM: a refusal describes the whole address space and grants no access.
  auto refuse = [&dmi]() {
    dmi.set_start_address(0);
    dmi.set_end_address(~sc_dt::uint64{0});
    dmi.allow_none();
    return false;
  };
  if (!config_.dmi) return refuse();
  TranslationRequest request = request_for(trans);
  request.want_access_rights = true;
  sc_core::sc_time untimed = sc_core::SC_ZERO_TIME;  // a DMI request is not timed
  request.local_time = &untimed;
  // A DMI request is not an access: nothing is recorded if it would fault.
  const TranslationResult result = tcu_.translate(request, memo_);
  if (!result.ok() || result.size == 0) return refuse();
  const std::uint64_t iova = trans.get_address();
  const std::uint64_t output = result.output_address;
  tlm::tlm_generic_payload down;
  down.set_command(trans.get_command());
  down.set_address(output);
  down.set_data_length(trans.get_data_length());
  tlm::tlm_dmi down_dmi;
  if (!downstream_->get_direct_mem_ptr(down, down_dmi)) return refuse();
  // Intersect the translated window [output_base, output_base + size) with the
  // downstream window, then express it in IOVA space.
  const std::uint64_t window_lo = std::max<std::uint64_t>(result.output_base, down_dmi.get_start_address());
  const std::uint64_t window_hi =
      std::min<std::uint64_t>(result.output_base + result.size - 1, down_dmi.get_end_address());
  if (window_lo > output || window_hi < output) return refuse();
  const std::uint64_t iova_base = iova - (output - result.output_base);
  dmi.set_dmi_ptr(down_dmi.get_dmi_ptr() + (window_lo - down_dmi.get_start_address()));
  dmi.set_start_address(iova_base + (window_lo - result.output_base));
  dmi.set_end_address(iova_base + (window_hi - result.output_base));
  const bool read = result.readable && down_dmi.is_read_allowed();
  const bool write = result.writable && down_dmi.is_write_allowed();
  if (read && write) dmi.allow_read_write();
  else if (read) dmi.allow_read();
  else if (write) dmi.allow_write();
  else return refuse();
  dmi.set_read_latency(down_dmi.get_read_latency() + config_.hit_latency);
  dmi.set_write_latency(down_dmi.get_write_latency() + config_.hit_latency);
  grants_.insert_or_assign(
      GrantKey{dmi.get_start_address(), dmi.get_end_address(), request.stream_id, request.ssv, request.substream_id},
      Grant{dmi.get_start_address(), dmi.get_end_address(), window_lo, window_hi, result.scope});
  ++stats_.dmi_grants;
  return true;
}

unsigned Tbu::transport_dbg(tlm::tlm_generic_payload& trans) {
  // A debugger's access: translated from the tables in memory (no cache, no
  // event, no statistic, no HTTU update), one translation at most.
  const TranslationResult result = tcu_.translate_debug(request_for(trans));
  if (!result.ok()) return 0;
  const std::uint64_t address = trans.get_address();
  const unsigned length = trans.get_data_length();
  const unsigned room =
      static_cast<unsigned>(std::min<std::uint64_t>(length, result.input_base + result.size - address));
  trans.set_address(result.output_address);
  trans.set_data_length(room);
  const unsigned n = downstream_->transport_dbg(trans);
  trans.set_address(address);
  trans.set_data_length(length);
  return n;
}

template <typename Covered>
std::size_t Tbu::revoke_if(Covered covered) {
  // Drop the grants first, then tell the master: it may ask for DMI again from
  // inside invalidate_direct_mem_ptr.
  std::vector<Grant> revoked;
  for (auto it = grants_.begin(); it != grants_.end();) {
    if (covered(it->second)) {
      revoked.push_back(std::move(it->second));
      it = grants_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.dmi_revocations += revoked.size();
  for (const Grant& g : revoked) upstream->invalidate_direct_mem_ptr(g.iova_start, g.iova_end);
  return revoked.size();
}

std::size_t Tbu::revoke_covered(const Command& invalidation) {
  if (grants_.empty()) return 0;
  const TranslationEngine& engine = tcu_.engine();
  return revoke_if([&](const Grant& g) { return !g.scope || engine.invalidation_covers(invalidation, *g.scope); });
}

std::size_t Tbu::revoke_downstream(std::uint64_t start, std::uint64_t end) {
  return revoke_if([&](const Grant& g) { return g.pa_start <= end && start <= g.pa_end; });
}

std::size_t Tbu::revoke_all() {
  return revoke_if([](const Grant&) { return true; });
}

void Tbu::reset(bool cold) {
  revoke_all();
  memo_ = TranslationEngine::ContextMemo{};
  micro_tlb_.clear();
  if (cold) clear_statistics();
}

void Tbu::clear_statistics() {
  stats_ = TbuStatistics{};
  latency_stream_stats_ = nullptr;  // it pointed into the map just cleared
  latency_run_length_ = 0;
}

}  // namespace smmuv3tlm::smmu
