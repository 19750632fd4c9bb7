#include "smmuv3tlm/platforms/lib/handover_scenarios.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::platform {

namespace {

using driver::DomainType;
using handover::Phase;

constexpr std::uint64_t kBytes = 16384;
constexpr unsigned kReads = 6000;  // enough to keep DMA flowing through every phase

DeviceSpec dev(DomainType type) { return {type, 0}; }

std::vector<DeviceSpec> mixed() {
  return {dev(DomainType::Stage1), dev(DomainType::Stage2), dev(DomainType::Nested), dev(DomainType::Stage1)};
}

// Every TLB entry gone: the non-hypervisor ones, and with E2H (IDR0.HYP)
// the EL2 regime's too, which TLBI_NSNH_ALL leaves alone.
void sync_tlb(ReferencePlatform& p) {
  smmu::Command nsnh;
  nsnh.opcode = smmu::CommandOpcode::TLBI_NSNH_ALL;
  std::vector<smmu::Command> commands = {nsnh};
  if (p.driver().features().hyp) {
    smmu::Command el2;
    el2.opcode = smmu::CommandOpcode::TLBI_EL2_ALL;
    commands.push_back(el2);
  }
  p.driver().issue(commands);
}

void touch(ReferencePlatform& p, unsigned engine, std::uint64_t offset = 0) {
  std::uint8_t buffer[8];
  Engine& e = p.engines()[engine];
  (void)e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address + offset, buffer, sizeof buffer);
}

HandoverScenario scenario(std::string name, std::string description,
                          std::function<void(ReferencePlatformConfig&)> configure, std::vector<unsigned> preserve) {
  HandoverScenario h;
  h.name = std::move(name);
  h.description = std::move(description);
  h.configure = std::move(configure);
  h.preserve = std::move(preserve);
  return h;
}

