// Configuration: stream tables (linear, 2-level with SPLIT 6/8/10 and Span),
// every C_BAD_STREAMID / F_STE_FETCH / C_BAD_STE / C_BAD_SUBSTREAMID /
// F_CD_FETCH / C_BAD_CD / F_STREAM_DISABLED cause, CD tables (linear, 2-level),
// S1DSS, bypass and abort STEs, and GBPA while SMMUEN=0.
#include <functional>

#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint64_t kVa = 0x1000'0000;
constexpr std::uint64_t kPa = 0x8'0000'0000;
constexpr std::uint64_t kIpa = 0x1000'0000;
constexpr std::uint32_t kSid = 5;

// A configuration error record carries StreamID and SubstreamID only.
void expect_config_record(const TranslationResult& r, EventId id, std::uint32_t sid) {
  ASSERT_TRUE(faulted(r, id));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.stream_id, sid);
  EXPECT_EQ(e.input_addr, 0u);
  EXPECT_FALSE(e.s2);
}

// Valid STEs of every kind over working tables: the baseline every
// C_BAD_STE / C_BAD_CD case breaks one field of.
struct Baseline {
  explicit Baseline(const Capabilities& caps = test_caps())
      : rig(caps),
        s1_tables(rig.tables(TableGeometry::stage1(12, 48))),
        s2_tables(rig.tables(TableGeometry::stage2(12, 40, 1))),
        window(rig.ipa_window(s2_tables, 0x1'0000'0000, k2M)),
        nested_s1(rig.tables(TableGeometry::stage1(12, 48), &window.space, &window.allocator)),
        cds(rig.cd_table()),
        nested_cds(rig.cd_table({}, &window.space, &window.allocator)) {
    s1_tables.map(kVa, kPa, k4K);
    s2_tables.map(kIpa, kPa, k4K);
    nested_s1.map(kVa, kIpa, k4K);
    tables::attach_ttb0(cd, s1_tables);
    cds.write_cd(0, cd);
    CdFields ncd;
    tables::attach_ttb0(ncd, nested_s1);
    nested_cds.write_cd(0, ncd);
    s1.config = kConfigS1;
    tables::attach_cd_table(s1, cds);
    s2.config = kConfigS2;
    tables::attach_stage2(s2, s2_tables);
    nested.config = kConfigNested;
    tables::attach_cd_table(nested, nested_cds);
    tables::attach_stage2(nested, s2_tables);
  }
  const SteFields& of(unsigned config) const {
    return config == kConfigS1 ? s1 : config == kConfigS2 ? s2 : config == kConfigNested ? nested : bypass;
  }
  // The address a baseline stream of this kind translates to kPa.
  static std::uint64_t input_for(unsigned config) { return config == kConfigS2 ? kIpa : kVa; }

  Rig rig;
  PageTableBuilder& s1_tables;
  PageTableBuilder& s2_tables;
  IpaWindow& window;
  PageTableBuilder& nested_s1;
  CdTableBuilder& cds;
  CdTableBuilder& nested_cds;
  CdFields cd;
  SteFields s1, s2, nested, bypass;
};

TEST(TranslationConfig, BaselinesTranslate) {
  Baseline b;
  for (unsigned config : {kConfigS1, kConfigS2, kConfigNested}) {
    b.rig.streams.write_ste(kSid, b.of(config));
    b.rig.engine.invalidate_ste_range(0, 1ull << 32);
    EXPECT_TRUE(translated_to(b.rig.access(kSid, Baseline::input_for(config) + 0x10), kPa + 0x10))
        << "config " << config;
  }
}

// ---------------------------------------------------------------------------
// C_BAD_STE

struct SteCase {
  const char* name;
  unsigned base;
  std::function<void(Capabilities&)> caps;
  std::function<void(SteFields&)> ste;
  const char* rule;  // the architecture rule the case checks, when not obvious from its name
};

void no_caps(Capabilities&) {}

