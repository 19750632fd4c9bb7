#include "smmuv3tlm/models/smmu/tcu.h"

#include <algorithm>
#include <cstring>

#include "smmuv3tlm/models/smmu/table_access_extension.h"

namespace smmuv3tlm::smmu {

// The MemoryPort over the table_walk socket. Each access adds its latency to
// the local time of the operation that made it (AccessContext::local_time, an
// sc_time owned by the caller: a TBU's transaction, the command thread), so
// outstanding operations do not share an accumulator; the few accesses made
// without one (a GERROR MSI caused by a register write) accumulate in
// `unowned_`, which the register file takes after each access.
class Tcu::TableWalkPort : public MemoryPort {
 public:
  explicit TableWalkPort(Tcu& owner) : owner_(owner) {}

  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    return access(AccessContext{}, tlm::TLM_READ_COMMAND, pa, data, size, purpose);
  }
  bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    return access(AccessContext{}, tlm::TLM_WRITE_COMMAND, pa, const_cast<std::uint8_t*>(data), size, purpose);
  }
  bool read_for(const AccessContext& context, std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
                AccessPurpose purpose) override {
    return access(context, tlm::TLM_READ_COMMAND, pa, data, size, purpose);
  }
  bool write_for(const AccessContext& context, std::uint64_t pa, const std::uint8_t* data, std::uint32_t size,
                 AccessPurpose purpose) override {
    return access(context, tlm::TLM_WRITE_COMMAND, pa, const_cast<std::uint8_t*>(data), size, purpose);
  }

  std::uint64_t local_time_ps(const AccessContext& context) const override {
    if (context.local_time == nullptr) return 0;
    static const double kPsPerUnit = sc_core::sc_get_time_resolution().to_seconds() * 1e12;
    return static_cast<std::uint64_t>(static_cast<double>(static_cast<const sc_core::sc_time*>(context.local_time)->value()) *
                                      kPsPerUnit);
  }

  sc_core::sc_time take_unowned() {
    const sc_core::sc_time d = unowned_;
    unowned_ = sc_core::SC_ZERO_TIME;
    return d;
  }

  // The target withdrew DMI for [start, end]: forget every overlapping window.
  void invalidate(std::uint64_t start, std::uint64_t end) {
    for (Window& w : windows_) {
      if (w.valid && w.dmi.get_start_address() <= end && start <= w.dmi.get_end_address()) w.valid = false;
    }
  }
  void invalidate_all() {
    for (Window& w : windows_) w.valid = false;
  }

 private:
  // Table reads go through DMI windows when the target grants them (walks are
  // the miss path's cost); writes (queues, MSIs, HTTU) always use transport.
  struct Window {
    bool valid = false;
    tlm::tlm_dmi dmi;
  };
  static constexpr unsigned kWindows = 1024;  // direct-mapped by 4 KiB page

  Window& window_for(std::uint64_t pa) { return windows_[(pa >> 12) % kWindows]; }

  bool read_through_dmi(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, sc_core::sc_time& delay) {
    const Window& w = window_for(pa);
    if (!w.valid || pa < w.dmi.get_start_address() || pa + size - 1 > w.dmi.get_end_address()) return false;
    std::memcpy(data, w.dmi.get_dmi_ptr() + (pa - w.dmi.get_start_address()), size);
    delay += w.dmi.get_read_latency();
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

  bool access(const AccessContext& context, tlm::tlm_command command, std::uint64_t pa, std::uint8_t* data,
              std::uint32_t size, AccessPurpose purpose) {
    const bool is_read = command == tlm::TLM_READ_COMMAND;
    sc_core::sc_time& delay =
        context.local_time != nullptr ? *static_cast<sc_core::sc_time*>(context.local_time) : unowned_;
    if (context.walk_slot != nullptr) {
      auto& claim = *static_cast<WalkClaim*>(context.walk_slot);
      if (!claim.held) owner_.claim_walk_slot(claim, delay);
    }
    bool ok = is_read && read_through_dmi(pa, data, size, delay);
    if (!ok) {
      // A payload per access: a walk's accesses may be outstanding together when
      // the target waits. Its extension array is allocated once per payload.
      tlm::tlm_generic_payload trans;
      trans.set_command(command);
      trans.set_address(pa);
      trans.set_data_ptr(data);
      trans.set_data_length(size);
      trans.set_streaming_width(size);
      trans.set_byte_enable_ptr(nullptr);
      trans.set_dmi_allowed(false);
      trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      TableAccessExtension what;
      what.purpose = purpose;
      what.stream_id = context.stream_id;
      trans.set_extension(&what);
      // Not the payload's to free: detached however b_transport ends (a
      // target's SC_REPORT_ERROR throws, a killed thread unwinds).
      struct Detach {
        tlm::tlm_generic_payload& payload;
        ~Detach() { payload.clear_extension<TableAccessExtension>(); }
      } detach{trans};
      owner_.table_walk->b_transport(trans, delay);
      ok = trans.is_response_ok();
      if (ok && is_read && trans.is_dmi_allowed()) request_dmi(pa);
    }
    if (!owner_.observers_.empty()) {
      const MemoryAccessRecord record{sc_core::sc_time_stamp() + delay, pa, size, !is_read, purpose,
                                      context.stream_id, context.ssv, context.substream_id, data, ok};
      for (const auto& [id, observer] : owner_.observers_) observer(record);
    }
    return ok;
  }

  Tcu& owner_;
  sc_core::sc_time unowned_ = sc_core::SC_ZERO_TIME;
  std::array<Window, kWindows> windows_{};
};

