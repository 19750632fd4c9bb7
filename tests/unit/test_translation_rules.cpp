// Architecture rules (Arm IHI 0070) the translation engine follows, one test
// per rule: S2PTW and Device stage-2 pages, CD.A with TERM_MODEL=0, reserved
// HTTU combinations, fields IGNORED by what the SMMU implements (S1CDMAX
// without SubstreamIDs, STRW without HYP, EATS without ATS), the FetchAddr of
// STE/CD fetch aborts, STRTAB_BASE/L1STD alignment and reserved SPLIT/Span
// values, writes being data, the PRIVCFG/INSTCFG overrides, and the OAS/IAS
// checks of untranslated and stage-1-bypassed input addresses.
#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint64_t kVa = 0x1000'0000;
constexpr std::uint64_t kPa = 0x8'0000'0000;
constexpr std::uint64_t kIpa = 0x40'0000'0000;  // 38 bits: inside the 40-bit stage-2 input range
constexpr std::uint32_t kSid = 7;

// A stage-1 stream over 4K tables with a 48-bit VA.
struct S1Stream {
  explicit S1Stream(const CdFields& cd_fields = {}, const SteFields& ste_fields = {},
                    const Capabilities& capabilities = test_caps())
      : rig(capabilities), tt(rig.tables(TableGeometry::stage1(12, 48))) {
    cds = &add_s1_stream(rig, kSid, tt, cd_fields, ste_fields);
  }
  Rig rig;
  PageTableBuilder& tt;
  CdTableBuilder* cds = nullptr;
};

// A stage-2-only stream over 4K tables with a 40-bit IPA.
struct S2Stream {
  explicit S2Stream(const SteFields& ste_fields = {}, const Capabilities& capabilities = test_caps())
      : rig(capabilities), tt(rig.tables(TableGeometry::stage2(12, 40, 1))) {
    add_s2_stream(rig, kSid, tt, ste_fields);
  }
  Rig rig;
  PageTableBuilder& tt;
};

// A nested stream: 4K stage 1 (48-bit VA) over 4K stage 2 (40-bit IPA). The CD
// table and the stage-1 tables live in separate IPA windows whose stage-2
// attributes can differ.
struct NestedStream {
  explicit NestedStream(const PageAttributes& cd_window = {}, const PageAttributes& tt_window = {},
                        const SteFields& ste_fields = {}, const Capabilities& capabilities = test_caps())
      : rig(capabilities),
        s2(rig.tables(TableGeometry::stage2(12, 40, 1))),
        cd_ipa(rig.ipa_window(s2, 0x1'0000'0000, k2M, cd_window)),
        tt_ipa(rig.ipa_window(s2, 0x2'0000'0000, k2M, tt_window)),
        s1(rig.tables(TableGeometry::stage1(12, 48), &tt_ipa.space, &tt_ipa.allocator)) {
    cds = &add_nested_stream(rig, kSid, s1, s2, cd_ipa, CdFields{}, ste_fields);
    s1.map(kVa, kIpa, k4K);
    s2.map(kIpa, kPa, k4K);
  }
  Rig rig;
  PageTableBuilder& s2;
  IpaWindow& cd_ipa;
  IpaWindow& tt_ipa;
  PageTableBuilder& s1;
  CdTableBuilder* cds = nullptr;
};

// A configuration error: recorded, with no address information.
::testing::AssertionResult config_error(const TranslationResult& r, EventId id) {
  ::testing::AssertionResult ok = faulted(r, id);
  if (!ok) return ok;
  if (!r.event) return ::testing::AssertionFailure() << smmu::to_string(id) << " was not recorded";
  if (r.event->id != id) return ::testing::AssertionFailure() << "recorded " << smmu::to_string(r.event->id);
  return ::testing::AssertionSuccess();
}

void invalidate_all_stes(Rig& rig) { rig.engine.invalidate_ste_range(0, 1ull << 32); }

