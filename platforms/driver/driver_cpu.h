// The CPU that runs the driver model: a SystemC module whose thread runs a
// driver script, and the DriverBus over TLM that the driver reaches the
// hardware through. MMIO goes to the SMMU's register socket (through the
// socket the platform gives it); every load and store of tables, queue entries
// and MSI words goes through its own `memory` initiator, which the platform
// binds to the interconnect the SMMU's table-walk port uses, so an observer on
// that path sees each 64-bit store in order. Poll intervals are waits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "platforms/driver/smmu_driver.h"

namespace smmuv3tlm::driver {

struct DriverCpuStatistics {
  std::uint64_t register_reads = 0;
  std::uint64_t register_writes = 0;
  std::uint64_t loads = 0;
  std::uint64_t stores = 0;
  std::uint64_t zeroed_bytes = 0;
  std::uint64_t cleans = 0;
  std::uint64_t bus_errors = 0;
};

class DriverCpu : public sc_core::sc_module, public DriverBus {
 public:
  SC_HAS_PROCESS(DriverCpu);
  using Script = std::function<void(DriverCpu&)>;

  tlm_utils::simple_initiator_socket<DriverCpu> memory;

  DriverCpu(const sc_core::sc_module_name& name, tlm::tlm_initiator_socket<>& registers, Script script,
            const sc_core::sc_time& poll_period = sc_core::sc_time(10, sc_core::SC_NS));

  // DriverBus. A bus error answers throws DriverError naming the address.
  std::uint64_t read_register(std::uint64_t offset, unsigned bytes) override;
  void write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) override;
  std::uint64_t load64(std::uint64_t pa) override;
  void store64(std::uint64_t pa, std::uint64_t value) override;
  void zero(std::uint64_t pa, std::uint64_t bytes) override;
  void clean_to_poc(std::uint64_t pa, std::uint64_t bytes) override;
  void relax() override { sc_core::wait(poll_period_); }

  const DriverCpuStatistics& statistics() const { return stats_; }
  // The script's exception, if it threw (the thread then ends).
  const std::string& error() const { return error_; }
  bool finished() const { return finished_; }

 private:
  void run();
  std::uint64_t access(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command, std::uint64_t address,
                       std::uint64_t value, unsigned bytes, const char* what);
  void transport(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command, std::uint64_t address,
                 std::uint8_t* data, unsigned bytes, const char* what);

  tlm::tlm_initiator_socket<>& registers_;
  Script script_;
  sc_core::sc_time poll_period_;
  DriverCpuStatistics stats_;
  std::string error_;
  bool finished_ = false;
};

}  // namespace smmuv3tlm::driver
