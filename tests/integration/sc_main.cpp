// libsystemc.so owns main(); it calls sc_main, which runs the GoogleTest suite.
// gtest_discover_tests runs each TEST in its own process (one elaboration per
// process). Every SystemC warning outside a ReportCapture fails the test.
#include <gtest/gtest.h>

#include <systemc>

#include "smmuv3tlm/tests/integration/report_capture.h"
#include "smmuv3tlm/models/common/systemc_banner.h"

// Before SystemC's main() prints its banner (static initialisation).
[[maybe_unused]] const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();

int sc_main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  smmuv3tlm::testing::install_test_report_handler();
  return RUN_ALL_TESTS();
}
