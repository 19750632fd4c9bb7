// Address translation operations (IHI 0070 chapter 9): GATOS_PAR's encoding,
// the translations and errors of TranslationEngine::translate_atos (stage 1,
// stage 2, nested, stage 1 of a nested stream, INV_REQ/INV_STAGE, faults with
// their REASON and FADDR, HTTUI, no event and no TLB fill), and the GATOS
// registers of the programming interface (presence, RUN, guarded writes).
#include "smmuv3tlm/models/smmu/arch/atos.h"

#include "programming_interface_harness.h"
#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

using smmu::AtosFaultReason;
using smmu::AtosRequest;
using smmu::AtosResult;
using smmu::AtosStages;
namespace gatos = smmu::reg::gatos;

constexpr std::uint64_t kVa = 0x10'0000;
constexpr std::uint64_t kPa = 0x8'0000'0000;

Capabilities atos_caps() {
  Capabilities caps = test_caps();
  caps.atos = true;
  return caps;
}

AtosRequest atos(std::uint64_t address, AtosStages stages, bool read = true) {
  AtosRequest r;
  r.stream_id = 1;
  r.address = address;
  r.stages = stages;
  r.read = read;
  return r;
}

::testing::AssertionResult atos_fault(const AtosResult& r, unsigned code,
                                      AtosFaultReason reason = AtosFaultReason::Stage1OrConfiguration,
                                      std::uint64_t faddr = 0) {
  if (!r.fault) return ::testing::AssertionFailure() << "translated to " << hex(r.output_address);
  if (r.fault_code != code || r.reason != reason || r.fault_address != faddr) {
    return ::testing::AssertionFailure() << "FAULTCODE " << hex(r.fault_code) << " REASON "
                                         << static_cast<int>(r.reason) << " FADDR " << hex(r.fault_address);
  }
  return ::testing::AssertionSuccess();
}

