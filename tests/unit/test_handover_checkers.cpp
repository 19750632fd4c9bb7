// Each handover checker on its own, fed plain events (no simulation): it fires
// on the rule it owns and stays quiet on correct sequences.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "smmuv3tlm/models/handover/checkers/adoption_rule_checker.h"
#include "smmuv3tlm/models/handover/checkers/id_collision_checker.h"
#include "smmuv3tlm/models/handover/checkers/missing_clean_checker.h"
#include "smmuv3tlm/models/handover/checkers/scrubbed_fetch_checker.h"
#include "smmuv3tlm/models/handover/checkers/torn_entry_checker.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::handover {
namespace {

using smmu::AccessPurpose;
using smmu::EntryWords;
namespace ste = smmu::ste;
namespace cd = smmu::cd;
namespace reg = smmu::reg;

std::vector<std::uint8_t> bytes_of(const EntryWords& w) {
  std::vector<std::uint8_t> b(64);
  for (unsigned i = 0; i < 64; ++i) b[i] = static_cast<std::uint8_t>(w[i / 8] >> (8 * (i % 8)));
  return b;
}

SmmuAccess read(AccessPurpose purpose, std::uint64_t pa, const std::vector<std::uint8_t>& data,
                std::uint32_t sid = 0x10) {
  SmmuAccess a;
  a.pa = pa;
  a.size = static_cast<std::uint32_t>(data.size());
  a.purpose = purpose;
  a.stream_id = sid;
  a.data = data.data();
  return a;
}

void store64(TornEntryChecker& c, std::uint64_t pa, std::uint64_t value) {
  std::uint8_t b[8];
  std::memcpy(b, &value, 8);
  c.on_cpu_store({0, pa, 8, b});
}

void store32(TornEntryChecker& c, std::uint64_t pa, std::uint32_t value) {
  std::uint8_t b[4];
  std::memcpy(b, &value, 4);
  c.on_cpu_store({0, pa, 4, b});
}

EntryWords s2_ste(std::uint16_t vmid, std::uint64_t ttb) {
  EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigStage2);
  ste::S2VMID.set(w, vmid);
  ste::S2T0SZ.set(w, 20);
  ste::S2AA64.set(w, 1);
  ste::S2TTB.set(w, ttb);
  return w;
}

EntryWords s1_cd(std::uint16_t asid, std::uint64_t ttb) {
  EntryWords w{};
  cd::V.set(w, 1);
  cd::T0SZ.set(w, 16);
  cd::AA64.set(w, 1);
  cd::ASID.set(w, asid);
  cd::TTB0.set(w, ttb);
  return w;
}

TEST(ScrubbedFetchChecker, FlagsReadsOfScrubbedMemoryOnce) {
  ScrubbedFetchChecker c([](std::uint64_t pa, std::uint64_t len) { return pa < 0x2000 && pa + len > 0x1000; });
  const std::vector<std::uint8_t> data(64);
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x1040, data));
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x1048, std::vector<std::uint8_t>(8)));
  c.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x3000, data));
  SmmuAccess write = read(AccessPurpose::EventQueue, 0x1100, data);
  write.write = true;
  c.on_smmu_access(write);
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].address, 0x1040u);
  EXPECT_EQ(c.findings()[0].table, smmu::to_string(AccessPurpose::ContextDesc));
  EXPECT_NE(c.findings()[0].describe().find("not preserved"), std::string::npos);
}

TEST(MissingCleanChecker, FlagsSmmuReadsOfDirtyLocationsOnly) {
  std::set<std::uint64_t> dirty = {0x2008};
  MissingCleanChecker c([&](std::uint64_t pa, std::uint64_t len) {
    for (std::uint64_t a = pa; a < pa + len; ++a) {
      if (dirty.count(a) != 0) return true;
    }
    return false;
  });
  const std::vector<std::uint8_t> data(8);
  c.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x2000, data));
  EXPECT_TRUE(c.findings().empty()) << "a clean neighbour in the same line";
  c.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x2008, data));
  c.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x2008, data));
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].table, smmu::to_string(AccessPurpose::Stage1Walk));
  MissingCleanChecker coherent([](std::uint64_t, std::uint64_t) { return false; });
  coherent.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x2008, data));
  EXPECT_TRUE(coherent.findings().empty()) << "a coherent SMMU never misses a clean";
}

TEST(TornEntryChecker, AHitlessSequenceIsQuietAndATornOneIsFlagged) {
  TornEntryChecker c;
  const EntryWords a = s2_ste(1, 0x8000'0000);
  c.on_smmu_access(read(AccessPurpose::StreamTableEntry, 0x4000, bytes_of(a)));
  // A hitless change of VMID and table by the used-bits writer's steps is not
  // possible in one qword; the breaking path: qword 0 to 0, sync, the rest, sync, qword 0, sync.
  const EntryWords b = s2_ste(2, 0x9000'0000);
  store64(c, 0x4000, 0);
  c.on_sync(1);
  for (unsigned q = 1; q < 8; ++q) store64(c, 0x4000 + 8 * q, b[q]);
  c.on_sync(2);
  store64(c, 0x4000, b[0]);
  c.on_sync(3);
  EXPECT_TRUE(c.findings().empty());
  // The same change made qword by qword with one sync at the end: torn.
  for (unsigned q = 0; q < 8; ++q) store64(c, 0x4000 + 8 * q, a[q]);
  c.on_sync(4);
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].table, "STE");
  EXPECT_EQ(c.findings()[0].address, 0x4000u);
}

