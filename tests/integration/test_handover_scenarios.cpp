// Every live-update scenario of the handover report, each in its own process:
// the correct ones hand over with zero failed preserved DMA and no finding;
// each planted bug is flagged by its own checker and no other; an SMMU reset
// during kexec makes adoption fail.
#include <gtest/gtest.h>

#include "smmuv3tlm/platforms/lib/handover_scenarios.h"
#include "smmuv3tlm/tests/integration/report_capture.h"

namespace smmuv3tlm::testing {
namespace {

class HandoverScenarios : public ::testing::TestWithParam<std::string> {};

TEST_P(HandoverScenarios, OutcomeIsTheExpectedOne) {
  ReportCapture reports;  // planted bugs make the SMMU and the masters complain
  const platform::HandoverScenario* s = platform::find_handover_scenario(GetParam());
  ASSERT_NE(s, nullptr);
  const nlohmann::json r = platform::run_handover_scenario(*s);
  EXPECT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  if (s->expect == "clean") {
    EXPECT_GT(r.at("phases").at("finish").at("dma_preserved").at("completed").get<std::uint64_t>(), 0u)
        << "preserved DMA flowed after adoption";
  }
}

std::vector<std::string> names() {
  std::vector<std::string> n;
  for (const platform::HandoverScenario& s : platform::handover_scenarios()) n.push_back(s.name);
  return n;
}

INSTANTIATE_TEST_SUITE_P(All, HandoverScenarios, ::testing::ValuesIn(names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace smmuv3tlm::testing
