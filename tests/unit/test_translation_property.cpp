// Property test: seeded random worlds (stage 1, stage 2 or nested; random
// granules, input sizes, start levels, leaf levels, blocks, contiguous runs,
// holes) built with the table builder, then thousands of random accesses
// checked against the builder's flat reference maps: the same output address
// where mapped, F_TRANSLATION from the right stage (and the right IPA) where
// not. Now and then a region is remapped and invalidated with the command whose
// scope covers it, after which the engine must agree with the reference again.
#include <random>
#include <string>

#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

enum class World { S1, S2, Nested };

struct Region {
  std::uint64_t input = 0;
  std::uint64_t size = 0;
  std::uint64_t output = 0;
  std::uint64_t align = 0;  // alignment the output must keep on remap
};

class RandomWorld {
 public:
  RandomWorld(World kind, std::uint64_t seed) : kind_(kind), rng_(seed), rig_() {
    const unsigned granules[] = {12, 14, 16};
    if (kind_ != World::S2) {
      g1_ = granules[pick(3)];
      ia1_ = static_cast<unsigned>(range(25, 48));
    }
    if (kind_ != World::S1) {
      g2_ = granules[pick(3)];
      for (;;) {
        ia2_ = static_cast<unsigned>(kind_ == World::Nested ? range(38, 48) : range(25, 48));
        std::vector<unsigned> sl0s = TableGeometry::legal_stage2_sl0(g2_, ia2_, 48);
        if (sl0s.empty()) continue;
        sl0_ = sl0s[pick(sl0s.size())];
        break;
      }
    }
    vmid_ = static_cast<std::uint16_t>(range(0, 0xffff));
    asid_ = static_cast<std::uint16_t>(range(0, 0xffff));
    SteFields ste;
    ste.s2vmid = vmid_;
    CdFields cd;
    cd.asid = asid_;
    switch (kind_) {
      case World::S1:
        s1_ = &rig_.tables(TableGeometry::stage1(g1_, ia1_));
        add_s1_stream(rig_, kSid, *s1_, cd, ste);
        break;
      case World::S2:
        s2_ = &rig_.tables(TableGeometry::stage2(g2_, ia2_, sl0_));
        add_s2_stream(rig_, kSid, *s2_, ste);
        break;
      case World::Nested: {
        s2_ = &rig_.tables(TableGeometry::stage2(g2_, ia2_, sl0_));
        IpaWindow& window = rig_.ipa_window(*s2_, kWindow, 32ull << 20);
        s1_ = &rig_.tables(TableGeometry::stage1(g1_, ia1_), &window.space, &window.allocator);
        add_nested_stream(rig_, kSid, *s1_, *s2_, window, cd, ste);
        break;
      }
    }
    populate();
  }

  std::string describe() const {
    std::string s = kind_ == World::S1 ? "S1" : kind_ == World::S2 ? "S2" : "nested";
    if (s1_) s += " s1 " + std::to_string(1u << (g1_ - 10)) + "K/" + std::to_string(ia1_);
    if (s2_) s += " s2 " + std::to_string(1u << (g2_ - 10)) + "K/" + std::to_string(ia2_) + " SL0 " + std::to_string(sl0_);
    return s;
  }

  // One random access, checked against the reference maps.
  void check_one() {
    const std::uint64_t address = random_address();
    SCOPED_TRACE("address " + hex(address));
    const TranslationResult r = rig_.access(kSid, address, pick(4) != 0);
    const PageTableBuilder& first = s1_ ? *s1_ : *s2_;
    const std::optional<std::uint64_t> stage1 = first.translate(address);
    if (!stage1) {
      ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
      ASSERT_TRUE(r.event);
      EXPECT_EQ(r.event->s2, kind_ == World::S2);
      if (kind_ == World::S2) {
        EXPECT_EQ(as_queued(*r.event).ipa, address & ~0xfffull);
      }
      ++faults_;
      return;
    }
    if (kind_ != World::Nested) {
      ASSERT_TRUE(translated_to(r, *stage1));
      ++hits_;
      return;
    }
    const std::optional<std::uint64_t> pa = s2_->translate(*stage1);
    if (!pa) {
      ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
      ASSERT_TRUE(r.event);
      EXPECT_TRUE(r.event->s2);
      EXPECT_EQ(r.event->fault_class, FaultClass::IN);
      EXPECT_EQ(as_queued(*r.event).ipa, *stage1 & ~0xfffull);
      ++faults_;
      return;
    }
    ASSERT_TRUE(translated_to(r, *pa));
    ++hits_;
  }

