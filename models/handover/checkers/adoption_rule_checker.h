// Adoption rule breaks: CR1, CR2 or STRTAB_BASE(_CFG) written while SMMUEN=1
// (CONSTRAINED UNPREDICTABLE: an adopting kernel must skip them), the command
// queue enabled while GERROR still latches CMDQ_ERR (the new queue would halt
// at once), and a preserved stream whose live STE at adoption is not the one
// the outgoing kernel left.
#pragma once

#include "smmuv3tlm/models/handover/checkers/checker.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::handover {

class AdoptionRuleChecker : public Checker {
 public:
  AdoptionRuleChecker() : Checker("adoption-rule") {}
  // Before a register write reaches the SMMU: its CR0ACK and the active GERROR bits then.
  void on_register_write(double time_ns, std::uint64_t offset, std::uint64_t value, std::uint32_t cr0ack,
                         std::uint32_t active_gerror);
  // At adoption: a preserved stream's STE as the outgoing kernel left it and as it is live now.
  void on_adopted_ste(double time_ns, std::uint32_t stream_id, std::uint64_t address, const smmu::EntryWords& saved,
                      const smmu::EntryWords& live);
};

}  // namespace smmuv3tlm::handover
