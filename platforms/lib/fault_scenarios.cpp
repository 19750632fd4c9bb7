#include "smmuv3tlm/platforms/lib/fault_scenarios.h"

#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::platform {

namespace {

using smmu::AccessPurpose;

constexpr std::uint64_t kBytes = 16 * 1024;  // per engine and round
constexpr unsigned kMaxRounds = 24;
// An IOVA inside each engine's window that nothing maps: a DMA there is
// F_TRANSLATION, so every round also writes an event record.
constexpr std::uint64_t kUnmappedOffset = 0x800'0000;

std::uint64_t dma_errors(ReferencePlatform& p) {
  std::uint64_t errors = 0;
  for (const Engine& e : p.engines()) errors += e.master->statistics().error_responses_total();
  return errors;
}

std::uint64_t verify_failures(ReferencePlatform& p) {
  std::uint64_t failures = 0;
  for (const Engine& e : p.engines()) failures += e.master->statistics().verify_failures;
  return failures;
}

// One round of traffic that makes the SMMU use every kind of access: the
// driver invalidates everything (commands, a CMD_SYNC with its MSI), every
// engine writes and reads back its buffer (STE, CD and table fetches after
// the invalidation), and engine 0 touches an unmapped page (an event record).
void round_of_traffic(ReferencePlatform& p) {
  p.driver().invalidate_all();
  p.stream_all(kBytes);
  p.wait_for_engines();
  Engine& first = p.engines().front();
  std::uint8_t byte = 0;
  first.master->transfer(tlm::TLM_READ_COMMAND, first.dma_address + kUnmappedOffset, &byte, 1);
  p.cpu().synchronize();
  sc_core::wait(sc_core::sc_time(2, sc_core::SC_US));  // the interrupt thread drains the queue
}

}  // namespace

const std::vector<FaultScenario>& fault_scenarios() {
  static const std::vector<FaultScenario> scenarios = {
      {"stage1-walk", AccessPurpose::Stage1Walk, "F_WALK_EABT", true,
       "a stage-1 table read fails: the DMA is terminated, F_WALK_EABT"},
      {"stage2-walk", AccessPurpose::Stage2Walk, "F_WALK_EABT", true,
       "a stage-2 table read fails (S2 and nested devices): F_WALK_EABT"},
      {"ste-fetch", AccessPurpose::StreamTableEntry, "F_STE_FETCH", true, "an STE fetch fails: F_STE_FETCH"},
      {"cd-fetch", AccessPurpose::ContextDesc, "F_CD_FETCH", true, "a CD fetch fails: F_CD_FETCH"},
      {"command-fetch", AccessPurpose::CommandQueue, "CMDQ_ERR", false,
       "a command fetch fails: CMDQ_CONS.ERR = CERROR_ABT, GERROR.CMDQ_ERR; the driver acknowledges and the "
       "command is fetched again"},
      {"event-write", AccessPurpose::EventQueue, "EVTQ_ABT_ERR", false,
       "an event-record write fails: GERROR.EVTQ_ABT_ERR; records are discarded (and counted) until the driver "
       "acknowledges"},
      {"sync-msi", AccessPurpose::Msi, "MSI_CMDQ_ABT_ERR", false,
       "a CMD_SYNC's MSI write fails: GERROR.MSI_CMDQ_ABT_ERR; the SYNC completed, the MSI-polling driver times "
       "out on it and goes on (Linux's 'CMD_SYNC timeout')"},
  };
  return scenarios;
}

