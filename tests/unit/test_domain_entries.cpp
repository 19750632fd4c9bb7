// Domain entries as the Linux driver builds them: the SMMU accepts each one
// (decode without C_BAD_STE/C_BAD_CD), the fields land where the domain says,
// moving a device between them takes the hitless updates Linux's test expects,
// and the ASID/VMID allocators start at 1 and honour reservations.
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/context_descriptor.h"
#include "smmuv3tlm/models/smmu/arch/stream_table.h"
#include "smmuv3tlm/platforms/driver/domain_entries.h"

namespace smmuv3tlm::driver {
namespace {

smmu::Capabilities caps() { return *smmu::Capabilities::preset("mmu-700"); }

DriverFeatures features_of(const smmu::Capabilities& c) {
  DriverFeatures f;
  f.stage1 = c.stage1;
  f.stage2 = c.stage2;
  f.hyp = false;
  f.attr_types_override = c.attr_types_override;
  f.stall_model = static_cast<unsigned>(c.stall_model);
  return f;
}

Stage2Context s2_context() {
  Stage2Context s2;
  s2.ttb = 0x8000'0000;
  s2.tsz = 24;  // 40-bit IPA
  s2.sl = 1;    // start at level 1 (4K)
  s2.vmid = 7;
  return s2;
}

TEST(DomainEntries, TheSmmuAcceptsEachEntryAsBuilt) {
  const DriverFeatures f = features_of(caps());
  smmu::StreamTableEntry decoded;
  std::string why;
  const smmu::EntryWords s2 = make_s2_domain_ste(s2_context(), f, {});
  ASSERT_TRUE(smmu::decode_ste(s2, caps(), decoded, why)) << why;
  EXPECT_EQ(decoded.config, smmu::SteConfig::Stage2);
  EXPECT_EQ(decoded.s2.vmid, 7u);
  EXPECT_EQ(decoded.s2.ttb, 0x8000'0000u);
  EXPECT_EQ(decoded.s2.start_level, 1);

  const smmu::EntryWords s1 = make_cdtable_ste(0x9000'0000, 2, 8, kS1dssSsid0, f, {});
  ASSERT_TRUE(smmu::decode_ste(s1, caps(), decoded, why)) << why;
  EXPECT_EQ(decoded.config, smmu::SteConfig::Stage1);
  EXPECT_EQ(decoded.s1_context_ptr, 0x9000'0000u);
  EXPECT_EQ(decoded.s1dss, smmu::S1DefaultSubstream::Substream0);

  const smmu::EntryWords nested = make_nested_ste(s1, s2_context(), f, {});
  ASSERT_TRUE(smmu::decode_ste(nested, caps(), decoded, why)) << why;
  EXPECT_EQ(decoded.config, smmu::SteConfig::Nested);
  EXPECT_EQ(decoded.s1_context_ptr, 0x9000'0000u);
  EXPECT_EQ(decoded.s2.vmid, 7u);
  EXPECT_TRUE(smmu::ste::MEV.is_set(nested));

  Stage1Context c;
  c.ttb = 0xa000'0000;
  c.asid = 42;
  c.mair = 0x44ff04;
  const smmu::EntryWords cd_words = make_s1_cd(c, {});
  smmu::ContextDescriptor cd;
  ASSERT_TRUE(smmu::decode_cd(cd_words, caps(), cd, why)) << why;
  EXPECT_EQ(cd.asid, 42u);
  EXPECT_EQ(cd.range[0].ttb, 0xa000'0000u);
  EXPECT_TRUE(cd.range[1].disabled);
  EXPECT_EQ(cd.mair, 0x44ff04u);
}

TEST(DomainEntries, MovingADeviceBetweenDomainsIsHitlessOnlyWhenOneQwordChangesInUse) {
  const DriverFeatures f = features_of(caps());
  const smmu::EntryWords s1 = make_cdtable_ste(0x9000'0000, 2, 8, kS1dssSsid0, f, {});
  // With the stage-1 STE's VMID (0), as in Linux's KUnit test: only Config changes in use.
  Stage2Context same_vmid = s2_context();
  same_vmid.vmid = 0;
  smmu::EntryWords entry = s1;
  EntryWriter writer(EntryKind::Ste, [](unsigned, std::uint64_t) {}, [] {});
  EntryUpdate update = writer.write(entry, make_s2_domain_ste(same_vmid, f, {}));
  EXPECT_TRUE(update.hitless);
  EXPECT_TRUE(update.states_ok);
  EXPECT_EQ(update.syncs, 3u);
  // A stage-2 domain with its own VMID changes qwords 0 and 2 in use: V=0 first.
  entry = s1;
  update = writer.write(entry, make_s2_domain_ste(s2_context(), f, {}));
  EXPECT_FALSE(update.hitless);
  EXPECT_TRUE(update.states_ok);
  EXPECT_EQ(update.syncs, 3u);
  entry = make_s2_domain_ste(s2_context(), f, {});
  Stage2Context other = s2_context();
  other.vmid = 8;
  other.ttb = 0x8100'0000;
  update = writer.write(entry, make_s2_domain_ste(other, f, {}));
  EXPECT_FALSE(update.hitless) << "a new VMID and a new table in two qwords need V=0 first";
  EXPECT_EQ(update.syncs, 3u);
}

TEST(DomainEntries, IdentifiersStartAtOneAndReservationsAreHonoured) {
  IdAllocator vmids(1, 3);
  EXPECT_TRUE(vmids.reserve(2)) << "a handed-over table's VMID";
  EXPECT_FALSE(vmids.reserve(2));
  EXPECT_FALSE(vmids.reserve(0)) << "out of range";
  EXPECT_EQ(vmids.allocate(), 1u);
  EXPECT_EQ(vmids.allocate(), 3u);
  EXPECT_EQ(vmids.allocate(), std::nullopt);
  vmids.release(1);
  EXPECT_EQ(vmids.allocate(), 1u);
  EXPECT_EQ(vmids.size(), 3u);
}

}  // namespace
}  // namespace smmuv3tlm::driver
