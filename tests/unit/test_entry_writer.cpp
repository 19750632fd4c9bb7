// The hitless entry writer against the transitions Linux's own KUnit test
// checks (arm-smmu-v3-test.c): the entries are built the way the driver's
// arm_smmu_make_*_ste() build them for an SMMU with stalls and attribute-type
// overrides, a master with ATS, and each transition must take the same number
// of syncs, be hitless or not as there, end at the target, and show the SMMU
// only states equal to the old or the new entry on the bits it uses.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/driver/domain_entries.h"
#include "smmuv3tlm/platforms/driver/entry_writer.h"

namespace smmuv3tlm::driver {
namespace {

using smmu::EntryWords;
namespace ste = smmu::ste;
namespace cd = smmu::cd;

constexpr std::uint64_t kCdTable = 0xF0F0F0F0F0F0;
constexpr unsigned kS1dssTerminate = 0, kS1dssBypass = 1, kS1dssSsid0 = 2;

EntryWords abort_ste() {
  EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigAbort);
  return w;
}

EntryWords bypass_ste() {
  EntryWords w = abort_ste();
  ste::CONFIG.set(w, ste::kConfigBypass);
  ste::SHCFG.set(w, 0b01);  // incoming (IDR1.ATTR_TYPES_OVR)
  return w;
}

// A stage-1 STE pointing at a 2-level (64 KiB leaves) CD table, NS-EL1.
EntryWords cdtable_ste(unsigned s1dss, std::uint64_t table = kCdTable) {
  EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigStage1);
  ste::S1FMT.set(w, 0b10);
  ste::S1_CONTEXT_PTR.set(w, table);
  ste::S1CDMAX.set(w, 0xFF);
  ste::S1DSS.set(w, s1dss);
  ste::S1CIR.set(w, 0b01);
  ste::S1COR.set(w, 0b01);
  ste::S1CSH.set(w, 0b11);
  ste::S1STALLD.set(w, 1);  // the SMMU can stall, this master does not
  ste::EATS.set(w, 0b01);   // ATS enabled
  if (s1dss == kS1dssBypass) ste::SHCFG.set(w, 0b01);
  return w;
}

EntryWords s2_ste() {
  EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigStage2);
  ste::EATS.set(w, 0b01);
  ste::SHCFG.set(w, 0b01);
  ste::S2T0SZ.set(w, 4);
  ste::S2SL0.set(w, 3);
  ste::S2IR0.set(w, 2);
  ste::S2OR0.set(w, 1);
  ste::S2SH0.set(w, 3);
  ste::S2TG.set(w, 2);
  ste::S2PS.set(w, 1);
  ste::S2AA64.set(w, 1);
  ste::S2PTW.set(w, 1);
  ste::S2R.set(w, 1);
  ste::S2TTB.set(w, 0xdaedbeefdeadbeefull);
  return w;
}

void expect_transition(EntryKind kind, const EntryWords& from, const EntryWords& to, unsigned syncs, bool hitless) {
  EntryWords entry = from;
  unsigned stores = 0;
  unsigned sync_calls = 0;
  EntryWriter writer(
      kind, [&](unsigned, std::uint64_t) { ++stores; }, [&] { ++sync_calls; });
  const EntryUpdate update = writer.write(entry, to);
  EXPECT_EQ(update.syncs, syncs);
  EXPECT_EQ(sync_calls, syncs);
  EXPECT_EQ(update.stores, stores);
  EXPECT_EQ(update.hitless, hitless);
  EXPECT_TRUE(update.states_ok) << "a sync saw a state that is neither the old nor the new entry";
  EXPECT_EQ(entry, to);
  EXPECT_EQ(update.states.size(), syncs);
}

void expect_hitless(const EntryWords& from, const EntryWords& to, unsigned syncs) {
  expect_transition(EntryKind::Ste, from, to, syncs, true);
}

TEST(EntryWriterSte, BypassAndAbort) {
  expect_hitless(bypass_ste(), abort_ste(), 2);
  expect_hitless(abort_ste(), bypass_ste(), 2);
}

TEST(EntryWriterSte, CdTableAndAbortOrBypass) {
  expect_hitless(cdtable_ste(kS1dssSsid0), abort_ste(), 2);
  expect_hitless(abort_ste(), cdtable_ste(kS1dssSsid0), 2);
  expect_hitless(cdtable_ste(kS1dssSsid0), bypass_ste(), 3);
  expect_hitless(bypass_ste(), cdtable_ste(kS1dssSsid0), 3);
}

