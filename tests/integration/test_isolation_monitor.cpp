// The isolation monitor's own rules: what a stream may reach is exactly what
// was allowed and not yet revoked, counted per allowance, with write
// permission apart; accesses are forwarded whatever the verdict, DMI refused.
#include <cstdint>
#include <functional>

#include <gtest/gtest.h>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/platforms/lib/isolation_monitor.h"
#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::platform {
namespace {

class MonitorBench : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(MonitorBench);
  tlm_utils::simple_initiator_socket<MonitorBench> device{"device"};
  IsolationMonitor monitor{"monitor"};
  memory::SparseMemory memory{"memory"};

  MonitorBench(const sc_core::sc_module_name& name, std::function<void(MonitorBench&)> body)
      : sc_core::sc_module(name), body_(std::move(body)) {
    device.bind(monitor.in);
    monitor.out.bind(memory.socket);
    SC_THREAD(run);
  }

  // An access by `stream` (none: no side-band at all); true when it completed OK.
  bool access(std::optional<std::uint32_t> stream, std::uint64_t pa, unsigned length, bool write) {
    std::uint8_t data[64] = {};
    tlm::tlm_generic_payload trans;
    trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans.set_address(pa);
    trans.set_data_ptr(data);
    trans.set_data_length(length);
    trans.set_streaming_width(length);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    tlm_ext::SidebandExtension sideband;
    if (stream) {
      sideband.stream_id = *stream;
      trans.set_extension(&sideband);
    }
    sc_core::sc_time delay;
    device->b_transport(trans, delay);
    if (stream) trans.clear_extension(&sideband);
    return trans.is_response_ok();
  }

 private:
  void run() { body_(*this); }
  std::function<void(MonitorBench&)> body_;
};

void run(std::function<void(MonitorBench&)> body) {
  MonitorBench bench("bench", std::move(body));
  sc_core::sc_start();
}

TEST(IsolationMonitor, ReachIsWhatWasAllowedAndNotRevokedPerStreamAndPermission) {
  run([](MonitorBench& b) {
    IsolationMonitor& m = b.monitor;
    m.allow(0x10, 0x1000, 0x1000, true);
    m.allow(0x10, 0x2000, 0x1000, false);  // read-only, adjacent
    EXPECT_TRUE(b.access(0x10, 0x1ff8, 16, false));  // spans both pages: both readable
    EXPECT_TRUE(b.access(0x10, 0x1000, 8, true));
    EXPECT_EQ(m.statistics().violations, 0u);
    EXPECT_TRUE(b.access(0x10, 0x1ff8, 16, true));   // the second half is not writable
    EXPECT_TRUE(b.access(0x11, 0x1000, 8, false));   // another stream
    EXPECT_TRUE(b.access(std::nullopt, 0x1000, 8, false));  // no side-band: nobody's
    EXPECT_TRUE(b.access(0x10, 0x2ff8, 16, false));  // runs past the allowed range
    EXPECT_EQ(m.statistics().violations, 4u);  // observed, never blocked
    ASSERT_EQ(m.violations().size(), 4u);
    EXPECT_TRUE(m.violations()[0].write);
    EXPECT_EQ(m.violations()[1].stream_id, 0x11u);
    EXPECT_FALSE(m.violations()[2].has_stream);
    // A page allowed twice (two IOVAs) stays reachable until revoked twice.
    m.allow(0x10, 0x1000, 0x1000, true);
    m.revoke(0x10, 0x1000, 0x1000, true);
    EXPECT_TRUE(b.access(0x10, 0x1000, 8, true));
    EXPECT_EQ(m.statistics().violations, 4u);
    m.revoke(0x10, 0x1000, 0x1000, true);
    EXPECT_TRUE(b.access(0x10, 0x1000, 8, false));
    EXPECT_EQ(m.statistics().violations, 5u);
    EXPECT_EQ(m.statistics().checked, 8u);
    // DMI would let accesses go around the monitor.
    tlm::tlm_generic_payload trans;
    trans.set_address(0x2000);
    tlm::tlm_dmi dmi;
    EXPECT_FALSE(b.device->get_direct_mem_ptr(trans, dmi));
  });
}

}  // namespace
}  // namespace smmuv3tlm::platform