// ---------------------------------------------------------------------------
// 1. STE.S2PTW: with S2PTW=1, a stage-1 table walk (or CD fetch) that stage 2
// maps to Device memory (MemAttr[3:2] == 0b00) is a stage-2 Permission fault,
// CLASS=TT (CLASS=CD for the CD fetch) with the IPA of the access; with
// S2PTW=0 the Device attribute does not matter (IHI 0070 §5.2 STE.S2PTW).

TEST(TranslationRules, S2ptwMakesDeviceStage2PagesFaultForWalksAndCdFetches) {
  for (unsigned memattr : {0b0000u, 0b0001u}) {
    SCOPED_TRACE("MemAttr=" + std::to_string(memattr));
    PageAttributes device;
    device.memattr = memattr;
    SteFields ptw;
    ptw.s2ptw = true;
    {
      // Stage-1 tables in a Device window: the start-level descriptor read faults.
      NestedStream n({}, device, ptw);
      const std::uint64_t desc_ipa = *n.s1.descriptor_address(kVa, n.s1.geometry().start_level);
      const TranslationResult r = n.rig.access(kSid, kVa + 0x10);
      ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
      ASSERT_TRUE(r.event);
      const EventRecord e = as_queued(*r.event);
      EXPECT_TRUE(e.s2);
      EXPECT_EQ(e.fault_class, FaultClass::TT);
      EXPECT_EQ(e.ipa, desc_ipa & ~0xfffull) << "descriptor IPA " << hex(desc_ipa);
      EXPECT_EQ(e.input_addr, kVa + 0x10);
    }
    {
      // The CD table in a Device window: the CD fetch faults.
      NestedStream n(device, {}, ptw);
      const std::uint64_t cd_ipa = n.cds->cd_address(0);
      const TranslationResult r = n.rig.access(kSid, kVa + 0x10);
      ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
      ASSERT_TRUE(r.event);
      const EventRecord e = as_queued(*r.event);
      EXPECT_TRUE(e.s2);
      EXPECT_EQ(e.fault_class, FaultClass::CD);
      EXPECT_EQ(e.ipa, cd_ipa & ~0xfffull);
    }
    {
      // S2PTW=0: the same set-up translates.
      NestedStream n(device, device);
      EXPECT_TRUE(translated_to(n.rig.access(kSid, kVa + 0x10), kPa + 0x10));
    }
  }
  // MemAttr[3:2] != 0b00 (Normal Non-cacheable) is not Device: S2PTW=1 translates.
  PageAttributes normal_nc;
  normal_nc.memattr = 0b0101;
  SteFields ptw;
  ptw.s2ptw = true;
  NestedStream n(normal_nc, normal_nc, ptw);
  EXPECT_TRUE(translated_to(n.rig.access(kSid, kVa + 0x10), kPa + 0x10));
}

// ---------------------------------------------------------------------------
// 2. CD.A=0 (only legal with IDR0.TERM_MODEL=0): a terminated transaction
// completes RAZ/WI, but A applies only to F_TRANSLATION, F_ADDR_SIZE,
// F_ACCESS and F_PERMISSION; everything else, F_WALK_EABT included, aborts
// (IHI 0070 §5.4 CD.A, §5.5).

