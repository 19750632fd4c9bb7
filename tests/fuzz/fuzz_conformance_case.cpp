// Fuzz target: arbitrary bytes as a conformance case file, through the
// runner's checks up to the simulation: the reader loads a case or returns an
// error naming the file, never crashing or throwing; a loaded case gets the
// SMMU its smmu_id describes (or a reason), and then either a replay problem
// naming a key of the file or a platform the replay fits: queues inside `ram`
// and large enough for every batch the replay publishes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include <unistd.h>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/conformance/conformance_case.h"

namespace {

using namespace smmuv3tlm;

constexpr std::uint64_t kMemoryBytes = std::uint64_t{1} << 52;  // the sparse memory's default space

bool inside_some_ram(const conformance::ConformanceCase& c, std::uint64_t pa, std::uint64_t bytes) {
  for (const conformance::RamRange& r : c.ram) {
    if (pa >= r.base && pa - r.base + bytes <= r.size) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/smmu-fuzz-case-" + std::to_string(getpid()) + ".json";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  const auto result = conformance::load_case(path);
  if (!result.ok()) {
    if (result.error().file != path) std::abort();
    return 0;
  }
  const conformance::ConformanceCase& c = result.value();
  std::string why;
  const std::optional<smmu::Capabilities> caps =
      c.smmu_ids ? smmu::Capabilities::from_idrs(c.smmu_ids->idr0, c.smmu_ids->idr1, c.smmu_ids->idr3, c.smmu_ids->idr5,
                                                 c.smmu_ids->aidr, why)
                 : smmu::Capabilities::preset("qemu-virt");
  if (!caps) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (const auto problem = conformance::replay_problem(c, *caps, kMemoryBytes)) {
    if (problem->file != path || problem->key.empty() || problem->message.empty()) std::abort();
    return 0;
  }
  // Replayable: what the runner relies on holds.
  const auto cmdq = smmu::reg::queue_geometry(c.registers.cmdq_base, caps->cmdq_log2, smmu::kCommandBytes);
  const auto eventq = smmu::reg::queue_geometry(c.registers.eventq_base, caps->eventq_log2, smmu::kEventRecordBytes);
  if (!inside_some_ram(c, cmdq.base_address, cmdq.size_bytes())) std::abort();
  if (!inside_some_ram(c, eventq.base_address, eventq.size_bytes())) std::abort();
  if (cmdq.entries() < conformance::kInvalidateAllCommands) std::abort();
  for (const conformance::Probe& probe : c.probes) {
    if (probe.iova > ~std::uint64_t{0} - 7 || probe.outcomes.empty()) std::abort();
    for (const conformance::ProbeStep& step : probe.before) {
      if (const auto* batch = std::get_if<conformance::CommandBatch>(&step)) {
        if (batch->commands.size() > cmdq.entries()) std::abort();
      }
    }
  }
  for (const conformance::RamRange& r : c.ram) {
    if (r.base >= kMemoryBytes || r.size > kMemoryBytes - r.base) std::abort();
  }
  return 0;
}
