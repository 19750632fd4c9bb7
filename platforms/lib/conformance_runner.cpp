#include "smmuv3tlm/platforms/lib/conformance_runner.h"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <systemc>
#include <tlm>

#include "smmuv3tlm/models/pcie/dma_master.h"
#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/platforms/lib/smmu_system.h"

namespace smmuv3tlm::conformance {

std::size_t CaseVerdict::agreeing() const {
  return static_cast<std::size_t>(
      std::count_if(probes.begin(), probes.end(), [](const ProbeVerdict& p) { return p.agrees; }));
}

namespace {

using smmu::EventRecord;
using smmu::mask_bits;


std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

std::string describe_record(const EventRecord& r) {
  return fmt::format("event {:#04x} {} sid={:#x} ssv={} ssid={:#x} input_addr={:#x} rnw={} s2={} class={} ipa={:#x} fetch_addr={:#x}",
                     static_cast<unsigned>(r.id), smmu::to_string(r.id), r.stream_id, r.ssv ? 1 : 0, r.substream_id, r.input_addr,
                     r.rnw ? 1 : 0, r.s2 ? 1 : 0, static_cast<unsigned>(r.fault_class), r.ipa, r.fetch_addr);
}

std::string describe_expectation(const Expectation& e) {
  if (e.result == ExpectedResult::Ok) return "ok pa=" + hex(e.pa.value_or(0));
  std::string s = e.event ? fmt::format("fault event {:#04x}", *e.event) : std::string("fault, no event");
  if (e.input_addr) s += " input_addr=" + hex(*e.input_addr);
  if (e.rnw) s += fmt::format(" rnw={}", *e.rnw ? 1 : 0);
  if (e.ssv) s += fmt::format(" ssv={}", *e.ssv ? 1 : 0);
  if (e.s2) s += fmt::format(" s2={}", *e.s2 ? 1 : 0);
  if (e.event_class) s += fmt::format(" class={}", *e.event_class);
  if (e.ipa) s += " ipa=" + hex(*e.ipa);
  if (e.fetch_addr) s += " fetch_addr=" + hex(*e.fetch_addr);
  if (e.stream_id) s += fmt::format(" sid={:#x}", *e.stream_id);
  if (e.ssid) s += fmt::format(" ssid={:#x}", *e.ssid);
  return s;
}

std::string describe_outcomes(const std::vector<Expectation>& outcomes) {
  std::string s;
  for (const Expectation& e : outcomes) s += (s.empty() ? "" : " | any of ") + describe_expectation(e);
  return s;
}

// Which named fields of the expectation the record fails; empty when it matches.
std::string record_mismatches(const Expectation& e, const EventRecord& r, std::uint32_t stream_id) {
  std::string bad;
  if (e.event && static_cast<std::uint8_t>(r.id) != *e.event) bad += " event";
  if (r.stream_id != e.stream_id.value_or(stream_id)) bad += " stream_id";
  if (e.input_addr && r.input_addr != *e.input_addr) bad += " input_addr";
  if (e.rnw && r.rnw != *e.rnw) bad += " rnw";
  if (e.ssv && r.ssv != *e.ssv) bad += " ssv";
  if (e.ssid && r.substream_id != *e.ssid) bad += " ssid";
  if (e.s2 && r.s2 != *e.s2) bad += " s2";
  if (e.event_class && static_cast<unsigned>(r.fault_class) != *e.event_class) bad += " class";
  // The IPA field holds bits 51:12; FetchAddr bits 51:3.
  if (e.ipa && r.ipa != (*e.ipa & mask_bits(51, 12))) bad += " ipa";
  if (e.fetch_addr && r.fetch_addr != (*e.fetch_addr & mask_bits(51, 3))) bad += " fetch_addr";
  return bad;
}

// A case that stopped (or never started) still reports every probe: those it
// did not reach disagree, so "3/3 agree" can never stand for a 10-probe case.
// A verdict naming the probe and what it expects; agreement and what was
// observed are the caller's.
ProbeVerdict verdict_for(const Probe& probe) {
  ProbeVerdict v;
  v.index = probe.index;
  v.read = probe.op == ProbeOp::Read;
  v.iova = probe.iova;
  v.why = probe.why;
  v.expected = describe_outcomes(probe.outcomes);
  return v;
}

void add_probes_not_run(const ConformanceCase& c, CaseVerdict& verdict) {
  for (std::size_t i = verdict.probes.size(); i < c.probes.size(); ++i) {
    ProbeVerdict v = verdict_for(c.probes[i]);
    v.observed = "not run: the case stopped";
    verdict.probes.push_back(std::move(v));
  }
}

class CasePlatform : public platform::SmmuSystem {
 public:
  SC_HAS_PROCESS(CasePlatform);