TEST(TranslationRules, CdAZeroIsRazWiOnlyForTranslationFaults) {
  Capabilities caps = test_caps();
  caps.term_model = false;
  CdFields cd;
  cd.a = false;
  S1Stream s(cd, {}, caps);
  PageAttributes read_only;
  read_only.ap = 0b11;
  s.tt.map(kVa, kPa, k4K, read_only);
  PageAttributes old;
  old.af = false;
  s.tt.map(kVa + k4K, kPa + k4K, k4K, old);

  // F_WALK_EABT: the level-2 table fetch aborts.
  const std::uint64_t l2 = *s.tt.descriptor_address(kVa, 2);
  s.rig.memory.abort_reads(l2, 8);
  TranslationResult r = s.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  EXPECT_EQ(r.outcome, TranslationOutcome::Terminated);
  s.rig.memory.clear_aborts();

  // F_TRANSLATION: an unmapped page.
  r = s.rig.access(kSid, kVa + 2 * k4K);
  EXPECT_EQ(r.outcome, TranslationOutcome::RazWi);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(*r.fault, EventId::F_TRANSLATION);
  // F_PERMISSION: a write to a read-only page.
  r = s.rig.access(kSid, kVa, /*read=*/false);
  EXPECT_EQ(r.outcome, TranslationOutcome::RazWi);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(*r.fault, EventId::F_PERMISSION);
  // F_ACCESS: AF=0 without HTTU.
  r = s.rig.access(kSid, kVa + k4K);
  EXPECT_EQ(r.outcome, TranslationOutcome::RazWi);
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(*r.fault, EventId::F_ACCESS);

  // Control: CD.A=1 aborts the F_TRANSLATION.
  S1Stream aborting({}, {}, caps);
  EXPECT_TRUE(faulted(aborting.rig.access(kSid, kVa), EventId::F_TRANSLATION));
}

// ---------------------------------------------------------------------------
// 3. {HA, HD} = {0, 1} in a CD, and {S2HA, S2HD} = {0, 1} in an STE, are
// reserved and behave as {0, 0}: no dirty-state update, so a write to a
// DBM=1 read-only page is a Permission fault and the descriptor is unchanged
// (IHI 0070 §5.4 CD.HD, §5.2 STE.S2HD, §3.13).

// HTTU marks a page dirty only for a write its other permissions allow: an
// unprivileged write to an EL1-only clean page faults and leaves the descriptor
// clean, while a privileged write to the same page dirties it.
TEST(TranslationRules, DirtyStateIsOnlySetByAPermittedWrite) {
  Capabilities caps = test_caps();
  caps.httu = smmu::HttuSupport::AccessAndDirty;
  PageAttributes clean;
  clean.dbm = true;
  clean.ap = 0b10;  // read-only (clean), EL1 only
  CdFields httu;
  httu.ha = true;
  httu.hd = true;
  S1Stream s(httu, {}, caps);
  s.tt.map(kVa, kPa, k4K, clean);
  const std::uint64_t before = s.tt.read_descriptor(kVa, 3);
  TranslationResult r = s.rig.access(kSid, kVa + 0x20, /*read=*/false, /*privileged=*/false);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  EXPECT_EQ(s.tt.read_descriptor(kVa, 3), before) << "a refused write must not mark the page dirty";
  r = s.rig.access(kSid, kVa + 0x20, /*read=*/false, /*privileged=*/true);
  EXPECT_TRUE(translated_to(r, kPa + 0x20));
  EXPECT_EQ(s.tt.read_descriptor(kVa, 3) & (1ull << 7), 0u) << "the permitted write cleared AP[2]";
}

