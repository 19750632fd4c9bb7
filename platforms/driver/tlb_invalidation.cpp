#include "smmuv3tlm/platforms/driver/tlb_invalidation.h"

namespace smmuv3tlm::driver {

namespace {

unsigned log2_of(std::uint64_t value) {
  unsigned n = 0;
  while (value > 1) {
    value >>= 1;
    ++n;
  }
  return n;
}

unsigned lowest_set_bit(std::uint64_t value) {
  unsigned n = 0;
  while ((value & 1) == 0) {
    value >>= 1;
    ++n;
  }
  return n;
}

}  // namespace

std::vector<smmu::Command> tlb_invalidation(const InvalidationTarget& target, std::uint64_t iova, std::uint64_t size,
                                            std::uint64_t granule, bool leaf, bool range_invalidation) {
  using smmu::CommandOpcode;
  std::vector<smmu::Command> commands;
  if (size == 0 || granule == 0) return commands;
  smmu::Command cmd;
  cmd.asid = target.asid;
  cmd.vmid = target.vmid;
  if (!range_invalidation && size / granule > kMaxTlbiOps) {
    // Too many commands: the whole context instead.
    cmd.opcode = target.stage2 ? CommandOpcode::TLBI_S12_VMALL
                               : (target.el2 ? CommandOpcode::TLBI_EL2_ASID : CommandOpcode::TLBI_NH_ASID);
    commands.push_back(cmd);
    return commands;
  }
  cmd.opcode = target.stage2 ? CommandOpcode::TLBI_S2_IPA : (target.el2 ? CommandOpcode::TLBI_EL2_VA : CommandOpcode::TLBI_NH_VA);
  cmd.leaf = leaf;
  const unsigned tg = target.page_log2;
  std::uint64_t step = granule;
  std::uint64_t num_pages = size >> tg;
  if (range_invalidation) {
    cmd.tg = static_cast<std::uint8_t>((tg - 10) / 2);  // 12, 14, 16 -> 1, 2, 3
    if (leaf) {
      // The level of the removed leaves: 4 - (log2(granule) - 3) / (tg - 3).
      cmd.ttl = static_cast<std::uint8_t>(4 - ((log2_of(granule) - 3) / (tg - 3)));
    } else if ((num_pages & 31) == 1) {
      ++num_pages;  // NUM=0 with SCALE=0 would be one page: avoid that corner
    }
  }
  const std::uint64_t end = iova + size;
  while (iova < end) {
    if (range_invalidation) {
      if (num_pages == 0) break;
      const unsigned scale = lowest_set_bit(num_pages);
      const std::uint64_t num = (num_pages >> scale) & 31;
      cmd.scale = static_cast<std::uint8_t>(scale);
      cmd.num = static_cast<std::uint8_t>(num - 1);
      step = num << (scale + tg);
      num_pages -= num << scale;
    }
    cmd.address = iova;
    commands.push_back(cmd);
    iova += step;
  }
  return commands;
}

}  // namespace smmuv3tlm::driver
