#include "models/smmu/tbu.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "models/smmu/event_queue.h"
#include "models/smmu/tcu.h"
#include "tlm/sideband.h"

namespace smmuv3tlm::smmu {

namespace {

// The side-band a downstream piece carries: the upstream's extension, with the
// STE/GBPA PRIVCFG and INSTCFG overrides (IDR1.ATTR_PERMS_OVR) applied for the
// duration of the forwarded call. A transaction that arrived without an
// extension gets one for the call when an override applies, so that the
// overridden attributes reach the target. Everything is restored afterwards.
class DownstreamSideband {
 public:
  DownstreamSideband(tlm::tlm_generic_payload& piece, tlm_ext::SidebandExtension* upstream,
                     const TranslationRequest& request, const TranslationResult& result, bool overrides)
      : piece_(piece), upstream_(upstream) {
    const bool override_applies = overrides && (result.privcfg >= 2 || result.instcfg >= 2);
    if (upstream_ != nullptr) {
      if (piece_.get_extension<tlm_ext::SidebandExtension>() != upstream_) {
        piece_.set_extension(upstream_);
        attached_ = true;
      }
      if (override_applies) {
        saved_ = *upstream_;
        restore_ = true;
        apply(*upstream_, result, piece.is_read());
      }
    } else if (override_applies) {
      local_.stream_id = request.stream_id;
      local_.privileged = request.privileged;
      local_.instruction = request.instruction;
      apply(local_, result, piece.is_read());
      piece_.set_extension(&local_);
      attached_ = true;
    }
  }
  ~DownstreamSideband() {
    tlm_ext::SidebandExtension* ext = piece_.get_extension<tlm_ext::SidebandExtension>();
    if (restore_) *upstream_ = saved_;
    if (attached_) piece_.clear_extension(ext);
  }
  DownstreamSideband(const DownstreamSideband&) = delete;
  DownstreamSideband& operator=(const DownstreamSideband&) = delete;

 private:
  static void apply(tlm_ext::SidebandExtension& ext, const TranslationResult& result, bool read) {
    if (result.privcfg >= 2) ext.privileged = result.privcfg == 3;
    if (result.instcfg >= 2) ext.instruction = result.instcfg == 3 && read;
  }

  tlm::tlm_generic_payload& piece_;
  tlm_ext::SidebandExtension* upstream_;
  tlm_ext::SidebandExtension saved_;
  tlm_ext::SidebandExtension local_;
  bool restore_ = false;
  bool attached_ = false;
};

}  // namespace

Tbu::Tbu(const sc_core::sc_module_name& name, const TbuConfig& config, Tcu& tcu, EventQueue& events,
         tlm::tlm_initiator_socket<>& downstream)
    : sc_core::sc_module(name),
      upstream("upstream"),
      config_(config),
      tcu_(tcu),
      events_(events),
      downstream_(downstream) {
  upstream.register_b_transport(this, &Tbu::b_transport);
  upstream.register_get_direct_mem_ptr(this, &Tbu::get_direct_mem_ptr);
  upstream.register_transport_dbg(this, &Tbu::transport_dbg);
  registration_.add(
      this->name(), [this] { return stats::to_json(stats_); }, [this] { clear_statistics(); });
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
  }
  return request;
}

void Tbu::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (observers_.empty()) {
    transport(trans, delay);
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
  first_output_.reset();
  transport(trans, delay);
  record.end = sc_core::sc_time_stamp() + delay;
  record.status = trans.get_response_status();
  record.forwarded = first_output_.has_value();
  record.output_address = first_output_.value_or(0);
  for (const TransactionObserver& observer : observers_) observer(record);
}

void Tbu::transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
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
    const sc_core::sc_time start = delay;
    const TranslationResult result = tcu_.translate(request, memo_, &micro_tlb_);
    delay += config_.hit_latency;
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
    record_stream(request.stream_id, delay - start,
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
      // its side-band changed only when an attribute override applies.
      trans.set_address(result.output_address);
      if (!observers_.empty()) first_output_ = result.output_address;
      if (config_.attribute_overrides && (result.privcfg >= 2 || result.instcfg >= 2)) {
        DownstreamSideband sideband(trans, trans.get_extension<tlm_ext::SidebandExtension>(), request, result, true);
        downstream_->b_transport(trans, delay);
      } else {
        downstream_->b_transport(trans, delay);
      }
      if (trans.is_dmi_allowed() && !config_.dmi) trans.set_dmi_allowed(false);
      trans.set_address(address);
      return;
    }
    if (!observers_.empty() && !first_output_) first_output_ = result.output_address;
    forward_piece(trans, result, done, piece, streaming, delay);
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
  if (latency_stream_stats_ == nullptr || stream_id != latency_stream_) {
    latency_stream_stats_ = &stats_.streams[stream_id];
    latency_stream_ = stream_id;
  }
  latency_stream_stats_->latency.add(latency.value() * kPsPerUnit);
  latency_stream_stats_->bytes += bytes;
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
    DownstreamSideband sideband(part, trans.get_extension<tlm_ext::SidebandExtension>(), request, result,
                                config_.attribute_overrides);
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
  grants_.push_back(Grant{dmi.get_start_address(), dmi.get_end_address(), window_lo, window_hi, result.scope});
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
    if (covered(*it)) {
      revoked.push_back(std::move(*it));
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
  micro_tlb_ = TranslationEngine::MicroTlbEntry{};
  if (cold) clear_statistics();
}

void Tbu::clear_statistics() {
  stats_ = TbuStatistics{};
  latency_stream_stats_ = nullptr;  // it pointed into the map just cleared
}

}  // namespace smmuv3tlm::smmu
