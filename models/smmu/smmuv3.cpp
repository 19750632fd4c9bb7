#include "models/smmu/smmuv3.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/smmu/arch/registers.h"
#include "tlm/sideband.h"

namespace smmuv3tlm::smmu {

namespace {
constexpr const char* kMsgType = "smmu/smmuv3";
const sc_core::sc_time kIrqPulseWidth(1, sc_core::SC_NS);
}

// The MemoryPort the core uses, over the table_walk initiator socket. It sums the
// annotated delays of the accesses of one operation so the shell can charge them
// to the transaction that caused them.
class Smmuv3::TlmTablePort : public MemoryPort {
 public:
  explicit TlmTablePort(Smmuv3& owner) : owner_(owner) {}

  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    return access(tlm::TLM_READ_COMMAND, pa, data, size, purpose);
  }
  bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<std::uint8_t*>(data), size, purpose);
  }

  sc_core::sc_time take_delay() {
    const sc_core::sc_time d = delay_;
    delay_ = sc_core::SC_ZERO_TIME;
    return d;
  }

  // The target withdrew DMI for [start, end]: forget every overlapping window.
  void invalidate(std::uint64_t start, std::uint64_t end) {
    for (Window& w : windows_) {
      if (w.valid && w.dmi.get_start_address() <= end && start <= w.dmi.get_end_address()) w.valid = false;
    }
  }

 private:
  // Table reads go through DMI windows when the target grants them (walks are
  // the miss path's cost); writes (queues, MSIs, HTTU) always use transport.
  // Every access, either way, is reported to the table-access observer.
  struct Window {
    bool valid = false;
    tlm::tlm_dmi dmi;
  };
  static constexpr unsigned kWindows = 1024;  // direct-mapped by 4 KiB page

  Window& window_for(std::uint64_t pa) { return windows_[(pa >> 12) % kWindows]; }

  bool read_through_dmi(std::uint64_t pa, std::uint8_t* data, std::uint32_t size) {
    const Window& w = window_for(pa);
    if (!w.valid || pa < w.dmi.get_start_address() || pa + size - 1 > w.dmi.get_end_address()) return false;
    std::memcpy(data, w.dmi.get_dmi_ptr() + (pa - w.dmi.get_start_address()), size);
    delay_ += w.dmi.get_read_latency();
    return true;
  }

  void request_dmi(std::uint64_t pa) {
    tlm::tlm_generic_payload probe;
    probe.set_command(tlm::TLM_READ_COMMAND);
    probe.set_address(pa);
    tlm::tlm_dmi dmi;
    if (owner_.table_walk->get_direct_mem_ptr(probe, dmi) && dmi.is_read_allowed() &&
        dmi.get_start_address() <= pa && pa <= dmi.get_end_address()) {
      Window& w = window_for(pa);
      w.dmi = dmi;
      w.valid = true;
    }
  }

  bool access(tlm::tlm_command command, std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
              AccessPurpose purpose) {
    const bool is_read = command == tlm::TLM_READ_COMMAND;
    bool ok = is_read && read_through_dmi(pa, data, size);
    if (!ok) {
      // One payload reused for every access: constructing one allocates its
      // extension array, which would dominate a walk's cost.
      tlm::tlm_generic_payload& trans = payload_;
      trans.set_command(command);
      trans.set_address(pa);
      trans.set_data_ptr(data);
      trans.set_data_length(size);
      trans.set_streaming_width(size);
      trans.set_byte_enable_ptr(nullptr);
      trans.set_dmi_allowed(false);
      trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      owner_.table_walk->b_transport(trans, delay_);
      ok = trans.is_response_ok();
      if (ok && is_read && trans.is_dmi_allowed()) request_dmi(pa);
    }
    if (owner_.table_observer_) {
      owner_.table_observer_(TableAccess{pa, size, !is_read, purpose, data, ok});
    }
    return ok;
  }

  Smmuv3& owner_;
  sc_core::sc_time delay_ = sc_core::SC_ZERO_TIME;
  tlm::tlm_generic_payload payload_;
  std::array<Window, kWindows> windows_{};
};