std::vector<HandoverScenario> build() {
  std::vector<HandoverScenario> s;
  const auto devices = [](std::vector<DeviceSpec> d) {
    return [d](ReferencePlatformConfig& c) { c.devices = d; };
  };
  s.push_back(scenario("s2", "a stage-2 device preserved, another device not", devices({dev(DomainType::Stage2),
                                                                                 dev(DomainType::Stage1)}),
               {0}));
  s.push_back(scenario("s1", "a stage-1 device preserved with its CD table", devices({dev(DomainType::Stage1),
                                                                               dev(DomainType::Stage1)}),
               {0}));
  s.push_back(scenario("nested", "a nested device: STE and nest-parent S2 kept, the guest's CD table in its RAM",
               devices({dev(DomainType::Nested), dev(DomainType::Stage1)}), {0}));
  s.push_back(scenario("mixed", "S1, S2 and nested preserved, a fourth device aborted", devices(mixed()), {0, 1, 2}));
  s.push_back(scenario("disable-s1", "disable_s1: both DMA domains forced to stage 2, one preserved",
               [](ReferencePlatformConfig& c) {
                 c.devices = {dev(DomainType::Stage1), dev(DomainType::Stage1)};
                 c.driver.disable_s1 = true;
               },
               {0}));
  s.push_back(scenario("nest-parent-s2", "instead of disable_s1: a nested device over a nest-parent S2",
               devices({dev(DomainType::Nested), dev(DomainType::Stage1)}), {0}));
  s.push_back(scenario("non-coherent", "non-coherent SMMU, every table store cleaned to PoC, dirty lines lost at kexec",
               [](ReferencePlatformConfig& c) {
                 c.devices = mixed();
                 c.smmu.capabilities.coherent_access = false;
                 c.kexec_writes_back_dirty_lines = false;
               },
               {0, 1, 2}));
  HandoverScenario kdump = scenario("kdump", "kdump: the kernel crashes, the crash kernel adopts the live tables",
                         devices(mixed()), {});
  kdump.kdump = true;
  s.push_back(kdump);
  HandoverScenario latched = kdump;
  latched.name = "kdump-latched-gerror";
  latched.description = "kdump with CMDQ_ERR latched at the crash: acknowledged before the command queue restarts";
  latched.before = [](ReferencePlatform& p) {
    p.cpu().quiesce_interrupts();  // the crashed kernel's handler never runs
    const std::uint64_t cmdq = p.driver().cmdq_base();
    const std::uint32_t prod = static_cast<std::uint32_t>(p.cpu().read_register(smmu::reg::CMDQ_PROD, 4));
    const std::uint64_t slot = cmdq + (prod & 0xff) * smmu::kCommandBytes;
    p.cpu().store64(slot, 0xff);  // no such opcode: CERROR_ILL
    p.cpu().store64(slot + 8, 0);
    p.cpu().write_register(smmu::reg::CMDQ_PROD, prod + 1, 4);
    sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
  };
  s.push_back(latched);
  // Updating a live PTE on a non-coherent SMMU the way Will Deacon described:
  // the new value with V=0, clean, then the byte holding V, clean; the SMMU
  // sees the old entry, an invalid one, or the new one, never a mix.
  const auto will_deacon = [](bool clean) {
    return [clean](ReferencePlatform& p) {
      Engine& e = p.engines()[0];
      const std::uint64_t pte = *p.domain(0).page_table()->leaf_address(e.dma_address);
      const std::uint64_t value = p.driver().load_table_word(pte) ^ (1ull << 55);  // a software bit: same mapping
      p.cpu().store64(pte, value & ~std::uint64_t{1});
      if (clean) p.cpu().clean_to_poc(pte, 8);
      p.cpu().store_narrow(pte, value & 0xff, 1);
      if (clean) p.cpu().clean_to_poc(pte, 8);
      sync_tlb(p);
      touch(p, 0);
    };
  };
  HandoverScenario wd = scenario("pte-update-sequence",
                                 "non-coherent SMMU: a live PTE updated by V=0, clean, the valid byte, clean",
                                 [](ReferencePlatformConfig& c) {
                                   c.devices = mixed();
                                   c.smmu.capabilities.coherent_access = false;
                                 },
                                 {0, 1, 2});
  wd.after = will_deacon(true);
  s.push_back(wd);
  // kdump, then each device's driver attaches it to a domain of its own that
  // maps the same buffer: the crashed kernel's STE is replaced by the new
  // one (S1 to S1: only the CD table pointer changes, a hitless update).
  HandoverScenario reattach = scenario("kdump-reattach",
                                       "kdump, then the devices' drivers attach new stage-1 domains while DMA flows",
                                       devices({dev(DomainType::Stage1), dev(DomainType::Stage1)}), {});
  reattach.kdump = true;
  reattach.after = [](ReferencePlatform& p) {
    for (Engine& e : p.engines()) {
      driver::Domain& d = p.domains().create(DomainType::Stage1);
      d.map(e.dma_address, e.buffer, kBytes);
      driver::MasterConfig mc;
      mc.stream_ids = {e.stream_id};
      p.domains().attach(p.domains().add_master(mc), d);
    }
  };
  s.push_back(reattach);
  // Planted bugs.
  HandoverScenario cd_dma = scenario("bug-cd-coherent-dma", "a CD table allocated as coherent-dma is not preserved",
                          [](ReferencePlatformConfig& c) {
                            c.devices = mixed();
                            c.driver_memory.kind_of[driver::PageUse::CdTableL1] = driver::PageKind::CoherentDma;
                          },
                          {0, 1, 2});
  cd_dma.expect = "scrubbed-fetch";
  s.push_back(cd_dma);
  HandoverScenario no_clean = scenario("bug-no-pte-clean", "non-coherent SMMU, PTE stores not cleaned to PoC",
                            [](ReferencePlatformConfig& c) {
                              c.devices = mixed();
                              c.smmu.capabilities.coherent_access = false;
                              c.driver.skip_pte_clean = true;
                            },
                            {0, 1, 2});
  no_clean.after = [](ReferencePlatform& p) {
    Engine& e = p.engines()[0];
    p.domain(0).map(e.dma_address + 0x10'0000, e.buffer, 4096);
    touch(p, 0, 0x10'0000);
  };
  no_clean.expect = "missing-clean";
  s.push_back(no_clean);
  HandoverScenario wd_bug = wd;
  wd_bug.name = "bug-pte-update-no-clean";
  wd_bug.description = "the same PTE sequence without the cleans";
  wd_bug.after = will_deacon(false);
  wd_bug.expect = "missing-clean";
  s.push_back(wd_bug);
  HandoverScenario cmdq_latched = latched;
  cmdq_latched.name = "bug-cmdq-restart-latched";
  cmdq_latched.description = "kdump adoption restarting the command queue with CMDQ_ERR still latched";
  cmdq_latched.configure = [](ReferencePlatformConfig& c) {
    c.devices = mixed();
    c.driver.skip_gerror_ack_on_adopt = true;
  };
  cmdq_latched.expect = "adoption-rule";
  s.push_back(cmdq_latched);
  HandoverScenario ste_changed = scenario("bug-ste-changed-in-kexec",
                                          "a preserved STE changed behind the kernels' backs during kexec",
                                          devices(mixed()), {0, 1, 2});
  ste_changed.before = [](ReferencePlatform& p) {
    const std::uint64_t ste = p.driver().ste_address(kFirstStreamId + 1);
    p.set_record_tamper([&p, ste](nlohmann::json&) {
      // Not the driver: memory itself changes (a stray write during kexec).
      const std::uint64_t word = p.memory().read64(ste + 16);
      p.memory().write64(ste + 16, (word & ~std::uint64_t{0xffff}) | 99);  // S2VMID
    });
  };
  ste_changed.expect = "adoption-rule";
  s.push_back(ste_changed);
  HandoverScenario torn_pte = scenario("bug-torn-pte", "a live PTE updated with two 32-bit stores", devices(mixed()), {0, 1, 2});
  torn_pte.after = [](ReferencePlatform& p) {
    Engine& e = p.engines()[0];
    const std::uint64_t pte = *p.domain(0).page_table()->leaf_address(e.dma_address);
    const std::uint64_t value = p.driver().load_table_word(pte) ^ (1ull << 7) ^ (1ull << 55);
    p.cpu().store_narrow(pte, value & 0xffff'ffff, 4);
    p.cpu().store_narrow(pte + 4, value >> 32, 4);
    sync_tlb(p);
  };
  torn_pte.expect = "torn-entry";
  s.push_back(torn_pte);
  HandoverScenario torn_ste = scenario("bug-torn-ste", "a live STE rewritten qword by qword with one sync", devices(mixed()),
                            {0, 1, 2});
  torn_ste.after = [](ReferencePlatform& p) {
    const std::uint32_t sid = kFirstStreamId + 1;
    const std::uint64_t ste = p.driver().ste_address(sid);
    const smmu::EntryWords abort = driver::SmmuDriver::abort_ste();
    for (unsigned q = 8; q-- > 0;) p.driver().store_table_word(ste + 8 * q, abort[q]);
    smmu::Command cfgi;
    cfgi.opcode = smmu::CommandOpcode::CFGI_STE;
    cfgi.stream_id = sid;
    cfgi.leaf = true;
    p.driver().issue({cfgi});
  };
  torn_ste.expect = "torn-entry";
  s.push_back(torn_ste);
  HandoverScenario asid = scenario("bug-asid-reuse", "the new driver gives a live ASID to a new domain", devices(mixed()),
                        {0, 1, 2});
  asid.after = [](ReferencePlatform& p) {
    driver::DomainOptions options;
    options.forced_asid = p.domain(0).asid();
    driver::Domain& reused = p.domains().create(DomainType::Stage1, options);
    Engine& e = p.engines()[3];
    reused.map(e.dma_address, e.buffer, kBytes);
    driver::MasterConfig mc;
    mc.stream_ids = {e.stream_id};
    p.domains().attach(p.domains().add_master(mc), reused);
    touch(p, 3);
    touch(p, 0);
  };
  asid.expect = "id-collision";
  s.push_back(asid);
  HandoverScenario cr1 = scenario("bug-cr1-with-smmuen", "the new driver writes CR1 with SMMUEN=1", devices(mixed()), {0, 1, 2});
  cr1.after = [](ReferencePlatform& p) { p.cpu().write_register(smmu::reg::CR1, 0xd75, 4); };
  cr1.expect = "adoption-rule";
  s.push_back(cr1);
  // Unsupported handovers: refused, or kdump falling back, with the reason.
  HandoverScenario pasids = scenario("refuse-pasids", "a device with a PASID in use cannot be preserved",
                                     [](ReferencePlatformConfig& c) {
                                       c.devices = {DeviceSpec{DomainType::Stage1, 1}, dev(DomainType::Stage2)};
                                     },
                                     {0, 1});
  pasids.expect = "refused";
  s.push_back(pasids);
  HandoverScenario changed_cfg = scenario("refuse-changed-strtab-cfg",
                                          "the record's STRTAB_BASE_CFG no longer matches the hardware",
                                          devices(mixed()), {0, 1, 2});
  changed_cfg.before = [](ReferencePlatform& p) {
    p.set_record_tamper([](nlohmann::json& record) {
      const std::uint64_t cfg = std::stoull(record.at("strtab_base_cfg").get<std::string>(), nullptr, 0);
      record["strtab_base_cfg"] = fmt::format("{:#x}", cfg ^ 1);
    });
  };
  changed_cfg.expect = "refused";
  s.push_back(changed_cfg);
  HandoverScenario kdump_nc = scenario("kdump-non-coherent", "kdump on a non-coherent SMMU: a full reset instead",
                                       [](ReferencePlatformConfig& c) {
                                         c.devices = mixed();
                                         c.smmu.capabilities.coherent_access = false;
                                       },
                                       {});
  kdump_nc.kdump = true;
  kdump_nc.expect = "refused";
  s.push_back(kdump_nc);
  for (handover::SmmuReset reset : {handover::SmmuReset::Warm, handover::SmmuReset::Cold}) {
    HandoverScenario r = scenario(fmt::format("smmu-{}-reset", handover::to_string(reset)),
                       fmt::format("an SMMU {} reset during kexec: SMMUEN clear, nothing to adopt",
                                   handover::to_string(reset)),
                       [reset](ReferencePlatformConfig& c) {
                         c.devices = mixed();
                         c.handover_smmu_reset = reset;
                       },
                       {0, 1, 2});
    r.expect = "adoption-fails";
    s.push_back(r);
  }
  return s;
}

// Failed transactions split by whether the driver saw an event for their
// stream in that phase (faulted) or not (aborted: abort STE, GBPA, a
// terminated stream without a record).
nlohmann::json dma_json(const handover::PhaseDma& d, std::uint64_t events) {
  const std::uint64_t faulted = std::min(d.failed, events);
  return {{"completed", d.completed}, {"failed", d.failed}, {"faulted", faulted}, {"aborted", d.failed - faulted},
          {"longest_gap_ns", d.longest_gap.to_seconds() * 1e9}};
}

}  // namespace

const std::vector<HandoverScenario>& handover_scenarios() {
  static const std::vector<HandoverScenario> scenarios = build();
  return scenarios;
}

const HandoverScenario* find_handover_scenario(const std::string& name) {
  for (const HandoverScenario& s : handover_scenarios()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

nlohmann::json run_handover_scenario(const HandoverScenario& scenario) {
  ReferencePlatformConfig config;
  config.bytes_per_device = kBytes;
  config.monitor_dma = true;
  config.fault_after_unmap = false;
  config.quantum_ns = 50;
  if (scenario.configure) scenario.configure(config);
  std::string error;
  std::vector<std::string> refused;
  driver::KdumpAdoption kdump;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    p.setup_devices();
    p.stream_repeatedly(kBytes, kReads);
    sc_core::wait(sc_core::sc_time(3, sc_core::SC_US));
    if (scenario.before) scenario.before(p);
    try {
      if (scenario.kdump) {
        kdump = p.crash_and_adopt();
      } else {
        refused = p.live_update(scenario.preserve);
      }
      sc_core::wait(sc_core::sc_time(3, sc_core::SC_US));
      if (scenario.after) scenario.after(p);
    } catch (const std::exception& e) {
      // The first line: a SystemC report adds "In file: ..." lines.
      error = e.what();
      error = error.substr(0, error.find('\n'));
    }
    p.wait_for_engines();
  });
  sc_core::sc_start();

  nlohmann::json j;
  j["scenario"] = scenario.name;
  j["description"] = scenario.description;
  j["expect"] = scenario.expect;
  j["finished"] = platform.finished();
  j["run_error"] = platform.error();
  j["adoption_error"] = error;
  j["refused"] = refused;
  if (scenario.kdump) j["kdump"] = {{"adopted", kdump.adopted}, {"reason", kdump.reason},
                                    {"live_streams", kdump.live_streams.size()}};
  const driver::HandoverRecord& record = platform.handover_record();
  nlohmann::json preserved = nlohmann::json::object();
  for (const driver::PreservedRange& r : record.ranges) {
    nlohmann::json& u = preserved[driver::to_string(r.use)];
    if (u.is_null()) u = {{"pages", 0}, {"bytes", std::uint64_t{0}}};
    u["pages"] = u["pages"].get<std::uint64_t>() + 1;
    u["bytes"] = u["bytes"].get<std::uint64_t>() + r.bytes;
  }
  j["preserved"] = preserved;
  nlohmann::json lost = nlohmann::json::array();
  for (const driver::PreservedRange& r : record.not_preserved) lost.push_back({{"use", driver::to_string(r.use)},
                                                                              {"bytes", r.bytes}});
  j["not_preserved"] = lost;
  j["bytes_scrubbed"] = platform.handover().bytes_scrubbed();
  j["events_by_type"] = platform.report().events_by_type;
  std::set<unsigned> kept(scenario.preserve.begin(), scenario.preserve.end());
  if (scenario.kdump) {
    for (unsigned d = 0; d < config.devices.size(); ++d) kept.insert(d);
  }
  nlohmann::json phases = nlohmann::json::object();
  std::uint64_t preserved_failures = 0;
  for (Phase phase : handover::kAllPhases) {
    const std::size_t i = static_cast<std::size_t>(phase);
    const PhaseCounters& c = platform.phase_counters()[i];
    nlohmann::json names = nlohmann::json::array();
    for (std::uint64_t offset : c.registers_written) {
      const char* n = smmu::register_name(offset);
      names.push_back(n != nullptr ? n : fmt::format("{:#x}", offset));
    }
    handover::PhaseDma kept_dma, other_dma;
    std::uint64_t kept_events = 0, other_events = 0;
    for (const auto& [sid, n] : c.events_by_stream) {
      const bool is_kept = sid >= kFirstStreamId && kept.count(sid - kFirstStreamId) != 0;
      (is_kept ? kept_events : other_events) += n;
    }
    for (unsigned e = 0; e < platform.engines().size(); ++e) {
      const handover::PhaseDma& d = platform.monitor(e)->phase(phase);
      handover::PhaseDma& into = kept.count(platform.engines()[e].device) != 0 ? kept_dma : other_dma;
      into.completed += d.completed;
      into.failed += d.failed;
      into.longest_gap = std::max(into.longest_gap, d.longest_gap);
    }
    preserved_failures += kept_dma.failed;
    phases[handover::to_string(phase)] = {{"duration_ns", c.duration.to_seconds() * 1e9},
                                          {"register_writes", c.register_writes},
                                          {"registers_written", names},
                                          {"commands", c.commands},
                                          {"walks", c.walks},
                                          {"tlb_misses", c.tlb_misses},
                                          {"events", c.events},
                                          {"dma_preserved", dma_json(kept_dma, kept_events)},
                                          {"dma_other", dma_json(other_dma, other_events)}};
  }
  j["phases"] = phases;
  nlohmann::json findings = nlohmann::json::array();
  std::set<std::string> checkers;
  for (const handover::Finding& f : platform.findings()) {
    findings.push_back({{"checker", f.checker}, {"text", f.describe()}});
    checkers.insert(f.checker);
  }
  j["findings"] = findings;
  std::uint64_t verify_failures = 0;
  for (const Engine& e : platform.engines()) {
    if (kept.count(e.device) != 0) verify_failures += e.master->statistics().verify_failures;
  }
  j["preserved_failures"] = preserved_failures;
  j["preserved_verify_failures"] = verify_failures;
  bool ok = platform.finished();
  if (scenario.expect == "clean") {
    ok = ok && findings.empty() && preserved_failures == 0 && verify_failures == 0 && error.empty() &&
         refused.empty() && (!scenario.kdump || kdump.adopted);
  } else if (scenario.expect == "adoption-fails") {
    ok = ok && !error.empty();
  } else if (scenario.expect == "refused") {
    ok = ok && (!error.empty() || (scenario.kdump && !kdump.adopted && !kdump.reason.empty()));
  } else {
    ok = ok && checkers.size() == 1 && *checkers.begin() == scenario.expect;
  }
  j["ok"] = ok;
  return j;
}

std::string handover_report_table(const std::vector<nlohmann::json>& results) {
  std::ostringstream out;
  out << "| scenario | expect | ok | preserved (allocations/size by type) | shutdown cmds | adopt: regs written, cmds | "
         "preserved DMA failed (shutdown/kexec/adopt/finish) | longest gap us | walks after adoption | events from shutdown on | "
         "findings |\n"
      << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const nlohmann::json& r : results) {
    if (!r.contains("phases")) {
      out << fmt::format("| {} | {} | no | run failed: {} | | | | | | | |\n", r.value("scenario", "?"), r.value("expect", "?"),
                         r.value("run_error", "?"));
      continue;
    }
    std::string preserved;
    for (const auto& [use, v] : r.at("preserved").items()) {
      const std::uint64_t b = v.at("bytes").get<std::uint64_t>();
      const std::string size = b < 1024 ? fmt::format("{} B", b) : fmt::format("{} KiB", b / 1024);
      preserved += fmt::format("{}{} {}/{}", preserved.empty() ? "" : ", ", use, v.at("pages").get<std::uint64_t>(), size);
    }
    const nlohmann::json& ph = r.at("phases");
    double gap = 0;
    for (const auto& [name, p] : ph.items()) gap = std::max(gap, p.at("dma_preserved").at("longest_gap_ns").get<double>());
    const auto failed = [&](const char* phase) { return ph.at(phase).at("dma_preserved").at("failed").get<std::uint64_t>(); };
    std::string findings;
    std::map<std::string, unsigned> by_checker;
    for (const nlohmann::json& f : r.at("findings")) ++by_checker[f.at("checker").get<std::string>()];
    for (const auto& [checker, n] : by_checker) findings += fmt::format("{}{} {}", findings.empty() ? "" : ", ", checker, n);
    if (!r.at("adoption_error").get<std::string>().empty()) {
      findings += fmt::format("{}error: {}", findings.empty() ? "" : "; ", r.at("adoption_error").get<std::string>());
    }
    if (r.contains("kdump") && !r.at("kdump").at("adopted").get<bool>()) {
      findings += fmt::format("{}kdump fell back to a full reset: {}", findings.empty() ? "" : "; ",
                              r.at("kdump").at("reason").get<std::string>());
    }
    std::uint64_t events = 0;
    for (const char* phase : {"shutdown", "kexec", "adopt", "finish"}) events += ph.at(phase).at("events").get<std::uint64_t>();
    out << fmt::format("| {} | {} | {} | {} | {} | {}, {} | {}/{}/{}/{} | {:.2f} | {} | {} | {} |\n",
                       r.at("scenario").get<std::string>(), r.at("expect").get<std::string>(),
                       r.at("ok").get<bool>() ? "yes" : "NO", preserved.empty() ? "-" : preserved,
                       ph.at("shutdown").at("commands").get<std::uint64_t>(),
                       ph.at("adopt").at("registers_written").size(), ph.at("adopt").at("commands").get<std::uint64_t>(),
                       failed("shutdown"), failed("kexec"), failed("adopt"), failed("finish"), gap / 1000.0,
                       ph.at("finish").at("walks").get<std::uint64_t>() + ph.at("adopt").at("walks").get<std::uint64_t>(),
                       events, findings.empty() ? "none" : findings);
  }
  return out.str();
}

}  // namespace smmuv3tlm::platform
