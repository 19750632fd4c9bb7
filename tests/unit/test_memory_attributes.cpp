// Memory attributes through the SMMU (IHI 0070 chapter 13): the attribute
// algebra on its own (overrides, stage 1, stage-2 combine, consistency, with the
// spec's §13.1.5.1 examples), then what translations output for every STE
// configuration, and the IDR1.ATTR_TYPES_OVR gate.
#include "smmuv3tlm/models/smmu/arch/memory_attributes.h"

#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

using smmu::AttributeOverrides;
using smmu::MemoryAttributes;
using smmu::Shareability;

constexpr Shareability kNsh = Shareability::NonShareable;
constexpr Shareability kOsh = Shareability::OuterShareable;
constexpr Shareability kIsh = Shareability::InnerShareable;

MemoryAttributes attrs(std::uint8_t type, Shareability sh) { return MemoryAttributes{type, sh}; }

// §13.1.5.1, first two examples: Device wins, and the stronger Device type.
TEST(MemoryAttributes, CombineTakesTheStrongerType) {
  // Normal-iWB/RAWAnTR-oNC-ISH + Device-nGnRE = Device-nGnRE (output OSH).
  EXPECT_EQ(smmu::consistent(smmu::combine_stage2(attrs(0x4f, kIsh), 0b0001, kNsh)), attrs(0x04, kOsh));
  // Device-nGnRE + Device-nGnRnE = Device-nGnRnE.
  EXPECT_EQ(smmu::consistent(smmu::combine_stage2(attrs(0x04, kOsh), 0b0000, kNsh)), attrs(0x00, kOsh));
  // Device-GRE input, stage 2 Normal WB: stays Device-GRE.
  EXPECT_EQ(smmu::consistent(smmu::combine_stage2(attrs(0x0c, kNsh), 0b1111, kIsh)), attrs(0x0c, kOsh));
}

// §13.1.5.1, third example with stage 2's implicit hints: the weaker
// cacheability per level, the input's hints, the stronger shareability.
TEST(MemoryAttributes, CombineTakesTheWeakerCacheabilityAndStrongerShareability) {
  // Normal-iWB/RAWAnTR-oNC-ISH + Normal-iWT-oWT-OSH = Normal-iWT/RAWAnTR-oNC-OSH.
  EXPECT_EQ(smmu::combine_stage2(attrs(0x4f, kIsh), 0b1010, kOsh), attrs(0x4b, kOsh));
  EXPECT_EQ(smmu::combine_stage2(attrs(0xff, kNsh), 0b1111, kIsh), attrs(0xff, kIsh));
  EXPECT_EQ(smmu::combine_stage2(attrs(0xff, kIsh), 0b1111, kNsh), attrs(0xff, kIsh));
  // Transient write-back input, stage 2 WB: the hints pass unchanged.
  EXPECT_EQ(smmu::combine_stage2(attrs(0x77, kIsh), 0b1111, kIsh), attrs(0x77, kIsh));
}

TEST(MemoryAttributes, Stage2MemAttrEncoding) {
  EXPECT_EQ(smmu::mair_type_from_stage2(0b0000), 0x00);  // Device-nGnRnE
  EXPECT_EQ(smmu::mair_type_from_stage2(0b0011), 0x0c);  // Device-GRE
  EXPECT_EQ(smmu::mair_type_from_stage2(0b0101), 0x44);  // iNC-oNC
  EXPECT_EQ(smmu::mair_type_from_stage2(0b1111), 0xff);  // iWB-oWB, RA WA nTR
  EXPECT_EQ(smmu::mair_type_from_stage2(0b1110), 0xfb);  // iWT-oWB
}