TEST(TranslationRules, HdWithoutHaBehavesAsNoHttu) {
  Capabilities caps = test_caps();
  caps.httu = smmu::HttuSupport::AccessAndDirty;
  {
    // Stage 1: DBM=1, AP[2]=1.
    PageAttributes clean;
    clean.dbm = true;
    clean.ap = 0b11;
    CdFields hd_only;
    hd_only.ha = false;
    hd_only.hd = true;
    S1Stream s(hd_only, {}, caps);
    s.tt.map(kVa, kPa, k4K, clean);
    const std::uint64_t before = s.tt.read_descriptor(kVa, 3);
    const TranslationResult r = s.rig.access(kSid, kVa + 0x20, /*read=*/false);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->s2);
    EXPECT_EQ(s.tt.read_descriptor(kVa, 3), before);

    // Control: HA=1, HD=1 marks the page dirty (AP[2] cleared) and the write goes through.
    CdFields httu;
    httu.ha = true;
    httu.hd = true;
    S1Stream dirty(httu, {}, caps);
    dirty.tt.map(kVa, kPa, k4K, clean);
    EXPECT_TRUE(translated_to(dirty.rig.access(kSid, kVa + 0x20, /*read=*/false), kPa + 0x20));
    EXPECT_EQ(dirty.tt.read_descriptor(kVa, 3) & (1ull << 7), 0u);
  }
  {
    // Stage 2: DBM=1, S2AP[1]=0.
    PageAttributes clean;
    clean.dbm = true;
    clean.s2ap = 0b01;
    SteFields hd_only;
    hd_only.s2ha = false;
    hd_only.s2hd = true;
    S2Stream s(hd_only, caps);
    s.tt.map(0x5000'0000, kPa, k4K, clean);
    const std::uint64_t before = s.tt.read_descriptor(0x5000'0000, 3);
    const TranslationResult r = s.rig.access(kSid, 0x5000'0020, /*read=*/false);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    EXPECT_TRUE(r.event->s2);
    EXPECT_EQ(s.tt.read_descriptor(0x5000'0000, 3), before);
    // The stage-2 control ({S2HA, S2HD} = {1, 1} does update the descriptor) is
    // S2HaHdMarksDirtyOnWrite below.
  }
}

// The control of the stage-2 half of rule 3: with {S2HA, S2HD} = {1, 1} a write
// to a DBM=1, S2AP[1]=0 page sets S2AP[1] and completes (IHI 0070 §3.13.3).
// Disabled: the engine never sets StageWalk::write for stage-2 walks
// (TranslationEngine::translate_stage2), so stage-2 dirty-state updates never
// happen and this write is an F_PERMISSION.
TEST(TranslationRules, S2HaHdMarksDirtyOnWrite) {
  Capabilities caps = test_caps();
  caps.httu = smmu::HttuSupport::AccessAndDirty;
  PageAttributes clean;
  clean.dbm = true;
  clean.s2ap = 0b01;
  SteFields httu;
  httu.s2ha = true;
  httu.s2hd = true;
  S2Stream dirty(httu, caps);
  dirty.tt.map(0x5000'0000, kPa, k4K, clean);
  EXPECT_TRUE(translated_to(dirty.rig.access(kSid, 0x5000'0020, /*read=*/false), kPa + 0x20));
  EXPECT_NE(dirty.tt.read_descriptor(0x5000'0000, 3) & (1ull << 7), 0u);
}

// ---------------------------------------------------------------------------
// 4. With IDR1.SSIDSIZE=0, STE.S1CDMAX (and so S1FMT) is IGNORED: the stream
// has a single CD at S1ContextPtr (IHI 0070 §5.2 STE.S1CDMax).

TEST(TranslationRules, S1CdMaxIsIgnoredWithoutSubstreamSupport) {
  Capabilities caps = test_caps();
  caps.ssid_bits = 0;
  for (unsigned s1fmt : {0u, 1u}) {
    SCOPED_TRACE("S1FMT=" + std::to_string(s1fmt));
    Rig rig(caps);
    PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
    tt.map(kVa, kPa, k4K);
    CdTableBuilder& cds = rig.cd_table();
    CdFields cd;
    tables::attach_ttb0(cd, tt);
    cds.write_cd(0, cd);
    SteFields ste;
    ste.config = kConfigS1;
    tables::attach_cd_table(ste, cds);
    ste.s1cdmax = 5;
    ste.s1fmt = s1fmt;
    rig.streams.write_ste(kSid, ste);
    EXPECT_TRUE(translated_to(rig.access(kSid, kVa + 0x18), kPa + 0x18));
  }
}

// ---------------------------------------------------------------------------
// 5. STE.STRW: IGNORED when the SMMU has no EL2 support (IDR0.HYP=0), so the
// stream is NS-EL1 whatever its value; with HYP=1, 0b01 is ILLEGAL for a
// Non-secure stream (IHI 0070 §5.2 STE.STRW, IgnoreSTESTRW).

TEST(TranslationRules, StrwIsIgnoredWithoutHypAndCheckedWithIt) {
  // An EL1-only page (AP=0b00): an unprivileged access faults in the NS-EL1
  // regime, and is allowed in the single-privilege EL2 regime.
  PageAttributes el1_only;
  el1_only.ap = 0b00;
  for (unsigned strw : {0b01u, 0b10u}) {
    SCOPED_TRACE("STRW=" + std::to_string(strw));
    SteFields ste;
    ste.strw = strw;
    S1Stream s({}, ste);  // test_caps(): HYP=0
    s.tt.map(kVa, kPa, k4K, el1_only);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8, true, /*privileged=*/true), kPa + 8));
    EXPECT_TRUE(faulted(s.rig.access(kSid, kVa + 8, true, /*privileged=*/false), EventId::F_PERMISSION));
  }
  Capabilities hyp = test_caps();
  hyp.hyp = true;
  {
    SteFields ste;
    ste.strw = 0b01;
    S1Stream s({}, ste, hyp);
    s.tt.map(kVa, kPa, k4K, el1_only);
    EXPECT_TRUE(config_error(s.rig.access(kSid, kVa), EventId::C_BAD_STE));
  }
  {
    // Control: with HYP=1, STRW=0b10 is the EL2 regime, where AP[1] is ignored.
    SteFields ste;
    ste.strw = 0b10;
    S1Stream s({}, ste, hyp);
    s.tt.map(kVa, kPa, k4K, el1_only);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8, true, /*privileged=*/false), kPa + 8));
  }
}

// ---------------------------------------------------------------------------
// 6. F_STE_FETCH / F_CD_FETCH: FetchAddr is the address of the STE or CD
// being fetched, whichever of its words the abort hit (IHI 0070 §7.3.4,
// §7.3.10).

TEST(TranslationRules, FetchAddrIsTheStructureAddressWhenALaterWordAborts) {
  {
    Rig rig;
    const std::uint64_t ste = rig.streams.write_ste(kSid, SteFields{});
    rig.memory.abort_reads(ste + 0x20, 8);
    const TranslationResult r = rig.access(kSid, 0x1000);
    ASSERT_TRUE(config_error(r, EventId::F_STE_FETCH));
    EXPECT_EQ(as_queued(*r.event).fetch_addr, ste);
  }
  {
    S1Stream s;
    s.tt.map(kVa, kPa, k4K);
    const std::uint64_t cd = s.cds->cd_address(0);
    s.rig.memory.abort_reads(cd + 0x20, 8);
    const TranslationResult r = s.rig.access(kSid, kVa);
    ASSERT_TRUE(config_error(r, EventId::F_CD_FETCH));
    EXPECT_EQ(as_queued(*r.event).fetch_addr, cd);
  }
}

// ---------------------------------------------------------------------------
// 7. STE.EATS when IDR0.ATS=1: 0b11 is ILLEGAL, 0b10 (split-stage ATS) is
// ILLEGAL unless Config is nested; with ATS not implemented EATS is IGNORED
// (IHI 0070 §5.2 STE.EATS).

TEST(TranslationRules, EatsIsCheckedOnlyWhenAtsIsAdvertised) {
  Capabilities ats = test_caps();
  ats.ats = true;
  for (const Capabilities& caps : {ats, test_caps()}) {
    SCOPED_TRACE(caps.ats ? "ATS advertised" : "ATS not advertised");
    {
      SteFields ste;
      ste.eats = 0b11;
      S1Stream s({}, ste, caps);
      s.tt.map(kVa, kPa, k4K);
      const TranslationResult r = s.rig.access(kSid, kVa);
      if (caps.ats) {
        EXPECT_TRUE(config_error(r, EventId::C_BAD_STE));
      } else {
        EXPECT_TRUE(translated_to(r, kPa));
      }
    }
    {
      SteFields ste;
      ste.eats = 0b11;
      NestedStream n({}, {}, ste, caps);
      const TranslationResult r = n.rig.access(kSid, kVa);
      if (caps.ats) {
        EXPECT_TRUE(config_error(r, EventId::C_BAD_STE));
      } else {
        EXPECT_TRUE(translated_to(r, kPa));
      }
    }
    {
      SteFields ste;
      ste.eats = 0b10;
      S1Stream s({}, ste, caps);
      s.tt.map(kVa, kPa, k4K);
      const TranslationResult r = s.rig.access(kSid, kVa);
      if (caps.ats) {
        EXPECT_TRUE(config_error(r, EventId::C_BAD_STE));
      } else {
        EXPECT_TRUE(translated_to(r, kPa));
      }
    }
    {
      SteFields ste;
      ste.eats = 0b10;
      NestedStream n({}, {}, ste, caps);
      EXPECT_TRUE(translated_to(n.rig.access(kSid, kVa + 0x40), kPa + 0x40));
    }
  }
}

// ---------------------------------------------------------------------------
// 8. Stream table addressing: STRTAB_BASE.ADDR bits below the table's size
// are treated as zero (§6.3.24); a reserved STRTAB_BASE_CFG.SPLIT behaves as
// 6 (§6.3.25); L1STD.L2Ptr bits below the level-2 table's size are treated
// as zero, and L1STD.Span 12..31 is reserved and behaves as 0 (invalid) (§5.1).

TEST(TranslationRules, StreamTableBaseSplitAndL1StdAlignment) {
  SteFields bypass;
  {
    // Linear, LOG2SIZE=8: a 16 KiB table, ADDR[13:0] treated as zero. STE 1+65
    // is left invalid, so reading from the unaligned base would be C_BAD_STE.
    Rig rig;
    ASSERT_EQ(rig.streams.base() & 0x3fff, 0u);
    rig.streams.write_ste(1, bypass);
    rig.control.strtab_base = rig.streams.strtab_base() | 0x1040;
    rig.apply();
    EXPECT_EQ(rig.access(1, 0x1234).outcome, TranslationOutcome::Bypassed);
  }
  {
    // 2-level built with SPLIT=6, programmed with the reserved SPLIT=7.
    Rig rig(test_caps(), {smmu::StreamTableFormat::TwoLevel, 12, 6});
    const std::uint32_t sids[] = {(1u << 6) | 3, (2u << 6) | 5};
    for (std::uint32_t sid : sids) rig.streams.write_ste(sid, bypass);
    rig.control.strtab_base_cfg = (rig.control.strtab_base_cfg & ~(0x1fu << 6)) | (7u << 6);
    rig.apply();
    for (std::uint32_t sid : sids) {
      const TranslationResult r = rig.access(sid, 0x1234);
      EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed)
          << "sid " << hex(sid) << ": " << (r.fault ? smmu::to_string(*r.fault) : "no fault");
    }
  }
  {
    // L1STD.L2Ptr with bits below the level-2 table's size set: the table is
    // read from the aligned address (index 1, the STE the unaligned pointer
    // would select, is invalid).
    Rig rig(test_caps(), {smmu::StreamTableFormat::TwoLevel, 12, 6});
    for (unsigned span : {7u, 2u}) {
      SCOPED_TRACE("Span=" + std::to_string(span));
      const std::uint32_t sid = (span == 7 ? 3u : 4u) << 6;
      const std::uint64_t table = rig.streams.add_l2_table(sid, span);
      rig.streams.write_ste(sid, bypass);
      rig.streams.write_l1_descriptor(sid, tables::encode_l1_std(table + 0x40, span));
      const TranslationResult r = rig.access(sid, 0x1234);
      EXPECT_EQ(r.outcome, TranslationOutcome::Bypassed)
          << (r.fault ? smmu::to_string(*r.fault) : "no fault");
    }
  }
  {
    // L1STD.Span 12..31 behaves as invalid: C_BAD_STREAMID (CR2.RECINVSID=1).
    Rig rig(test_caps(), {smmu::StreamTableFormat::TwoLevel, 16, 10});
    const std::uint32_t sid = 2u << 10;
    const std::uint64_t table = rig.streams.add_l2_table(sid);
    rig.streams.write_ste(sid, bypass);
    for (unsigned span = 12; span <= 31; ++span) {
      SCOPED_TRACE("Span=" + std::to_string(span));
      rig.streams.write_l1_descriptor(sid, tables::encode_l1_std(table, span));
      invalidate_all_stes(rig);
      EXPECT_TRUE(config_error(rig.access(sid, 0x1234), EventId::C_BAD_STREAMID));
    }
    // Control: Span = SPLIT + 1 reaches the STE.
    rig.streams.write_l1_descriptor(sid, tables::encode_l1_std(table, 11));
    invalidate_all_stes(rig);
    EXPECT_EQ(rig.access(sid, 0x1234).outcome, TranslationOutcome::Bypassed);
  }
}

// ---------------------------------------------------------------------------
// 9. Writes are data accesses whatever the incoming InD says: no
// execute-never check applies, and a fault record has InD=0 (IHI 0070
// §7.3.13 InD, §13.1.2).

TEST(TranslationRules, InstructionWritesAreTreatedAsData) {
  S1Stream s;
  PageAttributes writable_xn;
  writable_xn.ap = 0b01;  // RW at EL0 and EL1
  writable_xn.uxn = true;
  writable_xn.pxn = true;
  s.tt.map(kVa, kPa, k4K, writable_xn);
  PageAttributes read_only;
  read_only.ap = 0b11;
  s.tt.map(kVa + k4K, kPa + k4K, k4K, read_only);

  EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 0x10, /*read=*/false, /*privileged=*/false,
                                         /*instruction=*/true),
                            kPa + 0x10));
  EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 0x18, /*read=*/false, /*privileged=*/true,
                                         /*instruction=*/true),
                            kPa + 0x18));
  // Control: an instruction read of the same page is refused by UXN/PXN.
  EXPECT_TRUE(faulted(s.rig.access(kSid, kVa + 0x10, true, false, /*instruction=*/true), EventId::F_PERMISSION));

  const TranslationResult r =
      s.rig.access(kSid, kVa + k4K + 0x20, /*read=*/false, /*privileged=*/false, /*instruction=*/true);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->ind);
  EXPECT_FALSE(r.event->rnw);
}