  CasePlatform(const sc_core::sc_module_name& name, const ConformanceCase& c, const smmu::Smmuv3Config& smmu_config,
               CaseVerdict& verdict)
      : platform::SmmuSystem(name, smmu_config), master_("master", master_config(c)), case_(c), verdict_(verdict) {
    // The constructor must not throw once processes are registered (a half-built
    // module would stay in the kernel): a failure here is reported by run().
    try {
      for (const RamRange& r : c.ram) memory.add_region(r.base, r.size);
      const FillWindow fill = c.fill;
      memory.set_untouched_fill([fill](std::uint64_t pa, std::uint8_t* data, std::size_t len) {
        for (std::size_t i = 0; i < len; ++i) data[i] = fill_byte(fill, pa + i);
      });
      for (const MemoryRun& run : c.memory) {
        for (std::size_t i = 0; i < run.qwords.size(); ++i) memory.write64(run.pa + 8 * i, run.qwords[i]);
      }
    } catch (const std::exception& error) {
      setup_error_ = error.what();
    }
    master_.socket.bind(smmu.upstream(0));
    record_downstream_addresses(downstream_addresses_);
    SC_THREAD(run);
  }

 private:
  static pcie::DmaMasterConfig master_config(const ConformanceCase& c) {
    pcie::DmaMasterConfig config;
    config.stream_id = c.stream_id;
    config.address_bits = 64;  // IOVAs use the whole 64-bit space
    return config;
  }

  platform::SmmuSetup setup() const {
    platform::SmmuSetup setup;
    const SmmuRegisters& r = case_.registers;
    setup.cr1 = static_cast<std::uint32_t>(r.cr1);
    setup.cr2 = static_cast<std::uint32_t>(r.cr2);
    setup.strtab_base = r.strtab_base;
    setup.strtab_base_cfg = static_cast<std::uint32_t>(r.strtab_base_cfg);
    setup.cmdq_base = r.cmdq_base;
    setup.eventq_base = r.eventq_base;
    if (r.gbpa) setup.gbpa = static_cast<std::uint32_t>(*r.gbpa);
    setup.enable = case_.smmuen;
    return setup;
  }

  void run_steps(const Probe& probe) {
    for (std::size_t index = 0; index < probe.before.size(); ++index) {
      const ProbeStep& step = probe.before[index];
      if (const auto* stores = std::get_if<CpuStores>(&step)) {
        // One 8-byte store per word, in order; the SMMU's walks see memory itself (coherent).
        for (std::size_t i = 0; i < stores->words.qwords.size(); ++i) {
          memory.write64(stores->words.pa + 8 * i, stores->words.qwords[i]);
        }
        continue;
      }
      try {
        driver.submit_raw(std::get<CommandBatch>(step).commands);
      } catch (const platform::HostDriverError& error) {
        // Name the step (its position in the file) that stopped the replay.
        const auto position = static_cast<std::size_t>(&probe - case_.probes.data());
        throw platform::HostDriverError(
            fmt::format("probes[{}].before[{}].commands: {}", position, index, error.what()));
      }
    }
  }

  // Whether what happened is `e`. `value` is what a read returned, `written` what a write stored.
  bool agrees_with(const Expectation& e, const Probe& probe, const pcie::DmaResult& dma,
                   const std::vector<EventRecord>& records, std::uint64_t value, std::uint64_t written,
                   std::string& differences) const {
    const bool read = probe.op == ProbeOp::Read;
    if (e.result == ExpectedResult::Ok) {
      const std::uint64_t pa = e.pa.value_or(0);
      const bool reached_pa = records.empty() && downstream_addresses_.size() == 1 && downstream_addresses_[0] == pa;
      // Translated to a PA that is not RAM: the memory system answers with a bus
      // error, which the master sees; the SMMU records nothing.
      if (!memory.is_backed(pa, 8)) return reached_pa && dma.accepted && !dma.ok();
      if (!reached_pa || !dma.ok()) return false;
      return read ? value == memory.read64(pa) : memory.read64(pa) == written;
    }
    if (!dma.accepted || dma.ok() || !downstream_addresses_.empty()) return false;
    if (!e.event) return records.empty();
    if (records.size() != 1) return false;
    differences = record_mismatches(e, records[0], probe.stream_id);
    return differences.empty();
  }

