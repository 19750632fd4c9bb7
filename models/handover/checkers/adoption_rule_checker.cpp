#include "smmuv3tlm/models/handover/checkers/adoption_rule_checker.h"

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::handover {

void AdoptionRuleChecker::on_register_write(double time_ns, std::uint64_t offset, std::uint64_t value,
                                            std::uint32_t cr0ack, std::uint32_t active_gerror) {
  namespace reg = smmu::reg;
  const bool enabled = (cr0ack & reg::cr0::SMMUEN) != 0;
  const bool guarded = offset == reg::CR1 || offset == reg::CR2 || offset == reg::STRTAB_BASE ||
                       offset == reg::STRTAB_BASE + 4 || offset == reg::STRTAB_BASE_CFG;
  if (enabled && guarded) {
    report(time_ns, kNoStream, offset, "register",
           fmt::format("{:#x} written to {} while SMMUEN=1 (CONSTRAINED UNPREDICTABLE; adoption must skip it)", value,
                       smmu::register_name(offset) != nullptr ? smmu::register_name(offset) : "a register"));
  }
  const bool starts_cmdq = offset == reg::CR0 && (value & reg::cr0::CMDQEN) != 0 && (cr0ack & reg::cr0::CMDQEN) == 0;
  if (starts_cmdq && (active_gerror & reg::gerror::CMDQ_ERR) != 0) {
    report(time_ns, kNoStream, offset, "register",
           "the command queue was enabled with GERROR.CMDQ_ERR still latched (acknowledge GERROR first)");
  }
}

void AdoptionRuleChecker::on_adopted_ste(double time_ns, std::uint32_t stream_id, std::uint64_t address,
                                         const smmu::EntryWords& saved, const smmu::EntryWords& live) {
  if (saved == live) return;
  report(time_ns, stream_id, address, "STE", "the live STE at adoption differs from the one the outgoing kernel left");
}

}  // namespace smmuv3tlm::handover