// ---------------------------------------------------------------------------
// 10. STE.PRIVCFG / INSTCFG replace the incoming PnU / InD when
// IDR1.ATTR_PERMS_OVR=1 (the translation and the records then use the
// overridden values); with ATTR_PERMS_OVR=0 the fields are IGNORED and the
// incoming attributes are used (IHI 0070 §5.2 STE.PRIVCFG, STE.INSTCFG).

TEST(TranslationRules, PrivcfgOverridesOnlyWithAttrPermsOvr) {
  Capabilities ovr = test_caps();
  ovr.attr_perms_override = true;
  PageAttributes el1_only;
  el1_only.ap = 0b00;
  {
    SteFields ste;
    ste.privcfg = 0b11;  // privileged
    S1Stream s({}, ste, ovr);
    s.tt.map(kVa, kPa, k4K, el1_only);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8, true, /*privileged=*/false), kPa + 8));
    const TranslationResult r = s.rig.access(kSid, kVa + k4K, true, /*privileged=*/false);  // unmapped
    ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
    ASSERT_TRUE(r.event);
    EXPECT_TRUE(r.event->pnu);
  }
  {
    SteFields ste;
    ste.privcfg = 0b10;  // unprivileged
    S1Stream s({}, ste, ovr);
    s.tt.map(kVa, kPa, k4K, el1_only);
    const TranslationResult r = s.rig.access(kSid, kVa + 8, true, /*privileged=*/true);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->pnu);
  }
  {
    // ATTR_PERMS_OVR=0: the incoming PnU is used.
    SteFields priv;
    priv.privcfg = 0b11;
    S1Stream s({}, priv);
    s.tt.map(kVa, kPa, k4K, el1_only);
    const TranslationResult r = s.rig.access(kSid, kVa + 8, true, /*privileged=*/false);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->pnu);

    SteFields unpriv;
    unpriv.privcfg = 0b10;
    S1Stream u({}, unpriv);
    u.tt.map(kVa, kPa, k4K, el1_only);
    EXPECT_TRUE(translated_to(u.rig.access(kSid, kVa + 8, true, /*privileged=*/true), kPa + 8));
  }
}

