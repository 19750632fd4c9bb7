// The driver's domains and masters over the programming interface and a
// translation engine: every domain type translates as built, masters move
// live between them with the writer's updates, PASIDs take CDs of their own
// (2-level CD tables when the master needs them), unmap invalidates exactly
// its range, freeing a domain invalidates its ASID/VMID, and disable_s1 makes
// every DMA domain stage 2.
#include <gtest/gtest.h>

#include "smmuv3tlm/platforms/driver/iommu_domain.h"
#include "smmuv3tlm/tests/unit/driver_test_bus.h"

namespace smmuv3tlm::driver {
namespace {

using smmu::CommandOpcode;
using smmu::TranslationOutcome;

constexpr std::uint64_t k4K = 1ull << 12;
constexpr std::uint64_t kIova = 0x10'0000;
constexpr std::uint64_t kBuffer = 0x1'8000'0000;

struct Fixture {
  explicit Fixture(const smmu::Capabilities& caps = mmu700(), const DriverOptions& options = {})
      : bus(caps), driver(bus, memory, options) {
    driver.reset();
  }
  std::uint64_t commands(CommandOpcode op) {
    const auto& by = bus.pi->statistics().commands_by_opcode;
    auto it = by.find(op);
    return it == by.end() ? 0 : it->second;
  }
  TranslatingBus bus;
  DriverMemory memory;
  SmmuDriver driver;
};

MasterConfig master_config(std::uint32_t sid, unsigned ssid_bits = 0) {
  MasterConfig c;
  c.stream_ids = {sid};
  c.ssid_bits = ssid_bits;
  return c;
}

TEST(IommuDomains, EveryDomainTypeTranslatesAsBuilt) {
  Fixture fx;
  DriverMemoryConfig guest_config;  // the guest's RAM, which outlives its domains
  guest_config.base = 0x6000'0000;
  guest_config.size = 0x100'0000;
  DriverMemory guest(guest_config);
  IommuDomains domains(fx.driver);
  Master& m = domains.add_master(master_config(0x10));
  EXPECT_EQ(fx.bus.translate(0x10).outcome, TranslationOutcome::Terminated) << "disable_bypass: unattached aborts";

  Domain& identity = domains.create(DomainType::Identity);
  domains.attach(m, identity);
  EXPECT_EQ(fx.bus.translate(0x10, 0x1234).outcome, TranslationOutcome::Bypassed);

  Domain& s1 = domains.create(DomainType::Stage1);
  EXPECT_EQ(s1.asid(), 1u);
  s1.map(kIova, kBuffer, 4 * k4K);
  domains.attach(m, s1);
  smmu::TranslationResult r = fx.bus.translate(0x10, kIova + 0x1010, true);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer + 0x1010);
  EXPECT_NE(m.cd_table(), 0u);