TEST(AtosPar, EncodesAddressSizeAttributesAndFaults) {
  AtosResult page;
  page.output_address = 0x8'1234'5000;
  page.attributes = smmu::MemoryAttributes{0xff, smmu::Shareability::InnerShareable};
  EXPECT_EQ(page.par(), 0xff00'0008'1234'5300ull);
  AtosResult block = page;
  block.output_address = 0x8'1220'0000 + 0x1234;  // inside a 2M block
  block.size_log2 = 21;
  // ADDR with bit 20 (N) set: 2^(N+1) = 2M; Size = 1.
  EXPECT_EQ(block.par(), 0xff00'0008'1230'0b00ull);
  AtosResult fault = AtosResult::error(0x10);
  fault.reason = AtosFaultReason::Stage2OnInput;
  fault.fault_address = 0x4000'1000;
  EXPECT_EQ(fault.par(), 0x4000'1107ull);
  EXPECT_EQ(AtosResult::error(gatos::kInvStage).par(), 0xfe1ull);
}

TEST(AtosRequestDecode, FieldsFromTheRegistersWithRes0BitsMasked) {
  const std::uint64_t sid = (1ull << 52) | (0x1'2345ull << 32) | 0xffff'0042u;
  const std::uint64_t addr = 0xabcd'e000ull | (0b11u << 10) | gatos::PNU | gatos::RNW | gatos::IND | gatos::HTTUI;
  const AtosRequest r = AtosRequest::from_registers(sid, addr, 16, 8);
  EXPECT_EQ(r.stream_id, 0x42u);
  EXPECT_TRUE(r.ssv);
  EXPECT_EQ(r.substream_id, 0x45u);
  EXPECT_EQ(r.address, 0xabcd'e000ull);
  EXPECT_EQ(r.stages, AtosStages::Both);
  EXPECT_TRUE(r.privileged && r.read && r.instruction && r.inhibit_httu);
  // Without SubstreamIDs SSID_VALID is RES0; InD is ignored for writes.
  const AtosRequest w = AtosRequest::from_registers(sid, addr & ~gatos::RNW, 16, 0);
  EXPECT_FALSE(w.ssv);
  EXPECT_FALSE(w.instruction);
}

struct Stage1Stream {
  explicit Stage1Stream(Rig& rig, CdFields cd = {}) : tt(rig.tables(TableGeometry::stage1(12, 48))) {
    cd.mair = 0xff;  // AttrIndx 0: Normal WB
    add_s1_stream(rig, 1, tt, cd);
  }
  PageTableBuilder& tt;
};

TEST(Atos, Stage1TranslatesWithoutFillingTheTlbOrRecordingEvents) {
  Rig rig(atos_caps());
  Stage1Stream s(rig);
  PageAttributes page;
  page.sh = 0b11;
  s.tt.map(kVa, kPa, k4K, page);
  s.tt.map(0x4000'0000, 0x9'0000'0000, 1ull << 21, page, MapOptions{2, false});
  const AtosResult r = rig.engine.translate_atos(atos(kVa, AtosStages::Stage1));
  ASSERT_FALSE(r.fault);
  EXPECT_EQ(r.output_address, kPa);
  EXPECT_EQ(r.size_log2, 12u);
  EXPECT_EQ(r.attributes, (smmu::MemoryAttributes{0xff, smmu::Shareability::InnerShareable}));
  const AtosResult block = rig.engine.translate_atos(atos(0x4000'0000 + 0x3000, AtosStages::Stage1));
  ASSERT_FALSE(block.fault);
  EXPECT_EQ(block.output_address, 0x9'0000'3000ull);
  EXPECT_EQ(block.size_log2, 21u);
  EXPECT_EQ(rig.engine.tlb().valid_entries(), 0u);
  // A fault is reported even with CD.R = 0, and no record is produced for the queue.
  const AtosResult unmapped = rig.engine.translate_atos(atos(0x20'0000, AtosStages::Stage1));
  EXPECT_TRUE(atos_fault(unmapped, 0x10));
}

TEST(Atos, FaultsAreReportedWhateverCdRecordSays) {
  Rig rig(atos_caps());
  CdFields cd;
  cd.r = false;
  Stage1Stream s(rig, cd);
  PageAttributes read_only;
  read_only.ap = 0b11;
  s.tt.map(kVa, kPa, k4K, read_only);
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(0x30'0000, AtosStages::Stage1)), 0x10));
  EXPECT_FALSE(rig.engine.translate_atos(atos(kVa, AtosStages::Stage1, /*read=*/true)).fault);
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Stage1, /*read=*/false)), 0x13));
}

TEST(Atos, RequestsTheInterfaceCannotMakeAreInvReq) {
  Capabilities s1_only = atos_caps();
  s1_only.stage2 = false;
  Rig rig(s1_only);
  Stage1Stream s(rig);
  s.tt.map(kVa, kPa, k4K);
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Reserved)), gatos::kInvReq));
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Stage2)), gatos::kInvReq));
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Both)), gatos::kInvReq));
}

TEST(Atos, StagesTheSteDoesNotEnableAreInvStage) {
  Rig rig(atos_caps());
  Stage1Stream s(rig);
  s.tt.map(kVa, kPa, k4K);
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Stage2)), gatos::kInvStage));
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Both)), gatos::kInvStage));
  SteFields bypass;
  bypass.config = 0b100;
  rig.streams.write_ste(2, bypass);
  AtosRequest r = atos(kVa, AtosStages::Stage1);
  r.stream_id = 2;
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(r), gatos::kInvStage));
  // An invalid STE is reported as such, before the stage check (§9.1.5).
  SteFields invalid;
  invalid.v = false;
  rig.streams.write_ste(3, invalid);
  r.stream_id = 3;
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(r), 0x04));
}

struct NestedStream {
  explicit NestedStream(Rig& rig)
      : s2(rig.tables(TableGeometry::stage2(12, 40, 1))),
        window(rig.ipa_window(s2, 0x4000'0000, 0x10'0000)),
        s1(rig.tables(TableGeometry::stage1(12, 48), &window.space, &window.allocator)) {
    CdFields cd;
    cd.mair = 0xff;
    add_nested_stream(rig, 1, s1, s2, window, cd);
  }
  PageTableBuilder& s2;
  IpaWindow& window;
  PageTableBuilder& s1;
};