nlohmann::json run_fault_scenario(const FaultScenario& scenario, unsigned injections) {
  ReferencePlatformConfig config;
  config.bytes_per_device = kBytes;
  config.fault_after_unmap = false;
  // A CMD_SYNC whose MSI aborted is waited for until poll_limit: keep it short.
  config.driver.poll_limit = 2000;
  nlohmann::json injected_rounds = nlohmann::json::array();
  std::uint64_t errors_while_injecting = 0;
  std::uint64_t final_errors = 0;
  std::uint64_t final_verify_failures = 0;
  std::optional<std::size_t> rule;  // empty until the injector was armed
  unsigned rounds = 0;
  std::string error;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    try {
      p.setup_devices();
      round_of_traffic(p);  // warm: every cache filled, nothing injected
      const std::uint64_t errors_before = dma_errors(p);
      rule = p.system().table_walk_faults.arm(fault_rule(scenario.purpose, injections));
      while (p.system().table_walk_faults.rule(*rule).armed() && rounds < kMaxRounds) {
        round_of_traffic(p);
        ++rounds;
      }
      errors_while_injecting = dma_errors(p) - errors_before;
      // The injector is spent: one more round must be clean end to end.
      const std::uint64_t errors_after = dma_errors(p);
      const std::uint64_t verify_after = verify_failures(p);
      p.driver().invalidate_all();
      p.stream_all(kBytes);
      p.wait_for_engines();
      final_errors = dma_errors(p) - errors_after;
      final_verify_failures = verify_failures(p) - verify_after;
    } catch (const std::exception& e) {
      error = e.what();
      error = error.substr(0, error.find('\n'));
    }
  });
  sc_core::sc_start();

  // A run that failed before arming reports an empty rule (nothing injected).
  const tlm_ext::FaultInjector::RuleState state =
      rule ? platform.system().table_walk_faults.rule(*rule) : tlm_ext::FaultInjector::RuleState{};
  const ScenarioReport& report = platform.report();
  const smmu::ProgrammingInterfaceStatistics& smmu_stats = platform.smmu().programming_interface().statistics();
  const driver::DriverStatistics& driver_stats = platform.driver().statistics();
  const auto count_of = [](const std::map<std::string, std::uint64_t>& m, const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? std::uint64_t{0} : it->second;
  };
  const std::uint64_t signalled = scenario.signal_is_event ? count_of(report.events_by_type, scenario.signal)
                                                           : count_of(report.global_errors_by_type, scenario.signal);
  // What the SMMU counted for the injected errors, by kind: none may go missing.
  std::uint64_t counted = signalled;
  if (scenario.purpose == AccessPurpose::CommandQueue) counted = smmu_stats.command_fetch_aborts;
  if (scenario.purpose == AccessPurpose::EventQueue) counted = smmu_stats.event_write_aborts;
  if (scenario.purpose == AccessPurpose::Msi) counted = smmu_stats.msi_write_aborts;
  const bool recovered = final_errors == 0 && final_verify_failures == 0;
  // An event-record kind: one record per injected error. A GERROR kind: the
  // SMMU counted each, and the driver's handler saw the bit at least once (one
  // activation covers errors until it is acknowledged).
  const bool reported = scenario.signal_is_event ? signalled == state.injected
                                                 : counted == state.injected && signalled >= 1;
  nlohmann::json j;
  j["scenario"] = scenario.name;
  j["description"] = scenario.description;
  j["signal"] = scenario.signal;
  j["injected"] = state.injected;
  j["matched"] = state.matched;
  j["rounds"] = rounds;
  j["signalled"] = signalled;
  j["smmu_counted"] = counted;
  j["dma_errors_while_injecting"] = errors_while_injecting;
  j["final_round"] = {{"dma_errors", final_errors}, {"verify_failures", final_verify_failures}};
  j["smmu"] = {{"command_fetch_aborts", smmu_stats.command_fetch_aborts},
               {"event_write_aborts", smmu_stats.event_write_aborts},
               {"events_recorded", smmu_stats.events_recorded},
               {"events_discarded", smmu_stats.events_discarded},
               {"events_lost", smmu_stats.events_lost},
               {"msi_write_aborts", smmu_stats.msi_write_aborts},
               {"gerrors_raised", smmu_stats.gerrors_raised}};
  j["driver"] = {{"events", driver_stats.events},
                 {"global_errors", driver_stats.global_errors},
                 {"sync_timeouts", driver_stats.sync_timeouts}};
  j["events_by_type"] = report.events_by_type;
  j["global_errors_by_type"] = report.global_errors_by_type;
  j["run_error"] = error.empty() ? platform.error() : error;
  j["ok"] = j["run_error"].get<std::string>().empty() && platform.finished() && state.injected == injections &&
            reported && recovered;
  return j;
}

std::string fault_report_table(const std::vector<nlohmann::json>& results) {
  std::ostringstream out;
  out << "| scenario | report | injected | reported | SMMU counted | DMA errors while injecting | final round "
         "(DMA errors, verify failures) | driver: events, GERROR handled, sync timeouts | ok |\n"
      << "|---|---|---|---|---|---|---|---|---|\n";
  for (const nlohmann::json& r : results) {
    if (!r.contains("injected")) {
      out << fmt::format("| {} | | | | | | | run failed: {} | no |\n", r.value("scenario", "?"), r.value("run_error", "?"));
      continue;
    }
    const nlohmann::json& d = r.at("driver");
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {}, {} | {}, {}, {} | {} |\n", r.at("scenario").get<std::string>(),
                       r.at("signal").get<std::string>(), r.at("injected").get<std::uint64_t>(),
                       r.at("signalled").get<std::uint64_t>(), r.at("smmu_counted").get<std::uint64_t>(),
                       r.at("dma_errors_while_injecting").get<std::uint64_t>(),
                       r.at("final_round").at("dma_errors").get<std::uint64_t>(),
                       r.at("final_round").at("verify_failures").get<std::uint64_t>(),
                       d.at("events").get<std::uint64_t>(), d.at("global_errors").get<std::uint64_t>(),
                       d.at("sync_timeouts").get<std::uint64_t>(), r.at("ok").get<bool>() ? "yes" : "NO");
  }
  return out.str();
}

}  // namespace smmuv3tlm::platform