TEST(EntryWriterSte, S1dssChangesInOneWrite) {
  expect_hitless(cdtable_ste(kS1dssSsid0), cdtable_ste(kS1dssBypass), 1);
  expect_hitless(cdtable_ste(kS1dssBypass), cdtable_ste(kS1dssSsid0), 1);
  expect_hitless(cdtable_ste(kS1dssBypass), bypass_ste(), 2);
  expect_hitless(bypass_ste(), cdtable_ste(kS1dssBypass), 2);
}

TEST(EntryWriterSte, StageTwoTransitions) {
  expect_hitless(s2_ste(), abort_ste(), 2);
  expect_hitless(abort_ste(), s2_ste(), 2);
  expect_hitless(s2_ste(), bypass_ste(), 2);
  expect_hitless(bypass_ste(), s2_ste(), 2);
  expect_hitless(cdtable_ste(kS1dssSsid0), s2_ste(), 3);
  expect_hitless(s2_ste(), cdtable_ste(kS1dssSsid0), 3);
}

TEST(EntryWriterSte, ChangingTheCdTableAndS1dssTogetherBreaks) {
  expect_transition(EntryKind::Ste, cdtable_ste(kS1dssSsid0), cdtable_ste(kS1dssBypass, 0x4B4B4b4B4B), 3, false);
}

TEST(EntryWriterSte, AnUnchangedEntryIsNotSynced) {
  expect_hitless(s2_ste(), s2_ste(), 0);
}

TEST(EntryWriterSte, MevAndEatsTransAreUpdateSafe) {
  const EntryWords plain = cdtable_ste(kS1dssTerminate);
  EntryWords merged = plain;
  ste::MEV.set(merged, 1);
  ste::EATS.set(merged, 0);
  const EntryWords safe = update_safe_bits(EntryKind::Ste, plain, merged);
  EXPECT_EQ(safe[1], ste::MEV.mask() | (std::uint64_t{1} << ste::EATS.lo));
  expect_hitless(plain, merged, 1);
  EntryWords stalls = s2_ste();
  ste::S2S.set(stalls, 1);
  EXPECT_EQ(update_safe_bits(EntryKind::Ste, s2_ste(), stalls)[1], ste::MEV.mask()) << "S2S: EATS is not safe";
}

// CDs: Linux's make_s1_cd (EPD1, V, IPS, AA64, R, A, ASET, ASID, TTB0, MAIR).
EntryWords s1_cd(std::uint16_t asid) {
  EntryWords w{};
  cd::T0SZ.set(w, 16);
  cd::TG0.set(w, 0);
  cd::IR0.set(w, 1);
  cd::OR0.set(w, 1);
  cd::SH0.set(w, 3);
  cd::EPD1.set(w, 1);
  cd::V.set(w, 1);
  cd::IPS.set(w, 5);
  cd::AA64.set(w, 1);
  cd::R.set(w, 1);
  cd::A.set(w, 1);
  cd::ASET.set(w, 1);
  cd::ASID.set(w, asid);
  cd::TTB0.set(w, 0xdaedbeefdeadbeefull);
  cd::MAIR.set(w, 0x44ff);
  return w;
}

TEST(EntryWriterCd, ClearAndChangeAsid) {
  // Clearing a CD: V goes to 0 in qword 0 first, the rest follows.
  expect_transition(EntryKind::Cd, s1_cd(1), EntryWords{}, 2, false);
  // A new ASID changes only qword 0.
  expect_transition(EntryKind::Cd, s1_cd(1), s1_cd(2), 1, true);
  // Installing over an invalid CD: the other qwords, then qword 0 with V.
  expect_transition(EntryKind::Cd, EntryWords{}, s1_cd(1), 2, false);
}

}  // namespace
}  // namespace smmuv3tlm::driver

#include "smmuv3tlm/platforms/driver/entry_update_json.h"

