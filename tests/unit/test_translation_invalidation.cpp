// Invalidation scope of every CFGI_* and TLBI_* command, with the stale-entry
// pattern: map and translate (filling the caches), change the tables or
// structures without invalidation and still see the old result, issue the
// command and see the new one, while an entry just outside the command's
// scope keeps its stale result. (Keeping stale entries is what this model
// does; the architecture permits but does not require it, and it permits
// over-invalidation — the "survives" checks pin down this model's precision.)
#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint64_t kVa1 = 0x10'0000;
constexpr std::uint64_t kVa2 = 0x40'1000;
constexpr std::uint64_t kVaGlobal = 0x80'2000;
constexpr std::uint64_t kOld = 0x8'0000'0000;
constexpr std::uint64_t kNew = 0x9'0000'0000;

// These tests count on entries staying cached until invalidated: a fully
// associative TLB large enough that nothing is evicted.
smmu::TranslationConfig roomy() {
  smmu::TranslationConfig config;
  config.tlb.entries = 1024;
  config.tlb.ways = 1024;
  return config;
}

// A rig whose TLB never evicts in these tests.
struct TlbRig : Rig {
  explicit TlbRig(const Capabilities& c = test_caps()) : Rig(c, {}, roomy()) {}
};

PageAttributes non_global() {
  PageAttributes a;
  a.ng = true;
  return a;
}

Command cmd(CommandOpcode opcode) { return command(opcode); }

// A stage-1 address space: its own tables, one CD with `asid`, an S1 STE
// tagged with `vmid` (optionally in the EL2 StreamWorld).
struct Space {
  Space(Rig& rig, std::uint32_t sid_, std::uint16_t vmid, std::uint16_t asid, unsigned strw = 0)
      : sid(sid_), tt(rig.tables(TableGeometry::stage1(12, 48))) {
    CdFields cd;
    cd.asid = asid;
    SteFields ste;
    ste.s2vmid = vmid;
    ste.strw = strw;
    add_s1_stream(rig, sid, tt, cd, ste);
  }
  std::uint32_t sid;
  PageTableBuilder& tt;
};

// A stage-2-only stream.
struct Ipa {
  Ipa(Rig& rig, std::uint32_t sid_, std::uint16_t vmid) : sid(sid_), tt(rig.tables(TableGeometry::stage2(12, 40, 1))) {
    SteFields ste;
    ste.s2vmid = vmid;
    add_s2_stream(rig, sid, tt, ste);
  }
  std::uint32_t sid;
  PageTableBuilder& tt;
};

// Maps va -> kOld + tag, translates (filling the TLB), remaps to kNew + tag
// without invalidation and checks the stale result is still returned.
void prime(Rig& rig, std::uint32_t sid, PageTableBuilder& tt, std::uint64_t va, std::uint64_t tag,
           const PageAttributes& attributes = non_global()) {
  tt.map(va, kOld + tag, k4K, attributes);
  ASSERT_TRUE(translated_to(rig.access(sid, va + 0x10), kOld + tag + 0x10));
  tt.remap(va, kNew + tag, k4K, attributes);
  ASSERT_TRUE(translated_to(rig.access(sid, va + 0x10), kOld + tag + 0x10)) << "expected a stale TLB entry";
}

::testing::AssertionResult is_stale(Rig& rig, std::uint32_t sid, std::uint64_t va, std::uint64_t tag) {
  return translated_to(rig.access(sid, va + 0x20), kOld + tag + 0x20);
}
::testing::AssertionResult is_fresh(Rig& rig, std::uint32_t sid, std::uint64_t va, std::uint64_t tag) {
  return translated_to(rig.access(sid, va + 0x20), kNew + tag + 0x20);
}

// ---------------------------------------------------------------------------
// Configuration invalidation

