// Translation-related faults and their event records (IHI 0070 §7.3.12-16):
// F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION, F_WALK_EABT, stage-2
// faults with S2=1 and CLASS CD/TT/IN, CD.R / STE.S2R suppression, TTB0/TTB1
// selection and TBI, and the EL2 StreamWorld.
#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

constexpr std::uint64_t kVa = 0x1000'0000;
constexpr std::uint64_t kPa = 0x8'0000'0000;
constexpr std::uint32_t kSid = 3;

// A stage-1 stream over 4K tables with a 48-bit VA.
struct S1 {
  explicit S1(CdFields cd_fields = {}, const Capabilities& caps = test_caps(), unsigned granule = 12,
              unsigned ia = 48)
      : rig(caps), tt(rig.tables(TableGeometry::stage1(granule, ia))), cd(cd_fields) {
    cds = &add_s1_stream(rig, kSid, tt, cd);
  }
  void rewrite_cd() {
    tables::attach_ttb0(cd, tt);
    cds->write_cd(0, cd);
  }
  Rig rig;
  PageTableBuilder& tt;
  CdFields cd;
  CdTableBuilder* cds = nullptr;
};

// A stage-2-only stream over 4K tables with a 40-bit IPA.
struct S2 {
  explicit S2(SteFields ste = {}, const Capabilities& caps = test_caps())
      : rig(caps), tt(rig.tables(TableGeometry::stage2(12, 40, 1))) {
    add_s2_stream(rig, kSid, tt, ste);
  }
  Rig rig;
  PageTableBuilder& tt;
};

// A nested stream: 4K stage 1 (48-bit VA) over 4K stage 2 (40-bit IPA). The CD
// and the stage-1 tables live in separate IPA windows (1 GiB apart, so their
// stage-2 descriptors are distinct) whose stage-2 attributes can differ.
struct Nested {
  explicit Nested(const PageAttributes& cd_window = {}, const PageAttributes& tt_window = {}, SteFields ste = {},
                  CdFields cd = {}, const Capabilities& caps = test_caps())
      : rig(caps),
        s2(rig.tables(TableGeometry::stage2(12, 40, 1))),
        cd_ipa(rig.ipa_window(s2, 0x1'0000'0000, k2M, cd_window)),
        tt_ipa(rig.ipa_window(s2, 0x2'0000'0000, k2M, tt_window)),
        s1(rig.tables(TableGeometry::stage1(12, 48), &tt_ipa.space, &tt_ipa.allocator)) {
    cds = &add_nested_stream(rig, kSid, s1, s2, cd_ipa, cd, ste);
  }
  // Maps kVa -> ipa at stage 1 and ipa -> pa at stage 2.
  void map(std::uint64_t ipa = 0x40'0000'0000, std::uint64_t pa = kPa) {
    s1.map(kVa, ipa, k4K);
    s2.map(ipa, pa, k4K);
  }
  Rig rig;
  PageTableBuilder& s2;
  IpaWindow& cd_ipa;
  IpaWindow& tt_ipa;
  PageTableBuilder& s1;
  CdTableBuilder* cds = nullptr;
};

// ---------------------------------------------------------------------------
// F_TRANSLATION

TEST(TranslationFaults, Stage1TranslationFaultRecordsTheAccess) {
  S1 s;
  s.tt.map(kVa, kPa, k4K);
  const TranslationResult r = s.rig.access(kSid, kVa + 0x2010, /*read=*/false, /*privileged=*/true);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_EQ(r.walk_accesses, 4u);  // levels 0..3: the level-3 descriptor is invalid
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_EQ(e.id, EventId::F_TRANSLATION);
  EXPECT_EQ(e.stream_id, kSid);
  EXPECT_FALSE(e.ssv);
  EXPECT_EQ(e.input_addr, kVa + 0x2010);
  EXPECT_FALSE(e.rnw);
  EXPECT_TRUE(e.pnu);
  EXPECT_FALSE(e.ind);
  EXPECT_FALSE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);  // stage 1: CLASS=IN, IPA UNKNOWN
  EXPECT_FALSE(e.stall);
}

TEST(TranslationFaults, InstructionReadRecordsInD) {
  S1 s;
  const TranslationResult r = s.rig.access(kSid, kVa, /*read=*/true, /*privileged=*/false, /*instruction=*/true);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_TRUE(r.event->ind);
  EXPECT_TRUE(r.event->rnw);
  EXPECT_FALSE(r.event->pnu);
}

