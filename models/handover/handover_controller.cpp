#include "smmuv3tlm/models/handover/handover_controller.h"

#include <algorithm>

#include <boost/icl/interval_set.hpp>

namespace smmuv3tlm::handover {

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::Running: return "running";
    case Phase::Preserve: return "preserve";
    case Phase::Shutdown: return "shutdown";
    case Phase::Kexec: return "kexec";
    case Phase::Adopt: return "adopt";
    case Phase::Finish: return "finish";
  }
  return "unknown";
}

const char* to_string(SmmuReset reset) {
  switch (reset) {
    case SmmuReset::None: return "none";
    case SmmuReset::Warm: return "warm";
    case SmmuReset::Cold: return "cold";
  }
  return "unknown";
}

bool parse_smmu_reset(const std::string& text, SmmuReset& reset) {
  if (text == "none") reset = SmmuReset::None;
  else if (text == "warm") reset = SmmuReset::Warm;
  else if (text == "cold") reset = SmmuReset::Cold;
  else return false;
  return true;
}

HandoverController::HandoverController(const sc_core::sc_module_name& name, memory::SparseMemory& memory,
                                       smmu::Smmuv3& smmu, const HandoverConfig& config)
    : sc_core::sc_module(name), memory_(memory), smmu_(smmu), config_(config) {
  phases_.push_back({Phase::Running, sc_core::SC_ZERO_TIME, sc_core::SC_ZERO_TIME});
}

void HandoverController::enter(Phase phase) {
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  phases_.back().end = now;
  phases_.push_back({phase, now, sc_core::SC_ZERO_TIME});
  phase_ = phase;
  phase_changed_.notify(sc_core::SC_ZERO_TIME);
  if (phase_observer_) phase_observer_(phase);
}

void HandoverController::live_update(Kernel& kernel) {
  run_preserve(kernel);
  run_shutdown(kernel);
  run_kexec(kernel);
  run_adopt(kernel);
  run_finish();
}

void HandoverController::run_preserve(Kernel& kernel) {
  enter(Phase::Preserve);
  preserved_ = kernel.preserve();
}

void HandoverController::run_shutdown(Kernel& kernel) {
  enter(Phase::Shutdown);
  kernel.shutdown();
}

void HandoverController::run_kexec(Kernel& kernel) {
  enter(Phase::Kexec);
  kernel.destroy();
  kexec(true);
}

void HandoverController::run_adopt(Kernel& kernel) {
  enter(Phase::Adopt);
  kernel.adopt();
}

void HandoverController::run_finish() { enter(Phase::Finish); }

void HandoverController::crash_and_adopt(Kernel& kernel) {
  run_crash(kernel);
  run_adopt(kernel);
  run_finish();
}

void HandoverController::run_crash(Kernel& kernel) {
  preserved_.clear();
  enter(Phase::Kexec);
  kernel.destroy();
  kexec(false);
}

void HandoverController::kexec(bool scrub) {
  if (config_.cpu_cache != nullptr) {
    if (config_.write_back_dirty_lines) {
      config_.cpu_cache->write_back_all();
    } else {
      config_.cpu_cache->discard_all();
    }
  }
  if (scrub) {
    // Kernel memory less what was preserved: gone, poisoned.
    boost::icl::interval_set<std::uint64_t> lost;
    for (const MemoryRange& r : config_.kernel_memory) {
      lost += boost::icl::interval<std::uint64_t>::right_open(r.pa, r.pa + r.bytes);
    }
    for (const MemoryRange& r : preserved_) {
      lost -= boost::icl::interval<std::uint64_t>::right_open(r.pa, r.pa + r.bytes);
    }
    for (const auto& interval : lost) {
      const std::uint64_t start = boost::icl::first(interval);
      const std::uint64_t end = boost::icl::last(interval) + 1;
      memory_.poison(start, end - start);
      scrubbed_.emplace_back(start, end);
      bytes_scrubbed_ += end - start;
    }
  }
  switch (config_.smmu_reset) {
    case SmmuReset::None: break;
    case SmmuReset::Warm: smmu_.reset(smmu::ResetKind::Warm); break;
    case SmmuReset::Cold: smmu_.reset(smmu::ResetKind::Cold); break;
  }
  sc_core::wait(config_.kexec_time);
}

bool HandoverController::scrubbed(std::uint64_t pa) const {
  return std::any_of(scrubbed_.begin(), scrubbed_.end(),
                     [pa](const auto& r) { return pa >= r.first && pa < r.second; });
}

}  // namespace smmuv3tlm::handover
