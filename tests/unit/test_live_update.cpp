// The driver's live update without a simulation: the outgoing kernel preserves
// S1, S2 and nested masters and shuts down (others aborted, empty L1
// descriptors zeroed, queues off, SMMUEN kept); a new kernel adopts from the
// record alone (no CR1/CR2/STRTAB write), re-attaches, keeps translating, and
// refuses what it must: a changed STRTAB_BASE_CFG, SMMUEN clear, PASIDs, a
// live STE that is not the saved domain's, a malformed record.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/driver/handover_record.h"
#include "smmuv3tlm/platforms/driver/iommu_domain.h"
#include "smmuv3tlm/tests/unit/driver_test_bus.h"

namespace smmuv3tlm::driver {
namespace {

using smmu::TranslationOutcome;
namespace reg = smmu::reg;

constexpr std::uint64_t kIova = 0x10'0000;
constexpr std::uint64_t kBuffer = 0x1'8000'0000;
constexpr std::uint64_t k4K = 4096;
constexpr std::uint32_t kS1 = 0x10, kS2 = 0x11, kNested = 0x12, kDropped = 0x13, kFarAway = 0x2345;

MasterConfig master(std::uint32_t sid) {
  MasterConfig c;
  c.stream_ids = {sid};
  return c;
}

// The outgoing kernel's state, the guest's RAM (which outlives both kernels),
// and the bus the SMMU sits on.
struct LiveUpdate {
  TranslatingBus bus{mmu700()};
  DriverMemoryConfig guest_config = [] {
    DriverMemoryConfig c;
    c.base = 0x6000'0000;
    c.size = 0x100'0000;
    return c;
  }();
  DriverMemory guest{guest_config};
  std::unique_ptr<DriverMemory> memory = std::make_unique<DriverMemory>();
  std::unique_ptr<SmmuDriver> driver;
  std::unique_ptr<IommuDomains> domains;
  std::vector<Master*> preserved;