TEST(MemoryAttributes, OverridesReplaceTheIncomingAttributes) {
  const MemoryAttributes incoming;  // §13.1.3 defaults
  EXPECT_EQ(incoming, attrs(0xff, kNsh));
  AttributeOverrides o;
  EXPECT_FALSE(o.any());
  EXPECT_EQ(smmu::apply_overrides(incoming, o), incoming);
  // MTCFG: the type from MemAttr; a cacheable level keeps the incoming hints.
  o.mtcfg = true;
  o.memattr = 0b1010;  // iWT-oWT
  EXPECT_EQ(smmu::apply_overrides(attrs(0x77, kIsh), o), attrs(0x33, kIsh));
  // From a non-cacheable input: RA, WA, nTR (§13.1.4).
  o.memattr = 0b1111;
  EXPECT_EQ(smmu::apply_overrides(attrs(0x44, kNsh), o), attrs(0xff, kNsh));
  // Reserved MemAttr 0b0100/0b1000/0b1100 behave as Device-nGnRnE (§5.2).
  o.memattr = 0b1000;
  EXPECT_EQ(smmu::apply_overrides(incoming, o).type, 0x00);
  // ALLOCCFG 0b1RWT on every cacheable level.
  o = AttributeOverrides{};
  o.alloccfg = 0b1101;  // RA, no WA, transient
  EXPECT_TRUE(o.any());
  EXPECT_EQ(smmu::apply_overrides(incoming, o), attrs(0x66, kNsh));
  EXPECT_EQ(smmu::apply_overrides(attrs(0x4f, kNsh), o), attrs(0x46, kNsh));  // the NC level has no hints
  EXPECT_EQ(smmu::apply_overrides(attrs(0x04, kNsh), o), attrs(0x04, kNsh));  // nor does Device
  // 0b1001 behaves as 0b1000: no-allocate is non-transient (§13.1.7).
  o.alloccfg = 0b1001;
  EXPECT_EQ(smmu::apply_overrides(incoming, o), attrs(0xcc, kNsh));
  // SHCFG: 0b01 uses the incoming value, the others replace it.
  o = AttributeOverrides{};
  o.shcfg = 0b11;
  EXPECT_EQ(smmu::apply_overrides(incoming, o), attrs(0xff, kIsh));
  o.shcfg = 0b00;
  EXPECT_EQ(smmu::apply_overrides(attrs(0xff, kIsh), o), attrs(0xff, kNsh));
}

TEST(MemoryAttributes, Stage1ReplacesTypeAndShareabilityButCombinesHints) {
  // A cacheable input's hints combine with stage 1's (§13.4.2).
  EXPECT_EQ(smmu::stage1_attributes(attrs(0x77, kNsh), 0xff, kIsh), attrs(0x77, kIsh));
  EXPECT_EQ(smmu::stage1_attributes(attrs(0xee, kNsh), 0xfd, kIsh), attrs(0xec, kIsh));  // allocate only where both do
  // A non-cacheable or Device input: stage 1's hints as they are.
  EXPECT_EQ(smmu::stage1_attributes(attrs(0x44, kOsh), 0xaa, kNsh), attrs(0xaa, kNsh));
  EXPECT_EQ(smmu::stage1_attributes(attrs(0x00, kOsh), 0x77, kIsh), attrs(0x77, kIsh));
  // Stage 1 Device: the input's cacheability is gone.
  EXPECT_EQ(smmu::stage1_attributes(attrs(0xff, kIsh), 0x04, kIsh), attrs(0x04, kIsh));
}

TEST(MemoryAttributes, OutputIsMadeConsistent) {
  EXPECT_EQ(smmu::consistent(attrs(0x04, kNsh)), attrs(0x04, kOsh));  // Device: OSH
  EXPECT_EQ(smmu::consistent(attrs(0x44, kIsh)), attrs(0x44, kOsh));  // iNC-oNC: OSH
  EXPECT_EQ(smmu::consistent(attrs(0x4f, kIsh)), attrs(0x4f, kIsh));  // one cacheable level: as it is
  EXPECT_EQ(smmu::consistent(attrs(0x00 | 0x40, kNsh)).type, 0x44);   // inner 0b0000 under Normal: NC
}

