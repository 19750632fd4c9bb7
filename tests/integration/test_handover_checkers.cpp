// Planted bugs around a live update with DMA flowing: each is flagged by the
// checker that owns its rule, and by no other.
//   - a CD table allocated as coherent-dma (not preserved): scrubbed-fetch;
//   - a 32-bit PTE update (two halves): torn-entry;
//   - an STE rewritten qword by qword with one sync: torn-entry;
//   - the new driver reusing a live ASID: id-collision;
//   - CR1 written with SMMUEN=1 after adoption: adoption-rule.
#include <gtest/gtest.h>

#include <set>

#include "models/smmu/arch/registers.h"
#include "platforms/lib/reference_platform.h"
#include "tests/integration/report_capture.h"

namespace smmuv3tlm::testing {
namespace {

using driver::DomainType;
using platform::ReferencePlatform;
using platform::ReferencePlatformConfig;

constexpr std::uint64_t kBytes = 16384;

ReferencePlatformConfig config() {
  ReferencePlatformConfig c;
  c.devices = {{DomainType::Stage1, 0}, {DomainType::Stage2, 0}, {DomainType::Nested, 0}, {DomainType::Stage1, 0}};
  c.bytes_per_device = kBytes;
  c.monitor_dma = true;
  c.fault_after_unmap = false;
  c.quantum_ns = 50;
  return c;
}

void start_streaming(ReferencePlatform& p, int reads = 2000) {
  for (unsigned i = 0; i < p.engines().size(); ++i) {
    platform::Engine& e = p.engines()[i];
    const std::vector<std::uint8_t> data = ReferencePlatform::pattern(i, kBytes);
    e.master->program_write(e.dma_address, data);
    for (int r = 0; r < reads; ++r) e.master->program_read(e.dma_address + static_cast<std::uint64_t>(r % 64) * 256, 256);
  }
}

void sync_tlb(ReferencePlatform& p) {
  smmu::Command tlbi;
  tlbi.opcode = smmu::CommandOpcode::TLBI_NSNH_ALL;
  p.driver().issue({tlbi});
}

// Runs `plant` on the CPU after a live update of devices 0-2 (or, with
// `before_update`, instead of it), then checks the findings.
void expect_only(const char* checker, const std::function<void(ReferencePlatform&)>& plant,
                 ReferencePlatformConfig c = config(), bool before_update = false) {
  ReportCapture reports;  // the planted bugs make the SMMU and the masters complain; that is expected
  ReferencePlatform platform("platform", c, [&](ReferencePlatform& p) {
    p.setup_devices();
    start_streaming(p);
    sc_core::wait(sc_core::sc_time(3, sc_core::SC_US));
    if (before_update) plant(p);
    p.live_update({0, 1, 2});
    sc_core::wait(sc_core::sc_time(3, sc_core::SC_US));
    if (!before_update) plant(p);
    p.wait_for_engines();
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  const std::vector<handover::Finding> findings = platform.findings();
  EXPECT_FALSE(findings.empty()) << checker << " did not fire";
  for (const handover::Finding& f : findings) EXPECT_EQ(f.checker, checker) << f.describe();
}

TEST(HandoverCheckers, ACdTableInCoherentDmaMemoryIsAScrubbedFetch) {
  ReferencePlatformConfig c = config();
  c.driver_memory.kind_of[driver::PageUse::CdTableL1] = driver::PageKind::CoherentDma;
  expect_only("scrubbed-fetch", [](ReferencePlatform&) {}, c);
}

TEST(HandoverCheckers, PteStoresNotCleanedOnANonCoherentSmmuAreMissingCleans) {
  ReferencePlatformConfig c = config();
  c.smmu.capabilities.coherent_access = false;
  c.driver.skip_pte_clean = true;
  expect_only("missing-clean", [](ReferencePlatform& p) {
    // A new mapping whose PTEs stay dirty in the CPU cache, used at once.
    platform::Engine& e = p.engines()[0];
    p.domain(0).map(e.dma_address + 0x10'0000, e.buffer, 4096);
    std::uint8_t buffer[8];
    (void)e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address + 0x10'0000, buffer, sizeof buffer);
  }, c);
}

TEST(HandoverCheckers, AThirtyTwoBitPteUpdateTears) {
  expect_only("torn-entry", [](ReferencePlatform& p) {
    platform::Engine& e = p.engines()[0];
    const std::uint64_t pte = *p.domain(0).page_table()->leaf_address(e.dma_address);
    const std::uint64_t old_value = p.driver().load_table_word(pte);
    // Read-only (AP[2]) in the low half, a software bit in the high half:
    // harmless either way, but the first 32-bit store makes a mix of both.
    const std::uint64_t new_value = old_value ^ (1ull << 7) ^ (1ull << 55);
    p.cpu().store32(pte, static_cast<std::uint32_t>(new_value));
    p.cpu().store32(pte + 4, static_cast<std::uint32_t>(new_value >> 32));
    sync_tlb(p);
  });
}

TEST(HandoverCheckers, AnSteRewrittenQwordByQwordTears) {
  expect_only("torn-entry", [](ReferencePlatform& p) {
    const std::uint32_t sid = platform::kFirstStreamId + 1;  // the S2 device
    const std::uint64_t ste = p.driver().ste_address(sid);
    const smmu::EntryWords abort = driver::SmmuDriver::abort_ste();
    for (unsigned q = 8; q-- > 0;) p.driver().store_table_word(ste + 8 * q, abort[q]);
    smmu::Command cfgi;
    cfgi.opcode = smmu::CommandOpcode::CFGI_STE;
    cfgi.stream_id = sid;
    cfgi.leaf = true;
    p.driver().issue({cfgi});
  });
}

TEST(HandoverCheckers, TheNewDriverReusingALiveAsidCollides) {
  expect_only("id-collision", [](ReferencePlatform& p) {
    driver::Domain& adopted = p.domain(0);
    driver::DomainOptions options;
    options.forced_asid = adopted.asid();
    driver::Domain& reused = p.domains().create(DomainType::Stage1, options);
    platform::Engine& e = p.engines()[3];  // the device that was not preserved
    reused.map(e.dma_address, e.buffer, kBytes);
    driver::MasterConfig mc;
    mc.stream_ids = {e.stream_id};
    p.domains().attach(p.domains().add_master(mc), reused);
    std::uint8_t buffer[8];
    (void)e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address, buffer, sizeof buffer);
    std::uint8_t other[8];
    (void)p.engines()[0].master->transfer(tlm::TLM_READ_COMMAND, p.engines()[0].dma_address, other, sizeof other);
  });
}

TEST(HandoverCheckers, Cr1WrittenWithSmmuenSetBreaksTheAdoptionRules) {
  expect_only("adoption-rule", [](ReferencePlatform& p) { p.cpu().write_register(smmu::reg::CR1, 0xd75, 4); });
}

}  // namespace
}  // namespace smmuv3tlm::testing