  // Moves one region to a new output and issues the invalidation that covers it.
  void remap_and_invalidate() {
    if (regions_.empty()) return;
    Region& region = regions_[pick(regions_.size())];
    PageTableBuilder& tt = kind_ == World::Nested ? *s2_ : (s1_ ? *s1_ : *s2_);
    const Region target = kind_ == World::Nested ? s2_regions_[&region - regions_.data()] : region;
    if (target.size == 0) return;  // no stage-2 mapping for this region
    // A TLBI by address removes the entries holding that address, so every
    // leaf of the old and of the new mapping is named (as software must).
    std::vector<std::uint64_t> leaves;
    auto collect = [&] {
      for (auto it = tt.mappings().lower_bound(target.input);
           it != tt.mappings().end() && it->first < target.input + target.size; ++it) {
        leaves.push_back(it->first);
      }
    };
    collect();
    const std::uint64_t output = random_output(target.size, target.align);
    tt.remap(target.input, output, target.size);
    collect();
    for (const std::uint64_t input : leaves) {
      Command c = command(kind_ == World::S1 ? CommandOpcode::TLBI_NH_VA : CommandOpcode::TLBI_S2_IPA);
      c.vmid = vmid_;
      c.asid = asid_;
      c.address = input;
      rig_.engine.execute(c);
    }
    if (kind_ == World::Nested) {
      Command c = command(CommandOpcode::TLBI_NH_ALL);  // combined entries (IHI 0070 §4.4.3.1)
      c.vmid = vmid_;
      rig_.engine.execute(c);
    }
    ++remaps_;
  }

  unsigned hits_ = 0;
  unsigned faults_ = 0;
  unsigned remaps_ = 0;