TEST(TranslationInvalidation, CfgiSteInvalidatesOneStream) {
  TlbRig rig;
  rig.streams.write_ste(1, SteFields{});
  rig.streams.write_ste(2, SteFields{});
  EXPECT_TRUE(rig.access(1, 0x1000).ok());
  EXPECT_TRUE(rig.access(2, 0x1000).ok());
  SteFields abort;
  abort.config = kConfigAbort;
  rig.streams.write_ste(1, abort);
  rig.streams.write_ste(2, abort);
  EXPECT_EQ(rig.access(1, 0x1000).outcome, TranslationOutcome::Bypassed);  // stale
  Command c = cmd(CommandOpcode::CFGI_STE);
  c.stream_id = 1;
  c.leaf = true;
  rig.engine.execute(c);
  EXPECT_EQ(rig.access(1, 0x1000).outcome, TranslationOutcome::Terminated);
  EXPECT_EQ(rig.access(2, 0x1000).outcome, TranslationOutcome::Bypassed);  // outside the scope
  EXPECT_TRUE(rig.engine.ste_cached(2));
}

TEST(TranslationInvalidation, CfgiSteRangeInvalidatesAnAlignedRange) {
  TlbRig rig;
  for (std::uint32_t sid = 2; sid < 12; ++sid) {
    rig.streams.write_ste(sid, SteFields{});
    EXPECT_TRUE(rig.access(sid, 0).ok());
  }
  SteFields abort;
  abort.config = kConfigAbort;
  for (std::uint32_t sid = 2; sid < 12; ++sid) rig.streams.write_ste(sid, abort);
  Command c = cmd(CommandOpcode::CFGI_STE_RANGE);
  c.stream_id = 5;  // Range = 1: 4 StreamIDs, the bottom 2 bits IGNORED -> 4..7
  c.range = 1;
  rig.engine.execute(c);
  for (std::uint32_t sid = 2; sid < 12; ++sid) {
    const bool in_range = sid >= 4 && sid < 8;
    EXPECT_EQ(rig.access(sid, 0).outcome, in_range ? TranslationOutcome::Terminated : TranslationOutcome::Bypassed)
        << "StreamID " << sid;
  }
  // Range = 31 is CFGI_ALL: every StreamID, whatever StreamID says.
  c.stream_id = 0x1234;
  c.range = 31;
  rig.engine.execute(c);
  EXPECT_EQ(rig.engine.cached_stes(), 0u);
  for (std::uint32_t sid = 2; sid < 12; ++sid) EXPECT_EQ(rig.access(sid, 0).outcome, TranslationOutcome::Terminated);
}

// Two streams sharing one CD table with CDs for SubstreamIDs 1 and 2 (ASIDs
// 1, 2 over tables `a`); rewritten to ASIDs 11, 12 over tables `b`.
struct SharedCds {
  SharedCds()
      : a(rig.tables(TableGeometry::stage1(12, 48))),
        b(rig.tables(TableGeometry::stage1(12, 48))),
        cds(rig.cd_table({CdTableFormat::Linear, 2})) {
    a.map(kVa1, kOld, k4K, non_global());
    b.map(kVa1, kNew, k4K, non_global());
    write(a, 0);
    SteFields ste;
    ste.config = kConfigS1;
    tables::attach_cd_table(ste, cds);
    rig.streams.write_ste(1, ste);
    rig.streams.write_ste(2, ste);
    for (std::uint32_t sid : {1u, 2u}) {
      for (std::uint32_t ssid : {1u, 2u}) EXPECT_TRUE(translated_to(rig.access_ssid(sid, ssid, kVa1), kOld));
    }
    write(b, 10);
    for (std::uint32_t sid : {1u, 2u}) {
      for (std::uint32_t ssid : {1u, 2u}) EXPECT_TRUE(translated_to(rig.access_ssid(sid, ssid, kVa1), kOld));
    }
  }
  void write(const PageTableBuilder& tt, std::uint16_t asid_base) {
    for (std::uint32_t ssid : {1u, 2u}) {
      CdFields cd;
      tables::attach_ttb0(cd, tt);
      cd.asid = static_cast<std::uint16_t>(asid_base + ssid);
      cds.write_cd(ssid, cd);
    }
  }
  bool fresh(std::uint32_t sid, std::uint32_t ssid) {
    return rig.access_ssid(sid, ssid, kVa1).output_address == kNew;
  }
  TlbRig rig;
  PageTableBuilder& a;
  PageTableBuilder& b;
  CdTableBuilder& cds;
};