std::vector<SteCase> bad_ste_cases() {
  return {
      {"V0", kConfigBypass, no_caps, [](SteFields& f) { f.v = false; }, nullptr},
      {"V0WithStage1", kConfigS1, no_caps, [](SteFields& f) { f.v = false; }, nullptr},
      {"Stage1NotImplemented", kConfigS1, [](Capabilities& c) { c.stage1 = false; }, [](SteFields&) {}, nullptr},
      {"Stage2NotImplemented", kConfigS2, [](Capabilities& c) { c.stage2 = false; }, [](SteFields&) {}, nullptr},
      {"NestedWithoutStage2", kConfigNested, [](Capabilities& c) { c.stage2 = false; }, [](SteFields&) {}, nullptr},
      {"S1CdMaxAboveSsidSize", kConfigS1, [](Capabilities& c) { c.ssid_bits = 4; },
       [](SteFields& f) { f.s1cdmax = 5; }, nullptr},
      {"TwoLevelCdTableWithoutCd2l", kConfigS1, [](Capabilities& c) { c.cd2l = false; },
       [](SteFields& f) { f.s1cdmax = 2; f.s1fmt = 1; }, nullptr},
      {"S1ContextPtrBeyondOas", kConfigS1, no_caps, [](SteFields& f) { f.s1_context_ptr = 1ull << 48; }, nullptr},
      {"S2TgReserved", kConfigS2, no_caps, [](SteFields& f) { f.s2tg = 3; }, nullptr},
      {"S2TgNotAdvertised", kConfigS2, [](Capabilities& c) { c.granule_16k = false; },
       [](SteFields& f) { f.s2tg = tables::tg0_encoding(14); }, nullptr},
      {"S2T0szBelowMinimumIpa", kConfigS2, no_caps, [](SteFields& f) { f.s2t0sz = 40; }, nullptr},
      {"S2T0szAboveIas", kConfigS2, no_caps, [](SteFields& f) { f.s2t0sz = 15; }, nullptr},
      {"S2Sl0Reserved", kConfigS2, no_caps, [](SteFields& f) { f.s2sl0 = 3; }, nullptr},
      {"S2Sl0InconsistentWithS2T0sz", kConfigS2, no_caps, [](SteFields& f) { f.s2sl0 = 0; }, nullptr},
      {"NestedS2Sl0Inconsistent", kConfigNested, no_caps, [](SteFields& f) { f.s2sl0 = 0; }, nullptr},
      {"S2Sl0Level0With4KNeedsPaMax44", kConfigS2, [](Capabilities& c) { c.oas_bits = 42; },
       [](SteFields& f) { f.s2ps = 3; f.s2sl0 = 2; f.s2t0sz = 24; },
       "Arm ARM AArch64.S2InvalidSL: with a 4KB granule "
       "SL0=0b10 (start at level 0) is invalid when PAMax < 44, and IHI 0070 STE.S2SL0 makes an S2SL0 inconsistent "
       "with S2TG/S2T0SZ ILLEGAL"},
      {"S2Sl0Level1With16KNeedsPaMax42", kConfigS2, [](Capabilities& c) { c.oas_bits = 40; },
       [](SteFields& f) { f.s2ps = 2; f.s2tg = tables::tg0_encoding(14); f.s2sl0 = 2; f.s2t0sz = 24; },
       "Arm ARM AArch64.S2InvalidSL: with a 16KB granule "
       "SL0=0b10 (start at level 1) is invalid when PAMax < 42"},
      {"S2TtbBeyondOas", kConfigS2, [](Capabilities& c) { c.oas_bits = 40; },
       [](SteFields& f) { f.s2ps = 2; f.s2ttb = 1ull << 41; }, nullptr},
      {"S2TtbBeyondEffectiveS2Ps", kConfigS2, no_caps, [](SteFields& f) { f.s2ps = 0; f.s2ttb = 0x1'0000'0000; },
       "IHI 0070 STE.S2TTB: 'it is ILLEGAL for the address "
       "in this field to be outside the range described by the effective STE.S2PS value' (and §3.4: C_BAD_STE, "
       "not F_ADDR_SIZE)"},
      {"S2Aa64ZeroWithoutAArch32Tables", kConfigS2, no_caps, [](SteFields& f) { f.s2aa64 = false; }, nullptr},
      {"S2EndiNotSupported", kConfigS2, no_caps, [](SteFields& f) { f.s2endi = true; }, nullptr},
      {"S2StallWithoutStallModel", kConfigS2, no_caps, [](SteFields& f) { f.s2s = true; }, nullptr},
      {"S2NoStallWhenStallForced", kConfigS2, [](Capabilities& c) { c.stall_model = smmu::StallModel::StallForced; },
       [](SteFields&) {}, nullptr},
      // IgnoreSTESTRW: STRW is only checked when the SMMU implements EL2 (HYP).
      {"StrwReserved01", kConfigS1, [](Capabilities& c) { c.hyp = true; }, [](SteFields& f) { f.strw = 0b01; },
       nullptr},
      {"StrwReserved11", kConfigS1, [](Capabilities& c) { c.hyp = true; }, [](SteFields& f) { f.strw = 0b11; },
       nullptr},
      {"S2VmidHighBitsWithoutVmid16", kConfigS2, [](Capabilities& c) { c.vmid16 = false; },
       [](SteFields& f) { f.s2vmid = 0x100; },
       "IHI 0070 STE.S2VMID: 'when SMMU_IDR0.VMID16 == 0, it is ILLEGAL "
       "for bits STE.S2VMID[15:8] to be non-zero unless this field is IGNORED'"},
      {"S2HaWithoutHttu", kConfigS2, no_caps, [](SteFields& f) { f.s2ha = true; },
       "IHI 0070 STE.S2HA: 'It is ILLEGAL to set STE.S2HA if "
       "SMMU_IDR0.HTTU == 0b00'"},
      {"S2HdWithoutDirtyHttu", kConfigS2, [](Capabilities& c) { c.httu = smmu::HttuSupport::AccessFlag; },
       [](SteFields& f) { f.s2ha = true; f.s2hd = true; },
       "IHI 0070 STE.S2HA/S2HD: 'It is ILLEGAL to set STE.S2HD if "
       "SMMU_IDR0.HTTU == 0b00 or 0b01'"},
      {"S1StalldWhenStallModelNotConfigurable", kConfigS1, no_caps, [](SteFields& f) { f.s1stalld = true; },
       "stream_table.cpp does not decode S1STALLD (bit 91); IHI 0070 STE.S1STALLD / §5.5: with stage 1 enabled, "
       "'if SMMU_IDR0.STALL_MODEL is not 0b00, it is ILLEGAL to set this field to 1'"},
  };
}