TEST(TranslationRules, InstcfgOverridesOnlyWithAttrPermsOvr) {
  Capabilities ovr = test_caps();
  ovr.attr_perms_override = true;
  PageAttributes xn;
  xn.ap = 0b11;  // read-only: executable at EL1 unless PXN
  xn.uxn = true;
  {
    SteFields ste;
    ste.instcfg = 0b11;  // instruction
    S1Stream s({}, ste, ovr);
    s.tt.map(kVa, kPa, k4K, xn);
    const TranslationResult r = s.rig.access(kSid, kVa + 8, true, false, /*instruction=*/false);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    EXPECT_TRUE(r.event->ind);
  }
  {
    SteFields ste;
    ste.instcfg = 0b10;  // data
    S1Stream s({}, ste, ovr);
    s.tt.map(kVa, kPa, k4K, xn);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8, true, false, /*instruction=*/true), kPa + 8));
  }
  {
    // ATTR_PERMS_OVR=0: the incoming InD is used.
    SteFields inst;
    inst.instcfg = 0b11;
    S1Stream s({}, inst);
    s.tt.map(kVa, kPa, k4K, xn);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + 8, true, false, /*instruction=*/false), kPa + 8));

    SteFields data;
    data.instcfg = 0b10;
    S1Stream d({}, data);
    d.tt.map(kVa, kPa, k4K, xn);
    EXPECT_TRUE(faulted(d.rig.access(kSid, kVa + 8, true, false, /*instruction=*/true), EventId::F_PERMISSION));
  }
}