  Domain& s2 = domains.create(DomainType::Stage2);
  EXPECT_EQ(s2.vmid(), 1u);
  s2.map(kIova, kBuffer + 0x10'0000, 4 * k4K);
  domains.attach(m, s2);
  r = fx.bus.translate(0x10, kIova + 0x10);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer + 0x10'0010);

  // Nested: guest RAM at IPA = PA, the guest's stage 1 maps the IOVA to a
  // guest IPA which the parent maps to the buffer.
  DomainOptions parent_options;
  parent_options.nest_parent = true;
  Domain& parent = domains.create(DomainType::Stage2, parent_options);
  parent.map(guest_config.base, guest_config.base, guest_config.size);
  const std::uint64_t guest_ipa = 0x7000'0000;
  parent.map(guest_ipa, kBuffer + 0x20'0000, 4 * k4K);
  Domain& nested = domains.create_nested(parent, guest, 7);
  nested.map(kIova, guest_ipa, 4 * k4K);
  domains.attach(m, nested);
  r = fx.bus.translate(0x10, kIova + 0x2008, true);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer + 0x20'2008);

  Domain& blocked = domains.create(DomainType::Blocked);
  domains.attach(m, blocked);
  EXPECT_EQ(fx.bus.translate(0x10, kIova).outcome, TranslationOutcome::Terminated);
  EXPECT_EQ(m.ste_updates().size(), 5u) << "one STE update per attach";
}

TEST(IommuDomains, MovesBetweenDomainsTakeTheWritersUpdates) {
  Fixture fx;
  IommuDomains domains(fx.driver);
  Master& m = domains.add_master(master_config(0x20));
  Domain& s1a = domains.create(DomainType::Stage1);
  Domain& s1b = domains.create(DomainType::Stage1);
  Domain& s2 = domains.create(DomainType::Stage2);
  Domain& identity = domains.create(DomainType::Identity);
  domains.attach(m, s1a);
  const std::size_t ste_updates = m.ste_updates().size();
  const std::size_t cd_updates = m.cd_updates().size();
  domains.attach(m, s1b);
  EXPECT_EQ(m.ste_updates().back().syncs, 0u) << "S1 -> S1: the STE is the same";
  EXPECT_EQ(m.cd_updates().size(), cd_updates + 1);
  EXPECT_FALSE(m.cd_updates().back().hitless)
      << "ASID (qword 0) and TTB0 (qword 1) both change: the writer takes the breaking path, as Linux's does";
  EXPECT_TRUE(m.cd_updates().back().states_ok);
  EXPECT_EQ(m.ste_updates().size(), ste_updates + 1);
  domains.attach(m, identity);
  EXPECT_TRUE(m.ste_updates().back().hitless) << "S1 -> bypass";
  EXPECT_FALSE(m.cd_updates().back().hitless) << "CD 0 cleared after the STE left stage 1";
  domains.attach(m, s2);
  EXPECT_TRUE(m.ste_updates().back().hitless) << "bypass -> S2";
  domains.attach(m, s1a);
  for (const EntryUpdate& u : m.ste_updates()) EXPECT_TRUE(u.states_ok);
  EXPECT_EQ(s1a.attachments(), 1u);
  EXPECT_EQ(s1b.attachments(), 0u);
  EXPECT_THROW(domains.destroy(s1a), DriverError) << "still attached";
  domains.detach(m);
  EXPECT_EQ(fx.bus.translate(0x20).outcome, TranslationOutcome::Terminated);
}

TEST(IommuDomains, PasidsTakeTheirOwnCdsAndTwoLevelTablesWhenNeeded) {
  smmu::Capabilities caps = mmu700();
  caps.ssid_bits = 16;
  Fixture fx(caps);
  IommuDomains domains(fx.driver);
  Master& m = domains.add_master(master_config(0x30, 12));
  Domain& s1 = domains.create(DomainType::Stage1);
  Domain& pasid_domain = domains.create(DomainType::Stage1);
  s1.map(kIova, kBuffer, k4K);
  pasid_domain.map(kIova, kBuffer + 0x40'0000, k4K);
  domains.attach(m, s1);
  EXPECT_TRUE(m.two_level_cd_table()) << "4096 SubstreamIDs: 2-level";
  domains.attach_pasid(m, 0x805, pasid_domain);
  smmu::TranslationResult r = fx.bus.translate(0x30, kIova, false, 0x805u);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer + 0x40'0000);
  r = fx.bus.translate(0x30, kIova);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer) << "no SubstreamID: CD 0";
  // SSID 0 moved to identity while the PASID stays: S1DSS bypass.
  Domain& identity = domains.create(DomainType::Identity);
  domains.attach(m, identity);
  EXPECT_EQ(fx.bus.translate(0x30, 0x5000).outcome, TranslationOutcome::Bypassed);
  EXPECT_EQ(fx.bus.translate(0x30, kIova, false, 0x805u).output_address, kBuffer + 0x40'0000);
  Domain& s2 = domains.create(DomainType::Stage2);
  EXPECT_THROW(domains.attach(m, s2), DriverError) << "PASIDs in use";
  EXPECT_THROW(domains.attach_pasid(m, 1u << 12, pasid_domain), DriverError) << "beyond the master's SSIDs";
  domains.detach_pasid(m, 0x805);
  EXPECT_NE(fx.bus.translate(0x30, kIova, false, 0x805u).outcome, TranslationOutcome::Translated);
}

TEST(IommuDomains, UnmapInvalidatesExactlyItsRange) {
  Fixture fx;
  IommuDomains domains(fx.driver);
  Master& m = domains.add_master(master_config(0x40));
  Domain& s1 = domains.create(DomainType::Stage1);
  s1.map(kIova, kBuffer, 2 * k4K);
  domains.attach(m, s1);
  ASSERT_TRUE(fx.bus.translate(0x40, kIova).ok());
  ASSERT_TRUE(fx.bus.translate(0x40, kIova + k4K).ok());
  const std::uint64_t walks = fx.bus.engine.statistics().walks;
  EXPECT_EQ(s1.unmap(kIova + k4K, k4K), k4K);
  EXPECT_GT(fx.commands(CommandOpcode::TLBI_NH_VA) + fx.commands(CommandOpcode::TLBI_EL2_VA), 0u);
  const smmu::TranslationResult kept = fx.bus.translate(0x40, kIova);
  EXPECT_TRUE(kept.tlb_hit) << "the neighbouring page stays cached";
  EXPECT_EQ(fx.bus.engine.statistics().walks, walks);
  const smmu::TranslationResult gone = fx.bus.translate(0x40, kIova + k4K);
  EXPECT_EQ(gone.fault, smmu::EventId::F_TRANSLATION);
  EXPECT_EQ(fx.bus.engine.statistics().walks, walks + 1);
}

TEST(IommuDomains, FreeingADomainInvalidatesItsIdentifier) {
  Fixture fx;
  IommuDomains domains(fx.driver);
  Domain& s1 = domains.create(DomainType::Stage1);
  const std::uint64_t before = fx.commands(CommandOpcode::TLBI_NH_ASID) + fx.commands(CommandOpcode::TLBI_EL2_ASID);
  const std::size_t pages = fx.memory.pages(PageKind::IommuPages).size();
  domains.destroy(s1);
  EXPECT_EQ(fx.commands(CommandOpcode::TLBI_NH_ASID) + fx.commands(CommandOpcode::TLBI_EL2_ASID), before + 1);
  EXPECT_EQ(fx.memory.pages(PageKind::IommuPages).size(), pages - 1) << "the root table is freed";
  EXPECT_EQ(domains.create(DomainType::Stage1).asid(), 1u) << "the ASID is free again";
  Domain& s2 = domains.create(DomainType::Stage2);
  domains.destroy(s2);
  EXPECT_EQ(fx.commands(CommandOpcode::TLBI_S12_VMALL), 1u);
}

TEST(IommuDomains, DisableS1MakesEveryDmaDomainStageTwo) {
  DriverOptions options;
  options.disable_s1 = true;
  Fixture fx(mmu700(), options);
  IommuDomains domains(fx.driver);
  Master& m = domains.add_master(master_config(0x50));
  Domain& dma = domains.create(DomainType::Stage1);
  EXPECT_EQ(dma.type(), DomainType::Stage2);
  EXPECT_NE(dma.vmid(), 0u);
  dma.map(kIova, kBuffer, k4K);
  domains.attach(m, dma);
  const smmu::TranslationResult r = fx.bus.translate(0x50, kIova + 8);
  ASSERT_EQ(r.outcome, TranslationOutcome::Translated);
  EXPECT_EQ(r.output_address, kBuffer + 8);
  EXPECT_EQ(m.cd_table(), 0u) << "no CD table without stage 1";
}

}  // namespace
}  // namespace smmuv3tlm::driver