namespace {

// The side-band the downstream sees: STE/GBPA PRIVCFG and INSTCFG (when
// IDR1.ATTR_PERMS_OVR) replace the incoming privilege and instruction
// attributes for the duration of the forwarded call; the upstream's extension
// is restored afterwards.
class DownstreamAttributes {
 public:
  DownstreamAttributes(tlm::tlm_generic_payload& trans, const TranslationResult& result, bool overrides)
      : ext_(overrides ? trans.get_extension<tlm_ext::SidebandExtension>() : nullptr) {
    if (ext_ == nullptr || (result.privcfg < 2 && result.instcfg < 2)) {
      ext_ = nullptr;
      return;
    }
    saved_ = *ext_;
    if (result.privcfg >= 2) ext_->privileged = result.privcfg == 3;
    if (result.instcfg >= 2) ext_->instruction = result.instcfg == 3 && trans.is_read();
  }
  ~DownstreamAttributes() {
    if (ext_ != nullptr) *ext_ = saved_;
  }
  DownstreamAttributes(const DownstreamAttributes&) = delete;
  DownstreamAttributes& operator=(const DownstreamAttributes&) = delete;

 private:
  tlm_ext::SidebandExtension* ext_;
  tlm_ext::SidebandExtension saved_;
};

}  // namespace

// Invalidation commands reach the translation engine through here, so the shell
// can revoke DMI grants that an invalidation may cover.
class Smmuv3::MaintenanceForwarder : public CacheMaintenance {
 public:
  explicit MaintenanceForwarder(Smmuv3& owner) : owner_(owner) {}
  void execute(const Command& command) override {
    owner_.engine_->execute(command);
    owner_.revoke_dmi();
  }

 private:
  Smmuv3& owner_;
};

Smmuv3::Smmuv3(const sc_core::sc_module_name& name, const Config& config)
    : sc_core::sc_module(name),
      downstream("downstream"),
      table_walk("table_walk"),
      registers("registers"),
      irq_eventq("irq_eventq"),
      irq_gerror("irq_gerror"),
      irq_priq("irq_priq"),
      irq_cmd_sync("irq_cmd_sync"),
      config_(config) {
  if (config_.ports == 0) {
    SC_REPORT_ERROR(kMsgType, "Smmuv3 needs at least one upstream port (config.ports >= 1); using 1");
    config_.ports = 1;
  }
  for (unsigned i = 0; i < config_.ports; ++i) {
    auto socket = std::make_unique<tlm_utils::simple_target_socket_tagged<Smmuv3>>(
        fmt::format("upstream_{}", i).c_str());
    socket->register_b_transport(this, &Smmuv3::upstream_b_transport, static_cast<int>(i));
    socket->register_get_direct_mem_ptr(this, &Smmuv3::upstream_get_dmi, static_cast<int>(i));
    socket->register_transport_dbg(this, &Smmuv3::upstream_transport_dbg, static_cast<int>(i));
    upstream_.push_back(std::move(socket));
  }
  registers.register_b_transport(this, &Smmuv3::registers_b_transport);
  registers.register_transport_dbg(this, &Smmuv3::registers_transport_dbg);
  downstream.register_invalidate_direct_mem_ptr(this, &Smmuv3::downstream_invalidate);
  table_walk.register_invalidate_direct_mem_ptr(this, &Smmuv3::table_walk_invalidate);

  table_port_ = std::make_unique<TlmTablePort>(*this);
  maintenance_ = std::make_unique<MaintenanceForwarder>(*this);
  engine_ = std::make_unique<TranslationEngine>(config_.capabilities, *table_port_, config_.translation);
  ProgrammingInterfaceConfig pi_config;
  pi_config.defer_acks = config_.ack_delay != sc_core::SC_ZERO_TIME;
  pi_config.constrained_unpredictable_severity =
      config_.unpredictable_writes_are_errors ? Severity::Error : Severity::Warning;
  registers_core_ = std::make_unique<ProgrammingInterface>(config_.capabilities, *table_port_, *maintenance_,
                                                           pi_config);
  registers_core_->set_irq_callback([this](IrqLine line, bool level) {
    // The CMD_SYNC interrupt is a pulse: the core raises and drops it within one
    // call, so the shell stretches it over one cycle of the output.
    if (line == IrqLine::CommandSync) {
      if (level) ++cmd_sync_pulses_;
    } else {
      irq_level_[static_cast<unsigned>(line)] = level;
    }
    irq_changed_.notify(sc_core::SC_ZERO_TIME);
  });
  registers_core_->set_diagnostics_callback([](Severity severity, const std::string& message) {
    switch (severity) {
      case Severity::Error: SC_REPORT_ERROR("smmu/registers", message.c_str()); break;
      case Severity::Warning: SC_REPORT_WARNING("smmu/registers", message.c_str()); break;
      case Severity::Info: SC_REPORT_INFO("smmu/registers", message.c_str()); break;
    }
  });
  registers_core_->set_control_changed_callback([this] { sync_control(); });
  sync_control();

  SC_METHOD(drive_irqs);
  sensitive << irq_changed_;
  dont_initialize();
  SC_METHOD(complete_acks);
  sensitive << ack_due_;
  dont_initialize();
}