TEST(TranslationInvalidation, CfgiCdInvalidatesOneCdOfOneStream) {
  SharedCds s;
  Command c = cmd(CommandOpcode::CFGI_CD);
  c.stream_id = 1;
  c.ssv = true;
  c.substream_id = 1;
  c.leaf = true;
  s.rig.engine.execute(c);
  EXPECT_TRUE(s.fresh(1, 1));
  EXPECT_FALSE(s.fresh(1, 2));  // other SubstreamID
  EXPECT_FALSE(s.fresh(2, 1));  // same CD cached through another StreamID
}

TEST(TranslationInvalidation, CfgiCdAllInvalidatesEveryCdOfOneStream) {
  SharedCds s;
  Command c = cmd(CommandOpcode::CFGI_CD_ALL);
  c.stream_id = 1;
  s.rig.engine.execute(c);
  EXPECT_TRUE(s.fresh(1, 1));
  EXPECT_TRUE(s.fresh(1, 2));
  EXPECT_FALSE(s.fresh(2, 1));
  EXPECT_FALSE(s.fresh(2, 2));
}

TEST(TranslationInvalidation, CfgiSteAlsoInvalidatesTheStreamsCds) {
  // IHI 0070 §4.3.1: 'This command invalidates all Context Descriptors
  // (including L1CD) that were cached using the given StreamID.'
  SharedCds s;
  Command c = cmd(CommandOpcode::CFGI_STE);
  c.stream_id = 2;
  s.rig.engine.execute(c);
  EXPECT_TRUE(s.fresh(2, 1));
  EXPECT_TRUE(s.fresh(2, 2));
  EXPECT_FALSE(s.fresh(1, 1));
}

TEST(TranslationInvalidation, CfgiAllInvalidatesEveryCd) {
  SharedCds s;
  Command c = cmd(CommandOpcode::CFGI_STE_RANGE);
  c.range = 31;
  s.rig.engine.execute(c);
  EXPECT_EQ(s.rig.engine.cached_cds(), 0u);
  EXPECT_TRUE(s.fresh(1, 1));
  EXPECT_TRUE(s.fresh(2, 2));
}

// ---------------------------------------------------------------------------
// TLB invalidation: stage 1

TEST(TranslationInvalidation, TlbiNhAllInvalidatesStage1OfOneVmid) {
  TlbRig rig;
  Space a(rig, 1, /*vmid=*/1, /*asid=*/1);
  Space b(rig, 2, /*vmid=*/2, /*asid=*/1);
  Ipa c(rig, 3, /*vmid=*/1);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, a.sid, a.tt, kVaGlobal, 0x2000, PageAttributes{});
  prime(rig, b.sid, b.tt, kVa1, 0x3000);
  prime(rig, c.sid, c.tt, kVa1, 0x4000);
  Command t = cmd(CommandOpcode::TLBI_NH_ALL);
  t.vmid = 1;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(rig, a.sid, kVaGlobal, 0x2000));  // including global entries
  EXPECT_TRUE(is_stale(rig, b.sid, kVa1, 0x3000));       // other VMID
  EXPECT_TRUE(is_stale(rig, c.sid, kVa1, 0x4000));       // stage 2 is not stage 1
}

TEST(TranslationInvalidation, TlbiNhAsidSparesGlobalEntriesAndOtherAsids) {
  TlbRig rig;
  Space a(rig, 1, 1, /*asid=*/1);
  Space b(rig, 2, 1, /*asid=*/2);
  Space c(rig, 3, /*vmid=*/2, /*asid=*/1);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, a.sid, a.tt, kVaGlobal, 0x2000, PageAttributes{});
  prime(rig, b.sid, b.tt, kVa1, 0x3000);
  prime(rig, c.sid, c.tt, kVa1, 0x4000);
  Command t = cmd(CommandOpcode::TLBI_NH_ASID);
  t.vmid = 1;
  t.asid = 1;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_stale(rig, a.sid, kVaGlobal, 0x2000));
  EXPECT_TRUE(is_stale(rig, b.sid, kVa1, 0x3000));
  EXPECT_TRUE(is_stale(rig, c.sid, kVa1, 0x4000));
}

