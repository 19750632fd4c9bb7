// Table walks for every granule x stage x legal start level: leaves at every
// legal level (blocks and pages), F_TRANSLATION at the level of an invalid
// descriptor or of a block at a level where blocks are not allowed, contiguous
// runs, stage-2 concatenated start tables, and nested walks for every pair of
// stage-1/stage-2 granules.
#include <string>

#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

enum class Mode { S1, S2, Nested };

struct WalkCase {
  Mode mode = Mode::S1;
  unsigned g1 = 12;   // stage-1 granule (log2)
  unsigned ia1 = 48;  // stage-1 input bits
  unsigned g2 = 12;   // stage-2 granule
  unsigned ia2 = 40;  // stage-2 input bits
  unsigned sl0 = 0;   // S2SL0
};

std::string granule_name(unsigned g) { return std::to_string(1u << (g - 10)) + "K"; }

std::string case_name(const ::testing::TestParamInfo<WalkCase>& info) {
  const WalkCase& c = info.param;
  switch (c.mode) {
    case Mode::S1: {
      const TableGeometry g = TableGeometry::stage1(c.g1, c.ia1);
      return "S1_" + granule_name(c.g1) + "_IA" + std::to_string(c.ia1) + "_L" + std::to_string(g.start_level);
    }
    case Mode::S2: {
      const TableGeometry g = TableGeometry::stage2(c.g2, c.ia2, c.sl0);
      return "S2_" + granule_name(c.g2) + "_IA" + std::to_string(c.ia2) + "_SL0_" + std::to_string(c.sl0) + "_L" +
             std::to_string(g.start_level) + "_x" + std::to_string(g.concatenated);
    }
    case Mode::Nested:
      return "S1_" + granule_name(c.g1) + "_S2_" + granule_name(c.g2) + "_SL0_" + std::to_string(c.sl0);
  }
  return "unknown";
}

void PrintTo(const WalkCase& c, std::ostream* os) {
  *os << "mode " << static_cast<int>(c.mode) << " S1 " << granule_name(c.g1) << "/" << c.ia1 << " S2 "
      << granule_name(c.g2) << "/" << c.ia2 << " SL0 " << c.sl0;
}

// For each granule and start level: the smallest and largest input size that
// selects it (stage 1), or that S2SL0 accepts (stage 2).
std::vector<WalkCase> stage1_cases() {
  std::vector<WalkCase> out;
  for (unsigned g : {12u, 14u, 16u}) {
    std::map<int, std::pair<unsigned, unsigned>> range;
    for (unsigned ia = 25; ia <= 48; ++ia) {
      const int level = TableGeometry::stage1(g, ia).start_level;
      auto it = range.find(level);
      if (it == range.end()) range[level] = {ia, ia};
      else it->second.second = ia;
    }
    for (const auto& [level, r] : range) {
      WalkCase c;
      c.mode = Mode::S1;
      c.g1 = g;
      c.ia1 = r.first;
      out.push_back(c);
      if (r.second != r.first) {
        c.ia1 = r.second;
        out.push_back(c);
      }
    }
  }
  return out;
}

std::vector<WalkCase> stage2_cases() {
  std::vector<WalkCase> out;
  for (unsigned g : {12u, 14u, 16u}) {
    for (unsigned sl0 = 0; sl0 < 4; ++sl0) {
      std::vector<unsigned> legal;
      for (unsigned ia = 25; ia <= 48; ++ia) {
        const auto sl0s = TableGeometry::legal_stage2_sl0(g, ia, 48);
        if (std::find(sl0s.begin(), sl0s.end(), sl0) != sl0s.end()) legal.push_back(ia);
      }
      if (legal.empty()) continue;
      WalkCase c;
      c.mode = Mode::S2;
      c.g2 = g;
      c.sl0 = sl0;
      c.ia2 = legal.front();
      out.push_back(c);
      if (legal.back() != legal.front()) {
        c.ia2 = legal.back();  // the most concatenated start tables
        out.push_back(c);
      }
    }
  }
  return out;
}

std::vector<WalkCase> nested_cases() {
  std::vector<WalkCase> out;
  for (unsigned g1 : {12u, 14u, 16u}) {
    for (unsigned g2 : {12u, 14u, 16u}) {
      WalkCase c;
      c.mode = Mode::Nested;
      c.g1 = g1;
      c.ia1 = 48;
      c.g2 = g2;
      c.ia2 = 40;
      c.sl0 = TableGeometry::legal_stage2_sl0(g2, 40).front();
      out.push_back(c);
    }
  }
  return out;
}


