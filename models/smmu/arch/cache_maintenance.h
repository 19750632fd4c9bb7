// The interface through which the command queue reaches the SMMU's caches. The
// command queue engine decodes and validates commands; every configuration or
// TLB invalidation and every prefetch is handed here, in queue order, before any
// later CMD_SYNC completes (so a sync observes every earlier invalidation).
#pragma once

#include "smmuv3tlm/models/smmu/arch/command.h"

namespace smmuv3tlm::smmu {

class CacheMaintenance {
 public:
  virtual ~CacheMaintenance() = default;
  // Called for PREFETCH_*, CFGI_*, TLBI_* and ATC_INV commands that passed
  // validation.
  virtual void execute(const Command& command) = 0;
};

}  // namespace smmuv3tlm::smmu
