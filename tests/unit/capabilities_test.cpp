#include "smmuv3tlm/models/smmu/arch/capabilities.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::smmu {
namespace {

struct IdrSet {
  std::uint32_t idr0, idr1, idr3, idr5, aidr;
};

// QEMU virt-like SMMUs used by the conformance cases: stage 1 only, and
// stage 1 + stage 2 with XNX.
constexpr IdrSet kQemuVirtS1{0x0d40101a, 0x02730010, 0x1404, 0x74, 0x1};
constexpr IdrSet kQemuVirtNested{0x0d44101b, 0x02730010, 0x1414, 0x74, 0x1};

void expect_round_trip(const IdrSet& ids) {
  std::string error;
  const auto caps =
      Capabilities::from_idrs(ids.idr0, ids.idr1, ids.idr3, ids.idr5, ids.aidr, error);
  ASSERT_TRUE(caps.has_value()) << error;
  EXPECT_EQ(caps->idr0(), ids.idr0);
  EXPECT_EQ(caps->idr1(), ids.idr1);
  EXPECT_EQ(caps->idr3(), ids.idr3);
  EXPECT_EQ(caps->idr5(), ids.idr5);
  EXPECT_EQ(caps->aidr(), ids.aidr);
  EXPECT_EQ(caps->idr2(), 0u);
  EXPECT_EQ(caps->idr4(), 0u);
}

TEST(Capabilities, QemuVirtStage1IdrsRoundTrip) {
  expect_round_trip(kQemuVirtS1);
  std::string error;
  const auto caps = Capabilities::from_idrs(kQemuVirtS1.idr0, kQemuVirtS1.idr1, kQemuVirtS1.idr3,
                                            kQemuVirtS1.idr5, kQemuVirtS1.aidr, error);
  ASSERT_TRUE(caps);
  EXPECT_TRUE(caps->stage1);
  EXPECT_FALSE(caps->stage2);
  EXPECT_FALSE(caps->msi);
  EXPECT_FALSE(caps->sev);
  EXPECT_FALSE(caps->cd2l);
  EXPECT_TRUE(caps->asid16);
  EXPECT_TRUE(caps->coherent_access);
  EXPECT_EQ(caps->tt_endian, TtEndian::LittleOnly);
  EXPECT_EQ(caps->stall_model, StallModel::TerminateOnly);
  EXPECT_TRUE(caps->term_model);
  EXPECT_TRUE(caps->two_level_stream_table);
  EXPECT_EQ(caps->sid_bits, 16u);
  EXPECT_EQ(caps->ssid_bits, 0u);
  EXPECT_EQ(caps->cmdq_log2, 19u);
  EXPECT_EQ(caps->eventq_log2, 19u);
  EXPECT_TRUE(caps->had);
  EXPECT_TRUE(caps->ril);
  EXPECT_EQ(caps->bbml, 2u);
  EXPECT_FALSE(caps->xnx);
  EXPECT_EQ(caps->oas_bits, 44u);
  EXPECT_TRUE(caps->granule_4k && caps->granule_16k && caps->granule_64k);
  EXPECT_EQ(caps->arch_minor, 1u);
}

TEST(Capabilities, QemuVirtNestedIdrsRoundTrip) {
  expect_round_trip(kQemuVirtNested);
  std::string error;
  const auto caps =
      Capabilities::from_idrs(kQemuVirtNested.idr0, kQemuVirtNested.idr1, kQemuVirtNested.idr3,
                              kQemuVirtNested.idr5, kQemuVirtNested.aidr, error);
  ASSERT_TRUE(caps);
  EXPECT_TRUE(caps->stage1);
  EXPECT_TRUE(caps->stage2);
  EXPECT_TRUE(caps->vmid16);
  EXPECT_TRUE(caps->xnx);
}

TEST(Capabilities, IdrBitPositions) {
  Capabilities c;
  c.stage1 = c.stage2 = false;
  c.aarch64_tables = false;
  c.coherent_access = c.asid16 = c.msi = c.sev = c.vmid16 = c.cd2l = c.term_model = false;
  c.two_level_stream_table = false;
  c.tt_endian = TtEndian::Mixed;
  c.stall_model = StallModel::StallAndTerminate;
  EXPECT_EQ(c.idr0(), 0u);
  c.hyp = true;
  EXPECT_EQ(c.idr0(), 1u << 9);
  c.hyp = false;
  c.ats = true;
  EXPECT_EQ(c.idr0(), 1u << 10);
  c.ats = false;
  c.pri = true;
  EXPECT_EQ(c.idr0(), 1u << 16);
  c.pri = false;
  c.httu = HttuSupport::AccessAndDirty;
  EXPECT_EQ(c.idr0(), 2u << 6);
  c.httu = HttuSupport::None;
  c.broadcast_tlb = true;
  EXPECT_EQ(c.idr0(), 1u << 5);
  c.broadcast_tlb = false;
  c.vmid_wildcard = true;
  EXPECT_EQ(c.idr0(), 1u << 17);
  c.vmid_wildcard = false;
  c.stall_model = StallModel::StallForced;
  EXPECT_EQ(c.idr0(), 2u << 24);

  Capabilities d;
  d.sid_bits = 32;
  d.ssid_bits = 20;
  d.cmdq_log2 = 8;
  d.eventq_log2 = 7;
  d.pri = true;
  d.priq_log2 = 6;
  d.attr_perms_override = true;
  d.attr_types_override = true;
  EXPECT_EQ(d.idr1(),
            32u | (20u << 6) | (6u << 11) | (7u << 16) | (8u << 21) | (1u << 26) | (1u << 27));
  d.pri = false;  // PRIQS describes a queue that exists only with PRI
  EXPECT_EQ(reg::idr1::PRIQS.get(d.idr1()), 0u);

  Capabilities e;
  e.had = false;
  e.ril = false;
  e.bbml = 1;
  e.xnx = true;
  EXPECT_EQ(e.idr3(), (1u << 11) | (1u << 4));
  e.oas_bits = 48;
  e.granule_16k = false;
  EXPECT_EQ(e.idr5(), 5u | (1u << 4) | (1u << 6));
}

TEST(Capabilities, OasEncoding) {
  const unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
  for (unsigned e = 0; e < 7; ++e) {
    EXPECT_EQ(Capabilities::oas_encoding(bits[e]), e);
    EXPECT_EQ(Capabilities::oas_from_encoding(e), bits[e]);
  }
  EXPECT_EQ(Capabilities::oas_from_encoding(7), 0u);
  EXPECT_EQ(Capabilities::oas_encoding(46), 4u);  // widest size not above 46
}

TEST(Capabilities, DefaultsAreImplementable) { EXPECT_EQ(Capabilities{}.unsupported_reason(), ""); }

TEST(Capabilities, PresetsAreImplementableAndRoundTrip) {
  for (const char* name : {"mmu-600", "mmu-700", "qemu-virt"}) {
    SCOPED_TRACE(name);
    const auto caps = Capabilities::preset(name);
    ASSERT_TRUE(caps);
    EXPECT_EQ(caps->unsupported_reason(), "");
    std::string error;
    auto back = Capabilities::from_idrs(caps->idr0(), caps->idr1(), caps->idr3(), caps->idr5(),
                                        caps->aidr(), error);
    ASSERT_TRUE(back) << error;
    back->iidr = caps->iidr;  // IIDR is not an input of from_idrs
    EXPECT_EQ(*back, *caps);
  }
  EXPECT_FALSE(Capabilities::preset("mmu-500"));
}

TEST(Capabilities, QemuVirtPresetIsTheStage1Set) {
  const auto caps = Capabilities::preset("qemu-virt");
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->idr0(), kQemuVirtS1.idr0);
  EXPECT_EQ(caps->idr1(), kQemuVirtS1.idr1);
  EXPECT_EQ(caps->idr3(), kQemuVirtS1.idr3);
  EXPECT_EQ(caps->idr5(), kQemuVirtS1.idr5);
  EXPECT_EQ(caps->aidr(), kQemuVirtS1.aidr);
}