// The debugger's view of memory: transport_dbg reads, writes dropped (a debug
// translation must not set an Access flag or dirty state).
class Tcu::DebugPort : public MemoryPort {
 public:
  explicit DebugPort(Tcu& owner) : owner_(owner) {}
  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, AccessPurpose) override {
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_READ_COMMAND);
    trans.set_address(pa);
    trans.set_data_ptr(data);
    trans.set_data_length(size);
    trans.set_streaming_width(size);
    return owner_.table_walk->transport_dbg(trans) == size;
  }
  bool write(std::uint64_t, const std::uint8_t*, std::uint32_t, AccessPurpose) override { return true; }

 private:
  Tcu& owner_;
};

Tcu::Tcu(const sc_core::sc_module_name& name, const Capabilities& caps, const TranslationConfig& config)
    : sc_core::sc_module(name),
      table_walk("table_walk"),
      port_(std::make_unique<TableWalkPort>(*this)),
      debug_port_(std::make_unique<DebugPort>(*this)),
      engine_(caps, *port_, config),
      debug_engine_(caps, *debug_port_, debug_engine_config()) {
  table_walk.register_invalidate_direct_mem_ptr(this, &Tcu::table_walk_invalidate);
  const std::string base = this->name();
  // Resetting the TCU's group resets its TLB and walk caches too.
  registration_.add(
      base, [this] { return stats::to_json(engine_.statistics()); }, [this] { engine_.reset_statistics(); });
  registration_.add(base + ".tlb", [this] {
    nlohmann::json j = stats::to_json(engine_.tlb().statistics());
    j["valid_entries"] = engine_.tlb().valid_entries();
    return j;
  });
  registration_.add(base + ".walk_cache", [this] {
    nlohmann::json j = stats::to_json(engine_.walk_cache().statistics());
    j["valid_entries"] = engine_.walk_cache().valid_entries();
    return j;
  });
  for (bool stage2 : {false, true}) {
    for (int level = 0; level < static_cast<int>(WalkCacheGeometry::kLevels); ++level) {
      if (engine_.walk_cache().level(stage2, level) == nullptr) continue;
      registration_.add(base + ".walk_cache.s" + std::to_string(stage2 ? 2 : 1) + "l" + std::to_string(level),
                        [this, stage2, level] {
                          const Iotlb& cache = *engine_.walk_cache().level(stage2, level);
                          nlohmann::json j = stats::to_json(cache.statistics());
                          j["valid_entries"] = cache.valid_entries();
                          return j;
                        });
    }
  }
  registration_.add(base + ".config_cache", [this] {
    return nlohmann::json{{"stes", engine_.cached_stes()}, {"cds", engine_.cached_cds()}};
  });
}

Tcu::~Tcu() = default;

TranslationConfig Tcu::debug_engine_config() {
  // Its caches are flushed before every use: the smallest ones do.
  TranslationConfig config;
  config.tlb = TlbGeometry{1, 1, Replacement::Lru};
  config.walk_cache.disable();
  config.config_cache_entries = 1;
  return config;
}

