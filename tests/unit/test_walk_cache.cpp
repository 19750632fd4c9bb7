// The walk cache: table descriptors cached by stage, VMID, ASID and level, so a
// TLB miss resumes from the deepest cached table; TLBI scopes reach it, except
// by-address TLBIs with Leaf=1.
#include <gtest/gtest.h>

#include "smmuv3tlm/tests/unit/test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint32_t kSid = 1;
constexpr std::uint64_t kVa = 0x12'3456'7000;

struct S1World {
  Rig rig;
  PageTableBuilder& tt;
  explicit S1World(const smmu::TranslationConfig& config = {})
      : rig(test_caps(), {}, config), tt(rig.tables(TableGeometry::stage1(12, 48))) {
    tt.map(kVa, 0x8000'0000, 4 * k4K);
    CdFields cd;
    cd.asid = 5;
    add_s1_stream(rig, kSid, tt, cd);
  }
};

Command tlbi_va(bool leaf) {
  Command c = command(CommandOpcode::TLBI_NH_VA);
  c.asid = 5;
  c.address = kVa;
  c.leaf = leaf;
  return c;
}

TEST(WalkCache, NeighbouringPageReadsOnlyItsLeaf) {
  S1World w;
  TranslationResult r = w.rig.access(kSid, kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.walk_accesses, 4u) << "a cold 4-level walk";
  r = w.rig.access(kSid, kVa + k4K);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.walk_accesses, 1u) << "levels 0-2 come from the walk cache";
  EXPECT_EQ(r.output_address, 0x8000'1000u);
  EXPECT_EQ(w.rig.engine.walk_cache().valid_entries(), 3u);
}

TEST(WalkCache, DisabledMeansFullWalks) {
  S1World w(full_walks());
  ASSERT_TRUE(w.rig.access(kSid, kVa).ok());
  EXPECT_EQ(w.rig.access(kSid, kVa + k4K).walk_accesses, 4u);
  EXPECT_EQ(w.rig.engine.walk_cache().valid_entries(), 0u);
}

TEST(WalkCache, LeafTlbiKeepsTableEntriesAndNonLeafDropsThem) {
  S1World w;
  ASSERT_TRUE(w.rig.access(kSid, kVa).ok());
  // Point the level-2 table descriptor at a new level-3 table mapping the page
  // elsewhere, without telling the SMMU.
  PageTableBuilder& other = w.rig.tables(TableGeometry::stage1(12, 48));
  other.map(kVa, 0x9000'0000, k4K);
  const std::uint64_t new_l2 = other.read_descriptor(kVa, 2);
  w.tt.write_descriptor(kVa, 2, new_l2);
  w.rig.engine.execute(tlbi_va(true));
  TranslationResult r = w.rig.access(kSid, kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.output_address, 0x8000'0000u) << "Leaf=1: the cached level-2 descriptor still leads to the old table";
  w.rig.engine.execute(tlbi_va(false));
  r = w.rig.access(kSid, kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.output_address, 0x9000'0000u) << "Leaf=0 removed the walk-cache entries for the address";
}

TEST(WalkCache, AsidInvalidationLeavesOtherAsidsAlone) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  PageAttributes non_global;
  non_global.ng = true;  // leaves tagged by ASID, so only walk-cache entries are shared knowledge
  tt.map(kVa, 0x8000'0000, 2 * k4K, non_global);
  CdFields a;
  a.asid = 5;
  add_s1_stream(rig, 1, tt, a);
  CdFields b;
  b.asid = 6;
  add_s1_stream(rig, 2, tt, b);
  ASSERT_TRUE(rig.access(1, kVa).ok());
  ASSERT_TRUE(rig.access(2, kVa).ok());
  Command asid = command(CommandOpcode::TLBI_NH_ASID);
  asid.asid = 5;
  rig.engine.execute(asid);
  EXPECT_EQ(rig.access(1, kVa + k4K).walk_accesses, 4u) << "ASID 5's table entries were invalidated";
  EXPECT_EQ(rig.access(2, kVa + k4K).walk_accesses, 1u) << "ASID 6's survive";
}

TEST(WalkCache, Stage2EntriesAreDroppedByS2IpaWithoutLeaf) {
  Rig rig;
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  s2.map(kVa, 0x8000'0000, 2 * k4K);
  SteFields ste;
  ste.s2vmid = 3;
  add_s2_stream(rig, kSid, s2, ste);
  ASSERT_EQ(rig.access(kSid, kVa).walk_accesses, 3u);
  Command ipa = command(CommandOpcode::TLBI_S2_IPA);
  ipa.vmid = 3;
  ipa.address = kVa;
  ipa.leaf = true;
  rig.engine.execute(ipa);
  EXPECT_EQ(rig.access(kSid, kVa).walk_accesses, 1u) << "Leaf=1 keeps the table entries";
  ipa.leaf = false;
  rig.engine.execute(ipa);
  EXPECT_EQ(rig.access(kSid, kVa).walk_accesses, 3u) << "Leaf=0 drops them";
}

TEST(WalkCache, AllInvalidationsEmptyIt) {
  S1World w;
  ASSERT_TRUE(w.rig.access(kSid, kVa).ok());
  ASSERT_GT(w.rig.engine.walk_cache().valid_entries(), 0u);
  w.rig.engine.execute(command(CommandOpcode::TLBI_NSNH_ALL));
  EXPECT_EQ(w.rig.engine.walk_cache().valid_entries(), 0u);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test

namespace smmuv3tlm::translation_test {
namespace {

TEST(WalkCache, EachStageAndLevelHasItsOwnSizeAndALevelOfZeroIsNotCached) {
  smmu::TranslationConfig config;
  config.walk_cache.stage1_entries = {0, 8, 0};  // only level-1 table descriptors
  S1World w(config);
  ASSERT_TRUE(w.rig.access(kSid, kVa).ok());
  const smmu::WalkCache& cache = w.rig.engine.walk_cache();
  EXPECT_EQ(cache.level(false, 0), nullptr);
  EXPECT_EQ(cache.level(false, 2), nullptr);
  ASSERT_NE(cache.level(false, 1), nullptr);
  EXPECT_EQ(cache.level(false, 1)->valid_entries(), 1u);
  EXPECT_EQ(cache.level(false, 1)->geometry().entries, 8u);
  EXPECT_EQ(cache.valid_entries(), 1u);
  // The next page resumes below the cached level-1 descriptor: levels 2 and 3.
  EXPECT_EQ(w.rig.access(kSid, kVa + k4K).walk_accesses, 2u);
}

TEST(WalkCache, StageTwoWalksUseOnlyTheStageTwoLevels) {
  smmu::TranslationConfig config;
  config.walk_cache.stage1_entries = {8, 8, 8};
  config.walk_cache.stage2_entries = {0, 0, 8};  // only stage-2 level-2 table descriptors
  Rig rig(test_caps(), {}, config);
  // 48-bit IPA from level 0: a 4-level stage-2 walk.
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 48, 2));
  s2.map(kVa, 0x8000'0000, 4 * k4K);
  add_s2_stream(rig, kSid, s2);
  TranslationResult r = rig.access(kSid, kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.walk_accesses, 4u);
  const smmu::WalkCache& cache = rig.engine.walk_cache();
  for (int level = 0; level < 3; ++level) {
    EXPECT_EQ(cache.level(false, level)->valid_entries(), 0u) << "a stage-2 walk filled stage-1 level " << level;
  }
  ASSERT_NE(cache.level(true, 2), nullptr);
  EXPECT_EQ(cache.level(true, 2)->valid_entries(), 1u);
  r = rig.access(kSid, kVa + k4K);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.walk_accesses, 1u) << "resumed below the cached stage-2 level-2 descriptor";
}

}  // namespace
}  // namespace smmuv3tlm::translation_test

// A TBU's micro-TLB: the last translation taken from the main TLB answers the
// next access to the same page without a TLB lookup, until any invalidation.
namespace smmuv3tlm::translation_test {
namespace {

TranslationRequest read_of(std::uint64_t address, bool read = true) {
  TranslationRequest r;
  r.stream_id = kSid;
  r.address = address;
  r.read = read;
  return r;
}

TEST(MicroTlb, AnswersTheSamePageUntilAnInvalidation) {
  S1World w;
  smmu::TranslationEngine& engine = w.rig.engine;
  smmu::TranslationEngine::ContextMemo memo;
  smmu::TranslationEngine::MicroTlb micro;
  ASSERT_TRUE(engine.translate(read_of(kVa), memo, &micro).ok());       // walk
  ASSERT_TRUE(engine.translate(read_of(kVa + 8), memo, &micro).ok());   // main TLB: fills the micro-TLB
  const std::uint64_t lookups = engine.tlb().statistics().lookups;
  TranslationResult r = engine.translate(read_of(kVa + 0x40), memo, &micro);
  EXPECT_TRUE(translated_to(r, 0x8000'0040));
  EXPECT_EQ(engine.statistics().micro_tlb_hits, 1u);
  EXPECT_EQ(engine.tlb().statistics().lookups, lookups) << "the main TLB was not asked";
  // Another page, or a write where only reads are known to be allowed, goes to the TLB.
  EXPECT_TRUE(translated_to(engine.translate(read_of(kVa + k4K), memo, &micro), 0x8000'1000));
  EXPECT_EQ(engine.statistics().micro_tlb_hits, 1u);
  // Any invalidation empties it, even one for another ASID.
  ASSERT_TRUE(engine.translate(read_of(kVa + k4K + 8), memo, &micro).ok());
  Command other = command(CommandOpcode::TLBI_NH_ASID);
  other.asid = 99;
  engine.execute(other);
  ASSERT_TRUE(engine.translate(read_of(kVa + k4K + 16), memo, &micro).ok());
  EXPECT_EQ(engine.statistics().micro_tlb_hits, 1u);
  engine.execute(tlbi_va(false));
  EXPECT_TRUE(translated_to(engine.translate(read_of(kVa + 0x80), memo, &micro), 0x8000'0080));
}

TEST(MicroTlb, APermissionTheEntryDoesNotGrantIsNotAnsweredFromIt) {
  Rig rig(test_caps());
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  tables::PageAttributes read_only;
  read_only.ap = 0b11;  // read-only, any level
  tt.map(kVa, 0x8000'0000, k4K, read_only);
  CdFields cd;
  cd.asid = 5;
  add_s1_stream(rig, kSid, tt, cd);
  smmu::TranslationEngine::ContextMemo memo;
  smmu::TranslationEngine::MicroTlb micro;
  ASSERT_TRUE(rig.engine.translate(read_of(kVa), memo, &micro).ok());
  ASSERT_TRUE(rig.engine.translate(read_of(kVa), memo, &micro).ok());
  EXPECT_TRUE(faulted(rig.engine.translate(read_of(kVa, false), memo, &micro), EventId::F_PERMISSION))
      << "the write still faults with the micro-TLB holding the page";
}

TEST(MicroTlb, SeveralEntriesKeepSeveralPagesAndReplaceRoundRobin) {
  S1World w;
  smmu::TranslationEngine& engine = w.rig.engine;
  smmu::TranslationEngine::ContextMemo memo;
  smmu::TranslationEngine::MicroTlb micro(2);
  for (std::uint64_t page : {0ull, 1ull}) {
    ASSERT_TRUE(engine.translate(read_of(kVa + page * k4K), memo, &micro).ok());      // walk
    ASSERT_TRUE(engine.translate(read_of(kVa + page * k4K + 8), memo, &micro).ok());  // main TLB: fills one entry
  }
  const std::uint64_t hits = engine.statistics().micro_tlb_hits;
  EXPECT_TRUE(translated_to(engine.translate(read_of(kVa + 0x10), memo, &micro), 0x8000'0010));
  EXPECT_TRUE(translated_to(engine.translate(read_of(kVa + k4K + 0x10), memo, &micro), 0x8000'1010));
  EXPECT_EQ(engine.statistics().micro_tlb_hits, hits + 2) << "both pages answered by the micro-TLB";
  // A third page replaces the oldest fill (page 0); page 1 stays.
  ASSERT_TRUE(engine.translate(read_of(kVa + 2 * k4K), memo, &micro).ok());
  ASSERT_TRUE(engine.translate(read_of(kVa + 2 * k4K + 8), memo, &micro).ok());
  const std::uint64_t before = engine.statistics().micro_tlb_hits;
  EXPECT_TRUE(engine.translate(read_of(kVa + k4K + 0x20), memo, &micro).ok());
  EXPECT_EQ(engine.statistics().micro_tlb_hits, before + 1);
  EXPECT_TRUE(engine.translate(read_of(kVa + 0x20), memo, &micro).ok());
  EXPECT_EQ(engine.statistics().micro_tlb_hits, before + 1) << "page 0 was replaced";
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
