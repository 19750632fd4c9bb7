// smmu-conformance [--json FILE] [--verbose] PATH...
// Replays smmuv3-conformance/1 cases (files, or directories of them) through the
// model and reports, per case and per probe, whether the model agrees.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "smmuv3tlm/platforms/conformance/conformance_case.h"
#include "smmuv3tlm/platforms/lib/conformance_runner.h"
#include "smmuv3tlm/models/common/systemc_banner.h"

using namespace smmuv3tlm::conformance;

// Before SystemC's main() prints its banner (static initialisation).
[[maybe_unused]] const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();

int sc_main(int argc, char* argv[]) {
  CLI::App app{"Replay SMMUv3 conformance cases through the smmuv3-tlm model"};
  std::vector<std::string> paths;
  std::string json_path;
  bool verbose = false;
  app.add_option("PATH", paths, "case files or directories of *.json cases")->required();
  app.add_option("--json", json_path, "write the per-probe results as JSON to FILE");
  app.add_flag("--verbose", verbose, "print every probe, not only disagreements");
  std::string timing = "lt";
  app.add_option("--timing", timing, "the SMMU's timing mode: lt (loosely timed) or at (approximately timed)")
      ->check(CLI::IsMember({"lt", "at"}));
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> path_errors;
  const std::vector<std::string> files = expand_case_paths(paths, path_errors);
  for (const std::string& e : path_errors) std::cerr << "error: " << e << "\n";

  std::vector<ConformanceCase> cases;
  std::vector<CaseVerdict> failed_loads;
  for (const std::string& file : files) {
    LoadResult loaded = load_case(file);
    if (loaded.ok()) {
      cases.push_back(std::move(loaded.value()));
    } else {
      CaseVerdict v;
      v.file = file;
      v.name = file;
      v.error = loaded.error().to_string();
      failed_loads.push_back(std::move(v));
    }
  }
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  std::vector<CaseVerdict> verdicts =
      run_cases(cases, timing == "at" ? smmuv3tlm::smmu::TimingMode::ApproximatelyTimed
                                       : smmuv3tlm::smmu::TimingMode::LooselyTimed);
  verdicts.insert(verdicts.end(), failed_loads.begin(), failed_loads.end());

  std::size_t probes = 0;
  std::size_t agreeing = 0;
  std::size_t passed = 0;
  nlohmann::json report = nlohmann::json::array();
  for (const CaseVerdict& v : verdicts) {
    probes += v.probes.size();
    agreeing += v.agreeing();
    if (v.passed()) ++passed;
    // Names, messages and reasons come from the case files: made valid UTF-8 for
    // the terminal and the JSON report alike.
    const std::string name = printable_text(v.name);
    if (!v.error.empty()) {
      std::cout << fmt::format("case {}: error: {}\n", name, printable_text(v.error));
    }
    std::cout << fmt::format("case {}: {}/{} probes agree\n", name, v.agreeing(), v.probes.size());
    nlohmann::json jcase = {{"case", name}, {"file", printable_text(v.file)}, {"error", printable_text(v.error)},
                            {"probes", nlohmann::json::array()}};
    for (const ProbeVerdict& p : v.probes) {
      if (!p.agrees || verbose) {
        std::cout << fmt::format("  probe {} {} {:#x}: {}: expected {}; got {}; why {}\n", p.index, p.read ? 'R' : 'W',
                                 p.iova, p.agrees ? "agrees" : "DISAGREES", p.expected, p.observed,
                                 printable_text(p.why));
      }
      jcase["probes"].push_back({{"i", p.index}, {"op", p.read ? "R" : "W"}, {"iova", fmt::format("{:#x}", p.iova)},
                                 {"agrees", p.agrees}, {"expected", p.expected}, {"observed", p.observed},
                                 {"why", printable_text(p.why)}});
    }
    report.push_back(std::move(jcase));
  }
  const std::size_t total_cases = verdicts.size();
  std::cout << fmt::format("conformance: {} of {} probes agree ({} of {} cases)\n", agreeing, probes, passed,
                           total_cases);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    // Every string is valid UTF-8 already; `replace` keeps dump() from throwing regardless.
    out << nlohmann::json{{"probes", probes}, {"agreeing", agreeing}, {"cases", total_cases},
                          {"cases_passed", passed}, {"results", report}}
               .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    out.close();
    if (!out) {
      std::cerr << "error: cannot write " << json_path << "\n";
      return 2;
    }
  }
  const bool all_ok = path_errors.empty() && passed == total_cases && agreeing == probes && total_cases > 0;
  return all_ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