// --- What translations output ------------------------------------------------

constexpr std::uint64_t kVa = 0x10'0000;
constexpr std::uint64_t kPa = 0x8'0000'0000;
constexpr std::uint64_t kMair = 0x0004'44ff'aa77'0cffull;  // index 0 0xff, 1 0x0c, 2 0x77, 3 0xaa, 4 0xff, 5 0x44, 6 0x04

// An SMMU whose STE and GBPA type overrides apply (IDR1.ATTR_TYPES_OVR).
Capabilities types_override_caps() {
  Capabilities caps = test_caps();
  caps.attr_types_override = true;
  return caps;
}

TranslationRequest request_at(std::uint64_t address, const MemoryAttributes& incoming = {}) {
  TranslationRequest r;
  r.stream_id = 1;
  r.address = address;
  r.incoming = incoming;
  return r;
}

TEST(TranslationAttributes, Stage1OutputsTheMairTypeAndDescriptorShareability) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  CdFields cd;
  cd.mair = kMair;
  add_s1_stream(rig, 1, tt, cd);
  PageAttributes page;
  page.attr_index = 2;  // 0x77: WB transient RA WA
  page.sh = 0b10;
  tt.map(kVa, kPa, k4K, page);
  page.attr_index = 1;  // Device-GRE
  page.sh = 0b00;
  tt.map(kVa + k4K, kPa + k4K, k4K, page);
  const TranslationResult normal = rig.engine.translate(request_at(kVa));
  ASSERT_TRUE(translated_to(normal, kPa));
  EXPECT_EQ(normal.attributes, attrs(0x77, kOsh));
  // From the TLB: the same.
  EXPECT_EQ(rig.engine.translate(request_at(kVa + 8)).attributes, attrs(0x77, kOsh));
  // Device is output Outer Shareable whatever SH says.
  EXPECT_EQ(rig.engine.translate(request_at(kVa + k4K)).attributes, attrs(0x0c, kOsh));
  // The incoming hints combine with a cacheable stage-1 type.
  EXPECT_EQ(rig.engine.translate(request_at(kVa, attrs(0xcc, kNsh))).attributes, attrs(0xcc, kOsh));  // no-allocate: non-transient
}

TEST(TranslationAttributes, StageOneOverridesThePerStreamOverrides) {
  Rig rig(types_override_caps());
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  CdFields cd;
  cd.mair = kMair;
  SteFields ste;
  ste.mtcfg = true;
  ste.memattr = 0b0001;  // Device-nGnRE: discarded by stage 1
  ste.shcfg = 0b00;
  add_s1_stream(rig, 1, tt, cd, ste);
  PageAttributes page;
  page.attr_index = 0;
  page.sh = 0b11;
  tt.map(kVa, kPa, k4K, page);
  EXPECT_EQ(rig.engine.translate(request_at(kVa)).attributes, attrs(0xff, kIsh));
}

TEST(TranslationAttributes, Stage2CombinesWithTheOverriddenInput) {
  Rig rig(types_override_caps());
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  SteFields ste;
  ste.shcfg = 0b11;      // ISH
  ste.alloccfg = 0b1010;  // no RA, WA, not transient
  add_s2_stream(rig, 1, s2, ste);
  PageAttributes page;
  page.memattr = 0b1110;  // oWB-iWT
  page.sh = 0b10;         // OSH
  s2.map(kVa, kPa, k4K, page);
  const TranslationResult r = rig.engine.translate(request_at(kVa));
  ASSERT_TRUE(translated_to(r, kPa));
  EXPECT_EQ(r.attributes, attrs(0xd9, kOsh));  // outer WB WA, inner WT WA, OSH (stronger than ISH)
  page.memattr = 0b0010;  // Device-nGRE
  s2.map(kVa + k4K, kPa + k4K, k4K, page);
  EXPECT_EQ(rig.engine.translate(request_at(kVa + k4K)).attributes, attrs(0x08, kOsh));
}

