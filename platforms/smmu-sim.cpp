// smmu-sim: the reference platform's main job. The host driver model probes
// and resets the SMMU, gives each PCIe device its domain (by default two
// stage 1, one stage 2, one nested), maps, streams verified DMA, unmaps, and
// checks that one deliberate DMA after unmap faults. Prints a summary;
// --stats FILE writes every statistic as JSON. A configuration error exits 2
// before anything runs; a failed run exits 1.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/platforms/lib/fault_scenarios.h"
#include "smmuv3tlm/platforms/lib/handover_scenarios.h"
#include "smmuv3tlm/platforms/lib/isolation_workload.h"
#include "smmuv3tlm/platforms/lib/perfetto_trace.h"
#include "smmuv3tlm/platforms/lib/reference_platform.h"
#include "smmuv3tlm/platforms/lib/statistics_sampler.h"
#include "smmuv3tlm/platforms/trace/player.h"
#include "smmuv3tlm/models/common/systemc_banner.h"

using namespace smmuv3tlm;

namespace {

std::uint64_t count(const nlohmann::json& stats, const std::string& unit, const char* field) {
  auto it = stats.find(unit);
  if (it == stats.end() || !it->contains(field)) return 0;
  return it->at(field).get<std::uint64_t>();
}

std::string rate(std::uint64_t hits, std::uint64_t misses) {
  const std::uint64_t total = hits + misses;
  if (total == 0) return "n/a (0 lookups)";
  return fmt::format("{:.1f}% ({} / {})", 100.0 * static_cast<double>(hits) / static_cast<double>(total), hits, total);
}

// Runs one scenario in a child process (`option` NAME: one simulation per
// process) and returns its JSON, or an object naming what went wrong.
nlohmann::json run_child(const std::string& self, const char* option, const std::string& scenario) {
  const std::string command = "'" + self + "' " + option + " '" + scenario + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {{"scenario", scenario}, {"run_error", "cannot start " + self}};
  std::string out;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  pclose(pipe);
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {{"scenario", scenario}, {"run_error", "no result"}};
  return j;
}

// A report: each of `names` run in a child process with `option` NAME, the
// results tabulated by `table`, written to `json_file` when given; the exit
// status says whether every result was "ok".
int run_report(const std::string& title, const char* option, const std::vector<std::string>& names,
               const std::function<std::string(const std::vector<nlohmann::json>&)>& table,
               const std::string& json_file, const std::string& all_ok) {
  std::error_code error;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) {
    std::cerr << "smmu-sim: cannot find its own executable: " << error.message() << "\n";
    return EXIT_FAILURE;
  }
  std::vector<nlohmann::json> results;
  bool ok = true;
  for (const std::string& name : names) {
    results.push_back(run_child(self, option, name));
    ok = ok && results.back().value("ok", false);
  }
  std::cout << "smmu-sim " << title << "\n\n" << table(results) << "\n";
  for (const nlohmann::json& r : results) {
    for (const nlohmann::json& f : r.value("findings", nlohmann::json::array())) {
      std::cout << "  " << r.value("scenario", "?") << ": " << f.value("text", "") << "\n";
    }
  }
  if (!json_file.empty()) {
    std::ofstream out(json_file);
    out << nlohmann::json(results).dump(2) << "\n";
  }
  const std::string report = title.substr(0, title.find(':'));
  std::cout << "smmu-sim " << report << ": " << (ok ? all_ok : std::string("SOME RESULTS NOT AS EXPECTED")) << "\n";
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

template <typename Item>
std::vector<std::string> names_of(const std::vector<Item>& items) {
  std::vector<std::string> names;
  for (const Item& item : items) names.push_back(item.name);
  return names;
}

// Runs the item named `name` of `items` (one simulation: this process) and
// prints its JSON; an unknown name lists the known ones (exit 2).
template <typename Item, typename Run>
int run_one(const char* kind, const std::string& name, const std::vector<Item>& items, Run run) {
  const auto found = std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
  if (found == items.end()) {
    std::cerr << "smmu-sim: unknown " << kind << " '" << name << "'; known:";
    for (const Item& item : items) std::cerr << " " << item.name;
    std::cerr << "\n";
    return 2;
  }
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DO_NOTHING);
  const nlohmann::json result = run(*found);
  std::cout << result.dump() << "\n";
  return result.value("ok", false) ? EXIT_SUCCESS : EXIT_FAILURE;
}