// ---------------------------------------------------------------------------
// 11. Input addresses that no translation bounds: an STE bypass of an address
// at or above 2^OAS is a stage-1 Address Size fault; with SMMUEN=0 such an
// address is terminated without an event; with stage 1 bypassed in a
// stage-2-only STE, an input beyond the IAS (= OAS) is a stage-1 Address Size
// fault, and one within the IAS but beyond S2T0SZ a stage-2 Translation fault
// (IHI 0070 §3.4).

TEST(TranslationRules, UntranslatedInputBeyondOasAndIas) {
  const std::uint64_t beyond_oas = std::uint64_t{1} << 48;  // test_caps(): OAS = 48
  {
    Rig rig;
    rig.streams.write_ste(kSid, SteFields{});  // Config=0b100
    EXPECT_EQ(rig.access(kSid, beyond_oas - 0x1000).outcome, TranslationOutcome::Bypassed);
    const TranslationResult r = rig.access(kSid, beyond_oas + 0x40);
    ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->s2);
    EXPECT_EQ(r.event->input_addr, beyond_oas + 0x40);
  }
  {
    Rig rig;
    rig.control.smmu_enabled = false;
    rig.control.gbpa = 0;  // bypass
    rig.apply();
    EXPECT_EQ(rig.access(kSid, beyond_oas - 0x1000).outcome, TranslationOutcome::Bypassed);
    const TranslationResult r = rig.access(kSid, beyond_oas + 0x40);
    EXPECT_EQ(r.outcome, TranslationOutcome::Terminated);
    EXPECT_FALSE(r.event);
  }
  {
    S2Stream s;  // S2T0SZ = 24: a 40-bit IPA
    const TranslationResult r = s.rig.access(kSid, beyond_oas);
    ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->s2);
    EXPECT_EQ(r.event->fault_class, FaultClass::IN);
    for (const std::uint64_t ipa : {std::uint64_t{1} << 40, std::uint64_t{1} << 44, beyond_oas - 0x1000}) {
      SCOPED_TRACE("IPA " + hex(ipa));
      const TranslationResult t = s.rig.access(kSid, ipa);
      ASSERT_TRUE(faulted(t, EventId::F_TRANSLATION));
      ASSERT_TRUE(t.event);
      EXPECT_TRUE(t.event->s2);
      EXPECT_EQ(t.event->fault_class, FaultClass::IN);
      EXPECT_EQ(as_queued(*t.event).ipa, ipa);
    }
  }
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