TEST(TranslationInvalidation, TlbiNhVaMatchesAsidOrGlobal) {
  TlbRig rig;
  Space a(rig, 1, 1, /*asid=*/1);
  Space b(rig, 2, 1, /*asid=*/2);
  Space c(rig, 3, /*vmid=*/2, /*asid=*/1);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, a.sid, a.tt, kVa2, 0x2000);
  prime(rig, a.sid, a.tt, kVaGlobal, 0x3000, PageAttributes{});
  prime(rig, b.sid, b.tt, kVa1, 0x4000);
  prime(rig, c.sid, c.tt, kVa1, 0x5000);
  Command t = cmd(CommandOpcode::TLBI_NH_VA);
  t.vmid = 1;
  t.asid = 1;
  t.address = kVa1;
  t.leaf = true;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_stale(rig, a.sid, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(rig, b.sid, kVa1, 0x4000));
  EXPECT_TRUE(is_stale(rig, c.sid, kVa1, 0x5000));
  // Global entries match whatever ASID the command names.
  t.asid = 7;
  t.address = kVaGlobal;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVaGlobal, 0x3000));
}

TEST(TranslationInvalidation, TlbiNhVaaMatchesEveryAsidOfTheVmid) {
  TlbRig rig;
  Space a(rig, 1, 1, /*asid=*/1);
  Space b(rig, 2, 1, /*asid=*/2);
  Space c(rig, 3, /*vmid=*/2, /*asid=*/1);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, a.sid, a.tt, kVa2, 0x2000);
  prime(rig, b.sid, b.tt, kVa1, 0x3000);
  prime(rig, c.sid, c.tt, kVa1, 0x4000);
  Command t = cmd(CommandOpcode::TLBI_NH_VAA);
  t.vmid = 1;
  t.address = kVa1;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(rig, b.sid, kVa1, 0x3000));
  EXPECT_TRUE(is_stale(rig, a.sid, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(rig, c.sid, kVa1, 0x4000));
}

