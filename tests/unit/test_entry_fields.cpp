// The STE and CD field tables: no field overlaps another, names are unique,
// the encoders and decoders agree through them, and the used-bits masks follow
// the rule Linux's hitless entry writer relies on (arm_smmu_get_ste_used /
// arm_smmu_get_cd_used).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"

namespace smmuv3tlm::smmu {
namespace {

template <std::size_t N>
void expect_disjoint_and_named(const std::array<EntryField, N>& fields) {
  EntryWords covered{};
  std::set<std::string> names;
  for (const EntryField& f : fields) {
    EXPECT_LT(f.qword, 8u) << f.name;
    EXPECT_GE(f.hi, f.lo) << f.name;
    EXPECT_EQ(covered[f.qword] & f.mask(), 0u) << f.name << " overlaps another field";
    covered[f.qword] |= f.mask();
    EXPECT_TRUE(names.insert(f.name).second) << f.name << " is declared twice";
  }
}

TEST(EntryFields, SteAndCdFieldsAreDisjointAndUniquelyNamed) {
  expect_disjoint_and_named(ste::kFields);
  expect_disjoint_and_named(cd::kFields);
}

TEST(EntryFields, NumbersShiftAndAddressesKeepTheirPositions) {
  EntryWords w{};
  ste::S2T0SZ.set(w, 24);
  EXPECT_EQ(w[2], std::uint64_t{24} << 32);
  EXPECT_EQ(ste::S2T0SZ.get(w), 24u);
  ste::S2TTB.set(w, 0x12345678f);  // bits below 4 are not part of the address
  EXPECT_EQ(w[3], 0x123456780u);
  EXPECT_EQ(ste::S2TTB.get(w), 0x123456780u);
  ste::S2T0SZ.set(w, 0x7f);  // too wide: only the field's 6 bits are written
  EXPECT_EQ(ste::S2T0SZ.get(w), 0x3fu);
  EXPECT_EQ(w[2] & ~ste::S2T0SZ.mask(), 0u);
}

TEST(EntryFields, BuilderEncodingsPlaceEveryFieldWhereTheTableSays) {
  tables::SteFields f;
  f.config = ste::kConfigNested;
  f.s1_context_ptr = 0x8000040;
  f.s1cdmax = 5;
  f.strw = 2;
  f.privcfg = 3;
  f.s2vmid = 0x1234;
  f.s2ps = 0b101;
  f.s2ttb = 0x40001000;
  const EntryWords w = tables::encode_ste(f);
  EXPECT_EQ(ste::CONFIG.get(w), ste::kConfigNested);
  EXPECT_EQ(ste::S1_CONTEXT_PTR.get(w), 0x8000040u);
  EXPECT_EQ(ste::S1CDMAX.get(w), 5u);
  EXPECT_EQ(ste::STRW.get(w), 2u);
  EXPECT_EQ(ste::PRIVCFG.get(w), 3u);
  EXPECT_EQ(ste::S2VMID.get(w), 0x1234u);
  EXPECT_EQ(ste::S2TTB.get(w), 0x40001000u);
  tables::CdFields c;
  c.asid = 0xbeef;
  c.ttb0 = 0x7000;
  c.mair = 0x44ff;
  const EntryWords cw = tables::encode_cd(c);
  EXPECT_EQ(cd::ASID.get(cw), 0xbeefu);
  EXPECT_EQ(cd::TTB0.get(cw), 0x7000u);
  EXPECT_EQ(cd::MAIR.get(cw), 0x44ffu);
  EXPECT_TRUE(cd::V.is_set(cw));
  EXPECT_TRUE(cd::EPD1.is_set(cw));
}

// An STE with only the bits its configuration uses, as Linux's arm_smmu_make_*_ste() build them.
EntryWords ste_words(unsigned config, unsigned s1dss = 0) {
  tables::SteFields f;
  f.config = config;
  f.s1dss = s1dss;
  f.s1_context_ptr = 0x10000;
  f.s2ttb = 0x20000;
  EntryWords w = tables::encode_ste(f);
  const EntryWords used = ste::used_bits(w);
  for (unsigned i = 0; i < 8; ++i) w[i] &= used[i];
  return w;
}

TEST(EntryFields, InvalidSteUsesOnlyV) {
  EntryWords w = ste_words(ste::kConfigStage1);
  ste::V.set(w, 0);
  const EntryWords used = ste::used_bits(w);
  EXPECT_EQ(used[0], ste::V.mask());
  for (unsigned i = 1; i < 8; ++i) EXPECT_EQ(used[i], 0u);
}

TEST(EntryFields, AbortAndBypassSteUseConfigAndOnlyBypassUsesShcfg) {
  const EntryWords abort_used = ste::used_bits(ste_words(ste::kConfigAbort));
  EXPECT_EQ(abort_used[0], ste::V.mask() | ste::CONFIG.mask());
  EXPECT_EQ(abort_used[1], 0u);
  const EntryWords bypass_used = ste::used_bits(ste_words(ste::kConfigBypass));
  EXPECT_EQ(bypass_used[1], ste::SHCFG.mask());
  EXPECT_EQ(bypass_used[2], 0u);
}

TEST(EntryFields, StageOneSteUsesItsContextFieldsAndVmidButNoStageTwoWalk) {
  const EntryWords used = ste::used_bits(ste_words(ste::kConfigStage1));
  EXPECT_NE(used[0] & ste::S1_CONTEXT_PTR.mask(), 0u);
  EXPECT_NE(used[1] & ste::S1DSS.mask(), 0u);
  EXPECT_EQ(used[1] & ste::SHCFG.mask(), 0u) << "SHCFG only with S1DSS=bypass";
  EXPECT_EQ(used[2], ste::S2VMID.mask());
  EXPECT_EQ(used[3], 0u);
  const EntryWords dss_bypass = ste::used_bits(ste_words(ste::kConfigStage1, 0b01));
  EXPECT_NE(dss_bypass[1] & ste::SHCFG.mask(), 0u);
}

TEST(EntryFields, StageTwoSteUsesVtcrAndS2ttbButNotTheCdPointer) {
  const EntryWords used = ste::used_bits(ste_words(ste::kConfigStage2));
  EXPECT_EQ(used[0] & ste::S1_CONTEXT_PTR.mask(), 0u);
  EXPECT_EQ(used[2] & mask_bits(50, 32), mask_bits(50, 32)) << "S2T0SZ..S2PS";
  EXPECT_EQ(used[3], ste::S2TTB.mask());
  EXPECT_EQ(used[2] & (ste::S2AFFD.mask() | ste::S2HA.mask() | ste::S2HD.mask()), 0u)
      << "the Linux rule leaves S2AFFD/S2HA/S2HD out";
  const EntryWords nested = ste::used_bits(ste_words(ste::kConfigNested));
  EXPECT_NE(nested[0] & ste::S1_CONTEXT_PTR.mask(), 0u);
  EXPECT_EQ(nested[3], ste::S2TTB.mask());
}

// How many 64-bit words must change in used bits to go from `from` to `to`
// (Linux's arm_smmu_entry_qword_diff without the safe-bits relaxation).
unsigned critical_words(const EntryWords& from, const EntryWords& to) {
  const EntryWords from_used = ste::used_bits(from);
  const EntryWords to_used = ste::used_bits(to);
  unsigned count = 0;
  for (unsigned i = 0; i < 8; ++i) {
    const std::uint64_t unused_update = (from[i] & from_used[i]) | (to[i] & ~from_used[i]);
    if ((unused_update & to_used[i]) != to[i]) ++count;
  }
  return count;
}

TEST(EntryFields, UsedBitsTellHitlessFromBreakingSteUpdates) {
  // Abort -> S2: only word 0's used bits change (the S2 words are unused while aborting).
  EXPECT_EQ(critical_words(ste_words(ste::kConfigAbort), ste_words(ste::kConfigStage2)), 1u);
  // S1 -> S1 with another S1DSS: word 1 only.
  EXPECT_EQ(critical_words(ste_words(ste::kConfigStage1, 0), ste_words(ste::kConfigStage1, 0b10)), 1u);
  // S1 -> S2 with a different VMID: words 0 and 2 both change in use -> V=0 first.
  EntryWords s2 = ste_words(ste::kConfigStage2);
  ste::S2VMID.set(s2, 9);
  EXPECT_GE(critical_words(ste_words(ste::kConfigStage1), s2), 2u);
}

TEST(EntryFields, CdUsesEverythingWhenValidExceptTheDisabledTtb0Range) {
  tables::CdFields c;
  c.epd0 = false;
  EntryWords w = tables::encode_cd(c);
  EntryWords used = cd::used_bits(w);
  for (unsigned i = 0; i < 8; ++i) EXPECT_EQ(used[i], ~std::uint64_t{0});
  c.epd0 = true;
  w = tables::encode_cd(c);
  used = cd::used_bits(w);
  EXPECT_EQ(used[0] & (cd::T0SZ.mask() | cd::TG0.mask() | cd::SH0.mask()), 0u);
  EXPECT_EQ(used[1] & cd::TTB0.mask(), 0u);
  EXPECT_NE(used[1] & cd::HAD0.mask(), 0u);
  c.v = false;
  used = cd::used_bits(tables::encode_cd(c));
  EXPECT_EQ(used[0], cd::V.mask());
}

}  // namespace
}  // namespace smmuv3tlm::smmu
