// Range invalidation as the Linux driver issues it, checked against the SMMU's
// own reading of the commands: every page of the range is covered by some
// command, no page outside it is (the engine's scope rule decides), and the
// command counts follow RIL, per-granule and whole-ASID rules.
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/platforms/driver/tlb_invalidation.h"

namespace smmuv3tlm::driver {
namespace {

using smmu::CommandOpcode;

// The input range one TLBI by address covers, as the SMMU reads it (§4.4.1.1).
std::pair<std::uint64_t, std::uint64_t> covered(const smmu::Command& c) {
  const std::uint64_t start = c.address & ~0xfffull;
  if (c.tg == 0) return {start, start + 0x1000};
  const unsigned granule = c.tg == 1 ? 12 : c.tg == 2 ? 14 : 16;
  return {start, start + ((static_cast<std::uint64_t>(c.num) + 1) << c.scale << granule)};
}

TEST(TlbInvalidation, RangeCommandsCoverExactlyTheRange) {
  InvalidationTarget target;
  target.asid = 5;
  for (const std::uint64_t pages : {1ull, 2ull, 31ull, 32ull, 33ull, 100ull, 1000ull, 65535ull}) {
    const std::uint64_t iova = 0x4000'0000;
    const auto commands = tlb_invalidation(target, iova, pages << 12, 0x1000, true, true);
    std::uint64_t next = iova;
    for (const smmu::Command& c : commands) {
      EXPECT_EQ(c.opcode, CommandOpcode::TLBI_NH_VA);
      EXPECT_EQ(c.asid, 5u);
      EXPECT_EQ(c.ttl, 3u) << "4K leaves are at level 3";
      const auto [start, end] = covered(c);
      EXPECT_EQ(start, next) << pages << " pages";
      next = end;
    }
    EXPECT_EQ(next, iova + (pages << 12)) << pages << " pages: the commands tile the range exactly";
    EXPECT_LE(commands.size(), 1 + pages / 32 + 5u);
  }
}

TEST(TlbInvalidation, WithoutRilOneCommandPerGranuleThenTheWholeAsid) {
  InvalidationTarget target;
  target.asid = 9;
  auto commands = tlb_invalidation(target, 0x10'0000, 16 << 12, 0x1000, true, false);
  ASSERT_EQ(commands.size(), 16u);
  EXPECT_EQ(commands[15].address, 0x10'0000u + (15 << 12));
  EXPECT_EQ(commands[0].tg, 0u);
  // A 2 MiB block: one command for the block.
  commands = tlb_invalidation(target, 0x20'0000, 0x20'0000, 0x20'0000, true, false);
  EXPECT_EQ(commands.size(), 1u);
  // 1 GiB in pages: beyond 512 commands, the whole ASID.
  commands = tlb_invalidation(target, 0, 1ull << 30, 0x1000, true, false);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].opcode, CommandOpcode::TLBI_NH_ASID);
  InvalidationTarget s2;
  s2.stage2 = true;
  s2.vmid = 3;
  commands = tlb_invalidation(s2, 0, 1ull << 30, 0x1000, true, false);
  EXPECT_EQ(commands[0].opcode, CommandOpcode::TLBI_S12_VMALL);
  EXPECT_EQ(commands[0].vmid, 3u);
}

TEST(TlbInvalidation, EveryCommandIsOneTheSmmuAccepts) {
  const smmu::Capabilities caps = *smmu::Capabilities::preset("mmu-700");
  InvalidationTarget target;
  target.asid = 1;
  for (const bool leaf : {true, false}) {
    for (const smmu::Command& c : tlb_invalidation(target, 0x1234'5000, 777 << 12, 0x1000, leaf, true)) {
      std::string why;
      EXPECT_TRUE(smmu::decode_command(smmu::encode_command(c), caps, why).has_value()) << why;
    }
  }
}

}  // namespace
}  // namespace smmuv3tlm::driver