 private:
  static constexpr std::uint32_t kSid = 7;
  static constexpr std::uint64_t kWindow = 0x8000'0000;  // nested: CD and stage-1 tables (IPA)

  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(range(0, n - 1)); }

  std::uint64_t random_output(std::uint64_t size, std::uint64_t align) {
    const std::uint64_t lo = 1ull << 32;
    const std::uint64_t hi = (1ull << 47) - size;
    return range(lo, hi) & ~(align - 1);
  }

  // Adds random regions to the first-stage tables (and, nested, maps their
  // IPAs at stage 2), then punches holes.
  void populate() {
    PageTableBuilder& tt = s1_ ? *s1_ : *s2_;
    const TableGeometry& g = tt.geometry();
    const std::uint64_t span = 1ull << g.input_bits;
    const unsigned count = static_cast<unsigned>(range(6, 20));
    for (unsigned i = 0; i < count; ++i) {
      for (int attempt = 0; attempt < 20; ++attempt) {
        Region region;
        MapOptions options;
        std::uint64_t leaf = 0;
        const int first = std::max(g.start_level, tables::first_block_level(g.granule_log2));
        const unsigned roll = static_cast<unsigned>(pick(10));
        if (roll < 2 && first <= 2 && (1ull << g.level_shift(2)) / (1ull << g.granule_log2) <= 2048) {
          // Auto level over a range that may or may not be block-aligned.
          const std::uint64_t block = 1ull << g.level_shift(2);
          leaf = 1ull << g.granule_log2;
          region.size = range(1, 2) * block + range(0, 7) * leaf;
          region.align = pick(2) ? block : leaf;
        } else if (roll < 6 || first > 2) {
          options.level = 3;
          leaf = 1ull << g.granule_log2;
          const unsigned run = tables::contiguous_entries(g.granule_log2, 3);
          if (pick(5) == 0 && run * leaf <= span / 4) {
            options.contiguous = true;
            region.size = run * leaf;
            region.align = run * leaf;
          } else {
            region.size = range(1, 16) * leaf;
            region.align = leaf;
          }
        } else {
          options.level = static_cast<int>(range(static_cast<unsigned>(first), 2));
          leaf = 1ull << g.level_shift(options.level);
          region.size = range(1, 2) * leaf;
          region.align = leaf;
        }
        if (region.size > span / 4) continue;
        region.input = range(0, span - region.size) & ~(region.align - 1);
        if (kind_ == World::Nested) {
          // Each region's IPAs live in their own 4 GiB slot.
          const std::uint64_t slot = std::uint64_t{i + 1} << 32;
          const std::uint64_t align = std::max<std::uint64_t>(region.align, k64K);
          region.output = slot + (range(0, (1ull << 32) - region.size - align) & ~(align - 1));
        } else {
          region.output = random_output(region.size, region.align);
        }
        try {
          tt.map(region.input, region.output, region.size, {}, options);
        } catch (const std::invalid_argument&) {
          continue;  // overlaps an earlier region
        }
        regions_.push_back(region);
        break;
      }
    }
    if (kind_ == World::Nested) {
      const std::uint64_t g2 = 1ull << s2_->geometry().granule_log2;
      for (const Region& region : regions_) {
        Region s2;
        if (pick(5) != 0) {  // one region in five has no stage-2 mapping at all
          s2.input = region.output & ~(g2 - 1);
          s2.size = ((region.output + region.size + g2 - 1) & ~(g2 - 1)) - s2.input;
          s2.align = std::max<std::uint64_t>(g2, std::min<std::uint64_t>(region.align, k1G));
          s2.align = std::min<std::uint64_t>(s2.align, s2.input & (~s2.input + 1));  // keep in/out congruent
          s2.output = random_output(s2.size, s2.align);
          s2_->map(s2.input, s2.output, s2.size);
        }
        s2_regions_.push_back(s2);
      }
    }
    // Holes: unmap one granule inside some regions (splitting blocks).
    for (std::size_t i = 0; i < regions_.size(); ++i) {
      const Region& region = regions_[i];
      if (pick(4) == 0) {
        const std::uint64_t granule = 1ull << g.granule_log2;
        tt.unmap(region.input + (range(0, region.size / granule - 1) * granule), granule);
      }
      if (kind_ == World::Nested && s2_regions_[i].size != 0 && pick(6) == 0) {
        const std::uint64_t granule = 1ull << s2_->geometry().granule_log2;
        const Region& s2 = s2_regions_[i];
        s2_->unmap(s2.input + (range(0, s2.size / granule - 1) * granule), granule);
      }
    }
  }

  std::uint64_t random_address() {
    const PageTableBuilder& tt = s1_ ? *s1_ : *s2_;
    if (!regions_.empty() && pick(10) < 7) {
      const Region& region = regions_[pick(regions_.size())];
      return region.input + (range(0, region.size - 1) & ~7ull);
    }
    return range(0, (1ull << tt.geometry().input_bits) - 1) & ~7ull;
  }

  World kind_;
  std::mt19937_64 rng_;
  Rig rig_;
  PageTableBuilder* s1_ = nullptr;
  PageTableBuilder* s2_ = nullptr;
  unsigned g1_ = 12, ia1_ = 48, g2_ = 12, ia2_ = 40, sl0_ = 1;
  std::uint16_t vmid_ = 0;
  std::uint16_t asid_ = 0;
  std::vector<Region> regions_;
  std::vector<Region> s2_regions_;  // nested: the stage-2 mapping of each region (size 0: none)
};

TEST(TranslationProperty, RandomWorldsAgreeWithTheReferenceMaps) {
  // SMMU_PROPERTY_WORLDS=<n> runs more worlds (a soak run); the default keeps
  // the unit suite fast.
  const char* env = std::getenv("SMMU_PROPERTY_WORLDS");
  const unsigned kWorlds = env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : 60;
  constexpr unsigned kAccesses = 250;
  unsigned hits = 0;
  unsigned faults = 0;
  unsigned remaps = 0;
  for (unsigned w = 0; w < kWorlds; ++w) {
    const std::uint64_t seed = 0x5eed'0000 + w;
    const World kind = static_cast<World>(w % 3);
    RandomWorld world(kind, seed);
    SCOPED_TRACE("seed " + hex(seed) + ": " + world.describe());
    for (unsigned i = 0; i < kAccesses; ++i) {
      world.check_one();
      if (::testing::Test::HasFatalFailure()) return;
      if (i % 50 == 49) world.remap_and_invalidate();
    }
    hits += world.hits_;
    faults += world.faults_;
    remaps += world.remaps_;
  }
  RecordProperty("hits", static_cast<int>(hits));
  RecordProperty("faults", static_cast<int>(faults));
  RecordProperty("remaps", static_cast<int>(remaps));
  // The worlds are meant to exercise both outcomes.
  EXPECT_GT(hits, kWorlds * kAccesses / 3);
  EXPECT_GT(faults, kWorlds * kAccesses / 20);
  EXPECT_GT(remaps, kWorlds);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