int handover_report(const std::string& json_file) {
  return run_report("handover report: a live update (or kdump) of the hypervisor with DMA flowing, per scenario",
                    "--handover-scenario", names_of(platform::handover_scenarios()), platform::handover_report_table,
                    json_file, "every scenario as expected");
}

int fault_report(const std::string& json_file) {
  return run_report("fault report: bus errors injected on the SMMU's own memory accesses while every device runs "
                    "DMA and the driver serves the interrupts",
                    "--fault-scenario", names_of(platform::fault_scenarios()), platform::fault_report_table,
                    json_file, "every injected error reported, counted and recovered from");
}

int isolation_report(const std::string& json_file) {
  return run_report("isolation report: random map/unmap/remap through the driver model with DMA on four devices, "
                    "every translated access checked against the mappings the software recorded",
                    "--isolation-workload", names_of(platform::isolation_workloads()),
                    platform::isolation_report_table, json_file,
                    "no violation in any configuration; the planted bug was caught");
}

nlohmann::json driver_statistics(const driver::DriverStatistics& s) {
  return {{"commands", s.commands},         {"syncs", s.syncs},
          {"batches", s.batches},           {"queue_full_waits", s.queue_full_waits},
          {"illegal_commands", s.illegal_commands}, {"table_stores", s.table_stores},
          {"cleans", s.cleans},             {"ste_updates", s.ste_updates},
          {"hitless_ste_updates", s.hitless_ste_updates}, {"events", s.events},
          {"event_overflows", s.event_overflows}, {"global_errors", s.global_errors},
          {"sync_timeouts", s.sync_timeouts}};
}

