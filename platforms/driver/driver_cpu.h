// The CPU that runs the driver model: a SystemC module whose thread runs a
// driver script, and the DriverBus over TLM that the driver reaches the
// hardware through. MMIO goes to the SMMU's register socket (through the
// socket the platform gives it); every load and store of tables, queue entries
// and MSI words goes through its own `memory` initiator, which the platform
// binds to the interconnect the SMMU's table-walk port uses, so an observer on
// that path sees each 64-bit store in order. Poll intervals are waits.
//
// Timing is loosely timed: the script's memory accesses run ahead on a
// quantum keeper; an MMIO access, a poll or the end of the quantum first
// brings the thread to its local time, so the SMMU sees every register access
// at the time the driver made it, after every store before it.
//
// Interrupts: once the script calls serve_interrupts(), a second thread
// handles the event queue and GERROR (Linux's arm_smmu_evtq_thread and
// arm_smmu_gerror_handler) whenever the bound IRQ lines are high, or every
// `irq_poll_period` when they are unbound; each record is reported under
// "smmu/driver" (SC_INFO, an overflow SC_WARNING) and handed to the listener.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "smmuv3tlm/platforms/driver/smmu_driver.h"

namespace smmuv3tlm::driver {

struct DriverCpuStatistics {
  std::uint64_t register_reads = 0;
  std::uint64_t register_writes = 0;
  std::uint64_t loads = 0;
  std::uint64_t stores = 0;
  std::uint64_t zeroed_bytes = 0;
  std::uint64_t cleans = 0;
  std::uint64_t bus_errors = 0;
  std::uint64_t interrupts_served = 0;  // wake-ups of the interrupt thread that found work
};

class DriverCpu : public sc_core::sc_module, public DriverBus {
 public:
  SC_HAS_PROCESS(DriverCpu);
  using Script = std::function<void(DriverCpu&)>;

  tlm_utils::simple_initiator_socket<DriverCpu> memory;
  using IrqIn = sc_core::sc_port<sc_core::sc_signal_in_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND>;
  IrqIn eventq_irq;
  IrqIn gerror_irq;

  DriverCpu(const sc_core::sc_module_name& name, tlm::tlm_initiator_socket<>& registers, Script script,
            const sc_core::sc_time& poll_period = sc_core::sc_time(10, sc_core::SC_NS));

  // DriverBus. A bus error answers throws DriverError naming the address.
  std::uint64_t read_register(std::uint64_t offset, unsigned bytes) override;
  void write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) override;
  std::uint64_t load64(std::uint64_t pa) override;
  void store64(std::uint64_t pa, std::uint64_t value) override;
  void zero(std::uint64_t pa, std::uint64_t bytes) override;
  void clean_to_poc(std::uint64_t pa, std::uint64_t bytes) override;
  void relax() override;

  // Starts (or retargets) the interrupt thread; `listener` may be null. The
  // driver and listener must outlive the simulation (the thread may be in the
  // middle of a handler when the script returns).
  void serve_interrupts(SmmuDriver& driver, EventListener* listener);
  // Stops it after the handler in progress; also done when the script returns.
  void stop_interrupts();
  // From the script: stops the interrupt thread and waits until no handler
  // runs, so that the driver it served may be destroyed (a kexec).
  void quiesce_interrupts();
  void set_irq_poll_period(const sc_core::sc_time& period) { irq_poll_period_ = period; }
  // Time from a line's rising edge to the handler.
  void set_irq_latency(const sc_core::sc_time& latency) { irq_latency_ = latency; }
  // Brings the script's thread to its local time (before it hands control to others).
  void synchronize();
  // What a clean to PoC does (the CPU cache model's clean); without one it only counts.
  using CleanHook = std::function<void(std::uint64_t pa, std::uint64_t bytes, sc_core::sc_time& delay)>;
  void set_clean_hook(CleanHook hook) { clean_hook_ = std::move(hook); }
  // Sees every register write before it is sent (checkers).
  using RegisterObserver = std::function<void(std::uint64_t offset, std::uint64_t value, unsigned bytes)>;
  // Every observer sees every register write, in the order they were added.
  void add_register_observer(RegisterObserver observer) { register_observers_.push_back(std::move(observer)); }
  // One store of 1, 2 or 4 bytes: not what the driver's table stores are
  // (64-bit), but what a torn `ptep[i] = ...` compiles to, or the single
  // valid byte of a PTE update sequence; for scenarios.
  void store_narrow(std::uint64_t pa, std::uint64_t value, unsigned bytes);

  const DriverCpuStatistics& statistics() const { return stats_; }
  // The script's exception, if it threw (the thread then ends).
  const std::string& error() const { return error_; }
  bool finished() const { return finished_; }

 private:
  void run();
  void interrupt_thread();
  void handle_interrupts();
  bool on_script_thread() const;
  std::uint64_t access(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command, std::uint64_t address,
                       std::uint64_t value, unsigned bytes, const char* what);
  void transport(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command, std::uint64_t address,
                 std::uint8_t* data, unsigned bytes, const char* what);

  tlm::tlm_initiator_socket<>& registers_;
  Script script_;
  sc_core::sc_time poll_period_;
  sc_core::sc_time irq_poll_period_{1, sc_core::SC_US};
  sc_core::sc_time irq_latency_ = sc_core::SC_ZERO_TIME;
  tlm_utils::tlm_quantumkeeper quantum_;
  std::vector<RegisterObserver> register_observers_;
  CleanHook clean_hook_;
  sc_core::sc_process_handle script_process_;
  SmmuDriver* irq_driver_ = nullptr;
  EventListener* irq_listener_ = nullptr;
  bool serving_ = false;
  bool in_handler_ = false;
  sc_core::sc_event handler_done_;
  sc_core::sc_event serving_changed_;
  DriverCpuStatistics stats_;
  std::string error_;
  bool finished_ = false;
};

}  // namespace smmuv3tlm::driver