TableGeometry geometry_of(const WalkCase& c) {
  return c.mode == Mode::S1 ? TableGeometry::stage1(c.g1, c.ia1) : TableGeometry::stage2(c.g2, c.ia2, c.sl0);
}

// Test layout: the leaf at the start level sits in start-level entry 1; deeper
// leaves sit at 3 * their size, inside start-level entry 0. All disjoint.
std::uint64_t leaf_input(const TableGeometry& g, int level) {
  const std::uint64_t size = 1ull << g.level_shift(level);
  return level == g.start_level ? size : 3 * size;
}
std::uint64_t leaf_output(int level) { return 0x40'0000'0000ull * static_cast<unsigned>(level + 1); }

std::vector<int> legal_leaf_levels(const TableGeometry& g) {
  std::vector<int> out;
  for (int level = g.start_level; level <= 3; ++level) {
    if (level == 3 || level >= tables::first_block_level(g.granule_log2)) out.push_back(level);
  }
  return out;
}

void add_stream(Rig& rig, const WalkCase& c, const PageTableBuilder& tt) {
  if (c.mode == Mode::S1) add_s1_stream(rig, 1, tt);
  else add_s2_stream(rig, 1, tt);
}

class TranslationWalk : public ::testing::TestWithParam<WalkCase> {};