TEST(TornEntryChecker, CdAsidChangeInPlaceIsConsistent) {
  TornEntryChecker c;
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x5000, bytes_of(s1_cd(1, 0x7000'0000))));
  store64(c, 0x5000, s1_cd(2, 0x7000'0000)[0]);  // ASID lives in qword 0 only
  c.on_sync(1);
  EXPECT_TRUE(c.findings().empty());
  const EntryWords other = s1_cd(3, 0x6000'0000);
  store64(c, 0x5000 + 8, other[1]);  // TTB0 first: the live CD now mixes ASID 2 with the new table
  store64(c, 0x5000, other[0]);
  c.on_sync(2);
  EXPECT_EQ(c.findings().size(), 1u);
}

TEST(TornEntryChecker, PteStoresNarrowerThan64BitsTear) {
  TornEntryChecker c;
  const std::uint64_t old_pte = 0x0000'0000'8000'0743ull | (1ull << 54);
  std::vector<std::uint8_t> bytes(8);
  std::memcpy(bytes.data(), &old_pte, 8);
  c.on_smmu_access(read(AccessPurpose::Stage1Walk, 0x6008, bytes));
  // One 64-bit store: fine. Will Deacon's sequence (V=0, then the valid byte): fine.
  const std::uint64_t new_pte = 0x0000'0001'9000'0743ull;
  store64(c, 0x6008, new_pte);
  c.on_sync(1);
  store64(c, 0x6008, new_pte & ~1ull);
  store64(c, 0x6008, old_pte);
  c.on_sync(2);
  EXPECT_TRUE(c.findings().empty());
  // The same update as two 32-bit stores: the first half makes a valid mix.
  store32(c, 0x6008, static_cast<std::uint32_t>(new_pte));
  store32(c, 0x600c, static_cast<std::uint32_t>(new_pte >> 32));
  c.on_sync(3);
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_NE(c.findings()[0].rule.find("narrower than 64 bits"), std::string::npos);
  EXPECT_EQ(c.findings()[0].table, "translation table entry");
}

TEST(TornEntryChecker, EntriesTheSmmuNeverReadAreNotTracked) {
  TornEntryChecker c;
  store32(c, 0x7000, 0x1234);
  c.on_sync(1);
  EXPECT_EQ(c.live_entries(), 0u);
  EXPECT_TRUE(c.findings().empty());
}

TEST(IdCollisionChecker, SameVmidWithAnotherTableOrSameAsidWithAnotherTtb0) {
  IdCollisionChecker c;
  c.on_smmu_access(read(AccessPurpose::StreamTableEntry, 0x4000, bytes_of(s2_ste(5, 0x8000'0000)), 0x10));
  c.on_smmu_access(read(AccessPurpose::StreamTableEntry, 0x4040, bytes_of(s2_ste(6, 0x9000'0000)), 0x11));
  EXPECT_TRUE(c.findings().empty()) << "different VMIDs";
  c.on_smmu_access(read(AccessPurpose::StreamTableEntry, 0x4080, bytes_of(s2_ste(5, 0xa000'0000)), 0x12));
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_EQ(c.findings()[0].table, "STE");
  // Stage 1 (VMID 0): two CDs with ASID 3 and different tables.
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x5000, bytes_of(s1_cd(3, 0x1000'0000)), 0x20));
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x5040, bytes_of(s1_cd(4, 0x2000'0000)), 0x21));
  c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x5000, bytes_of(s1_cd(3, 0x1000'0000)), 0x20));
  EXPECT_EQ(c.findings().size(), 1u) << "distinct ASIDs, re-reads of one CD";
  // As the SMMU reads entries: eight 64-bit reads.
  const std::vector<std::uint8_t> third = bytes_of(s1_cd(3, 0x3000'0000));
  for (unsigned q = 0; q < 8; ++q) {
    c.on_smmu_access(read(AccessPurpose::ContextDesc, 0x5080 + 8 * q,
                          std::vector<std::uint8_t>(third.begin() + 8 * q, third.begin() + 8 * q + 8), 0x22));
    if (q < 7) {
      EXPECT_EQ(c.findings().size(), 1u) << "not before the whole CD is read";
    }
  }
  ASSERT_EQ(c.findings().size(), 2u);
  EXPECT_EQ(c.findings()[1].table, "CD");
}

TEST(AdoptionRuleChecker, GuardedRegistersAStaleCmdqErrAndAChangedSte) {
  AdoptionRuleChecker c;
  c.on_register_write(0, reg::CR1, 0xd75, 0, 0);
  EXPECT_TRUE(c.findings().empty()) << "SMMUEN clear: allowed";
  c.on_register_write(1, reg::STRTAB_BASE_CFG, 0x10, reg::cr0::SMMUEN, 0);
  ASSERT_EQ(c.findings().size(), 1u);
  EXPECT_NE(c.findings()[0].rule.find("STRTAB_BASE_CFG"), std::string::npos) << c.findings()[0].rule;
  c.on_register_write(2, reg::CR0, reg::cr0::SMMUEN | reg::cr0::CMDQEN, reg::cr0::SMMUEN, 0);
  EXPECT_EQ(c.findings().size(), 1u) << "GERROR clean";
  c.on_register_write(3, reg::CR0, reg::cr0::SMMUEN | reg::cr0::CMDQEN, reg::cr0::SMMUEN, reg::gerror::CMDQ_ERR);
  ASSERT_EQ(c.findings().size(), 2u);
  const EntryWords saved = s2_ste(1, 0x8000'0000);
  c.on_adopted_ste(4, 0x10, 0x4000, saved, saved);
  EXPECT_EQ(c.findings().size(), 2u);
  c.on_adopted_ste(5, 0x10, 0x4000, saved, s2_ste(1, 0x9000'0000));
  EXPECT_EQ(c.findings().size(), 3u);
}

}  // namespace
}  // namespace smmuv3tlm::handover