Smmuv3::~Smmuv3() = default;

tlm_utils::simple_target_socket_tagged<Smmuv3>& Smmuv3::upstream(unsigned port) {
  if (port >= upstream_.size()) {
    SC_REPORT_ERROR(kMsgType, fmt::format("upstream port {} does not exist (the SMMU has {} ports)", port,
                                          upstream_.size()).c_str());
    return *upstream_.back();
  }
  return *upstream_[port];
}

void Smmuv3::set_table_access_observer(std::function<void(const TableAccess&)> observer) {
  table_observer_ = std::move(observer);
}

void Smmuv3::drive_irqs() {
  irq_eventq.write(irq_level_[static_cast<unsigned>(IrqLine::EventQueue)]);
  irq_priq.write(irq_level_[static_cast<unsigned>(IrqLine::PriQueue)]);
  // Each pulse holds the line high for kIrqPulseWidth, then low for as long.
  if (cmd_sync_high_) {
    cmd_sync_high_ = false;
  } else if (cmd_sync_pulses_ > 0) {
    --cmd_sync_pulses_;
    cmd_sync_high_ = true;
  }
  irq_cmd_sync.write(cmd_sync_high_);
  if (cmd_sync_high_ || cmd_sync_pulses_ > 0) irq_changed_.notify(kIrqPulseWidth);
  irq_gerror.write(irq_level_[static_cast<unsigned>(IrqLine::GlobalError)]);
}

void Smmuv3::complete_acks() {
  registers_core_->complete_pending_acks();
}

void Smmuv3::sync_control() {
  TranslationControl control;
  control.smmu_enabled = registers_core_->smmu_enabled();
  control.gbpa = registers_core_->gbpa();
  control.strtab_base = registers_core_->strtab_base();
  control.strtab_base_cfg = registers_core_->strtab_base_cfg();
  control.cr2 = registers_core_->cr2();
  const TranslationControl& old = engine_->control();
  if (old.smmu_enabled != control.smmu_enabled || old.gbpa != control.gbpa ||
      old.strtab_base != control.strtab_base || old.strtab_base_cfg != control.strtab_base_cfg ||
      old.cr2 != control.cr2) {
    engine_->set_control(control);
    revoke_dmi();
  }
}

void Smmuv3::revoke_dmi() {
  if (!dmi_granted_) return;
  dmi_granted_ = false;
  ++stats_.dmi_invalidations;
  for (auto& socket : upstream_) (*socket)->invalidate_direct_mem_ptr(0, ~sc_dt::uint64{0});
}

void Smmuv3::downstream_invalidate(sc_dt::uint64, sc_dt::uint64) {
  // Grants are in IOVA space; a downstream change may sit behind any of them.
  revoke_dmi();
}

void Smmuv3::table_walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
  table_port_->invalidate(start, end);
}