TEST(TranslationInvalidation, TlbiNhVaInsideABlockInvalidatesTheBlock) {
  TlbRig rig;
  Space a(rig, 1, 1, 1);
  a.tt.map(k2M * 8, kOld, k2M, non_global());
  EXPECT_TRUE(translated_to(rig.access(1, k2M * 8 + 0x1'2340), kOld + 0x1'2340));
  a.tt.remap(k2M * 8, kNew, k2M, non_global());
  EXPECT_TRUE(translated_to(rig.access(1, k2M * 8 + 0x1'2340), kOld + 0x1'2340));
  Command t = cmd(CommandOpcode::TLBI_NH_VA);
  t.vmid = 1;
  t.asid = 1;
  t.address = k2M * 8 + 0x5000;  // not the start of the entry
  rig.engine.execute(t);
  EXPECT_TRUE(translated_to(rig.access(1, k2M * 8 + 0x1'2340), kNew + 0x1'2340));
}

// Range invalidation (SMMU_IDR3.RIL): Range = (NUM + 1) * 2^SCALE granules
// from Address (IHI 0070 §4.4.1.1).
struct RangeWorld {
  RangeWorld() : a(rig, 1, 1, 1) {
    for (unsigned i = 0; i < 10; ++i) prime(rig, 1, a.tt, base + i * k4K, i * k4K);
  }
  void invalidate(unsigned num, unsigned scale) {
    Command t = cmd(CommandOpcode::TLBI_NH_VA);
    t.vmid = 1;
    t.asid = 1;
    t.address = base + k4K;  // pages 1 .. (NUM+1)*2^SCALE
    t.tg = 1;                // 4K
    t.num = static_cast<std::uint8_t>(num);
    t.scale = static_cast<std::uint8_t>(scale);
    t.ttl = 3;
    rig.engine.execute(t);
  }
  static constexpr std::uint64_t base = 0x100'0000;
  TlbRig rig;
  Space a;
};

TEST(TranslationInvalidation, TlbiNhVaRangeInvalidatesEveryPageInTheRange) {
  for (const auto& [num, scale] : {std::pair{3u, 0u}, std::pair{1u, 1u}, std::pair{0u, 2u}}) {
    RangeWorld w;
    w.invalidate(num, scale);
    EXPECT_TRUE(is_stale(w.rig, 1, RangeWorld::base, 0)) << "below the range";
    for (unsigned i = 1; i <= 4; ++i) {
      EXPECT_TRUE(is_fresh(w.rig, 1, RangeWorld::base + i * k4K, i * k4K)) << "NUM " << num << " SCALE " << scale;
    }
  }
}

TEST(TranslationInvalidation, TlbiNhVaRangeStopsAtItsEnd) {
  for (const auto& [num, scale] : {std::pair{3u, 0u}, std::pair{1u, 1u}, std::pair{0u, 2u}}) {
    RangeWorld w;
    w.invalidate(num, scale);
    for (unsigned i = 5; i < 10; ++i) {
      EXPECT_TRUE(is_stale(w.rig, 1, RangeWorld::base + i * k4K, i * k4K)) << "NUM " << num << " SCALE " << scale
                                                                          << " page " << i;
    }
  }
}

// ---------------------------------------------------------------------------
// TLB invalidation: stage 2 and both stages

// A nested stream (VMID `vmid`): stage 1 maps kVa1 -> kIpaOut; stage 2 maps the
// tables' IPA window and kIpaOut.
struct NestedSpace {
  static constexpr std::uint64_t kIpaOut = 0x40'0000'0000;
  NestedSpace(Rig& rig, std::uint32_t sid_, std::uint16_t vmid)
      : sid(sid_),
        s2(rig.tables(TableGeometry::stage2(12, 40, 1))),
        window(rig.ipa_window(s2, 0x1'0000'0000, k2M)),
        s1(rig.tables(TableGeometry::stage1(12, 48), &window.space, &window.allocator)) {
    CdFields cd;
    cd.asid = 9;
    SteFields ste;
    ste.s2vmid = vmid;
    add_nested_stream(rig, sid, s1, s2, window, cd, ste);
    s1.map(kVa1, kIpaOut, k4K, non_global());
  }
  std::uint32_t sid;
  PageTableBuilder& s2;
  IpaWindow& window;
  PageTableBuilder& s1;
};

TEST(TranslationInvalidation, TlbiS2IpaInvalidatesStage2OfOneVmid) {
  TlbRig rig;
  Ipa c(rig, 3, /*vmid=*/1);
  Ipa d(rig, 4, /*vmid=*/2);
  Space a(rig, 1, /*vmid=*/1, 1);
  prime(rig, c.sid, c.tt, kVa1, 0x1000);
  prime(rig, c.sid, c.tt, kVa2, 0x2000);
  prime(rig, d.sid, d.tt, kVa1, 0x3000);
  prime(rig, a.sid, a.tt, kVa1, 0x4000);
  Command t = cmd(CommandOpcode::TLBI_S2_IPA);
  t.vmid = 1;
  t.address = kVa1;
  t.leaf = true;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, c.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_stale(rig, c.sid, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(rig, d.sid, kVa1, 0x3000));
  EXPECT_TRUE(is_stale(rig, a.sid, kVa1, 0x4000));  // a VA, not an IPA
}

TEST(TranslationInvalidation, TlbiS2IpaRangeCoversItsGranules) {
  TlbRig rig;
  Ipa c(rig, 3, 1);
  for (unsigned i = 0; i < 4; ++i) prime(rig, c.sid, c.tt, 0x200'0000 + i * k4K, i * k4K);
  Command t = cmd(CommandOpcode::TLBI_S2_IPA);
  t.vmid = 1;
  t.address = 0x200'0000;
  t.tg = 1;
  t.num = 1;  // 2 granules
  t.scale = 0;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, c.sid, 0x200'0000, 0));
  EXPECT_TRUE(is_fresh(rig, c.sid, 0x200'1000, k4K));
  EXPECT_TRUE(is_stale(rig, c.sid, 0x200'2000, 2 * k4K)) << "the range ends after NUM+1 granules";
}

TEST(TranslationInvalidation, NestedStage2ChangeNeedsS2IpaAndNhAll) {
  TlbRig rig;
  NestedSpace n(rig, 1, 1);
  n.s2.map(NestedSpace::kIpaOut, kOld, k4K);
  EXPECT_TRUE(translated_to(rig.access(1, kVa1 + 0x30), kOld + 0x30));
  n.s2.remap(NestedSpace::kIpaOut, kNew, k4K);
  EXPECT_TRUE(translated_to(rig.access(1, kVa1 + 0x30), kOld + 0x30));
  // TLBI_S2_IPA is not required to invalidate combined stage 1+2 entries; the
  // sequence software uses is S2_IPA then NH_ALL (IHI 0070 §4.4.3.1).
  Command t = cmd(CommandOpcode::TLBI_S2_IPA);
  t.vmid = 1;
  t.address = NestedSpace::kIpaOut;
  rig.engine.execute(t);
  t = cmd(CommandOpcode::TLBI_NH_ALL);
  t.vmid = 1;
  rig.engine.execute(t);
  EXPECT_TRUE(translated_to(rig.access(1, kVa1 + 0x30), kNew + 0x30));
}

TEST(TranslationInvalidation, TlbiS12VmallInvalidatesBothStagesOfOneVmid) {
  TlbRig rig;
  Space a(rig, 1, /*vmid=*/1, 1);
  Ipa c(rig, 3, /*vmid=*/1);
  NestedSpace n(rig, 4, /*vmid=*/1);
  Space b(rig, 2, /*vmid=*/2, 1);
  Ipa d(rig, 5, /*vmid=*/2);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, c.sid, c.tt, kVa1, 0x2000);
  prime(rig, b.sid, b.tt, kVa1, 0x3000);
  prime(rig, d.sid, d.tt, kVa1, 0x4000);
  n.s2.map(NestedSpace::kIpaOut, kOld + 0x5000, k4K);
  EXPECT_TRUE(translated_to(rig.access(n.sid, kVa1 + 0x20), kOld + 0x5020));
  n.s2.remap(NestedSpace::kIpaOut, kNew + 0x5000, k4K);
  EXPECT_TRUE(is_stale(rig, n.sid, kVa1, 0x5000));
  Command t = cmd(CommandOpcode::TLBI_S12_VMALL);
  t.vmid = 1;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(rig, c.sid, kVa1, 0x2000));
  EXPECT_TRUE(is_fresh(rig, n.sid, kVa1, 0x5000));
  EXPECT_TRUE(is_stale(rig, b.sid, kVa1, 0x3000));
  EXPECT_TRUE(is_stale(rig, d.sid, kVa1, 0x4000));
}

// ---------------------------------------------------------------------------
// TLB invalidation: NSNH and EL2 (SMMU_IDR0.HYP)

Capabilities hyp_caps() {
  Capabilities caps = test_caps();
  caps.hyp = true;
  return caps;
}

TEST(TranslationInvalidation, TlbiNsnhAllInvalidatesEverythingButEl2) {
  TlbRig rig{hyp_caps()};
  Space a(rig, 1, 1, 1);
  Space b(rig, 2, 2, 5);
  Ipa c(rig, 3, 3);
  Space e(rig, 4, 0, 1, /*strw=*/0b10);
  prime(rig, a.sid, a.tt, kVa1, 0x1000);
  prime(rig, b.sid, b.tt, kVa1, 0x2000);
  prime(rig, c.sid, c.tt, kVa1, 0x3000);
  prime(rig, e.sid, e.tt, kVa1, 0x4000);
  rig.engine.execute(cmd(CommandOpcode::TLBI_NSNH_ALL));
  EXPECT_TRUE(is_fresh(rig, a.sid, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(rig, b.sid, kVa1, 0x2000));
  EXPECT_TRUE(is_fresh(rig, c.sid, kVa1, 0x3000));
  EXPECT_TRUE(is_stale(rig, e.sid, kVa1, 0x4000));
}

// EL2-E2H world: EL2 streams with ASIDs 1 and 2 and an EL1 stream with ASID 1.
struct El2World {
  El2World() : rig(hyp_caps()), e1(rig, 1, 0, 1, 0b10), e2(rig, 2, 0, 2, 0b10), el1(rig, 3, 1, 1) {
    rig.control.cr2 |= kCr2E2h;
    rig.apply();
    prime(rig, e1.sid, e1.tt, kVa1, 0x1000);
    prime(rig, e1.sid, e1.tt, kVa2, 0x2000);
    prime(rig, e1.sid, e1.tt, kVaGlobal, 0x3000, PageAttributes{});
    prime(rig, e2.sid, e2.tt, kVa1, 0x4000);
    prime(rig, el1.sid, el1.tt, kVa1, 0x5000);
  }
  TlbRig rig;
  Space e1, e2, el1;
};

TEST(TranslationInvalidation, TlbiEl2AllInvalidatesEveryEl2Entry) {
  El2World w;
  w.rig.engine.execute(cmd(CommandOpcode::TLBI_EL2_ALL));
  EXPECT_TRUE(is_fresh(w.rig, 1, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(w.rig, 1, kVaGlobal, 0x3000));
  EXPECT_TRUE(is_fresh(w.rig, 2, kVa1, 0x4000));
  EXPECT_TRUE(is_stale(w.rig, 3, kVa1, 0x5000));
}

TEST(TranslationInvalidation, TlbiEl2AsidInvalidatesNonGlobalEntriesOfOneAsid) {
  El2World w;
  Command t = cmd(CommandOpcode::TLBI_EL2_ASID);
  t.asid = 1;
  w.rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(w.rig, 1, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(w.rig, 1, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(w.rig, 1, kVaGlobal, 0x3000));
  EXPECT_TRUE(is_stale(w.rig, 2, kVa1, 0x4000));
  EXPECT_TRUE(is_stale(w.rig, 3, kVa1, 0x5000));
}

TEST(TranslationInvalidation, TlbiEl2VaMatchesAsidAndAddress) {
  El2World w;
  Command t = cmd(CommandOpcode::TLBI_EL2_VA);
  t.asid = 1;
  t.address = kVa1;
  w.rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(w.rig, 1, kVa1, 0x1000));
  EXPECT_TRUE(is_stale(w.rig, 1, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(w.rig, 2, kVa1, 0x4000));
  EXPECT_TRUE(is_stale(w.rig, 3, kVa1, 0x5000));
  t.asid = 9;
  t.address = kVaGlobal;
  w.rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(w.rig, 1, kVaGlobal, 0x3000));
}

TEST(TranslationInvalidation, TlbiEl2VaaMatchesEveryAsid) {
  El2World w;
  Command t = cmd(CommandOpcode::TLBI_EL2_VAA);
  t.address = kVa1;
  w.rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(w.rig, 1, kVa1, 0x1000));
  EXPECT_TRUE(is_fresh(w.rig, 2, kVa1, 0x4000));
  EXPECT_TRUE(is_stale(w.rig, 1, kVa2, 0x2000));
  EXPECT_TRUE(is_stale(w.rig, 3, kVa1, 0x5000));
}

TEST(TranslationInvalidation, TlbiEl2VaIgnoresTheAsidWithoutE2h) {
  TlbRig rig{hyp_caps()};
  Space e(rig, 1, 0, /*asid=*/1, 0b10);
  prime(rig, e.sid, e.tt, kVa1, 0x1000);
  Command t = cmd(CommandOpcode::TLBI_EL2_VA);
  t.asid = 9;
  t.address = kVa1;
  rig.engine.execute(t);
  EXPECT_TRUE(is_fresh(rig, e.sid, kVa1, 0x1000));
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