TEST(TranslationFaults, WriteRecordsInDZero) {
  S1 s;
  const TranslationResult r = s.rig.access(kSid, kVa, /*read=*/false, /*privileged=*/false, /*instruction=*/true);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->rnw);
  EXPECT_FALSE(r.event->ind);
}

TEST(TranslationFaults, AddressOutsideTxSzRangeFaultsWithoutAWalk) {
  CdFields cd;
  S1 s(cd, test_caps(), 12, 39);
  s.tt.map(0, kPa, k4K);
  TranslationResult r = s.rig.access(kSid, 1ull << 39);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_EQ(r.walk_accesses, 0u);
  // Bit 55 selects TTB1, which EPD1 disables.
  r = s.rig.access(kSid, 0xffff'ff80'0000'0000);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_EQ(r.walk_accesses, 0u);
  // Not sign-extended from bit 38 (and no TBI): outside both ranges.
  r = s.rig.access(kSid, 0x0100'0000'0000'0000);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_TRUE(translated_to(s.rig.access(kSid, 0x10), kPa + 0x10));
}

TEST(TranslationFaults, Epd0DisablesTheLowRange) {
  CdFields cd;
  S1 s(cd);
  s.tt.map(kVa, kPa, k4K);
  s.cd.epd0 = true;
  s.cds->write_cd(0, s.cd);
  s.rig.engine.execute([] {
    Command c = command(CommandOpcode::CFGI_CD);
    c.stream_id = kSid;
    return c;
  }());
  const TranslationResult r = s.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_EQ(r.walk_accesses, 0u);
}

// ---------------------------------------------------------------------------
// TTB0 / TTB1 selection and TBI

TEST(TranslationFaults, Bit55SelectsTtb1WithItsOwnGranuleAndSize) {
  Rig rig;
  PageTableBuilder& low = rig.tables(TableGeometry::stage1(12, 48));
  PageTableBuilder& high = rig.tables(TableGeometry::stage1(14, 39));  // T1SZ=25, 16K (TG1=0b01)
  CdFields cd;
  tables::attach_ttb1(cd, high);
  EXPECT_EQ(cd.tg1, 0b01u);
  add_s1_stream(rig, kSid, low, cd);
  low.map(kVa, kPa, k4K);
  const std::uint64_t high_va = 0xffff'ff80'0000'0000 | 0x12'3456'4000;  // 39-bit range, sign-extended
  high.map(high_va & ((1ull << 39) - 1), 0x9'0000'0000, k16K);
  EXPECT_TRUE(translated_to(rig.access(kSid, kVa + 8), kPa + 8));
  EXPECT_TRUE(translated_to(rig.access(kSid, high_va + 0x3ff8), 0x9'0000'3ff8));
  // Just below the TTB1 range (bit 39 clear while bit 55 is set): fault.
  EXPECT_TRUE(faulted(rig.access(kSid, 0xffff'ff7f'ffff'f000), EventId::F_TRANSLATION));
}

TEST(TranslationFaults, TbiIgnoresTheTopByteOnlyWhenEnabled) {
  CdFields cd;
  cd.tbi0 = true;
  S1 s(cd);
  s.tt.map(kVa, kPa, k4K);
  TranslationResult r = s.rig.access(kSid, 0x5a00'0000'0000'0000 | (kVa + 0x20));
  EXPECT_TRUE(translated_to(r, kPa + 0x20));
  r = s.rig.access(kSid, 0x3300'0000'0000'0000 | (kVa + 0x28));
  EXPECT_TRUE(translated_to(r, kPa + 0x28));
  EXPECT_TRUE(r.tlb_hit);  // the tag is not part of the translation
  // InputAddr keeps the top byte as supplied (IHI 0070 §7.3).
  r = s.rig.access(kSid, 0x5a00'0000'0000'0000 | (kVa + k4K));
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_EQ(r.event->input_addr, 0x5a00'0000'0000'0000 | (kVa + k4K));

  // TBI0 = 0: the same tagged address is outside the TTB0 range.
  S1 plain;
  plain.tt.map(kVa, kPa, k4K);
  EXPECT_TRUE(faulted(plain.rig.access(kSid, 0x5a00'0000'0000'0000 | kVa), EventId::F_TRANSLATION));
}

TEST(TranslationFaults, Tbi1AppliesToTheHighRange) {
  Rig rig;
  PageTableBuilder& low = rig.tables(TableGeometry::stage1(12, 48));
  PageTableBuilder& high = rig.tables(TableGeometry::stage1(12, 48));
  CdFields cd;
  tables::attach_ttb1(cd, high);
  cd.tbi1 = true;
  add_s1_stream(rig, kSid, low, cd);
  high.map(0xffff'8000'0000'0000 & ((1ull << 48) - 1), 0xa'0000'0000, k4K);
  EXPECT_TRUE(translated_to(rig.access(kSid, 0xffff'8000'0000'0010), 0xa'0000'0010));
  EXPECT_TRUE(translated_to(rig.access(kSid, 0x00ff'8000'0000'0018), 0xa'0000'0018));  // tag 0x00, bit 55 set
}

// ---------------------------------------------------------------------------
// F_ADDR_SIZE

TEST(TranslationFaults, Stage1OutputBeyondIpsIsAnAddressSizeFault) {
  CdFields cd;
  cd.ips = tables::ps_encoding(32);
  S1 s(cd);
  s.tt.map(kVa, 0x1'0000'0000, k4K);
  s.tt.map(kVa + k4K, 0xffff'f000, k4K);
  const TranslationResult r = s.rig.access(kSid, kVa + 4);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  EXPECT_EQ(r.walk_accesses, 4u);
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
  EXPECT_EQ(r.event->fault_class, FaultClass::IN);
  EXPECT_EQ(r.event->input_addr, kVa + 4);
  EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa + k4K + 4), 0xffff'f004));
}

TEST(TranslationFaults, Stage1NextTableBeyondIpsIsAnAddressSizeFault) {
  CdFields cd;
  cd.ips = tables::ps_encoding(36);
  S1 s(cd);
  s.tt.write_descriptor(kVa, 2, PageTableBuilder::encode_table(0x10'0000'0000));  // 2^36
  const TranslationResult r = s.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  EXPECT_EQ(r.walk_accesses, 3u);  // faults on the level-2 descriptor
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
}

TEST(TranslationFaults, IpsIsCappedToTheOas) {
  Capabilities caps = test_caps();
  caps.oas_bits = 40;
  CdFields cd;
  cd.ips = tables::ps_encoding(48);
  S1 s(cd, caps);
  s.tt.map(kVa, 1ull << 40, k4K);
  EXPECT_TRUE(faulted(s.rig.access(kSid, kVa), EventId::F_ADDR_SIZE));
}

TEST(TranslationFaults, Stage2OutputBeyondS2PsIsAStage2AddressSizeFault) {
  SteFields ste;
  ste.s2ps = tables::ps_encoding(32);
  S2 s(ste);
  s.tt.map(0x2000'0000, 0x1'0000'0000, k4K);
  s.tt.write_descriptor(0x3000'0000, 2, PageTableBuilder::encode_table(0x1'0000'0000));
  TranslationResult r = s.rig.access(kSid, 0x2000'0010);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  ASSERT_TRUE(r.event);
  EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.ipa, 0x2000'0000u);
  r = s.rig.access(kSid, 0x3000'0000);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  // Start level 1: the level-1 table descriptor comes from the walk cache filled
  // by the first access, so only the faulting level-2 read remains.
  EXPECT_EQ(r.walk_accesses, 1u);
}

// ---------------------------------------------------------------------------
// F_ACCESS

TEST(TranslationFaults, AccessFlagFaultUnlessAffd) {
  PageAttributes old;
  old.af = false;
  {
    S1 s;
    s.tt.map(kVa, kPa, k4K, old);
    const TranslationResult r = s.rig.access(kSid, kVa);
    ASSERT_TRUE(faulted(r, EventId::F_ACCESS));
    ASSERT_TRUE(r.event);
    EXPECT_FALSE(r.event->s2);
    EXPECT_EQ(r.event->input_addr, kVa);
  }
  {
    CdFields cd;
    cd.affd = true;
    S1 s(cd);
    s.tt.map(kVa, kPa, k4K, old);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, kVa), kPa));
  }
  {
    S2 s;
    s.tt.map(0x5000'0000, kPa, k4K, old);
    const TranslationResult r = s.rig.access(kSid, 0x5000'0123);
    ASSERT_TRUE(faulted(r, EventId::F_ACCESS));
    ASSERT_TRUE(r.event);
    const EventRecord e = as_queued(*r.event);
    EXPECT_TRUE(e.s2);
    EXPECT_EQ(e.fault_class, FaultClass::IN);
    EXPECT_EQ(e.ipa, 0x5000'0000u);
  }
  {
    SteFields ste;
    ste.s2affd = true;
    S2 s(ste);
    s.tt.map(0x5000'0000, kPa, k4K, old);
    EXPECT_TRUE(translated_to(s.rig.access(kSid, 0x5000'0123), kPa + 0x123));
  }
}

// ---------------------------------------------------------------------------
// F_PERMISSION, stage 1

struct PermCase {
  const char* name;
  PageAttributes leaf;
  TableAttributes table;  // on the level-2 table descriptor (the one pointing at the leaf's table)
  CdFields cd;
  bool read, privileged, instruction;
  bool allowed;
};

std::vector<PermCase> stage1_permission_cases() {
  std::vector<PermCase> cases;
  auto add = [&](const char* name, auto tweak, bool read, bool privileged, bool instruction, bool allowed) {
    PermCase c{name, {}, {}, {}, read, privileged, instruction, allowed};
    tweak(c);
    cases.push_back(c);
  };
  // AP[2:1]: 00 RW EL1, 01 RW EL1+EL0, 10 RO EL1, 11 RO EL1+EL0.
  add("RoEl1WritePrivileged", [](PermCase& c) { c.leaf.ap = 0b10; }, false, true, false, false);
  add("RoEl1ReadPrivileged", [](PermCase& c) { c.leaf.ap = 0b10; }, true, true, false, true);
  add("RoEl1ReadUnprivileged", [](PermCase& c) { c.leaf.ap = 0b10; }, true, false, false, false);
  add("RoAnyReadUnprivileged", [](PermCase& c) { c.leaf.ap = 0b11; }, true, false, false, true);
  add("RoAnyWriteUnprivileged", [](PermCase& c) { c.leaf.ap = 0b11; }, false, false, false, false);
  add("RwEl1ReadUnprivileged", [](PermCase& c) { c.leaf.ap = 0b00; }, true, false, false, false);
  add("RwEl1WritePrivileged", [](PermCase& c) { c.leaf.ap = 0b00; }, false, true, false, true);
  add("RwAnyWriteUnprivileged", [](PermCase& c) { c.leaf.ap = 0b01; }, false, false, false, true);
  // APTable[1]: no writes below; APTable[0]: no EL0 access below.
  add("ApTableNoWrite", [](PermCase& c) { c.table.ap_table = 0b10; }, false, true, false, false);
  add("ApTableNoWriteRead", [](PermCase& c) { c.table.ap_table = 0b10; }, true, false, false, true);
  add("ApTableNoEl0", [](PermCase& c) { c.table.ap_table = 0b01; }, true, false, false, false);
  add("ApTableNoEl0Privileged", [](PermCase& c) { c.table.ap_table = 0b01; }, false, true, false, true);
  // HAD0: table attributes are ignored.
  add("HadIgnoresApTable", [](PermCase& c) { c.table.ap_table = 0b11; c.cd.had0 = true; }, false, false, false, true);
  // Execute never.
  add("UxnUnprivilegedExec", [](PermCase& c) { c.leaf.ap = 0b11; c.leaf.uxn = true; }, true, false, true, false);
  add("UxnPrivilegedExec", [](PermCase& c) { c.leaf.ap = 0b11; c.leaf.uxn = true; }, true, true, true, true);
  add("PxnPrivilegedExec", [](PermCase& c) { c.leaf.ap = 0b11; c.leaf.pxn = true; }, true, true, true, false);
  add("PxnUnprivilegedExec", [](PermCase& c) { c.leaf.ap = 0b11; c.leaf.pxn = true; }, true, false, true, true);
  add("PxnTable", [](PermCase& c) { c.leaf.ap = 0b11; c.table.pxn_table = true; }, true, true, true, false);
  add("UxnTable", [](PermCase& c) { c.leaf.ap = 0b11; c.table.uxn_table = true; }, true, false, true, false);
  add("UxnTableLeavesPrivilegedExec", [](PermCase& c) { c.leaf.ap = 0b11; c.table.uxn_table = true; }, true, true,
      true, true);
  // Writable at EL0 is never executable at EL1 (Arm ARM: PXN is treated as 1).
  add("El0WritableNotPrivilegedExec", [](PermCase& c) { c.leaf.ap = 0b01; }, true, true, true, false);
  add("WxnWritableNotExec", [](PermCase& c) { c.leaf.ap = 0b00; c.cd.wxn = true; }, true, true, true, false);
  add("WxnReadOnlyExec", [](PermCase& c) { c.leaf.ap = 0b10; c.cd.wxn = true; }, true, true, true, true);
  add("PanPrivilegedDataToEl0Page", [](PermCase& c) { c.leaf.ap = 0b01; c.cd.pan = true; }, true, true, false, false);
  return cases;
}

void PrintTo(const PermCase& c, std::ostream* os) { *os << c.name; }

class TranslationStage1Permission : public ::testing::TestWithParam<PermCase> {};

TEST_P(TranslationStage1Permission, Checks) {
  const PermCase& c = GetParam();
  S1 s(c.cd);
  s.tt.map(kVa, kPa, k4K, c.leaf);
  s.tt.set_table_attributes(kVa, 2, c.table);
  const TranslationResult r = s.rig.access(kSid, kVa + 0x44, c.read, c.privileged, c.instruction);
  if (c.allowed) {
    EXPECT_TRUE(translated_to(r, kPa + 0x44));
    return;
  }
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_FALSE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.input_addr, kVa + 0x44);
  EXPECT_EQ(e.rnw, c.read);
  EXPECT_EQ(e.pnu, c.privileged);
  EXPECT_EQ(e.ind, c.instruction);
}

INSTANTIATE_TEST_SUITE_P(Cases, TranslationStage1Permission, ::testing::ValuesIn(stage1_permission_cases()),
                         [](const ::testing::TestParamInfo<PermCase>& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------
// F_PERMISSION, stage 2

TEST(TranslationFaults, Stage2PermissionsS2apAndXn) {
  S2 s;
  PageAttributes ro;
  ro.s2ap = 0b01;
  PageAttributes wo;
  wo.s2ap = 0b10;
  PageAttributes xn;
  xn.s2xn = 0b10;
  s.tt.map(0x1000'0000, kPa, k4K, ro);
  s.tt.map(0x1000'1000, kPa + k4K, k4K, wo);
  s.tt.map(0x1000'2000, kPa + 2 * k4K, k4K, xn);
  EXPECT_TRUE(translated_to(s.rig.access(kSid, 0x1000'0008), kPa + 8));
  TranslationResult r = s.rig.access(kSid, 0x1000'0010, /*read=*/false);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.ipa, 0x1000'0000u);
  EXPECT_EQ(e.input_addr, 0x1000'0010u);
  EXPECT_FALSE(e.rnw);
  EXPECT_TRUE(translated_to(s.rig.access(kSid, 0x1000'1010, false), kPa + k4K + 0x10));
  EXPECT_TRUE(faulted(s.rig.access(kSid, 0x1000'1010, true), EventId::F_PERMISSION));
  EXPECT_TRUE(translated_to(s.rig.access(kSid, 0x1000'2010, true), kPa + 2 * k4K + 0x10));
  r = s.rig.access(kSid, 0x1000'2010, true, true, /*instruction=*/true);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  EXPECT_TRUE(r.event->ind);
}

TEST(TranslationFaults, NestedStage2PermissionOnTheInput) {
  Nested n;
  PageAttributes ro;
  ro.s2ap = 0b01;
  n.s1.map(kVa, 0x40'0000'0000, k4K);
  n.s2.map(0x40'0000'0000, kPa, k4K, ro);
  EXPECT_TRUE(translated_to(n.rig.access(kSid, kVa + 0x80), kPa + 0x80));
  const TranslationResult r = n.rig.access(kSid, kVa + 0x80, false);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.ipa, 0x40'0000'0000u);
  EXPECT_EQ(e.input_addr, kVa + 0x80);
}

TEST(TranslationFaults, NestedStage2PermissionOnAStage1TableReadIsClassTt) {
  PageAttributes none;
  none.s2ap = 0b00;
  Nested n({}, none);
  n.map();
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::TT);
  EXPECT_EQ(e.ipa, n.s1.root() & ~0xfffull);  // the start-level descriptor's IPA
  EXPECT_TRUE(e.ttrnw);
}

// A stage-1 Access-flag update (CD.HA) writes the stage-1 descriptor at its
// IPA: with the tables' window read-only at stage 2 that is a stage-2
// Permission fault on the table, TTRnW = 0 (the known gap); writable,
// the flag is set and the access translates.
TEST(TranslationFaults, NestedStage1HardwareUpdateNeedsStage2WritePermission) {
  Capabilities caps = test_caps();
  caps.httu = smmu::HttuSupport::AccessFlag;
  CdFields cd;
  cd.ha = true;
  PageAttributes read_only;
  read_only.s2ap = 0b01;
  PageAttributes no_access_flag;
  no_access_flag.af = false;
  {
    Nested n({}, read_only, {}, cd, caps);
    n.s1.map(kVa, 0x40'0000'0000, k4K, no_access_flag);
    n.s2.map(0x40'0000'0000, kPa, k4K);
    const TranslationResult r = n.rig.access(kSid, kVa + 0x10);
    ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
    ASSERT_TRUE(r.event);
    const EventRecord e = as_queued(*r.event);
    EXPECT_TRUE(e.s2);
    EXPECT_EQ(e.fault_class, FaultClass::TT);
    EXPECT_FALSE(e.ttrnw);  // a write to the table
    EXPECT_EQ(e.ipa & ~0xfffull, e.ipa);
    EXPECT_GE(e.ipa, 0x2'0000'0000u);  // in the stage-1 tables' window
    EXPECT_LT(e.ipa, 0x2'0000'0000u + k2M);
  }
  {
    Nested n({}, {}, {}, cd, caps);
    n.s1.map(kVa, 0x40'0000'0000, k4K, no_access_flag);
    n.s2.map(0x40'0000'0000, kPa, k4K);
    EXPECT_TRUE(translated_to(n.rig.access(kSid, kVa + 0x10), kPa + 0x10));
  }
}

TEST(TranslationFaults, NestedStage2PermissionOnTheCdReadIsClassCd) {
  PageAttributes none;
  none.s2ap = 0b00;
  Nested n(none);
  n.map();
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_PERMISSION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::CD);
  EXPECT_EQ(e.ipa, n.cds->base() & ~0xfffull);
}

// ---------------------------------------------------------------------------
// Stage-2 faults with CLASS CD / TT / IN

TEST(TranslationFaults, NestedStage2TranslationFaultOnTheCdIsClassCd) {
  Nested n;
  n.map();
  SteFields ste;
  ste.config = kConfigNested;
  tables::attach_cd_table(ste, *n.cds);
  tables::attach_stage2(ste, n.s2);
  ste.s1_context_ptr = 0x5'0000'0040;  // an IPA stage 2 does not map
  n.rig.streams.write_ste(kSid, ste);
  const TranslationResult r = n.rig.access(kSid, kVa + 0x30);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::CD);
  EXPECT_EQ(e.ipa, 0x5'0000'0000u);  // IPA[51:12] of the CD address
  EXPECT_EQ(e.input_addr, kVa + 0x30);
}

TEST(TranslationFaults, NestedStage2TranslationFaultOnAStage1TableIsClassTt) {
  Nested n;
  n.map();
  CdFields cd;
  tables::attach_ttb0(cd, n.s1);
  cd.ttb0 = 0x6'0000'0000;  // a start table at an IPA stage 2 does not map
  n.cds->write_cd(0, cd);
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::TT);
  EXPECT_EQ(e.ipa, 0x6'0000'0000u);  // level-0 index of kVa is 0
}

TEST(TranslationFaults, NestedStage2AccessFaultOnAStage1TableIsClassTt) {
  PageAttributes old;
  old.af = false;
  Nested n({}, old);
  n.map();
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_ACCESS));
  ASSERT_TRUE(r.event);
  EXPECT_TRUE(r.event->s2);
  EXPECT_EQ(r.event->fault_class, FaultClass::TT);
}

TEST(TranslationFaults, NestedStage1OutputBeyondIpsIsStage1AddressSize) {
  CdFields cd;
  cd.ips = tables::ps_encoding(36);
  Nested n({}, {}, {}, cd);
  n.map(0x10'0000'0000);  // 2^36
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
}

TEST(TranslationFaults, Stage2InputBeyondS2T0szIsAStage2TranslationFault) {
  S2 s;  // 40-bit IPA
  const TranslationResult r = s.rig.access(kSid, 1ull << 40);
  ASSERT_TRUE(faulted(r, EventId::F_TRANSLATION));
  ASSERT_TRUE(r.event);
  EXPECT_TRUE(r.event->s2);
  EXPECT_EQ(r.event->fault_class, FaultClass::IN);
  EXPECT_EQ(as_queued(*r.event).ipa, 1ull << 40);
}

TEST(TranslationFaults, Stage2OnlyInputBeyondIasIsAStage1AddressSizeFault) {
  S2 s;
  const TranslationResult r = s.rig.access(kSid, 1ull << 48);
  ASSERT_TRUE(faulted(r, EventId::F_ADDR_SIZE));
  ASSERT_TRUE(r.event);
  EXPECT_FALSE(r.event->s2);
  EXPECT_EQ(r.event->fault_class, FaultClass::IN);
}

// ---------------------------------------------------------------------------
// F_WALK_EABT

TEST(TranslationFaults, Stage1WalkExternalAbortReportsTheDescriptorAddress) {
  CdFields cd;
  cd.r = false;  // CD.R does not suppress F_WALK_EABT
  S1 s(cd);
  s.tt.map(kVa, kPa, k4K);
  const std::uint64_t l2 = *s.tt.descriptor_address(kVa, 2);
  s.rig.memory.abort_reads(l2, 8);
  const TranslationResult r = s.rig.access(kSid, kVa + 0x10, false);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_FALSE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::TT);
  EXPECT_EQ(e.fetch_addr, l2);
  EXPECT_EQ(e.input_addr, kVa + 0x10);
  EXPECT_FALSE(e.rnw);
}

TEST(TranslationFaults, Stage2OnlyWalkExternalAbortIsClassIn) {
  S2 s;
  s.tt.map(0x1234'5000, kPa, k4K);
  const std::uint64_t l3 = *s.tt.descriptor_address(0x1234'5000, 3);
  s.rig.memory.abort_reads(l3, 8);
  const TranslationResult r = s.rig.access(kSid, 0x1234'5678);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::IN);
  EXPECT_EQ(e.fetch_addr, l3);
}

TEST(TranslationFaults, NestedStage1DescriptorAbortIsStage1ClassTt) {
  Nested n;
  n.map();
  const std::uint64_t ipa = *n.s1.descriptor_address(kVa, 3);
  const std::uint64_t pa = *n.s2.translate(ipa);
  n.rig.memory.abort_reads(pa, 8);
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_FALSE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::TT);
  EXPECT_EQ(e.fetch_addr, pa);
}

TEST(TranslationFaults, NestedStage2AbortWhileTranslatingAStage1TableIsClassTt) {
  Nested n;
  n.map();
  // The stage-2 level-2 block descriptor mapping the stage-1 table window.
  const std::uint64_t s2_desc = *n.s2.descriptor_address(0x2'0000'0000, 2);
  n.rig.memory.abort_reads(s2_desc, 8);
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::TT);
  EXPECT_EQ(e.fetch_addr, s2_desc);
}

TEST(TranslationFaults, NestedStage2AbortWhileTranslatingTheCdIsClassCd) {
  Nested n;
  n.map();
  const std::uint64_t s2_desc = *n.s2.descriptor_address(0x1'0000'0000, 2);
  n.rig.memory.abort_reads(s2_desc, 8);
  const TranslationResult r = n.rig.access(kSid, kVa);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  ASSERT_TRUE(r.event);
  const EventRecord e = as_queued(*r.event);
  EXPECT_TRUE(e.s2);
  EXPECT_EQ(e.fault_class, FaultClass::CD);
  EXPECT_EQ(e.fetch_addr, s2_desc);
}

TEST(TranslationFaults, Stage2WalkExternalAbortIsRecordedDespiteS2R0) {
  SteFields ste;
  ste.s2r = false;
  S2 s(ste);
  s.tt.map(0x1234'5000, kPa, k4K);
  s.rig.memory.abort_reads(*s.tt.descriptor_address(0x1234'5000, 3), 8);
  const TranslationResult r = s.rig.access(kSid, 0x1234'5678);
  ASSERT_TRUE(faulted(r, EventId::F_WALK_EABT));
  EXPECT_TRUE(r.event);
}

// ---------------------------------------------------------------------------
// Record suppression: CD.R and STE.S2R

TEST(TranslationFaults, CdRZeroSuppressesStage1TranslationFaultRecords) {
  CdFields cd;
  cd.r = false;
  S1 s(cd);
  PageAttributes ro;
  ro.ap = 0b11;
  PageAttributes old;
  old.af = false;
  s.tt.map(kVa, kPa, k4K, ro);
  s.tt.map(kVa + k4K, kPa, k4K, old);
  TranslationResult r = s.rig.access(kSid, kVa + 2 * k4K);
  EXPECT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_FALSE(r.event);
  r = s.rig.access(kSid, kVa, false);
  EXPECT_TRUE(faulted(r, EventId::F_PERMISSION));
  EXPECT_FALSE(r.event);
  r = s.rig.access(kSid, kVa + k4K);
  EXPECT_TRUE(faulted(r, EventId::F_ACCESS));
  EXPECT_FALSE(r.event);
}

TEST(TranslationFaults, S2RZeroSuppressesStage2TranslationFaultRecords) {
  SteFields ste;
  ste.s2r = false;
  S2 s(ste);
  PageAttributes ro;
  ro.s2ap = 0b01;
  s.tt.map(0x1000'0000, kPa, k4K, ro);
  TranslationResult r = s.rig.access(kSid, 0x2000'0000);
  EXPECT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_FALSE(r.event);
  r = s.rig.access(kSid, 0x1000'0000, false);
  EXPECT_TRUE(faulted(r, EventId::F_PERMISSION));
  EXPECT_FALSE(r.event);
}

TEST(TranslationFaults, NestedSuppressionFollowsTheFaultingStage) {
  SteFields ste;
  ste.s2r = false;
  Nested n({}, {}, ste);
  n.s1.map(kVa, 0x40'0000'0000, k4K);  // stage 2 does not map the output
  TranslationResult r = n.rig.access(kSid, kVa);
  EXPECT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_FALSE(r.event);  // stage-2 fault, S2R=0
  r = n.rig.access(kSid, kVa + k4K);
  EXPECT_TRUE(faulted(r, EventId::F_TRANSLATION));
  EXPECT_TRUE(r.event);  // stage-1 fault, CD.R=1
}

// ---------------------------------------------------------------------------
// EL2 StreamWorld (SMMU_IDR0.HYP)

Capabilities hyp_caps() {
  Capabilities caps = test_caps();
  caps.hyp = true;
  return caps;
}

TEST(TranslationFaults, El2WithoutE2hHasNoTtb1) {
  Rig rig(hyp_caps());
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  PageTableBuilder& high = rig.tables(TableGeometry::stage1(12, 48));
  CdFields cd;
  cd.epd1 = false;
  SteFields ste;
  ste.strw = 0b10;
  tables::attach_ttb1(cd, high);
  add_s1_stream(rig, kSid, tt, cd, ste);
  tt.map(kVa, kPa, k4K);
  high.map(0x8000'0000'0000 & ((1ull << 48) - 1), kPa, k4K);
  EXPECT_TRUE(translated_to(rig.access(kSid, kVa + 0x18), kPa + 0x18));
  EXPECT_TRUE(faulted(rig.access(kSid, 0xffff'8000'0000'0000), EventId::F_TRANSLATION));
  rig.control.cr2 |= kCr2E2h;  // EL2-E2H: two ranges
  rig.apply();
  EXPECT_TRUE(translated_to(rig.access(kSid, 0xffff'8000'0000'0010), kPa + 0x10));
}

TEST(TranslationFaults, El2RegimeUsesBit54AsXn) {
  Rig rig(hyp_caps());
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  SteFields ste;
  ste.strw = 0b10;
  add_s1_stream(rig, kSid, tt, {}, ste);
  PageAttributes xn;
  xn.ap = 0b10;
  xn.uxn = true;  // bit 54: XN
  PageAttributes bit53;
  bit53.ap = 0b10;
  bit53.pxn = true;  // bit 53: RES0 at EL2
  tt.map(kVa, kPa, k4K, xn);
  tt.map(kVa + k4K, kPa + k4K, k4K, bit53);
  EXPECT_TRUE(faulted(rig.access(kSid, kVa, true, true, true), EventId::F_PERMISSION));
  EXPECT_TRUE(translated_to(rig.access(kSid, kVa + k4K, true, true, true), kPa + k4K));
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