namespace smmuv3tlm::driver {
namespace {

TEST(EntryUpdateJson, ReportsSyncsHitlessFinalAndSteps) {
  const std::string out = entry_update_json(
      R"({"kind":"ste","current":["0x9","0x100000000000","0","0","0","0","0","0"],)"
      R"("target":["0x1","0","0","0","0","0","0","0"]})");
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("syncs"), 2);
  EXPECT_EQ(j.at("hitless"), true);
  EXPECT_EQ(j.at("states_ok"), true);
  EXPECT_EQ(j.at("final").at(0), "0x0000000000000001");
  EXPECT_EQ(j.at("steps").size(), 2u);
}

TEST(EntryUpdateJson, MalformedInputNamesTheKey) {
  const auto error_of = [](const std::string& line) {
    try {
      entry_update_json(line);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of("not json"), "not a JSON object");
  EXPECT_NE(error_of(R"({"current":[]})").find("\"kind\""), std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"pte","current":[],"target":[]})").find("\"kind\""), std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"cd","current":["0","0"],"target":[]})").find("\"current\""), std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"cd","current":["0","0","0","0","0","0","0","xyz"],"target":[]})")
                .find("\"current\"[7]"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"kind":"cd","current":["0","0","0","0","0","0","0","0"]})").find("\"target\""),
            std::string::npos);
}

}  // namespace
}  // namespace smmuv3tlm::driver

namespace smmuv3tlm::driver {
namespace {

// Every move between the STEs the driver's domains install (abort, bypass, a
// stage-1 CD table, stage 2, nested with S1DSS SSID0 or bypass over the same
// stage 2), as the used-bits rule decides it: syncs, hitless, and every state a
// sync saw matching the old or the new entry (expect_transition).
TEST(EntryWriterSte, EveryMoveBetweenDomainEntries) {
  DriverFeatures f;
  f.stage1 = f.stage2 = true;
  const MasterTraits master;
  Stage2Context s2;
  s2.ttb = 0x8000'0000;
  s2.vmid = 5;
  smmu::EntryWords bypass{};
  ste::V.set(bypass, 1);
  ste::CONFIG.set(bypass, ste::kConfigBypass);
  const smmu::EntryWords guest = make_cdtable_ste(0x6000'0000, 0, 0, kS1dssSsid0, f, master);
  const smmu::EntryWords guest_bypass = make_cdtable_ste(0x6000'0000, 0, 0, kS1dssBypass, f, master);
  const std::map<std::string, smmu::EntryWords> entries = {
      {"abort", SmmuDriver::abort_ste()},
      {"bypass", bypass},
      {"s1", make_cdtable_ste(0x5000'0000, 0, 0, kS1dssSsid0, f, master)},
      {"s2", make_s2_domain_ste(s2, f, master)},
      {"nested", make_nested_ste(guest, s2, f, master)},
      {"nested_bypass", make_nested_ste(guest_bypass, s2, f, master)}};
  struct Expected {
    unsigned syncs;
    bool hitless;
  };
  // Breaking moves: S1 (VMID 0, its CD table) to or from anything with a
  // stage 2 changes used bits in qword 0 (Config, S1ContextPtr) and qword 2
  // (S2VMID) at once. Nested -> S2 keeps VMID and tables: hitless in 3 syncs.
  const std::map<std::string, std::map<std::string, Expected>> expected = {
      {"abort", {{"abort", {0, true}}, {"bypass", {1, true}}, {"s1", {2, true}}, {"s2", {2, true}},
                 {"nested", {2, true}}, {"nested_bypass", {2, true}}}},
      {"bypass", {{"abort", {1, true}}, {"bypass", {0, true}}, {"s1", {2, true}}, {"s2", {2, true}},
                  {"nested", {2, true}}, {"nested_bypass", {2, true}}}},
      {"s1", {{"abort", {2, true}}, {"bypass", {2, true}}, {"s1", {0, true}}, {"s2", {3, false}},
              {"nested", {3, false}}, {"nested_bypass", {3, false}}}},
      {"s2", {{"abort", {2, true}}, {"bypass", {2, true}}, {"s1", {3, false}}, {"s2", {0, true}},
              {"nested", {2, true}}, {"nested_bypass", {2, true}}}},
      {"nested", {{"abort", {2, true}}, {"bypass", {2, true}}, {"s1", {3, false}}, {"s2", {3, true}},
                  {"nested", {0, true}}, {"nested_bypass", {1, true}}}},
      {"nested_bypass", {{"abort", {2, true}}, {"bypass", {2, true}}, {"s1", {3, false}}, {"s2", {3, true}},
                         {"nested", {1, true}}, {"nested_bypass", {0, true}}}},
  };
  for (const auto& [from, from_words] : entries) {
    for (const auto& [to, to_words] : entries) {
      SCOPED_TRACE(from + " -> " + to);
      const Expected& e = expected.at(from).at(to);
      expect_transition(EntryKind::Ste, from_words, to_words, e.syncs, e.hitless);
    }
  }
}

}  // namespace
}  // namespace smmuv3tlm::driver