TEST(Atos, NestedStreamsAnswerEachStageOrBoth) {
  Rig rig(atos_caps());
  NestedStream n(rig);
  n.s1.map(kVa, 0x2000'0000, k4K);
  n.s2.map(0x2000'0000, kPa, k4K);
  const AtosResult both = rig.engine.translate_atos(atos(kVa, AtosStages::Both));
  ASSERT_FALSE(both.fault);
  EXPECT_EQ(both.output_address, kPa);
  const AtosResult stage1 = rig.engine.translate_atos(atos(kVa, AtosStages::Stage1));
  ASSERT_FALSE(stage1.fault);
  EXPECT_EQ(stage1.output_address, 0x2000'0000u) << "stage 1 of a nested stream gives the IPA";
  const AtosResult stage2 = rig.engine.translate_atos(atos(0x2000'0000, AtosStages::Stage2));
  ASSERT_FALSE(stage2.fault);
  EXPECT_EQ(stage2.output_address, kPa);
  EXPECT_EQ(rig.engine.tlb().valid_entries(), 0u);
  // A stage-2 request with a SubstreamID is INV_REQ.
  AtosRequest with_ssid = atos(0x2000'0000, AtosStages::Stage2);
  with_ssid.ssv = true;
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(with_ssid), gatos::kInvReq));
}

TEST(Atos, Stage2FaultsGiveTheirReasonAndIpa) {
  Rig rig(atos_caps());
  NestedStream n(rig);
  // Stage 1 maps to an IPA stage 2 leaves unmapped: REASON 0b11, FADDR the IPA.
  n.s1.map(kVa, 0x2000'0000, k4K);
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(kVa, AtosStages::Both)), 0x10, AtosFaultReason::Stage2OnInput,
                         0x2000'0000));
  // The stage-2-only request's input is the IPA: FADDR stays zero.
  EXPECT_TRUE(atos_fault(rig.engine.translate_atos(atos(0x2000'0000, AtosStages::Stage2)), 0x10,
                         AtosFaultReason::Stage2OnInput, 0));
  // A stage-1 request stops at the IPA: no stage-2 fault on the output.
  EXPECT_FALSE(rig.engine.translate_atos(atos(kVa, AtosStages::Stage1)).fault);
}

TEST(Atos, Stage2FaultOnAStage1TableWalk) {
  Rig rig(atos_caps());
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  IpaWindow& window = rig.ipa_window(s2, 0x4000'0000, 0x10'0000);
  PageTableBuilder& s1 = rig.tables(TableGeometry::stage1(12, 48), &window.space, &window.allocator);
  add_nested_stream(rig, 1, s1, s2, window);
  s1.map(kVa, 0x2000'0000, k4K);
  // Remove stage 2's mapping of the window: the CD read then faults at stage 2.
  s2.unmap(0x4000'0000, 0x10'0000);
  const AtosResult r = rig.engine.translate_atos(atos(kVa, AtosStages::Both));
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.fault_code, 0x10u);
  EXPECT_EQ(r.reason, AtosFaultReason::Stage2OnCdFetch);
  EXPECT_GE(r.fault_address, 0x4000'0000u);
  EXPECT_LT(r.fault_address, 0x4010'0000u);
  // A stage-1 request sees the failed CD fetch itself (§9.1.4).
  const AtosResult stage1 = rig.engine.translate_atos(atos(kVa, AtosStages::Stage1));
  EXPECT_TRUE(atos_fault(stage1, 0x09));
}

TEST(Atos, HttuiTakesTheAccessFlagAsSetWithoutWritingIt) {
  Capabilities caps = atos_caps();
  caps.httu = smmu::HttuSupport::AccessAndDirty;
  Rig rig(caps);
  CdFields cd;
  cd.ha = true;
  Stage1Stream s(rig, cd);
  PageAttributes no_af;
  no_af.af = false;
  s.tt.map(kVa, kPa, k4K, no_af);
  AtosRequest r = atos(kVa, AtosStages::Stage1);
  r.inhibit_httu = true;
  EXPECT_FALSE(rig.engine.translate_atos(r).fault);
  EXPECT_EQ((s.tt.read_descriptor(kVa, 3) >> 10) & 1, 0u) << "HTTUI: nothing written";
  r.inhibit_httu = false;
  EXPECT_FALSE(rig.engine.translate_atos(r).fault);
  EXPECT_EQ((s.tt.read_descriptor(kVa, 3) >> 10) & 1, 1u) << "HTTU as for a transaction";
}

// --- The GATOS registers -------------------------------------------------------

using smmu::test::ProgrammingInterfaceHarness;

TEST(AtosRegisters, AbsentWithoutIdr0Atos) {
  ProgrammingInterfaceHarness h;
  EXPECT_EQ((h.read32(smmu::reg::IDR0) >> 15) & 1, 0u);
  h.write64(smmu::reg::GATOS_SID, 0x42);
  EXPECT_EQ(h.read64(smmu::reg::GATOS_SID), 0u);
}

TEST(AtosRegisters, RunStartsTheRequestAndCompletionClearsIt) {
  Capabilities caps = atos_caps();
  ProgrammingInterfaceHarness h(caps);
  EXPECT_EQ((h.read32(smmu::reg::IDR0) >> 15) & 1, 1u);
  unsigned requested = 0;
  h.pi->set_atos_requested_callback([&] { ++requested; });
  h.write64(smmu::reg::GATOS_SID, 0x7);
  h.write64(smmu::reg::GATOS_ADDR, kVa | (0b01u << 10) | gatos::RNW);
  // RUN while SMMUEN == 0 is not processed.
  h.write32(smmu::reg::GATOS_CTRL, gatos::RUN);
  EXPECT_EQ(h.read32(smmu::reg::GATOS_CTRL), 0u);
  EXPECT_EQ(requested, 0u);
  EXPECT_FALSE(h.diagnostics.empty());
  h.enable(smmu::reg::cr0::SMMUEN);
  h.write32(smmu::reg::GATOS_CTRL, gatos::RUN);
  EXPECT_EQ(h.read32(smmu::reg::GATOS_CTRL), gatos::RUN);
  EXPECT_EQ(requested, 1u);
  const auto pending = h.pi->pending_atos();
  ASSERT_TRUE(pending.running);
  EXPECT_EQ(pending.request.stream_id, 7u);
  EXPECT_EQ(pending.request.address, kVa);
  EXPECT_EQ(pending.request.stages, AtosStages::Stage1);
  // SID and ADDR are guarded by RUN.
  const std::size_t diagnostics = h.diagnostics.size();
  h.write64(smmu::reg::GATOS_ADDR, 0);
  EXPECT_EQ(h.read64(smmu::reg::GATOS_ADDR) & gatos::ADDR.mask(), kVa);
  EXPECT_EQ(h.diagnostics.size(), diagnostics + 1);
  AtosResult result;
  result.output_address = kPa;
  h.pi->complete_atos(pending.sequence + 1, result);  // not this request's
  EXPECT_EQ(h.read32(smmu::reg::GATOS_CTRL), gatos::RUN);
  h.pi->complete_atos(pending.sequence, result);
  EXPECT_EQ(h.read32(smmu::reg::GATOS_CTRL), 0u);
  EXPECT_EQ(h.read64(smmu::reg::GATOS_PAR), result.par());
  EXPECT_EQ(h.pi->statistics().atos_requests, 1u);
  // A reset drops a request in flight; its late result is ignored.
  h.write32(smmu::reg::GATOS_CTRL, gatos::RUN);
  const auto second = h.pi->pending_atos();
  h.pi->reset();
  h.pi->complete_atos(second.sequence, AtosResult::error(0x10));
  EXPECT_EQ(h.read64(smmu::reg::GATOS_PAR), 0u);
  EXPECT_EQ(h.read32(smmu::reg::GATOS_CTRL), 0u);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