  void run_probe(const Probe& probe) {
    ProbeVerdict v = verdict_for(probe);
    if (probe.invalidate_before) driver.invalidate_all();
    run_steps(probe);
    downstream_addresses_.clear();
    std::array<std::uint8_t, 8> data{};
    const std::uint64_t written = ~probe.iova ^ 0x5a5a5a5a5a5a5a5aull;
    if (!v.read) {
      for (unsigned i = 0; i < 8; ++i) data[i] = static_cast<std::uint8_t>(written >> (8 * i));
    }
    pcie::TransferAttributes attributes;
    attributes.stream_id = probe.stream_id;
    attributes.substream_id = probe.substream_id;
    attributes.privileged = probe.privileged;
    attributes.instruction = probe.instruction;
    const pcie::DmaResult dma = master_.transfer(v.read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND, probe.iova,
                                                 data.data(), 8, attributes);
    std::uint64_t value = 0;
    for (unsigned i = 8; i-- > 0;) value = (value << 8) | data[i];
    const std::vector<EventRecord> records = driver.drain_events();

    std::string observed;
    if (dma.ok()) {
      observed = downstream_addresses_.size() == 1 ? "ok pa=" + hex(downstream_addresses_[0])
                                                   : fmt::format("ok with {} downstream accesses",
                                                                 downstream_addresses_.size());
      if (v.read) observed += " data=" + hex(value);
    } else {
      observed = dma.accepted ? fmt::format("error response {}", static_cast<int>(dma.status)) : "DMA rejected";
      if (!downstream_addresses_.empty()) observed += " from downstream at " + hex(downstream_addresses_[0]);
    }
    for (const EventRecord& r : records) observed += "; " + describe_record(r);

    std::string differences;
    for (const Expectation& e : probe.outcomes) {
      std::string these;
      if (agrees_with(e, probe, dma, records, value, written, these)) {
        v.agrees = true;
        break;
      }
      if (differences.empty()) differences = these;
    }
    if (!v.agrees && !differences.empty()) observed += " (differs in:" + differences + ")";
    v.observed = observed;
    verdict_.probes.push_back(std::move(v));
  }

  void run() {
    if (!setup_error_.empty()) {
      verdict_.error = fmt::format("{}: building its platform failed: {}", case_.source_path, setup_error_);
      add_probes_not_run(case_, verdict_);
      return;
    }
    try {
      driver.reset(setup());
      for (const Probe& probe : case_.probes) run_probe(probe);
    } catch (const std::exception& error) {
      verdict_.error = fmt::format("{}: {}", case_.source_path, error.what());
      add_probes_not_run(case_, verdict_);
    }
  }

  std::string setup_error_;
  pcie::DmaMaster master_;
  const ConformanceCase& case_;
  CaseVerdict& verdict_;
  std::vector<std::uint64_t> downstream_addresses_;
};

}  // namespace

std::vector<CaseVerdict> run_cases(const std::vector<ConformanceCase>& cases, smmu::TimingMode timing) {
  std::vector<CaseVerdict> verdicts(cases.size());
  std::vector<std::unique_ptr<CasePlatform>> platforms;
  std::string simulation_unsafe;  // set when a platform's construction threw
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const ConformanceCase& c = cases[i];
    verdicts[i].name = c.name;
    verdicts[i].file = c.source_path;
    std::string why;
    std::optional<smmu::Capabilities> caps =
        c.smmu_ids ? smmu::Capabilities::from_idrs(c.smmu_ids->idr0, c.smmu_ids->idr1, c.smmu_ids->idr3,
                                                   c.smmu_ids->idr5, c.smmu_ids->aidr, why)
                   : smmu::Capabilities::preset("qemu-virt");
    if (!caps) {
      verdicts[i].error = CaseError{c.source_path, "smmu_id", "the model cannot advertise it: " + why}.to_string();
      add_probes_not_run(c, verdicts[i]);
      continue;
    }
    if (const std::optional<CaseError> problem = replay_problem(c, *caps, memory::SparseMemoryConfig{}.size)) {
      verdicts[i].error = problem->to_string();
      add_probes_not_run(c, verdicts[i]);
      continue;
    }
    smmu::Smmuv3Config config;
    config.capabilities = *caps;
    config.default_stream_ids = {c.stream_id};
    config.timing.mode = timing;
    try {
      platforms.push_back(std::make_unique<CasePlatform>(fmt::format("case_{}", i).c_str(), c, config,
                                                         verdicts[i]));
    } catch (const std::exception& error) {
      // A module that failed half-way may have left processes in the kernel:
      // nothing is simulated then, and every case says why.
      simulation_unsafe = fmt::format("{}: building its platform failed: {}", c.source_path, error.what());
      verdicts[i].error = simulation_unsafe;
      add_probes_not_run(c, verdicts[i]);
      break;
    }
  }
  if (!simulation_unsafe.empty()) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      if (!verdicts[i].error.empty()) continue;
      verdicts[i].name = cases[i].name;
      verdicts[i].file = cases[i].source_path;
      verdicts[i].error = "not run: another case's platform could not be built (" + simulation_unsafe + ")";
      add_probes_not_run(cases[i], verdicts[i]);
    }
    return verdicts;
  }
  if (!platforms.empty()) sc_core::sc_start();
  return verdicts;
}

}  // namespace smmuv3tlm::conformance