TEST(Capabilities, MmuPresetsIdentifyThemselves) {
  const auto mmu600 = Capabilities::preset("mmu-600");
  const auto mmu700 = Capabilities::preset("mmu-700");
  ASSERT_TRUE(mmu600 && mmu700);
  EXPECT_EQ(reg::iidr::Implementer.get(mmu600->iidr), 0x43Bu);
  EXPECT_EQ(reg::iidr::ProductID.get(mmu600->iidr), 0x483u);
  EXPECT_EQ(reg::iidr::ProductID.get(mmu700->iidr), 0x487u);
  EXPECT_FALSE(mmu600->ril);
  EXPECT_TRUE(mmu700->ril);
  EXPECT_TRUE(mmu600->stage1 && mmu600->stage2 && mmu600->hyp && mmu600->msi);
  EXPECT_FALSE(mmu600->ats) << "ATS is not modelled, so no preset advertises it";
}

struct RejectedIdrs {
  const char* what;
  IdrSet ids;
  const char* error_mentions;
};

class CapabilitiesRejects : public ::testing::TestWithParam<RejectedIdrs> {};

TEST_P(CapabilitiesRejects, NamesTheField) {
  const RejectedIdrs& p = GetParam();
  std::string error;
  const auto caps =
      Capabilities::from_idrs(p.ids.idr0, p.ids.idr1, p.ids.idr3, p.ids.idr5, p.ids.aidr, error);
  EXPECT_FALSE(caps);
  EXPECT_NE(error.find(p.error_mentions), std::string::npos) << error;
}