TranslationResult Tcu::translate_debug(TranslationRequest request) {
  request.debug = true;
  request.local_time = nullptr;
  debug_engine_.flush_all();
  return debug_engine_.translate(request);
}

MemoryPort& Tcu::memory() { return *port_; }

sc_core::sc_time Tcu::take_unowned_delay() { return port_->take_unowned(); }

void Tcu::set_control(const TranslationControl& control) {
  engine_.set_control(control);
  debug_engine_.set_control(control);
}

unsigned Tcu::add_observer(MemoryAccessObserver observer) {
  observers_.emplace(next_observer_, std::move(observer));
  return next_observer_++;
}

void Tcu::remove_observer(unsigned id) { observers_.erase(id); }

void Tcu::reset(bool cold) {
  engine_.flush_all();
  debug_engine_.flush_all();
  port_->invalidate_all();
  port_->take_unowned();
  if (cold) engine_.reset_statistics();
}

void Tcu::configure_timing(TimingMode mode, const ApproximateTiming& timing) {
  mode_ = mode;
  timing_ = timing;
  if (mode_ != TimingMode::ApproximatelyTimed) return;
  walk_slots_ = SlotPool(timing_.walk_slots);
  registration_.add(
      std::string(name()) + ".at", [this] { return stats::to_json(timing_stats_); },
      [this] { timing_stats_ = TcuTimingStatistics{}; });
}

TranslationResult Tcu::translate_timed(TranslationRequest request, TranslationEngine::ContextMemo& memo,
                                       TranslationEngine::MicroTlb* micro, sc_core::sc_time& delay) {
  sc_core::wait(timing_.tlb_lookup);
  const PageKey page{request.stream_id, request.ssv, request.ssv ? request.substream_id : 0, request.address >> 12};
  if (pages_in_flight_.count(page) != 0) {
    ++timing_stats_.merged_requests;
    do {
      sc_core::wait(walk_finished_);
    } while (pages_in_flight_.count(page) != 0);
  }
  // Marked in flight for the whole translation: a hit returns without
  // waiting, so only a walk is ever seen in flight by another request.
  pages_in_flight_.insert(page);
  WalkClaim claim;
  claim.stream_id = request.stream_id;
  claim.address = request.address;
  request.local_time = &delay;
  request.walk_slot = &claim;
  TranslationResult result = engine_.translate(request, memo, micro);
  // A walk-cache lookup per stage walk (its levels are looked up together).
  if (claim.held) delay += timing_.walk_cache_lookup * static_cast<double>(result.stage_walks);
  if (delay != sc_core::SC_ZERO_TIME) {
    sc_core::wait(delay);  // the walk's table reads complete
    delay = sc_core::SC_ZERO_TIME;
  }
  if (claim.held) release_walk_slot(claim);
  pages_in_flight_.erase(page);
  walk_finished_.notify();
  return result;
}

void Tcu::claim_walk_slot(WalkClaim& claim, sc_core::sc_time& delay) {
  if (delay != sc_core::SC_ZERO_TIME) {
    sc_core::wait(delay);
    delay = sc_core::SC_ZERO_TIME;
  }
  claim.requested = sc_core::sc_time_stamp();
  if (const std::optional<unsigned> slot = walk_slots_.try_take()) {
    claim.slot = *slot;
  } else {
    ++timing_stats_.slot_waits;
    claim.slot = walk_slots_.take();
  }
  claim.held = true;
  claim.start = sc_core::sc_time_stamp();
  ++timing_stats_.walks;
  timing_stats_.peak_busy_slots = std::max<std::uint64_t>(timing_stats_.peak_busy_slots, walk_slots_.busy());
  timing_stats_.slot_wait_latency.add(static_cast<std::uint64_t>((claim.start - claim.requested).to_seconds() * 1e12));
}

void Tcu::release_walk_slot(const WalkClaim& claim) {
  walk_slots_.give_back(claim.slot);
  if (walk_slot_observers_.empty()) return;
  const WalkSlotRecord record{claim.slot, claim.stream_id, claim.address, claim.requested, claim.start,
                              sc_core::sc_time_stamp()};
  for (const WalkSlotObserver& observer : walk_slot_observers_) observer(record);
}

void Tcu::table_walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end) { port_->invalidate(start, end); }

}  // namespace smmuv3tlm::smmu
