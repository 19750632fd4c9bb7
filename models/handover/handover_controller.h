// The reset/handover controller: runs a kexec-style live update of the host
// kernel as phases while PCIe masters keep issuing DMA, and owns the reset
// domains that matter to it.
//   running   the outgoing kernel drives the SMMU;
//   preserve  it records what it hands over (the preserved ranges);
//   shutdown  it runs its live-update shutdown sequence;
//   kexec     the kernel instance is destroyed; the CPU cache's dirty lines
//             are written back or lost (configuration); every byte of kernel
//             memory not preserved is scrubbed (poisoned: reads return the
//             scrub pattern and are recorded); the SMMU is optionally reset
//             (warm or cold) to show what that breaks; the CPU is away
//             `kexec_time`;
//   adopt     a new kernel instance probes and adopts;
//   finish    the new kernel drives the SMMU.
// kdump is the second mode: the kernel crashes (no preserve, no shutdown, no
// scrub: the crash kernel boots beside the old memory), then adopts.
// The kernels are the platform's (an interface here); the phases run on the
// calling thread, the CPU's.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <systemc>

#include "smmuv3tlm/models/memory/cpu_cache.h"
#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/models/smmu/smmuv3.h"

namespace smmuv3tlm::handover {

enum class Phase : std::uint8_t { Running, Preserve, Shutdown, Kexec, Adopt, Finish };
inline constexpr Phase kAllPhases[] = {Phase::Running, Phase::Preserve, Phase::Shutdown,
                                       Phase::Kexec,   Phase::Adopt,    Phase::Finish};
const char* to_string(Phase phase);

enum class SmmuReset : std::uint8_t { None, Warm, Cold };
const char* to_string(SmmuReset reset);
bool parse_smmu_reset(const std::string& text, SmmuReset& reset);

struct MemoryRange {
  std::uint64_t pa = 0;
  std::uint64_t bytes = 0;
  std::string type;  // what it holds (stream-table-l1, stage1-table, ...)
};

// The two kernels, as the controller drives them.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // The outgoing kernel records what it hands over; returns the ranges kept.
  virtual std::vector<MemoryRange> preserve() = 0;
  virtual void shutdown() = 0;
  // kexec: the instance stops existing (nothing is stored, nothing freed).
  virtual void destroy() = 0;
  // The incoming kernel probes and adopts (or, kdump, adopts after a crash).
  virtual void adopt() = 0;
};

struct HandoverConfig {
  SmmuReset smmu_reset = SmmuReset::None;
  sc_core::sc_time kexec_time{10, sc_core::SC_US};
  // The kernel's memory: scrubbed at kexec except the preserved ranges.
  std::vector<MemoryRange> kernel_memory;
  // The CPU's cache: at kexec its dirty lines are written back (a kernel that
  // flushes before jumping) or lost.
  memory::CpuCache* cpu_cache = nullptr;
  bool write_back_dirty_lines = true;
};

struct PhaseRecord {
  Phase phase = Phase::Running;
  sc_core::sc_time start;
  sc_core::sc_time end;  // SC_ZERO_TIME while the phase lasts
};

class HandoverController : public sc_core::sc_module {
 public:
  HandoverController(const sc_core::sc_module_name& name, memory::SparseMemory& memory, smmu::Smmuv3& smmu,
                     const HandoverConfig& config = {});

  // A live update on the calling thread: preserve, shutdown, kexec, adopt,
  // finish. A kernel's exception ends the update in its phase and is rethrown.
  void live_update(Kernel& kernel);
  // kdump: crash (kexec without preserve, shutdown or scrub), adopt, finish.
  void crash_and_adopt(Kernel& kernel);
  // The same phases one at a time, for a caller that runs work between them
  // (a trace's DMA while the CPU is away): live_update() is exactly
  // run_preserve, run_shutdown, run_kexec, run_adopt, run_finish.
  void run_preserve(Kernel& kernel);
  void run_shutdown(Kernel& kernel);
  void run_kexec(Kernel& kernel);
  void run_adopt(Kernel& kernel);
  void run_finish();
  // kdump's first phase: the kernel crashes (kexec without preserve, shutdown
  // or scrub); crash_and_adopt() is run_crash, run_adopt, run_finish.
  void run_crash(Kernel& kernel);

  // Called on the CPU thread as each phase begins (statistics snapshots).
  void set_phase_observer(std::function<void(Phase)> observer) { phase_observer_ = std::move(observer); }
  Phase phase() const { return phase_; }
  const sc_core::sc_event& phase_changed() const { return phase_changed_; }
  const std::vector<PhaseRecord>& phases() const { return phases_; }
  const std::vector<MemoryRange>& preserved() const { return preserved_; }
  std::uint64_t bytes_scrubbed() const { return bytes_scrubbed_; }
  // Whether `pa` was scrubbed at kexec (and what the checkers call scrubbed memory).
  bool scrubbed(std::uint64_t pa) const;
  const HandoverConfig& config() const { return config_; }

 private:
  void enter(Phase phase);
  void kexec(bool scrub);

  memory::SparseMemory& memory_;
  smmu::Smmuv3& smmu_;
  HandoverConfig config_;
  Phase phase_ = Phase::Running;
  sc_core::sc_event phase_changed_;
  std::vector<PhaseRecord> phases_;
  std::vector<MemoryRange> preserved_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> scrubbed_;  // [start, end)
  std::uint64_t bytes_scrubbed_ = 0;
  std::function<void(Phase)> phase_observer_;
};

}  // namespace smmuv3tlm::handover