constexpr std::uint32_t kS1 = kQemuVirtS1.idr0;

INSTANTIATE_TEST_SUITE_P(
    Idrs, CapabilitiesRejects,
    ::testing::Values(
        RejectedIdrs{"aarch32", {kS1 | (1u << 2), 0x02730010, 0x1404, 0x74, 1}, "TTF"},
        RejectedIdrs{"ttf-reserved", {kS1 & ~(3u << 2), 0x02730010, 0x1404, 0x74, 1}, "TTF"},
        RejectedIdrs{"mixed-endian", {kS1 & ~(3u << 21), 0x02730010, 0x1404, 0x74, 1}, "TTENDIAN"},
        RejectedIdrs{"big-endian", {kS1 | (3u << 21), 0x02730010, 0x1404, 0x74, 1}, "TTENDIAN"},
        RejectedIdrs{"stall", {kS1 & ~(3u << 24), 0x02730010, 0x1404, 0x74, 1}, "STALL_MODEL"},
        RejectedIdrs{"vatos", {kS1 | (1u << 20), 0x02730010, 0x1404, 0x74, 1}, "VATOS"},
        RejectedIdrs{"ats", {kS1 | (1u << 10), 0x02730010, 0x1404, 0x74, 1}, "ATS"},
        RejectedIdrs{"httu-reserved", {kS1 | (3u << 6), 0x02730010, 0x1404, 0x74, 1}, "HTTU"},
        RejectedIdrs{"st-level", {kS1 | (3u << 27), 0x02730010, 0x1404, 0x74, 1}, "ST_LEVEL"},
        RejectedIdrs{"no-stage", {kS1 & ~3u, 0x02730010, 0x1404, 0x74, 1}, "S1P"},
        RejectedIdrs{"rel", {kS1, 0x02730010 | (1u << 28), 0x1404, 0x74, 1}, "REL"},
        RejectedIdrs{
            "queues-preset", {kS1, 0x02730010 | (1u << 29), 0x1404, 0x74, 1}, "QUEUES_PRESET"},
        RejectedIdrs{"priqs-without-pri", {kS1, 0x02730010 | (5u << 11), 0x1404, 0x74, 1}, "PRIQS"},
        RejectedIdrs{"cmdqs-too-big", {kS1, 0x02730010 | (0x1Fu << 21), 0x1404, 0x74, 1}, "CMDQS"},
        RejectedIdrs{"ssidsize", {kS1, 0x02730010 | (21u << 6), 0x1404, 0x74, 1}, "SSIDSIZE"},
        RejectedIdrs{"fwb", {kS1, 0x02730010, 0x1404 | (1u << 8), 0x74, 1}, "FWB"},
        RejectedIdrs{"mpam", {kS1, 0x02730010, 0x1404 | (1u << 7), 0x74, 1}, "MPAM"},
        RejectedIdrs{"bbml-reserved", {kS1, 0x02730010, 0x1C04, 0x74, 1}, "BBML"},
        RejectedIdrs{"oas-52", {kS1, 0x02730010, 0x1404, 0x76, 1}, "OAS"},
        RejectedIdrs{"oas-reserved", {kS1, 0x02730010, 0x1404, 0x77, 1}, "OAS"},
        RejectedIdrs{"vax", {kS1, 0x02730010, 0x1404, 0x74 | (1u << 10), 1}, "VAX"},
        RejectedIdrs{"no-granule", {kS1, 0x02730010, 0x1404, 0x04, 1}, "GRAN"},
        RejectedIdrs{"stall-max", {kS1, 0x02730010, 0x1404, 0x74 | (4u << 16), 1}, "STALL_MAX"},
        RejectedIdrs{"aidr-major", {kS1, 0x02730010, 0x1404, 0x74, 0x11}, "ArchMajorRev"}),
    [](const ::testing::TestParamInfo<RejectedIdrs>& param_info) {
      std::string name = param_info.param.what;
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      return name;
    });