TEST(TranslationAttributes, NestedCombinesStage1WithStage2) {
  Rig rig;
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  IpaWindow& window = rig.ipa_window(s2, 0x4000'0000, 0x10'0000);
  PageTableBuilder& s1 = rig.tables(TableGeometry::stage1(12, 48), &window.space, &window.allocator);
  CdFields cd;
  cd.mair = kMair;
  add_nested_stream(rig, 1, s1, s2, window, cd);
  PageAttributes s1_page;
  s1_page.attr_index = 3;  // 0xaa: WT, RA, no WA
  s1_page.sh = 0b11;
  s1.map(kVa, 0x2000'0000, k4K, s1_page);
  PageAttributes s2_page;
  s2_page.memattr = 0b0111;  // oNC-iWB
  s2_page.sh = 0b10;
  s2.map(0x2000'0000, kPa, k4K, s2_page);
  const TranslationResult r = rig.engine.translate(request_at(kVa));
  ASSERT_TRUE(translated_to(r, kPa));
  EXPECT_EQ(r.attributes, attrs(0x4a, kOsh));  // outer NC, inner WT RA (stage 1's hints), OSH
}

TEST(TranslationAttributes, BypassOutputsTheOverriddenInputOnlyWithAttrTypesOvr) {
  for (const bool types_override : {true, false}) {
    Capabilities caps = types_override_caps();
    caps.attr_types_override = types_override;
    Rig rig(caps);
    SteFields ste;
    ste.config = 0b100;
    ste.mtcfg = true;
    ste.memattr = 0b0101;  // iNC-oNC
    ste.shcfg = 0b00;
    rig.streams.write_ste(1, ste);
    const TranslationResult r = rig.engine.translate(request_at(kVa, attrs(0xff, kIsh)));
    ASSERT_EQ(r.outcome, TranslationOutcome::Bypassed);
    EXPECT_EQ(r.attributes, types_override ? attrs(0x44, kOsh) : attrs(0xff, kIsh)) << types_override;
  }
}

TEST(TranslationAttributes, GlobalBypassUsesTheGbpaFields) {
  Rig rig(types_override_caps());
  rig.control.smmu_enabled = false;
  rig.control.gbpa = (1u << 4) | 0b0011 | (0b10u << 12);  // MTCFG, Device-GRE, SHCFG OSH
  rig.apply();
  EXPECT_EQ(rig.engine.translate(request_at(kVa)).attributes, attrs(0x0c, kOsh));
  rig.control.gbpa = (0b1100u << 8) | (0b11u << 12);  // ALLOCCFG RA no WA, SHCFG ISH
  rig.apply();
  EXPECT_EQ(rig.engine.translate(request_at(kVa)).attributes, attrs(0xee, kIsh));
}

// The micro-TLB answers only requests with the attributes it was filled for.
TEST(TranslationAttributes, MicroTlbEntryServesItsIncomingAttributesOnly) {
  Rig rig;
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  add_s2_stream(rig, 1, s2);
  PageAttributes page;
  page.memattr = 0b1111;
  page.sh = 0b11;
  s2.map(kVa, kPa, k4K, page);
  TranslationEngine::ContextMemo memo;
  TranslationEngine::MicroTlb micro(4);
  // Walk, TLB hit (fills the micro-TLB), micro-TLB hit.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rig.engine.translate(request_at(kVa), memo, &micro).attributes, attrs(0xff, kIsh));
  }
  EXPECT_EQ(rig.engine.statistics().micro_tlb_hits, 1u);
  EXPECT_EQ(rig.engine.translate(request_at(kVa, attrs(0x44, kNsh)), memo, &micro).attributes, attrs(0x44, kOsh));
  EXPECT_EQ(rig.engine.statistics().micro_tlb_hits, 1u);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
