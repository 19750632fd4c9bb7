#include "smmuv3tlm/models/handover/checkers/checker.h"

#include <fmt/format.h>

namespace smmuv3tlm::handover {

std::string Finding::describe() const {
  const std::string stream = stream_id == kNoStream ? std::string("-") : fmt::format("{:#x}", stream_id);
  return fmt::format("[{}] {:.1f} ns StreamID {} {} at {:#x}: {}", checker, time_ns, stream, table, address, rule);
}

void Checker::report(double time_ns, std::uint32_t stream_id, std::uint64_t address, std::string table,
                     std::string rule) {
  findings_.push_back(Finding{name_, time_ns, stream_id, address, std::move(table), std::move(rule)});
}

}  // namespace smmuv3tlm::handover