TEST_P(TranslationWalk, LeavesAtEveryLegalLevelTranslate) {
  const WalkCase c = GetParam();
  Rig rig(test_caps(), {}, full_walks());
  const TableGeometry g = geometry_of(c);
  PageTableBuilder& tt = rig.tables(g);
  add_stream(rig, c, tt);
  const std::vector<int> levels = legal_leaf_levels(g);
  for (int level : levels) {
    const std::uint64_t size = 1ull << g.level_shift(level);
    tt.map(leaf_input(g, level), leaf_output(level), size, {}, MapOptions{level, false});
  }
  for (int level : levels) {
    SCOPED_TRACE("leaf at level " + std::to_string(level));
    const std::uint64_t in = leaf_input(g, level);
    const std::uint64_t size = 1ull << g.level_shift(level);
    TranslationResult r = rig.access(1, in + size / 2 + 0x18);
    EXPECT_TRUE(translated_to(r, leaf_output(level) + size / 2 + 0x18));
    EXPECT_FALSE(r.tlb_hit);
    // One descriptor read per level from the start level down to the leaf.
    EXPECT_EQ(r.walk_accesses, static_cast<unsigned>(level - g.start_level + 1));
    EXPECT_EQ(r.size, size);
    r = rig.access(1, in + size - 8);
    EXPECT_TRUE(translated_to(r, leaf_output(level) + size - 8));
    EXPECT_TRUE(r.tlb_hit);
    EXPECT_TRUE(translated_to(rig.access(1, in), leaf_output(level)));
  }
  // A hole inside the level-3 table: the walk reaches level 3 and faults there.
  const std::uint64_t hole = leaf_input(g, 3) + (1ull << g.granule_log2);
  const TranslationResult r = rig.access(1, hole + 0x40, false);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_EQ(r.walk_accesses, static_cast<unsigned>(3 - g.start_level + 1));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_EQ(e.id, EventId::F_TRANSLATION);
  EXPECT_EQ(e.stream_id, 1u);
  EXPECT_EQ(e.input_addr, hole + 0x40);
  EXPECT_FALSE(e.rnw);
  EXPECT_EQ(e.s2, c.mode == Mode::S2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  if (c.mode == Mode::S2) {
    EXPECT_EQ(e.ipa, hole);
  }
}

TEST_P(TranslationWalk, InvalidDescriptorFaultsAtItsLevel) {
  const WalkCase c = GetParam();
  const TableGeometry g = geometry_of(c);
  for (int level = g.start_level; level <= 3; ++level) {
    SCOPED_TRACE("invalid descriptor at level " + std::to_string(level));
    Rig rig(test_caps(), {}, full_walks());
    PageTableBuilder& tt = rig.tables(g);
    add_stream(rig, c, tt);
    const std::uint64_t in = leaf_input(g, level);
    tt.write_descriptor(in, level, 0);  // creates the tables above it
    const TranslationResult r = rig.access(1, in);
    ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
    EXPECT_EQ(r.walk_accesses, static_cast<unsigned>(level - g.start_level + 1));
  }
}

TEST_P(TranslationWalk, BlocksAtIllegalLevelsFault) {
  // A block (0b01) below the granule's first block level, or at level 3 where
  // 0b01 is reserved, is a Translation fault at that level (Arm ARM
  // AArch64.BlockDescSupported; no LPA/LPA2).
  const WalkCase c = GetParam();
  const TableGeometry g = geometry_of(c);
  const int first_block = tables::first_block_level(g.granule_log2);
  for (int level = g.start_level; level <= 3; ++level) {
    if (level < 3 && level >= first_block) continue;
    SCOPED_TRACE("block at level " + std::to_string(level));
    Rig rig(test_caps(), {}, full_walks());
    PageTableBuilder& tt = rig.tables(g);
    add_stream(rig, c, tt);
    const std::uint64_t in = leaf_input(g, level);
    const std::uint64_t block = (leaf_output(level) & smmu::mask_bits(47, g.level_shift(level))) | (1u << 10) |
                                (0b11u << 6) | 0b01;
    tt.write_descriptor(in, level, block);
    const TranslationResult r = rig.access(1, in + 0x100);
    ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
    EXPECT_EQ(r.walk_accesses, static_cast<unsigned>(level - g.start_level + 1));
  }
}

// Maps one contiguous run at every legal leaf level that fits (runs aligned
// and disjoint), calling check(level, input, entry size, run size) for each;
// returns how many runs were mapped.
template <typename Check>
unsigned for_each_contiguous_run(const TableGeometry& g, PageTableBuilder& tt, Check check) {
  unsigned runs = 0;
  std::uint64_t next_input = 0;
  for (int level : legal_leaf_levels(g)) {
    const std::uint64_t size = 1ull << g.level_shift(level);
    const std::uint64_t run = tables::contiguous_entries(g.granule_log2, level) * size;
    const std::uint64_t in = (std::max(next_input, run) + run - 1) & ~(run - 1);
    if (in + run > (1ull << g.input_bits)) continue;
    tt.map(in, leaf_output(level), run, {}, MapOptions{level, true});
    next_input = in + run;
    ++runs;
    check(level, in, size, run);
  }
  return runs;
}

TEST_P(TranslationWalk, ContiguousRunsTranslateEveryEntry) {
  const WalkCase c = GetParam();
  Rig rig(test_caps(), {}, full_walks());
  const TableGeometry g = geometry_of(c);
  PageTableBuilder& tt = rig.tables(g);
  add_stream(rig, c, tt);
  const unsigned runs = for_each_contiguous_run(g, tt, [&](int level, std::uint64_t in, std::uint64_t size,
                                                           std::uint64_t run) {
    for (std::uint64_t offset = 0; offset < run; offset += size) {
      EXPECT_TRUE(tt.lookup(in + offset)->contiguous);
      EXPECT_EQ((tt.read_descriptor(in + offset, level) >> 52) & 1, 1u);
      EXPECT_TRUE(translated_to(rig.access(1, in + offset + size / 3 * 2 + 8), leaf_output(level) + offset + size / 3 * 2 + 8))
          << "level " << level << " entry " << offset / size;
    }
  });
  EXPECT_GE(runs, 1u);
}

// The TLB keeps one entry for a whole contiguous run (Arm ARM D8.6.1): after
// one walk, every other entry of the run hits.
TEST_P(TranslationWalk, ContiguousRunIsOneTlbEntry) {
  const WalkCase c = GetParam();
  Rig rig;
  const TableGeometry g = geometry_of(c);
  PageTableBuilder& tt = rig.tables(g);
  add_stream(rig, c, tt);
  const unsigned runs = for_each_contiguous_run(g, tt, [&](int level, std::uint64_t in, std::uint64_t size,
                                                           std::uint64_t run) {
    const TranslationResult first = rig.access(1, in + run - size + 8);
    ASSERT_TRUE(translated_to(first, leaf_output(level) + run - size + 8)) << "level " << level;
    EXPECT_GT(first.walk_accesses, 0u);
    for (std::uint64_t offset = 0; offset < run; offset += run / 4) {
      const TranslationResult r = rig.access(1, in + offset + 0x40);
      EXPECT_TRUE(translated_to(r, leaf_output(level) + offset + 0x40)) << "level " << level;
      EXPECT_TRUE(r.tlb_hit) << "level " << level << " offset " << hex(offset);
      EXPECT_EQ(r.walk_accesses, 0u);
    }
  });
  ASSERT_GE(runs, 1u);
  EXPECT_EQ(rig.engine.statistics().contiguous_runs, runs);
}

INSTANTIATE_TEST_SUITE_P(Stage1, TranslationWalk, ::testing::ValuesIn(stage1_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Stage2, TranslationWalk, ::testing::ValuesIn(stage2_cases()), case_name);

// The stage-2 start table is really concatenated: the top IPA bits index
// across all of the concatenated tables.
TEST(TranslationWalkStage2, ConcatenatedStartTablesAreIndexedAcrossAllTables) {
  Rig rig(test_caps(), {}, full_walks());
  const TableGeometry g = TableGeometry::stage2(12, 43, 1);  // level 1, 16 tables
  ASSERT_EQ(g.concatenated, 16u);
  PageTableBuilder& tt = rig.tables(g);
  add_s2_stream(rig, 1, tt);
  // The last 1 GiB of the 8 TiB IPA space lives in the 16th table.
  const std::uint64_t top = (1ull << 43) - k1G;
  tt.map(top, 0x7f'c000'0000, k1G);
  const auto slot = tt.descriptor_address(top, 1);
  ASSERT_TRUE(slot);
  EXPECT_EQ(*slot, tt.root() + 15 * k4K + 511 * 8);
  EXPECT_TRUE(translated_to(rig.access(1, top + 0x123), 0x7f'c000'0123));
  // One bit beyond the IPA size: stage-2 translation fault.
  const TranslationResult r = rig.access(1, 1ull << 43);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_TRUE(r.event->s2);
  EXPECT_EQ(as_queued(*r.event).ipa, 1ull << 43);
}

class TranslationNestedWalk : public ::testing::TestWithParam<WalkCase> {};

TEST_P(TranslationNestedWalk, BothStagesCompose) {
  const WalkCase c = GetParam();
  Rig rig(test_caps(), {}, full_walks());
  const TableGeometry g2 = TableGeometry::stage2(c.g2, c.ia2, c.sl0);
  PageTableBuilder& s2 = rig.tables(g2);
  IpaWindow& window = rig.ipa_window(s2, 0x1'0000'0000, 16ull << 20);
  const TableGeometry g1 = TableGeometry::stage1(c.g1, c.ia1);
  PageTableBuilder& s1 = rig.tables(g1, &window.space, &window.allocator);
  add_nested_stream(rig, 1, s1, s2, window);
  for (int level : legal_leaf_levels(g1)) {
    const std::uint64_t size = 1ull << g1.level_shift(level);
    const std::uint64_t ipa = 0x10'0000'0000ull + static_cast<unsigned>(level) * 0x8'0000'0000ull;
    const std::uint64_t pa = 0x80'0000'0000ull + static_cast<unsigned>(level) * 0x10'0000'0000ull;
    s1.map(leaf_input(g1, level), ipa, size, {}, MapOptions{level, false});
    s2.map(ipa, pa, std::max<std::uint64_t>(size, 1ull << g2.granule_log2));
  }
  for (int level : legal_leaf_levels(g1)) {
    SCOPED_TRACE("stage-1 leaf at level " + std::to_string(level));
    const std::uint64_t size = 1ull << g1.level_shift(level);
    const std::uint64_t pa = 0x80'0000'0000ull + static_cast<unsigned>(level) * 0x10'0000'0000ull;
    const std::uint64_t offset = size / 2 + 0x28;
    TranslationResult r = rig.access(1, leaf_input(g1, level) + offset);
    EXPECT_TRUE(translated_to(r, pa + offset));
    r = rig.access(1, leaf_input(g1, level) + offset);
    EXPECT_TRUE(translated_to(r, pa + offset));
    EXPECT_TRUE(r.tlb_hit);
  }
  // Stage-1 hole: stage-1 fault. Stage-1 output with no stage-2 mapping:
  // stage-2 fault on the input (CLASS=IN) reporting the IPA.
  const std::uint64_t hole = leaf_input(g1, 3) + (1ull << g1.granule_log2);
  TranslationResult r = rig.access(1, hole);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
  const std::uint64_t stray_ipa = 0x30'0000'0000ull;
  s1.map(hole, stray_ipa, 1ull << g1.granule_log2);
  r = rig.access(1, hole + 0x10);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.ipa, stray_ipa);
  EXPECT_EQ(e.input_addr, hole + 0x10);
}

INSTANTIATE_TEST_SUITE_P(Granules, TranslationNestedWalk, ::testing::ValuesIn(nested_cases()), case_name);

}  // namespace
}  // namespace smmuv3tlm::translation_test

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint64_t kRunInput = 0x20'0000;        // a 64K-aligned run of 16 4K pages
constexpr std::uint64_t kRunOutput = 0x8'0001'0000;