// Prints the run's summary and returns every statistic (the driver's too).
nlohmann::json print_summary(platform::ReferencePlatform& platform, double wall) {
  const platform::ScenarioReport& report = platform.report();
  std::uint64_t bytes = 0;
  std::uint64_t transactions = 0;
  std::vector<const pcie::DmaMaster*> masters;
  for (const platform::Engine& e : platform.engines()) masters.push_back(e.master.get());
  if (platform.trace_master() != nullptr) masters.push_back(platform.trace_master());
  for (const pcie::DmaMaster* m : masters) {
    const pcie::DmaMasterStatistics& s = m->statistics();
    bytes += s.bytes_read + s.bytes_written;
    transactions += s.transactions_issued + s.dmi_accesses;
  }
  nlohmann::json stats = stats::Registry::global().dump();
  const driver::DriverStatistics& ds = platform.driver().statistics();
  stats[std::string(platform.name()) + ".driver"] = driver_statistics(ds);
  const std::string tcu = std::string(platform.smmu().name()) + ".tcu";
  const std::string registers = std::string(platform.smmu().name()) + ".registers";
  const double sim_s = sc_core::sc_time_stamp().to_seconds();
  // Simulated quantities only: a record carries these statistics and must not vary between runs.
  stats["platform.run"] = {{"simulated_us", sim_s * 1e6}, {"bytes", bytes}, {"transactions", transactions}};

  const platform::ReferencePlatformConfig& config = platform.config();
  if (!config.devices.empty()) {
    std::vector<std::string> devices;
    for (const platform::DeviceSpec& d : config.devices) devices.push_back(platform::describe(d));
    std::cout << fmt::format("smmu-sim: {} devices ({}), {} KiB granule, {} bytes each way per DMA engine\n",
                             config.devices.size(), fmt::join(devices, ", "), (1u << config.granule_log2) / 1024,
                             config.bytes_per_device);
  }
  std::cout << fmt::format("  DMA: {} bytes in {} transactions, {} verify failures, {} unexpected error responses, "
                           "{} expected aborts\n",
                           bytes, transactions, report.verify_failures, report.unexpected_errors,
                           report.expected_aborts);
  std::string faults;
  for (const auto& [type, n] : report.events_by_type) faults += fmt::format("{}{} {}", faults.empty() ? "" : ", ", type, n);
  std::cout << fmt::format("  faults: {}\n", faults.empty() ? "none" : faults);
  if (report.fault_checked) {
    std::cout << fmt::format("  DMA after unmap: error response {}, F_TRANSLATION seen by the driver {}\n",
                             report.fault_error_response ? "yes" : "NO", report.fault_event_seen ? "yes" : "NO");
  }
  std::cout << fmt::format("  IOTLB hit rate {}; walk cache {}; configuration cache {}; {} walks\n",
                           rate(count(stats, tcu + ".tlb", "hits"), count(stats, tcu + ".tlb", "misses")),
                           rate(count(stats, tcu + ".walk_cache", "hits"), count(stats, tcu + ".walk_cache", "misses")),
                           rate(count(stats, tcu, "config_cache_hits"), count(stats, tcu, "config_cache_misses")),
                           count(stats, tcu, "walks"));
  std::cout << fmt::format("  driver: {} commands, {} CMD_SYNCs, {} STE updates ({} hitless), {} table stores, "
                           "{} cleans to PoC, {} bytes unmapped; SMMU executed {} commands\n",
                           ds.commands + ds.syncs, ds.syncs, ds.ste_updates, ds.hitless_ste_updates, ds.table_stores,
                           ds.cleans, report.bytes_unmapped, count(stats, registers, "commands_executed"));
  std::cout << fmt::format("  time: {:.3f} us simulated, {:.3f} s host; throughput {:.1f} MB/s simulated, "
                           "{:.1f} MB/s host\n",
                           sim_s * 1e6, wall, sim_s > 0 ? static_cast<double>(bytes) / sim_s / 1e6 : 0.0,
                           wall > 0 ? static_cast<double>(bytes) / wall / 1e6 : 0.0);
  return stats;
}

// The views a run may write: a Perfetto/Chrome JSON trace and a VCD of the
// IRQ lines and queue pointers. Attached before sc_start, written after.
struct ViewFiles {
  std::string perfetto;
  std::string vcd;
  std::string stats_interval;  // e.g. "10us": a statistics sample every interval
};

class Views {
 public:
  Views(platform::ReferencePlatform& platform, const ViewFiles& files) : platform_(platform), files_(files) {
    if (!files.stats_interval.empty()) {
      const std::uint64_t ps = trace::parse_time_ps(files.stats_interval).value_or(0);
      sampler_ = std::make_unique<platform::StatisticsSampler>("stats_sampler", platform,
                                                               sc_core::sc_time(static_cast<double>(ps), sc_core::SC_PS));
    }
    if (!files.perfetto.empty()) perfetto_ = std::make_unique<platform::PerfettoTrace>(platform);
    if (!files.vcd.empty()) {
      std::string name = files.vcd;
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".vcd") == 0) name.resize(name.size() - 4);
      vcd_ = sc_core::sc_create_vcd_trace_file(name.c_str());  // SystemC adds ".vcd"
      vcd_->set_time_unit(1, sc_core::SC_NS);
      const smmu::ProgrammingInterface& pi = platform.smmu().programming_interface();
      sc_core::sc_trace(vcd_, platform.eventq_irq(), "eventq_irq");
      sc_core::sc_trace(vcd_, platform.gerror_irq(), "gerror_irq");
      sc_core::sc_trace(vcd_, pi.cmdq_prod(), "cmdq_prod");
      sc_core::sc_trace(vcd_, pi.cmdq_cons(), "cmdq_cons");
      sc_core::sc_trace(vcd_, pi.eventq_prod(), "eventq_prod");
      sc_core::sc_trace(vcd_, pi.eventq_cons(), "eventq_cons");
      if (platform.smmu().config().timing.mode == smmu::TimingMode::ApproximatelyTimed) {
        sc_core::sc_trace(vcd_, platform.smmu().tcu().busy_walk_slots(), "busy_walk_slots");
      }
    }
  }
  ~Views() {
    if (vcd_ != nullptr) sc_core::sc_close_vcd_trace_file(vcd_);
  }
  Views(const Views&) = delete;
  Views& operator=(const Views&) = delete;
  void finish() {
    if (perfetto_) {
      std::ofstream out(files_.perfetto);
      perfetto_->write(out);
    }
  }
  // The time series and the handover timeline, added to the statistics.
  void add_to(nlohmann::json& stats) const {
    if (sampler_) stats["timeline"] = sampler_->samples();
    const nlohmann::json handover = platform::handover_timeline(platform_);
    if (!handover.is_null()) stats["platform.handover"] = handover;
  }

 private:
  platform::ReferencePlatform& platform_;
  ViewFiles files_;
  std::unique_ptr<platform::StatisticsSampler> sampler_;
  std::unique_ptr<platform::PerfettoTrace> perfetto_;
  sc_core::sc_trace_file* vcd_ = nullptr;
};