void PrintTo(const SteCase& c, std::ostream* os) { *os << c.name; }

class TranslationBadSte : public ::testing::TestWithParam<SteCase> {};

TEST_P(TranslationBadSte, IsReportedAsCBadSte) {
  const SteCase& c = GetParam();
  Capabilities caps = test_caps();
  c.caps(caps);
  Baseline b(caps);
  SteFields ste = b.of(c.base);
  c.ste(ste);
  b.rig.streams.write_ste(kSid, ste);
  const TranslationResult r = b.rig.access(kSid, Baseline::input_for(c.base));
  expect_config_record(r, EventId::C_BAD_STE, kSid);
  EXPECT_FALSE(b.rig.engine.ste_cached(kSid));  // an ILLEGAL STE is not cached
}

INSTANTIATE_TEST_SUITE_P(Causes, TranslationBadSte, ::testing::ValuesIn(bad_ste_cases()),
                         [](const ::testing::TestParamInfo<SteCase>& p) { return std::string(p.param.name); });

TEST(TranslationConfig, ReservedConfigBehavesAsAbort) {
  for (unsigned config : {0b001u, 0b010u, 0b011u}) {
    Baseline b;
    SteFields ste = b.s1;
    ste.config = config;
    b.rig.streams.write_ste(kSid, ste);
    const TranslationResult r = b.rig.access(kSid, kVa);
    EXPECT_EQ(r.outcome, TranslationOutcome::Terminated) << config;
    EXPECT_FALSE(r.event) << config;
  }
}

TEST(TranslationConfig, S1FmtReservedBehavesAsLinear) {
  Baseline b;
  CdTableBuilder& cds = b.rig.cd_table({CdTableFormat::Linear, 2});
  CdFields cd;
  tables::attach_ttb0(cd, b.s1_tables);
  cds.write_cd(1, cd);
  SteFields ste = b.s1;
  tables::attach_cd_table(ste, cds);
  ste.s1fmt = 3;
  b.rig.streams.write_ste(kSid, ste);
  EXPECT_TRUE(translated_to(b.rig.access_ssid(kSid, 1, kVa), kPa));
}

TEST(TranslationConfig, S1DssReservedBehavesAsTerminate) {
  Baseline b;
  CdTableBuilder& cds = b.rig.cd_table({CdTableFormat::Linear, 2});
  SteFields ste = b.s1;
  tables::attach_cd_table(ste, cds);
  ste.s1dss = 3;
  b.rig.streams.write_ste(kSid, ste);
  expect_config_record(b.rig.access(kSid, kVa), EventId::F_STREAM_DISABLED, kSid);
}

TEST(TranslationConfig, StrwIsIgnoredWhenStage2Translates) {
  Capabilities caps = test_caps();
  caps.hyp = true;
  Baseline b(caps);
  SteFields ste = b.nested;
  ste.strw = 0b10;
  b.rig.streams.write_ste(kSid, ste);
  EXPECT_TRUE(translated_to(b.rig.access(kSid, kVa), kPa));
}