// A stage-1 4K stream with one contiguous run mapped page by page.
struct ContiguousRig {
  ContiguousRig() : tt(rig.tables(TableGeometry::stage1(12, 48))) { add_s1_stream(rig, 1, tt); }
  void map_run(std::uint64_t output, const PageAttributes& attributes = {}) {
    tt.map(kRunInput, output, 16 * k4K, attributes, MapOptions{3, false});
    for (unsigned i = 0; i < 16; ++i) {
      const std::uint64_t raw = tt.read_descriptor(kRunInput + i * k4K, 3);
      tt.write_descriptor(kRunInput + i * k4K, 3, raw | (1ull << 52));
    }
  }
  Rig rig;
  PageTableBuilder& tt;
};

// A hint the descriptor contradicts (output not aligned like the input) is
// ignored: each page is its own entry and translates as its descriptor says.
TEST(TranslationContiguous, MisalignedRunIsCachedPageByPage) {
  ContiguousRig c;
  c.map_run(kRunOutput + 3 * k4K);
  for (unsigned i = 0; i < 16; i += 5) {
    const TranslationResult r = c.rig.access(1, kRunInput + i * k4K + 0x10);
    EXPECT_TRUE(translated_to(r, kRunOutput + (3 + i) * k4K + 0x10));
    EXPECT_FALSE(r.tlb_hit) << "page " << i;
  }
  EXPECT_EQ(c.rig.engine.statistics().contiguous_runs, 0u);
}