TranslationRequest Smmuv3::request_for(int port, const tlm::tlm_generic_payload& trans) const {
  TranslationRequest request;
  const unsigned index = static_cast<unsigned>(port);
  request.stream_id = index < config_.default_stream_ids.size() ? config_.default_stream_ids[index] : 0;
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

void Smmuv3::upstream_b_transport(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  ++stats_.transactions;
  const std::uint64_t address = trans.get_address();
  const unsigned length = trans.get_data_length();
  if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  TranslationRequest request = request_for(port, trans);
  unsigned done = 0;
  std::uint8_t* const data = trans.get_data_ptr();
  std::uint8_t* const byte_enables = trans.get_byte_enable_ptr();
  const unsigned be_length = trans.get_byte_enable_length();
  const bool streaming = trans.get_streaming_width() < length;
  // A transaction may cross a translation boundary: translate and forward it
  // one translated piece at a time (a streaming burst stays at one address).
  while (done < length) {
    request.address = address + (streaming ? 0 : done);
    TranslationResult result = engine_->translate(request);
    delay += config_.tlb_hit_latency + table_port_->take_delay();
    if (result.event) {
      if (registers_core_->record_event(*result.event)) ++stats_.events_recorded;
      else ++stats_.events_suppressed;
      delay += table_port_->take_delay();
    }
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
      if (trans.is_read()) std::memset(data + done, 0, piece);
      done += piece;
      continue;
    }
    if (result.outcome == TranslationOutcome::Bypassed) ++stats_.bypassed;
    else ++stats_.translated;
    if (done == 0 && piece == length) {
      const DownstreamAttributes attributes(trans, result, config_.capabilities.attr_perms_override);
      trans.set_address(result.output_address);
      downstream->b_transport(trans, delay);
      if (trans.is_dmi_allowed() && !config_.dmi) trans.set_dmi_allowed(false);
      trans.set_address(address);
      return;
    }
    tlm::tlm_generic_payload part;
    part.set_command(trans.get_command());
    part.set_address(result.output_address);
    part.set_data_ptr(data + done);
    part.set_data_length(piece);
    part.set_streaming_width(streaming ? trans.get_streaming_width() : piece);
    std::vector<std::uint8_t> piece_enables;
    if (byte_enables != nullptr) {
      // Byte enables repeat every be_length bytes: keep the pattern's phase.
      piece_enables.resize(piece);
      for (unsigned i = 0; i < piece; ++i) piece_enables[i] = byte_enables[(done + i) % be_length];
      part.set_byte_enable_ptr(piece_enables.data());
      part.set_byte_enable_length(piece);
    }
    part.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    downstream->b_transport(part, delay);
    if (!part.is_response_ok()) {
      trans.set_response_status(part.get_response_status());
      return;
    }
    done += piece;
  }
  trans.set_dmi_allowed(false);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool Smmuv3::upstream_get_dmi(int port, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  // LRM: a refusal describes the whole address space and grants no access.
  auto refuse = [&dmi]() {
    dmi.set_start_address(0);
    dmi.set_end_address(~sc_dt::uint64{0});
    dmi.allow_none();
    return false;
  };
  if (!config_.dmi) return refuse();
  TranslationRequest request = request_for(port, trans);
  request.want_access_rights = true;
  // A DMI request is not an access: nothing is recorded if it would fault.
  const TranslationResult result = engine_->translate(request);
  table_port_->take_delay();
  if (!result.ok() || result.size == 0) return refuse();
  const std::uint64_t iova = trans.get_address();
  const std::uint64_t output = result.output_address;
  tlm::tlm_generic_payload down;
  down.set_command(trans.get_command());
  down.set_address(output);
  down.set_data_length(trans.get_data_length());
  tlm::tlm_dmi down_dmi;
  if (!downstream->get_direct_mem_ptr(down, down_dmi)) return refuse();
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
  dmi.set_read_latency(down_dmi.get_read_latency() + config_.tlb_hit_latency);
  dmi.set_write_latency(down_dmi.get_write_latency() + config_.tlb_hit_latency);
  dmi_granted_ = true;
  ++stats_.dmi_grants;
  return true;
}

unsigned Smmuv3::upstream_transport_dbg(int port, tlm::tlm_generic_payload& trans) {
  // Debug accesses translate without recording events, one page at most.
  const TranslationResult result = engine_->translate(request_for(port, trans));
  table_port_->take_delay();
  if (!result.ok()) return 0;
  const std::uint64_t address = trans.get_address();
  const unsigned room = static_cast<unsigned>(std::min<std::uint64_t>(
      trans.get_data_length(), result.input_base + result.size - address));
  trans.set_address(result.output_address);
  trans.set_data_length(room);
  const unsigned n = downstream->transport_dbg(trans);
  trans.set_address(address);
  return n;
}

bool Smmuv3::register_access(tlm::tlm_generic_payload& trans) {
  const std::uint64_t offset = trans.get_address();
  const unsigned length = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr || trans.get_streaming_width() < length) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if ((length != 4 && length != 8) || offset % length != 0 || offset + length > reg::kRegisterSpaceBytes) {
    trans.set_response_status(offset + length > reg::kRegisterSpaceBytes ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                                                                          : tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  std::uint8_t* data = trans.get_data_ptr();
  if (trans.is_read()) {
    const std::uint64_t value = registers_core_->read(offset, length);
    for (unsigned i = 0; i < length; ++i) data[i] = static_cast<std::uint8_t>(value >> (8 * i));
  } else if (trans.is_write()) {
    std::uint64_t value = 0;
    for (unsigned i = length; i-- > 0;) value = (value << 8) | data[i];
    registers_core_->write(offset, value, length);
    if (registers_core_->has_pending_acks()) ack_due_.notify(config_.ack_delay);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

void Smmuv3::registers_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  delay += config_.register_access_latency;
  register_access(trans);
  delay += table_port_->take_delay();  // queue and MSI accesses the write caused
}

unsigned Smmuv3::registers_transport_dbg(tlm::tlm_generic_payload& trans) {
  if (!trans.is_read()) return 0;  // debug writes must not trigger queue processing
  return register_access(trans) ? trans.get_data_length() : 0;
}

std::string Smmuv3::statistics_json() const {
  nlohmann::json j;
  j["smmu"] = {{"transactions", stats_.transactions}, {"translated", stats_.translated},
               {"bypassed", stats_.bypassed},         {"terminated", stats_.terminated},
               {"events_recorded", stats_.events_recorded}, {"events_suppressed", stats_.events_suppressed},
               {"dmi_grants", stats_.dmi_grants},     {"dmi_invalidations", stats_.dmi_invalidations}};
  const TlbStatistics& tlb = engine_->tlb().statistics();
  j["tlb"] = {{"lookups", tlb.lookups},       {"hits", tlb.hits},
              {"misses", tlb.misses},         {"insertions", tlb.insertions},
              {"evictions", tlb.evictions},   {"invalidated", tlb.invalidated},
              {"valid_entries", engine_->tlb().valid_entries()}};
  const TlbStatistics& walk = engine_->walk_cache().statistics();
  j["walk_cache"] = {{"lookups", walk.lookups},         {"hits", walk.hits},
                     {"misses", walk.misses},           {"insertions", walk.insertions},
                     {"evictions", walk.evictions},     {"invalidated", walk.invalidated},
                     {"valid_entries", engine_->walk_cache().valid_entries()}};
  const TranslationStatistics& t = engine_->statistics();
  nlohmann::json faults = nlohmann::json::object();
  for (const auto& [id, count] : t.faults) faults[to_string(id)] = count;
  j["translation"] = {{"translations", t.translations},
                      {"walks", t.walks},
                      {"s1_walk_accesses_per_level", t.s1_walk_accesses_per_level},
                      {"s2_walk_accesses_per_level", t.s2_walk_accesses_per_level},
                      {"ste_fetches", t.ste_fetches},
                      {"cd_fetches", t.cd_fetches},
                      {"config_cache_hits", t.config_cache_hits},
                      {"config_cache_misses", t.config_cache_misses},
                      {"hardware_updates", t.hardware_updates},
                      {"faults", faults}};
  return j.dump(2);
}

}  // namespace smmuv3tlm::smmu