// IDR0.ATOS is implemented: it survives the round trip through the IDRs.
TEST(Capabilities, AtosIsReadFromAndWrittenToIdr0) {
  std::string error;
  const auto caps = Capabilities::from_idrs(kS1 | (1u << 15), 0x02730010, 0x1404, 0x74, 1, error);
  ASSERT_TRUE(caps) << error;
  EXPECT_TRUE(caps->atos);
  EXPECT_EQ((caps->idr0() >> 15) & 1, 1u);
}

TEST(Capabilities, UnsupportedReasonNamesField) {
  Capabilities c;
  c.aarch32_tables = true;
  EXPECT_NE(c.unsupported_reason().find("TTF"), std::string::npos);
  c = Capabilities{};
  c.oas_bits = 52;
  EXPECT_NE(c.unsupported_reason().find("OAS"), std::string::npos);
  c = Capabilities{};
  c.oas_bits = 45;
  EXPECT_NE(c.unsupported_reason().find("OAS"), std::string::npos);
  c = Capabilities{};
  c.sid_bits = 33;
  EXPECT_NE(c.unsupported_reason().find("SIDSIZE"), std::string::npos);
  c = Capabilities{};
  c.stall_model = StallModel::StallForced;
  EXPECT_NE(c.unsupported_reason().find("STALL_MODEL"), std::string::npos);
}

TEST(CapabilitiesJson, RoundTripsEveryPreset) {
  for (const char* name : {"mmu-600", "mmu-700", "qemu-virt"}) {
    const auto caps = *Capabilities::preset(name);
    const nlohmann::json j = caps;
    EXPECT_EQ(j.at("sid_bits"), caps.sid_bits);
    EXPECT_EQ(j.at("tt_endian"), "little");
    const auto back = j.get<Capabilities>();
    EXPECT_EQ(back, caps) << name;
  }
  const nlohmann::json defaults = Capabilities{};
  EXPECT_EQ(defaults.get<Capabilities>(), Capabilities{});
  EXPECT_EQ(defaults.at("httu"), "none");
  EXPECT_EQ(defaults.at("stall_model"), "terminate-only");
}

TEST(CapabilitiesJson, PresetKeyWithOverrides) {
  const auto j = nlohmann::json::parse(R"({"preset": "qemu-virt", "stage2": true, "vmid16": true,
                                           "xnx": true})");
  const auto caps = j.get<Capabilities>();
  EXPECT_EQ(caps.idr0(), kQemuVirtNested.idr0);
  EXPECT_EQ(caps.idr3(), kQemuVirtNested.idr3);
}

TEST(CapabilitiesJson, PartialObjectKeepsDefaults) {
  const auto caps =
      nlohmann::json::parse(R"({"hyp": true, "httu": "access-flag"})").get<Capabilities>();
  Capabilities expected;
  expected.hyp = true;
  expected.httu = HttuSupport::AccessFlag;
  EXPECT_EQ(caps, expected);
}

void expect_json_error(const char* text, const char* mentions) {
  try {
    (void)nlohmann::json::parse(text).get<Capabilities>();
    ADD_FAILURE() << "no error for " << text;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
  }
}

TEST(CapabilitiesJson, ErrorsNameTheKey) {
  expect_json_error(R"({"stage3": true})", "unknown key 'stage3'");
  expect_json_error(R"({"sid_bits": "sixteen"})", "sid_bits");
  expect_json_error(R"({"sid_bits": -1})", "sid_bits");
  expect_json_error(R"({"ats": 1})", "ats");
  expect_json_error(R"({"httu": "sometimes"})", "httu");
  expect_json_error(R"({"preset": "mmu-500"})", "mmu-500");
  expect_json_error(R"({"tt_endian": "big"})", "TTENDIAN");
  expect_json_error(R"([1, 2])", "object");
}

}  // namespace
}  // namespace smmuv3tlm::smmu