// A walk that sets the Access flag (HTTU) updated one descriptor of the run:
// caching the run would leave the others' AF clear while they are used.
TEST(TranslationContiguous, HardwareUpdateKeepsItsPage) {
  Capabilities caps = test_caps();
  caps.httu = smmu::HttuSupport::AccessAndDirty;
  Rig rig(caps);
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  CdFields cd;
  cd.ha = true;
  add_s1_stream(rig, 1, tt, cd);
  PageAttributes no_af;
  no_af.af = false;
  tt.map(kRunInput, kRunOutput, 16 * k4K, no_af, MapOptions{3, true});
  ASSERT_TRUE(translated_to(rig.access(1, kRunInput + 0x10), kRunOutput + 0x10));
  const TranslationResult second = rig.access(1, kRunInput + k4K + 0x10);
  EXPECT_TRUE(translated_to(second, kRunOutput + k4K + 0x10));
  EXPECT_FALSE(second.tlb_hit);
  EXPECT_EQ((tt.read_descriptor(kRunInput + k4K, 3) >> 10) & 1, 1u) << "the second page's AF was set by its own walk";
  EXPECT_EQ(rig.engine.statistics().contiguous_runs, 0u);
}

// TLBI by VA of any page of the run invalidates the run's entry.
TEST(TranslationContiguous, InvalidatingOnePageDropsTheRun) {
  ContiguousRig c;
  c.map_run(kRunOutput);
  ASSERT_TRUE(translated_to(c.rig.access(1, kRunInput), kRunOutput));
  ASSERT_TRUE(c.rig.access(1, kRunInput + 9 * k4K).tlb_hit);
  Command tlbi = command(CommandOpcode::TLBI_NH_VA);
  tlbi.address = kRunInput + 15 * k4K;
  tlbi.leaf = true;
  c.rig.engine.execute(tlbi);
  EXPECT_FALSE(c.rig.access(1, kRunInput + 2 * k4K).tlb_hit);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