// Runs the simulation to its end and writes the views: the host seconds it
// took, or nothing (and why, on stderr) when the platform's run did not finish.
std::optional<double> simulate(platform::ReferencePlatform& platform, Views& views, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  sc_core::sc_start();
  views.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!platform.finished()) {
    std::cerr << "smmu-sim: " << what << "the run did not finish: " << platform.error() << "\n";
    return std::nullopt;
  }
  return wall;
}

std::string quoted(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// One trace on the reference platform: the summary, the expectations missed,
// PASS or FAIL; the record and the statistics when asked.
int play(const trace::LoadedTrace& loaded, const std::string& record_file, const std::string& stats_file,
         const ViewFiles& view_files) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  std::ofstream record;
  std::unique_ptr<trace::Recorder> recorder;
  if (!record_file.empty()) {
    record.open(record_file, std::ios::binary | std::ios::trunc);
    recorder = std::make_unique<trace::Recorder>(record);
  }
  trace::Player player(loaded.trace, recorder.get());
  platform::ReferencePlatform platform("platform", loaded.config,
                                       [&player](platform::ReferencePlatform& p) { player(p); });
  if (recorder) recorder->attach(platform);
  Views views(platform, view_files);
  const std::optional<double> wall = simulate(platform, views, loaded.trace.file + ": ");
  if (!wall) return EXIT_FAILURE;
  const trace::PlayOutcome& outcome = player.outcome();
  std::cout << fmt::format("smmu-sim: trace {}: {} statements, {} DMAs, {} expectations, {} failed, "
                           "{} event records no expectation asked for\n",
                           loaded.trace.file, outcome.statements, outcome.dmas, outcome.expectations, outcome.failed,
                           outcome.unexpected_events);
  nlohmann::json stats = print_summary(platform, *wall);
  views.add_to(stats);
  for (const trace::Failure& f : outcome.failures) std::cout << "  " << f.str() << "\n";
  if (outcome.failed > outcome.failures.size()) {
    std::cout << fmt::format("  ... and {} more\n", outcome.failed - outcome.failures.size());
  }
  if (recorder) recorder->statistics(stats);
  if (!stats_file.empty()) {
    std::ofstream out(stats_file);
    out << stats.dump(2) << "\n";
  }
  std::cout << (outcome.passed() ? "smmu-sim: PASS\n" : "smmu-sim: FAIL\n");
  return outcome.passed() ? EXIT_SUCCESS : EXIT_FAILURE;
}