TEST(TranslationConfig, FieldsOfADisabledStageAreIgnored) {
  Baseline b;
  SteFields s1 = b.s1;  // stage 2 bypassed: S2* fields (but S2VMID) are IGNORED
  s1.s2tg = 3;
  s1.s2sl0 = 3;
  s1.s2t0sz = 63;
  b.rig.streams.write_ste(kSid, s1);
  EXPECT_TRUE(translated_to(b.rig.access(kSid, kVa), kPa));
  SteFields s2 = b.s2;  // stage 1 bypassed: S1* fields are IGNORED
  s2.s1cdmax = 31;
  s2.s1fmt = 3;
  b.rig.streams.write_ste(kSid + 1, s2);
  EXPECT_TRUE(translated_to(b.rig.access(kSid + 1, kIpa), kPa));
}

// ---------------------------------------------------------------------------
// C_BAD_CD

struct CdCase {
  const char* name;
  std::function<void(Capabilities&)> caps;
  std::function<void(CdFields&)> cd;
  const char* rule;  // the architecture rule the case checks, when not obvious from its name
};

std::vector<CdCase> bad_cd_cases() {
  return {
      {"V0", no_caps, [](CdFields& f) { f.v = false; }, nullptr},
      {"T0szBelow16", no_caps, [](CdFields& f) { f.t0sz = 15; }, nullptr},
      {"T0szAbove39", no_caps, [](CdFields& f) { f.t0sz = 40; }, nullptr},
      {"Tg0Reserved", no_caps, [](CdFields& f) { f.tg0 = 3; }, nullptr},
      {"Tg0NotAdvertised", [](Capabilities& c) { c.granule_64k = false; },
       [](CdFields& f) { f.tg0 = tables::tg0_encoding(16); }, nullptr},
      {"Tg1ReservedWhenTtb1Enabled", no_caps, [](CdFields& f) { f.epd1 = false; f.tg1 = 0; f.ttb1 = 0x4000'0000; },
       nullptr},
      {"T1szOutOfRangeWhenTtb1Enabled", no_caps,
       [](CdFields& f) { f.epd1 = false; f.tg1 = 2; f.t1sz = 12; f.ttb1 = 0x4000'0000; }, nullptr},
      {"Ttb0BeyondIps", no_caps, [](CdFields& f) { f.ips = 0; f.ttb0 = 0x1'0000'0000; }, nullptr},
      {"Ttb0BeyondOasCappedIps", [](Capabilities& c) { c.oas_bits = 40; }, [](CdFields& f) { f.ttb0 = 1ull << 41; },
       nullptr},
      {"Aa64ZeroWithoutAArch32Tables", no_caps, [](CdFields& f) { f.aa64 = false; }, nullptr},
      {"EndiNotSupported", no_caps, [](CdFields& f) { f.endi = true; }, nullptr},
      {"StallWithoutStallModel", no_caps, [](CdFields& f) { f.s = true; }, nullptr},
      {"NoStallWhenStallForced", [](Capabilities& c) { c.stall_model = smmu::StallModel::StallForced; },
       [](CdFields&) {},
       "IHI 0070 §5.5: a CD is ILLEGAL if "
       "'SMMU_(S_)IDR0.STALL_MODEL == 0b10 and CD.S == 0'"},
      {"AbortZeroWithTerminateOnlyModel", no_caps, [](CdFields& f) { f.a = false; },
       "context_descriptor.cpp does not check CD.A; IHI 0070 §5.5: for an SMMU with SMMU_IDR0.TERM_MODEL == 1 "
       "'configuring CD.A == 0 renders the CD ILLEGAL'"},
      {"AsidHighBitsWithoutAsid16", [](Capabilities& c) { c.asid16 = false; }, [](CdFields& f) { f.asid = 0x100; },
       "IHI 0070 CD.ASID: 'when an implementation supports only 8-bit "
       "ASIDs (SMMU_IDR0.ASID16 == 0), it is ILLEGAL for ASID[15:8] to be non-zero'"},
      {"HaWithoutHttu", no_caps, [](CdFields& f) { f.ha = true; },
       "IHI 0070 CD.HA: 'It is ILLEGAL to set HA if SMMU_IDR0.HTTU == "
       "0b00'"},
      {"HdWithoutDirtyHttu", [](Capabilities& c) { c.httu = smmu::HttuSupport::AccessFlag; },
       [](CdFields& f) { f.ha = true; f.hd = true; },
       "IHI 0070 CD.HD: 'It is ILLEGAL to set HD if SMMU_IDR0.HTTU == "
       "0b00 or 0b01'"},
  };
}

void PrintTo(const CdCase& c, std::ostream* os) { *os << c.name; }

class TranslationBadCd : public ::testing::TestWithParam<CdCase> {};

TEST_P(TranslationBadCd, IsReportedAsCBadCd) {
  const CdCase& c = GetParam();
  Capabilities caps = test_caps();
  c.caps(caps);
  Baseline b(caps);
  CdFields cd = b.cd;
  c.cd(cd);
  b.cds.write_cd(0, cd);
  b.rig.streams.write_ste(kSid, b.s1);
  const TranslationResult r = b.rig.access(kSid, kVa);
  expect_config_record(r, EventId::C_BAD_CD, kSid);
  EXPECT_FALSE(b.rig.engine.cd_cached(kSid, 0));
}

INSTANTIATE_TEST_SUITE_P(Causes, TranslationBadCd, ::testing::ValuesIn(bad_cd_cases()),
                         [](const ::testing::TestParamInfo<CdCase>& p) { return std::string(p.param.name); });

TEST(TranslationConfig, Epd0MakesTtb0FieldsIgnored) {
  Baseline b;
  PageTableBuilder& high = b.rig.tables(TableGeometry::stage1(12, 48));
  high.map(0x8000'0000'0000, kPa, k4K);
  CdFields cd;
  tables::attach_ttb1(cd, high);
  cd.epd0 = true;
  cd.t0sz = 0;
  cd.tg0 = 3;
  cd.ttb0 = 1ull << 50;
  b.cds.write_cd(0, cd);
  b.rig.streams.write_ste(kSid, b.s1);
  EXPECT_TRUE(translated_to(b.rig.access(kSid, 0xffff'8000'0000'0040), kPa + 0x40));
  EXPECT_TRUE(faulted(b.rig.access(kSid, kVa), EventId::F_TRANSLATION));
}

// ---------------------------------------------------------------------------
// Stream table: C_BAD_STREAMID and F_STE_FETCH

TEST(TranslationConfig, StreamIdBeyondLog2SizeIsCBadStreamId) {
  Rig rig;  // linear, LOG2SIZE 8
  rig.streams.write_ste(255, SteFields{});
  EXPECT_EQ(rig.access(255, 0x1234).outcome, TranslationOutcome::Bypassed);
  TranslationRequest req;
  req.stream_id = 256;
  req.ssv = true;
  req.substream_id = 7;
  req.address = 0x1234;
  const TranslationResult r = rig.engine.translate(req);
  expect_config_record(r, EventId::C_BAD_STREAMID, 256);
  EXPECT_TRUE(r.event->ssv);
  EXPECT_EQ(r.event->substream_id, 7u);
}

TEST(TranslationConfig, CBadStreamIdIsRecordedOnlyWithRecInvSid) {
  Rig rig;
  rig.control.cr2 = 0;
  rig.apply();
  const TranslationResult r = rig.access(256, 0x1234);
  EXPECT_TRUE(faulted(r, EventId::C_BAD_STREAMID));
  EXPECT_FALSE(r.event);
}

class TranslationTwoLevelStreamTable : public ::testing::TestWithParam<unsigned> {};

TEST_P(TranslationTwoLevelStreamTable, SpanAndSplitSelectTheSte) {
  const unsigned split = GetParam();
  Rig rig(test_caps(), {smmu::StreamTableFormat::TwoLevel, 16, split});
  const std::uint32_t sid = (5u << split) | 3;
  SteFields bypass;
  bypass.privcfg = 0b10;
  rig.streams.write_ste(sid, bypass);
  TranslationResult r = rig.access(sid, 0xabc0);
  EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(r.output_address, 0xabc0u);
  // No level-2 table (L1STD.Span == 0).
  expect_config_record(rig.access((6u << split) | 3, 0), EventId::C_BAD_STREAMID, (6u << split) | 3);
  // A level-2 table of 2 STEs (Span 2): index 1 exists, index 2 does not.
  rig.streams.add_l2_table(7u << split, 2);
  rig.streams.write_ste((7u << split) | 1, bypass);
  EXPECT_EQ(rig.access((7u << split) | 1, 0).outcome, TranslationOutcome::Bypassed);
  expect_config_record(rig.access((7u << split) | 2, 0), EventId::C_BAD_STREAMID, (7u << split) | 2);
  // Span above SPLIT + 1.
  const std::uint64_t table = rig.streams.add_l2_table(8u << split);
  rig.streams.write_ste(8u << split, bypass);
  rig.streams.write_l1_descriptor(8u << split, tables::encode_l1_std(table, split + 2));
  expect_config_record(rig.access(8u << split, 0), EventId::C_BAD_STREAMID, 8u << split);
  // Beyond LOG2SIZE.
  expect_config_record(rig.access(1u << 16, 0), EventId::C_BAD_STREAMID, 1u << 16);
}

INSTANTIATE_TEST_SUITE_P(Split, TranslationTwoLevelStreamTable, ::testing::Values(6u, 8u, 10u));

TEST(TranslationConfig, SteFetchAbortIsFSteFetchWithTheSteAddress) {
  Rig rig;
  const std::uint64_t ste = rig.streams.write_ste(9, SteFields{});
  rig.memory.abort_reads(ste, 64);
  TranslationRequest req;
  req.stream_id = 9;
  req.address = 0x40;
  req.ssv = true;
  req.substream_id = 2;
  const TranslationResult r = rig.engine.translate(req);
  expect_config_record(r, EventId::F_STE_FETCH, 9);
  EXPECT_EQ(as_queued(*r.event).fetch_addr, ste);
  EXPECT_TRUE(r.event->ssv);
  EXPECT_EQ(r.event->substream_id, 2u);
}

TEST(TranslationConfig, L1StdFetchAbortIsFSteFetchWithTheL1Address) {
  Rig rig(test_caps(), {smmu::StreamTableFormat::TwoLevel, 12, 8});
  rig.streams.write_ste(0x301, SteFields{});
  const std::uint64_t l1 = rig.streams.l1_descriptor_address(0x301);
  rig.memory.abort_reads(l1, 8);
  const TranslationResult r = rig.access(0x301, 0);
  expect_config_record(r, EventId::F_STE_FETCH, 0x301);
  EXPECT_EQ(as_queued(*r.event).fetch_addr, l1);
}

// ---------------------------------------------------------------------------
// Bypass, abort, GBPA

TEST(TranslationConfig, BypassSteCarriesAttributeOverrides) {
  Capabilities caps = test_caps();
  caps.attr_perms_override = true;
  Rig rig(caps);
  SteFields ste;
  ste.privcfg = 0b11;
  ste.instcfg = 0b10;
  rig.streams.write_ste(1, ste);
  const TranslationResult r = rig.access(1, 0x1234'5678);
  EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(r.output_address, 0x1234'5678u);
  EXPECT_EQ(r.privcfg, 0b11u);
  EXPECT_EQ(r.instcfg, 0b10u);
  EXPECT_FALSE(r.event);
}

TEST(TranslationConfig, BypassBeyondOasIsAStage1AddressSizeFault) {
  Rig rig;
  rig.streams.write_ste(1, SteFields{});
  const TranslationResult r = rig.access(1, 1ull << 48);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
  EXPECT_EQ(r.event->fault_class, FaultClass::IN);
}

TEST(TranslationConfig, AbortSteTerminatesWithoutAnEvent) {
  Rig rig;
  SteFields ste;
  ste.config = kConfigAbort;
  rig.streams.write_ste(1, ste);
  const TranslationResult r = rig.access(1, 0x1000);
  EXPECT_EQ(r.outcome, TranslationOutcome::Terminated);
  EXPECT_FALSE(r.event);
}

TEST(TranslationConfig, GbpaGovernsTrafficWhileSmmuenIsZero) {
  Rig rig;
  rig.control.smmu_enabled = false;
  rig.control.gbpa = kGbpaAbort;
  rig.apply();
  TranslationResult r = rig.access(77, 0x1234);  // no STE is consulted
  EXPECT_EQ(r.outcome, TranslationOutcome::Terminated);
  EXPECT_FALSE(r.event);
  EXPECT_FALSE(r.fault);
  rig.control.gbpa = 0;
  rig.apply();
  r = rig.access(77, 0x1234);
  EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(r.output_address, 0x1234u);
}

TEST(TranslationConfig, GbpaAttributeOverridesComeFromTheirFields) {
  // IHI 0070 §6.3.14 SMMU_GBPA: PRIVCFG bits [17:16], INSTCFG bits [19:18], SHCFG bits [13:12].
  Capabilities caps = test_caps();
  caps.attr_perms_override = true;
  Rig rig(caps);
  rig.control.smmu_enabled = false;
  rig.control.gbpa = (0b11u << 16) | (0b10u << 18) | (0b01u << 12);  // PRIVCFG priv, INSTCFG data, SHCFG incoming
  rig.apply();
  const TranslationResult r = rig.access(1, 0x1234);
  EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(r.privcfg, 0b11u);
  EXPECT_EQ(r.instcfg, 0b10u);
}

TEST(TranslationConfig, GbpaBypassBeyondOasAborts) {
  Rig rig;
  rig.control.smmu_enabled = false;
  rig.control.gbpa = 0;
  rig.apply();
  const TranslationResult r = rig.access(1, 1ull << 48);
  EXPECT_EQ(r.outcome, TranslationOutcome::Terminated);
  EXPECT_FALSE(r.event);
}

// ---------------------------------------------------------------------------
// Substreams: CD tables, S1DSS, C_BAD_SUBSTREAMID, F_CD_FETCH, F_STREAM_DISABLED

// An S1 stream with a CD table of the given geometry; CD n maps kVa to
// kPa + n * 2 MiB (non-global) with ASID n + 1.
struct Substreams {
  Substreams(const CdTableGeometry& geometry, std::vector<std::uint32_t> ssids, unsigned s1dss = 0,
             const Capabilities& caps = test_caps())
      : rig(caps), tt(rig.tables(TableGeometry::stage1(12, 48))), cds(rig.cd_table(geometry)) {
    for (std::uint32_t ssid : ssids) {
      PageTableBuilder& own = rig.tables(TableGeometry::stage1(12, 48));
      PageAttributes non_global;  // per-ASID: global entries would match every CD's ASID
      non_global.ng = true;
      own.map(kVa, kPa + std::uint64_t{ssid} * k2M, k4K, non_global);
      CdFields cd;
      tables::attach_ttb0(cd, own);
      cd.asid = static_cast<std::uint16_t>(ssid + 1);
      cds.write_cd(ssid, cd);
    }
    ste.config = kConfigS1;
    ste.s1dss = s1dss;
    tables::attach_cd_table(ste, cds);
    rig.streams.write_ste(kSid, ste);
  }
  Rig rig;
  PageTableBuilder& tt;
  CdTableBuilder& cds;
  SteFields ste;
};

TEST(TranslationConfig, SubstreamsSelectTheirCdInEveryTableFormat) {
  struct Layout {
    CdTableGeometry geometry;
    std::vector<std::uint32_t> ssids;
  };
  const Layout layouts[] = {
      {{CdTableFormat::Linear, 3}, {1, 2, 7}},
      {{CdTableFormat::TwoLevel4K, 8}, {1, 0x3f, 0x40, 0x41, 0xff}},
      {{CdTableFormat::TwoLevel64K, 12}, {1, 0x3ff, 0x400, 0xfff}},
      {{CdTableFormat::TwoLevel4K, 20}, {0x12345, 0xfffff}},
  };
  for (const Layout& l : layouts) {
    Substreams s(l.geometry, l.ssids);
    for (std::uint32_t ssid : l.ssids) {
      EXPECT_TRUE(translated_to(s.rig.access_ssid(kSid, ssid, kVa + 0x10), kPa + std::uint64_t{ssid} * k2M + 0x10))
          << "format " << static_cast<int>(l.geometry.format) << " ssid " << ssid;
    }
  }
}

TEST(TranslationConfig, SubstreamIdCauses) {
  // SubstreamID beyond S1CDMAX, and an L1CD with V == 0.
  Substreams s({CdTableFormat::TwoLevel4K, 8}, {1});
  TranslationResult r = s.rig.access_ssid(kSid, 0x100, kVa);
  expect_config_record(r, EventId::C_BAD_SUBSTREAMID, kSid);
  EXPECT_EQ(r.event->substream_id, 0x100u);
  r = s.rig.access_ssid(kSid, 0x80, kVa);  // L1CD #2 was never written: V == 0
  expect_config_record(r, EventId::C_BAD_SUBSTREAMID, kSid);
  EXPECT_EQ(r.event->substream_id, 0x80u);

  // A SubstreamID with stage 1 disabled (bypass and stage-2-only STEs) or with
  // substreams disabled (S1CDMAX == 0).
  Baseline b;
  b.rig.streams.write_ste(1, b.bypass);
  b.rig.streams.write_ste(2, b.s2);
  b.rig.streams.write_ste(3, b.s1);
  for (std::uint32_t sid : {1u, 2u, 3u}) {
    r = b.rig.access_ssid(sid, 4, kVa);
    expect_config_record(r, EventId::C_BAD_SUBSTREAMID, sid);
    EXPECT_EQ(r.event->substream_id, 4u);
  }
}

TEST(TranslationConfig, SubstreamIdWithoutSubstreamSupportIsCBadSubstreamId) {
  Capabilities caps = test_caps();
  caps.ssid_bits = 0;
  Baseline b(caps);
  b.rig.streams.write_ste(1, b.s1);
  expect_config_record(b.rig.access_ssid(1, 0, kVa), EventId::C_BAD_SUBSTREAMID, 1);
}

TEST(TranslationConfig, L1CdPointerBeyondOasIsCBadSubstreamId) {
  Substreams s({CdTableFormat::TwoLevel4K, 8}, {1});
  s.cds.write_l1_descriptor(0x80, tables::encode_l1_cd(1ull << 49, true));
  expect_config_record(s.rig.access_ssid(kSid, 0x80, kVa), EventId::C_BAD_SUBSTREAMID, kSid);
}

TEST(TranslationConfig, CdFetchAbortsAreFCdFetch) {
  Substreams s({CdTableFormat::TwoLevel4K, 8}, {1, 0x41});
  const std::uint64_t cd = s.cds.cd_address(1);
  const std::uint64_t l1 = s.cds.l1_descriptor_address(0x41);
  s.rig.memory.abort_reads(cd, 64);
  s.rig.memory.abort_reads(l1, 8);
  TranslationResult r = s.rig.access_ssid(kSid, 1, kVa);
  expect_config_record(r, EventId::F_CD_FETCH, kSid);
  EXPECT_EQ(as_queued(*r.event).fetch_addr, cd);
  EXPECT_TRUE(r.event->ssv);
  EXPECT_EQ(r.event->substream_id, 1u);
  r = s.rig.access_ssid(kSid, 0x41, kVa);
  expect_config_record(r, EventId::F_CD_FETCH, kSid);
  EXPECT_EQ(as_queued(*r.event).fetch_addr, l1);
}

TEST(TranslationConfig, S1DssTerminateRecordsFStreamDisabled) {
  Substreams s({CdTableFormat::Linear, 2}, {0, 1}, /*s1dss=*/0);
  const TranslationResult r = s.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_STREAM_DISABLED));
  ASSERT_TRUE(r.event);
  EXPECT_EQ(r.event->stream_id, kSid);
  EXPECT_TRUE(translated_to(s.rig.access_ssid(kSid, 1, kVa), kPa + k2M));
}

TEST(TranslationConfig, FStreamDisabledRecordCarriesOnlyTheStreamId) {
  Substreams s({CdTableFormat::Linear, 2}, {0, 1}, /*s1dss=*/0);
  const TranslationResult r = s.rig.access(kSid, kVa + 0x40, true, true);
  ASSERT_TRUE(faulted(r, EventId::F_STREAM_DISABLED));
  ASSERT_TRUE(r.event);
  const std::array<std::uint64_t, 4> w = r.event->encode();
  EXPECT_EQ(w[0], (std::uint64_t{kSid} << 32) | 0x06);
  EXPECT_EQ(w[1], 0u);
  EXPECT_EQ(w[2], 0u);
  EXPECT_EQ(w[3], 0u);
}

TEST(TranslationConfig, S1DssSubstream0UsesCd0WithoutASubstreamId) {
  Substreams s({CdTableFormat::Linear, 2}, {0, 1}, /*s1dss=*/2);
  EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8), kPa + 8));
  EXPECT_TRUE(translated_to(s.rig.access_ssid(kSid, 1, kVa + 8), kPa + k2M + 8));
}

TEST(TranslationConfig, S1DssSubstream0RefusesSubstreamId0WithFStreamDisabled) {
  Substreams s({CdTableFormat::Linear, 2}, {0, 1}, /*s1dss=*/2);
  expect_config_record(s.rig.access_ssid(kSid, 0, kVa), EventId::F_STREAM_DISABLED, kSid);
}

TEST(TranslationConfig, S1DssBypassSkipsStage1) {
  // Stage-1-only STE: full bypass. Nested STE: stage 2 only.
  Substreams s({CdTableFormat::Linear, 2}, {0, 1}, /*s1dss=*/1);
  TranslationResult r = s.rig.access(kSid, 0x7777'0000);
  EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(r.output_address, 0x7777'0000u);
  EXPECT_TRUE(translated_to(s.rig.access_ssid(kSid, 1, kVa), kPa + k2M));

  Baseline b;
  CdTableBuilder& cds = b.rig.cd_table({CdTableFormat::Linear, 2}, &b.window.space, &b.window.allocator);
  SteFields ste = b.nested;
  tables::attach_cd_table(ste, cds);
  ste.s1dss = 1;
  b.rig.streams.write_ste(kSid, ste);
  EXPECT_TRUE(translated_to(b.rig.access(kSid, kIpa + 0x20), kPa + 0x20));  // the address is an IPA
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