  LiveUpdate() {
    driver = std::make_unique<SmmuDriver>(bus, *memory);
    driver->reset();
    domains = std::make_unique<IommuDomains>(*driver);
    Master& s1 = domains->add_master(master(kS1));
    Domain& s1_domain = domains->create(DomainType::Stage1);
    s1_domain.map(kIova, kBuffer, 4 * k4K);
    domains->attach(s1, s1_domain);
    Master& s2 = domains->add_master(master(kS2));
    Domain& s2_domain = domains->create(DomainType::Stage2);
    s2_domain.map(kIova, kBuffer + 0x10'0000, 4 * k4K);
    domains->attach(s2, s2_domain);
    Master& nested = domains->add_master(master(kNested));
    DomainOptions parent_options;
    parent_options.nest_parent = true;
    Domain& parent = domains->create(DomainType::Stage2, parent_options);
    parent.map(guest_config.base, guest_config.base, guest_config.size);
    parent.map(0x7000'0000, kBuffer + 0x20'0000, 4 * k4K);
    Domain& guest_s1 = domains->create_nested(parent, guest, 3);
    guest_s1.map(kIova, 0x7000'0000, 4 * k4K);
    domains->attach(nested, guest_s1);
    for (std::uint32_t sid : {kDropped, kFarAway}) {
      Master& m = domains->add_master(master(sid));
      Domain& d = domains->create(DomainType::Stage1);
      d.map(kIova, kBuffer + 0x30'0000, k4K);
      domains->attach(m, d);
    }
    preserved = {&s1, &s2, &nested};
  }

  std::uint64_t translate(std::uint32_t sid) {
    const smmu::TranslationResult r = bus.translate(sid, kIova + 0x18, true);
    return r.ok() ? r.output_address : 0;
  }
  // kexec: the outgoing kernel's objects vanish without a store; its memory
  // allocator is gone too (a new kernel starts with an empty one).
  void kexec() {
    domains->forget();
    domains.reset();
    driver.reset();
    memory = std::make_unique<DriverMemory>();
  }
  DriverMemory* guest_ram(std::uint64_t base) { return base == guest_config.base ? &guest : nullptr; }
};

TEST(LiveUpdate, PreservedMastersKeepTranslatingAcrossShutdownKexecAndAdoption) {
  LiveUpdate lu;
  const std::uint64_t s1 = lu.translate(kS1), s2 = lu.translate(kS2), nested = lu.translate(kNested);
  ASSERT_EQ(s1, kBuffer + 0x18);
  ASSERT_EQ(s2, kBuffer + 0x10'0018);
  ASSERT_EQ(nested, kBuffer + 0x20'0018);
  ASSERT_NE(lu.translate(kDropped), 0u);

  const HandoverRecord record = lu.domains->preserve(lu.preserved);
  EXPECT_EQ(record.masters.size(), 3u);
  EXPECT_EQ(record.domains.size(), 4u) << "s1, s2, the nest parent and the nested domain";
  EXPECT_EQ(record.pages(PageUse::StreamTableL1), 1u);
  EXPECT_EQ(record.pages(PageUse::StreamTableL2), 1u) << "only the L2 table of the preserved StreamIDs";
  EXPECT_EQ(record.pages(PageUse::CdTableL1), 1u) << "the S1 master's CD table (nested: guest memory)";
  EXPECT_EQ(record.bytes(PageUse::GuestMemory), lu.guest_config.size);
  EXPECT_EQ(record.pages(PageUse::Stage1Table), 4u) << "a 4-level stage-1 walk";
  EXPECT_GE(record.pages(PageUse::Stage2Table), 8u);
  EXPECT_TRUE(record.not_preserved.empty());

  lu.driver->shutdown_for_live_update({kS1, kS2, kNested});
  EXPECT_EQ(lu.translate(kS1), s1);
  EXPECT_EQ(lu.translate(kS2), s2);
  EXPECT_EQ(lu.translate(kNested), nested);
  EXPECT_EQ(lu.translate(kDropped), 0u) << "not preserved: abort STE";
  EXPECT_EQ(lu.translate(kFarAway), 0u) << "its L1 descriptor was zeroed";
  const std::uint32_t cr0 = static_cast<std::uint32_t>(lu.bus.read_register(reg::CR0, 4));
  EXPECT_EQ(cr0, reg::cr0::SMMUEN) << "queues off, SMMUEN kept";

  // Only the JSON crosses the kexec.
  const std::string serialised = record.to_json().dump();
  lu.kexec();
  const HandoverRecord received = HandoverRecord::from_json(nlohmann::json::parse(serialised));
  EXPECT_EQ(received.to_json().dump(), serialised);
  EXPECT_EQ(lu.translate(kS1), s1) << "nothing stored at kexec";

  lu.bus.writes.clear();
  SmmuDriver driver(lu.bus, *lu.memory);
  driver.adopt(received);
  IommuDomains domains(driver);
  const std::vector<std::string> refused =
      domains.adopt(received, [&](std::uint64_t base) { return lu.guest_ram(base); });
  EXPECT_TRUE(refused.empty()) << refused.front();
  for (std::uint64_t offset : {reg::CR1, reg::CR2, reg::STRTAB_BASE, reg::STRTAB_BASE_CFG, reg::GBPA}) {
    EXPECT_EQ(std::count(lu.bus.writes.begin(), lu.bus.writes.end(), offset), 0) << "wrote register " << offset;
  }
  EXPECT_EQ(lu.translate(kS1), s1);
  EXPECT_EQ(lu.translate(kS2), s2);
  EXPECT_EQ(lu.translate(kNested), nested);
  ASSERT_EQ(domains.masters().size(), 3u);
  for (const auto& m : domains.masters()) EXPECT_NE(m->domain(), nullptr);

  // The adopted domains work: map more, unmap, and new domains avoid their identifiers.
  Domain& adopted_s1 = *domains.masters()[0]->domain();
  adopted_s1.map(kIova + 0x10'0000, kBuffer + 0x40'0000, k4K);
  EXPECT_EQ(lu.bus.translate(kS1, kIova + 0x10'0010).output_address, kBuffer + 0x40'0010);
  EXPECT_EQ(adopted_s1.unmap(kIova, 4 * k4K), 4 * k4K);
  EXPECT_FALSE(lu.bus.translate(kS1, kIova).ok());
  Domain& fresh_s1 = domains.create(DomainType::Stage1);
  Domain& fresh_s2 = domains.create(DomainType::Stage2);
  for (const auto& d : domains.domains()) {
    if (d.get() != &fresh_s1 && d->type() == DomainType::Stage1) {
      EXPECT_NE(d->asid(), fresh_s1.asid());
    }
    if (d.get() != &fresh_s2 && d->type() != DomainType::Nested) {
      EXPECT_NE(d->vmid(), fresh_s2.vmid());
    }
  }
  // A fresh allocation never lands on a preserved page.
  const std::uint64_t table = fresh_s1.page_table()->root();
  EXPECT_FALSE(received.preserves(table));
}

TEST(LiveUpdate, AdoptionRefusesWhatItCannotTrust) {
  LiveUpdate lu;
  HandoverRecord record = lu.domains->preserve(lu.preserved);
  lu.driver->shutdown_for_live_update({kS1, kS2, kNested});
  lu.kexec();
  {
    HandoverRecord changed = record;
    changed.strtab_base_cfg ^= 1;  // LOG2SIZE differs
    SmmuDriver driver(lu.bus, *lu.memory);
    try {
      driver.adopt(changed);
      FAIL() << "a changed STRTAB_BASE_CFG was adopted";
    } catch (const DriverError& e) {
      EXPECT_NE(std::string(e.what()).find("STRTAB_BASE_CFG"), std::string::npos) << e.what();
    }
  }
  {
    // A live STE that no longer carries the saved domain's table: that master is refused and aborted.
    HandoverRecord tampered = record;
    for (PreservedDomain& d : tampered.domains) {
      if (d.type == DomainType::Stage2 && !d.nest_parent) d.vmid = 77;
    }
    SmmuDriver driver(lu.bus, *lu.memory);
    driver.adopt(tampered);
    IommuDomains domains(driver);
    const auto refused = domains.adopt(tampered, [&](std::uint64_t base) { return lu.guest_ram(base); });
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_NE(refused[0].find("0x11"), std::string::npos) << refused[0];
    EXPECT_FALSE(lu.bus.translate(kS2, kIova).ok()) << "the refused master aborts";
    EXPECT_TRUE(lu.bus.translate(kS1, kIova).ok());
  }
  {
    lu.bus.write_register(reg::CR0, 0, 4);
    lu.memory = std::make_unique<DriverMemory>();
    SmmuDriver driver(lu.bus, *lu.memory);
    try {
      driver.adopt(record);
      FAIL() << "adopted with SMMUEN clear";
    } catch (const DriverError& e) {
      EXPECT_NE(std::string(e.what()).find("SMMUEN"), std::string::npos) << e.what();
    }
  }
}

TEST(LiveUpdate, PasidsInUseAreNotPreserved) {
  smmu::Capabilities caps = mmu700();
  TranslatingBus bus(caps);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset();
  IommuDomains domains(driver);
  MasterConfig c = master(0x40);
  c.ssid_bits = 4;
  Master& m = domains.add_master(c);
  Domain& s1 = domains.create(DomainType::Stage1);
  Domain& pasid = domains.create(DomainType::Stage1);
  domains.attach(m, s1);
  domains.attach_pasid(m, 3, pasid);
  try {
    (void)domains.preserve({&m});
    FAIL() << "PASIDs were preserved";
  } catch (const DriverError& e) {
    EXPECT_NE(std::string(e.what()).find("PASIDs"), std::string::npos) << e.what();
  }
}

TEST(LiveUpdate, ACdTableInCoherentDmaMemoryIsListedAsNotPreserved) {
  TranslatingBus bus(mmu700());
  DriverMemoryConfig config;
  config.kind_of[PageUse::CdTableL1] = PageKind::CoherentDma;
  DriverMemory memory(config);
  SmmuDriver driver(bus, memory);
  driver.reset();
  IommuDomains domains(driver);
  Master& m = domains.add_master(master(0x50));
  domains.attach(m, domains.create(DomainType::Stage1));
  const HandoverRecord record = domains.preserve({&m});
  ASSERT_EQ(record.not_preserved.size(), 1u);
  EXPECT_EQ(record.not_preserved[0].use, PageUse::CdTableL1);
  EXPECT_EQ(record.pages(PageUse::CdTableL1), 0u);
}

TEST(LiveUpdate, AMalformedRecordNamesTheKeyPath) {
  LiveUpdate lu;
  nlohmann::json j = lu.domains->preserve(lu.preserved).to_json();
  const auto error_of = [](const nlohmann::json& bad) {
    try {
      (void)HandoverRecord::from_json(bad);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  nlohmann::json bad = j;
  bad["domains"][1].erase("root");
  EXPECT_NE(error_of(bad).find("domains[1].root: missing"), std::string::npos) << error_of(bad);
  bad = j;
  bad["ranges"][0]["use"] = "teapot";
  EXPECT_NE(error_of(bad).find("ranges[0].use"), std::string::npos) << error_of(bad);
  bad = j;
  bad["masters"][0]["domain"] = 999;
  EXPECT_NE(error_of(bad).find("masters[0].domain"), std::string::npos) << error_of(bad);
  bad = j;
  bad["version"] = 7;
  EXPECT_NE(error_of(bad).find("version"), std::string::npos) << error_of(bad);
  EXPECT_NE(error_of(nlohmann::json::array()).find("must be an object"), std::string::npos);
}


// kdump: the crashed kernel did no shutdown; its tables are live and a
// command queue error is latched.
class CrashedBus : public TranslatingBus {
 public:
  using TranslatingBus::TranslatingBus;
  bool service_failure = false;
  std::uint64_t read_register(std::uint64_t offset, unsigned bytes) override {
    const std::uint64_t v = TranslatingBus::read_register(offset, bytes);
    return offset == reg::GERROR && service_failure ? v ^ reg::gerror::SFM_ERR : v;
  }
};

struct Crash {
  explicit Crash(const smmu::Capabilities& caps = mmu700()) : bus(caps) {
    driver = std::make_unique<SmmuDriver>(bus, *memory);
    driver->reset();
    domains = std::make_unique<IommuDomains>(*driver);
    Master& s1 = domains->add_master(master(kS1));
    Domain& s1_domain = domains->create(DomainType::Stage1);
    s1_domain.map(kIova, kBuffer, k4K);
    domains->attach(s1, s1_domain);
    Master& s2 = domains->add_master(master(kS2));
    Domain& s2_domain = domains->create(DomainType::Stage2);
    s2_domain.map(kIova, kBuffer + 0x10'0000, k4K);
    domains->attach(s2, s2_domain);
    asid = s1_domain.asid();
    vmid = s2_domain.vmid();
    // An illegal command left CMDQ_ERR latched when the kernel died.
    const std::uint64_t cmdq = driver->cmdq_base();
    const std::uint32_t prod = static_cast<std::uint32_t>(bus.read_register(reg::CMDQ_PROD, 4));
    bus.store64(cmdq + (prod & 0xff) * 16, 0xff);
    bus.store64(cmdq + (prod & 0xff) * 16 + 8, 0);
    bus.write_register(reg::CMDQ_PROD, prod + 1, 4);
    domains->forget();
    domains.reset();
    driver.reset();
    memory = std::make_unique<DriverMemory>();
  }
  CrashedBus bus;
  std::unique_ptr<DriverMemory> memory = std::make_unique<DriverMemory>();
  std::unique_ptr<SmmuDriver> driver;
  std::unique_ptr<IommuDomains> domains;
  std::uint16_t asid = 0, vmid = 0;
};

TEST(KdumpAdoption, AdoptsTheLiveTableAndRestartsTheCommandQueueAfterALatchedError) {
  Crash crash;
  const std::uint32_t latched = static_cast<std::uint32_t>(crash.bus.read_register(reg::GERROR, 4) ^
                                                           crash.bus.read_register(reg::GERRORN, 4));
  ASSERT_NE(latched & reg::gerror::CMDQ_ERR, 0u) << "the planted error";
  crash.bus.writes.clear();
  SmmuDriver driver(crash.bus, *crash.memory);
  const KdumpAdoption outcome = driver.adopt_after_crash();
  ASSERT_TRUE(outcome.adopted) << outcome.reason;
  EXPECT_EQ(outcome.live_streams, (std::vector<std::uint32_t>{kS1, kS2}));
  for (std::uint64_t offset : {reg::CR1, reg::CR2, reg::STRTAB_BASE, reg::STRTAB_BASE_CFG, reg::GBPA}) {
    EXPECT_EQ(std::count(crash.bus.writes.begin(), crash.bus.writes.end(), offset), 0) << "wrote " << offset;
  }
  EXPECT_EQ(crash.bus.read_register(reg::GERROR, 4), crash.bus.read_register(reg::GERRORN, 4)) << "acknowledged";
  EXPECT_NO_THROW(driver.sync()) << "the command queue runs again";
  EXPECT_TRUE(crash.bus.translate(kS1, kIova).ok()) << "live devices keep their STEs";
  EXPECT_TRUE(crash.bus.translate(kS2, kIova).ok());
  IommuDomains domains(driver);
  domains.reserve_live_identifiers();
  EXPECT_NE(domains.create(DomainType::Stage1).asid(), crash.asid) << "the crashed kernel's ASID stays reserved";
  EXPECT_NE(domains.create(DomainType::Stage2).vmid(), crash.vmid);
}

TEST(KdumpAdoption, FallsBackToAFullResetWithTheReason) {
  {
    smmu::Capabilities caps = mmu700();
    caps.coherent_access = false;
    Crash crash(caps);
    SmmuDriver driver(crash.bus, *crash.memory);
    const KdumpAdoption outcome = driver.adopt_after_crash();
    EXPECT_FALSE(outcome.adopted);
    EXPECT_NE(outcome.reason.find("COHACC"), std::string::npos) << outcome.reason;
    EXPECT_FALSE(crash.bus.translate(kS1, kIova).ok()) << "a full reset: every stream aborts";
    EXPECT_NO_THROW(driver.sync());
  }
  {
    Crash crash;
    crash.bus.service_failure = true;
    SmmuDriver driver(crash.bus, *crash.memory);
    const KdumpAdoption outcome = driver.adopt_after_crash();
    EXPECT_FALSE(outcome.adopted);
    EXPECT_NE(outcome.reason.find("SFM_ERR"), std::string::npos) << outcome.reason;
  }
  {
    Crash crash;
    crash.bus.write_register(reg::CR0, 0, 4);
    SmmuDriver driver(crash.bus, *crash.memory);
    const KdumpAdoption outcome = driver.adopt_after_crash();
    EXPECT_FALSE(outcome.adopted);
    EXPECT_NE(outcome.reason.find("SMMUEN"), std::string::npos) << outcome.reason;
  }
}

}  // namespace
}  // namespace smmuv3tlm::driver