// Several traces: each in a process of its own (one simulation per process).
int play_each(const std::vector<std::string>& traces, const std::string& config_file,
              const std::vector<std::string>& assignments) {
  std::error_code error;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) {
    std::cerr << "smmu-sim: cannot find its own executable: " << error.message() << "\n";
    return EXIT_FAILURE;
  }
  unsigned failed = 0;
  for (const std::string& file : traces) {
    std::string command = quoted(self) + " --trace " + quoted(file);
    if (!config_file.empty()) command += " --config " + quoted(config_file);
    for (const std::string& a : assignments) command += " --set " + quoted(a);
    std::cout << std::flush;
    const int status = std::system(command.c_str());
    if (status != 0) ++failed;
  }
  std::cout << fmt::format("smmu-sim: {} of {} traces passed\n", traces.size() - failed, traces.size());
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

// Before SystemC's main() prints its banner (static initialisation).
[[maybe_unused]] const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();

int sc_main(int argc, char* argv[]) {
  CLI::App app{"smmuv3-tlm reference platform: PCIe DMA through an SMMUv3 driven by the Linux driver model"};
  std::string config_file;
  std::vector<std::string> assignments;
  std::string stats_file;
  bool list = false;
  bool want_report = false;
  std::string scenario;
  std::string json_file;
  app.add_option("--config", config_file, "JSON file of {\"key\": value} settings");
  app.add_option("--set", assignments, "key=value (repeatable; after --config)");
  app.add_option("--stats", stats_file, "write every statistic as JSON to FILE");
  app.add_flag("--list-parameters", list, "print every configuration key with its default and exit");
  app.add_flag("--handover-report", want_report,
               "run every live-update scenario (each in its own process) and print the comparison table");
  app.add_option("--json", json_file, "with --handover-report, --fault-report or --isolation-report: write every result as JSON to FILE");
  app.add_option("--handover-scenario", scenario, "run one live-update scenario and print its JSON");
  bool want_fault_report = false;
  std::string fault_scenario;
  app.add_flag("--fault-report", want_fault_report,
               "inject bus errors on each kind of SMMU memory access (each kind in its own process) and print what "
               "was reported, counted and recovered");
  app.add_option("--fault-scenario", fault_scenario, "run one fault-injection scenario and print its JSON");
  bool want_isolation_report = false;
  std::string isolation_workload;
  app.add_flag("--isolation-report", want_isolation_report,
               "run the random isolation workloads (S1, S2, nested x 4K/16K/64K, and a planted bug; each in its own "
               "process) and print the monitor's counts");
  app.add_option("--isolation-workload", isolation_workload, "run one isolation workload and print its JSON");
  std::vector<std::string> traces;
  std::string record_file;
  app.add_option("--trace", traces,
                 "play trace FILE(s) (traces/README.md) instead of the main job; several run one per process");
  app.add_option("--record", record_file, "with one --trace: write the run's deterministic record to FILE");
  ViewFiles view_files;
  app.add_option("--perfetto", view_files.perfetto,
                 "write a Perfetto/Chrome JSON trace to FILE (a track per StreamID, commands, events, phases)");
  app.add_option("--vcd", view_files.vcd, "write a VCD of the IRQ lines and queue pointers to FILE (.vcd)");
  app.add_option("--stats-interval", view_files.stats_interval,
                 "with --stats: sample hit rates and bytes per StreamID every T of simulated time (e.g. 10us)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  // One scenario, workload or report of the three kinds above (the reports run
  // each item through the single-run option in a child process).
  if (!scenario.empty()) {
    return run_one("handover scenario", scenario, platform::handover_scenarios(), platform::run_handover_scenario);
  }
  if (!isolation_workload.empty()) {
    return run_one("isolation workload", isolation_workload, platform::isolation_workloads(),
                   [](const platform::IsolationWorkload& w) { return platform::run_isolation_workload(w); });
  }
  if (!fault_scenario.empty()) {
    return run_one("fault scenario", fault_scenario, platform::fault_scenarios(),
                   [](const platform::FaultScenario& f) { return platform::run_fault_scenario(f); });
  }
  for (const auto& [wanted, report] : {std::pair{want_isolation_report, &isolation_report},
                                       std::pair{want_fault_report, &fault_report},
                                       std::pair{want_report, &handover_report}}) {
    if (!wanted) continue;
    if (!json_file.empty() && !std::ofstream(json_file, std::ios::app)) {
      std::cerr << "smmu-sim: --json: cannot write " << json_file << "\n";
      return 2;
    }
    return report(json_file);
  }

  platform::ReferencePlatformConfig config;
  if (list) {
    std::cout << "| key | default | meaning |\n|---|---|---|\n";
    for (const platform::Parameter& p : platform::parameters()) {
      std::cout << fmt::format("| `{}` | `{}` | {} |\n", p.key, p.get(config).dump(), p.help);
    }
    return EXIT_SUCCESS;
  }
  // --config, then every --set, over `c`.
  const auto apply_command_line = [&](platform::ReferencePlatformConfig& c) {
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) throw std::invalid_argument("cannot read " + config_file);
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded()) throw std::invalid_argument(config_file + " is not valid JSON");
      if (!j.is_object()) throw std::invalid_argument(config_file + ": a configuration must be a JSON object of key: value");
      platform::apply_parameters(c, j);
    }
    for (const std::string& a : assignments) platform::apply_parameter_assignment(c, a);
    platform::validate(c);
  };
  const auto probe_output = [](const std::string& file, const char* option) {
    if (file.empty()) return;
    std::ofstream probe(file, std::ios::app);
    if (!probe) throw std::invalid_argument(std::string(option) + ": cannot write " + file);
  };
  if (!view_files.stats_interval.empty()) {
    const std::optional<std::uint64_t> ps = trace::parse_time_ps(view_files.stats_interval);
    if (!ps || *ps == 0 || stats_file.empty()) {
      std::cerr << "smmu-sim: --stats-interval needs --stats and a time such as 10us (ps, ns, us, ms, s), got '"
                << view_files.stats_interval << "'\n";
      return 2;
    }
  }
  if (!traces.empty()) {
    // Every trace is read and checked before any runs: a malformed one exits 2.
    std::vector<trace::LoadedTrace> loaded;
    try {
      if (traces.size() > 1 && !record_file.empty()) {
        throw std::invalid_argument("--record takes one --trace (each trace's record is its own file)");
      }
      for (const std::string& file : traces) {
        loaded.push_back(trace::load(file));
        apply_command_line(loaded.back().config);
        trace::check(loaded.back().trace, loaded.back().config);
      }
      probe_output(stats_file, "--stats");
      probe_output(record_file, "--record");
      probe_output(view_files.perfetto, "--perfetto");
      probe_output(view_files.vcd, "--vcd");
      if (traces.size() > 1 && (!view_files.perfetto.empty() || !view_files.vcd.empty())) {
        throw std::invalid_argument("--perfetto and --vcd take one --trace");
      }
    } catch (const std::exception& e) {
      std::cerr << "smmu-sim: " << e.what() << "\n";
      return 2;
    }
    if (traces.size() > 1) return play_each(traces, config_file, assignments);
    return play(loaded.front(), record_file, stats_file, view_files);
  }
  if (!record_file.empty()) {
    std::cerr << "smmu-sim: --record needs --trace\n";
    return 2;
  }
  try {
    apply_command_line(config);
    probe_output(stats_file, "--stats");
    probe_output(view_files.perfetto, "--perfetto");
    probe_output(view_files.vcd, "--vcd");
  } catch (const std::exception& e) {
    std::cerr << "smmu-sim: " << e.what() << "\n";
    return 2;
  }

  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  platform::ReferencePlatform platform("platform", config);
  Views views(platform, view_files);
  const std::optional<double> wall = simulate(platform, views, "");
  if (!wall) return EXIT_FAILURE;
  nlohmann::json stats = print_summary(platform, *wall);
  views.add_to(stats);
  if (!stats_file.empty()) {
    std::ofstream out(stats_file);
    out << stats.dump(2) << "\n";
  }
  const platform::ScenarioReport& report = platform.report();
  const bool ok = report.passed();
  std::cout << (ok ? "smmu-sim: PASS\n" : "smmu-sim: FAIL\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
