// smmu-sim: the reference platform. PCIe DMA masters stream through the SMMU to
// memory; prints a summary, optionally writes all statistics as JSON.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "models/common/statistics.h"
#include "platforms/lib/reference_platform.h"

using namespace smmuv3tlm;

int sc_main(int argc, char* argv[]) {
  CLI::App app{"smmuv3-tlm reference platform: PCIe DMA through an SMMUv3 to memory"};
  std::string config_file;
  std::vector<std::string> assignments;
  std::string stats_file;
  bool list = false;
  app.add_option("--config", config_file, "JSON file of {\"key\": value} settings");
  app.add_option("--set", assignments, "key=value (repeatable; after --config)");
  app.add_option("--stats", stats_file, "write every statistic as JSON to FILE");
  app.add_flag("--list-parameters", list, "print every configuration key with its default and exit");
  CLI11_PARSE(app, argc, argv);

  platform::ReferencePlatformConfig config;
  if (list) {
    std::cout << "| key | default | meaning |\n|---|---|---|\n";
    for (const platform::Parameter& p : platform::parameters()) {
      std::cout << fmt::format("| `{}` | `{}` | {} |\n", p.key, p.get(config).dump(), p.help);
    }
    return EXIT_SUCCESS;
  }
  try {
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) throw std::invalid_argument("cannot read " + config_file);
      nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded()) throw std::invalid_argument(config_file + " is not valid JSON");
      platform::apply_parameters(config, j);
    }
    for (const std::string& a : assignments) platform::apply_parameter_assignment(config, a);
  } catch (const std::exception& e) {
    std::cerr << "smmu-sim: " << e.what() << "\n";
    return 2;
  }

  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  platform::ReferencePlatform platform("platform", config);
  const auto start = std::chrono::steady_clock::now();
  sc_core::sc_start();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!platform.finished()) {
    std::cerr << "smmu-sim: the run did not finish: " << platform.error() << "\n";
    return 1;
  }
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t transactions = 0;
  for (const auto& d : platform.device_reports()) {
    bytes += d.stats.bytes_read + d.stats.bytes_written;
    errors += d.stats.error_responses_total();
    mismatches += d.stats.verify_failures;
    transactions += d.stats.transactions_issued + d.stats.dmi_accesses;
  }
  // Every unit's statistics, keyed by hierarchical name.
  const nlohmann::json stats = stats::Registry::global().dump();
  const std::string smmu = platform.smmu().name();
  std::uint64_t translated = 0;
  for (unsigned i = 0; i < platform.smmu().port_count(); ++i) {
    translated += stats.at(platform.smmu().tbu(i).name()).at("translated").get<std::uint64_t>();
  }
  const nlohmann::json& tcu = stats.at(smmu + ".tcu");
  const nlohmann::json& tlb = stats.at(smmu + ".tcu.tlb");
  const double sim_us = sc_core::sc_time_stamp().to_seconds() * 1e6;
  std::cout << fmt::format("smmu-sim: {} devices, {} translation, {} KiB granule, {} bytes each way per device\n",
                           config.devices, platform::to_string(config.mode), (1u << config.granule_log2) / 1024,
                           config.bytes_per_device);
  std::cout << fmt::format("  DMA: {} bytes in {} transactions, {} error responses, {} verify failures\n", bytes,
                           transactions, errors, mismatches);
  std::cout << fmt::format("  SMMU: {} transactions translated, {} walks, IOTLB {} hits / {} misses, {} events\n",
                           translated, tcu.at("walks").get<std::uint64_t>(), tlb.at("hits").get<std::uint64_t>(),
                           tlb.at("misses").get<std::uint64_t>(), platform.events().size());
  std::cout << fmt::format("  time: {:.3f} us simulated, {:.3f} s host, {:.1f} MB/s host throughput\n", sim_us, wall,
                           wall > 0 ? bytes / wall / 1e6 : 0.0);
  if (!stats_file.empty()) {
    std::ofstream out(stats_file);
    out << stats.dump(2) << "\n";
  }
  const bool ok = errors == 0 && mismatches == 0 && platform.events().empty();
  std::cout << (ok ? "smmu-sim: PASS\n" : "smmu-sim: FAIL\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
