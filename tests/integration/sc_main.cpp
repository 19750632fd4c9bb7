// libsystemc.so owns main(); it calls sc_main, which runs the GoogleTest suite.
// gtest_discover_tests runs each TEST in its own process (one elaboration per
// process). Every SystemC warning outside a ReportCapture fails the test.
#include <gtest/gtest.h>

#include <systemc>

#include "smmuv3tlm/tests/integration/report_capture.h"

int sc_main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  smmuv3tlm::testing::install_test_report_handler();
  return RUN_ALL_TESTS();
}
