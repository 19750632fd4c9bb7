#include "smmuv3tlm/platforms/driver/driver_cpu.h"

#include <array>
#include <vector>

#include <fmt/format.h>

namespace smmuv3tlm::driver {

DriverCpu::DriverCpu(const sc_core::sc_module_name& name, tlm::tlm_initiator_socket<>& registers, Script script,
                     const sc_core::sc_time& poll_period)
    : sc_core::sc_module(name),
      memory("memory"),
      registers_(registers),
      script_(std::move(script)),
      poll_period_(poll_period) {
  SC_THREAD(run);
  SC_THREAD(interrupt_thread);
}

bool DriverCpu::on_script_thread() const { return sc_core::sc_get_current_process_handle() == script_process_; }

void DriverCpu::synchronize() {
  if (on_script_thread()) quantum_.sync();
}

void DriverCpu::relax() {
  synchronize();
  sc_core::wait(poll_period_);
}

void DriverCpu::serve_interrupts(SmmuDriver& driver, EventListener* listener) {
  irq_driver_ = &driver;
  irq_listener_ = listener;
  serving_ = true;
  serving_changed_.notify(sc_core::SC_ZERO_TIME);
}

void DriverCpu::stop_interrupts() {
  serving_ = false;
  serving_changed_.notify(sc_core::SC_ZERO_TIME);
}

namespace {

// Reports every record under smmu/driver, then hands it on.
class ReportingListener : public EventListener {
 public:
  ReportingListener(const char* cpu, EventListener* next) : cpu_(cpu), next_(next) {}
  void on_event(const smmu::EventRecord& r) override {
    SC_REPORT_INFO("smmu/driver", fmt::format("{}: event {} StreamID {:#x}{} input {:#x}{}", cpu_, smmu::to_string(r.id),
                                              r.stream_id, r.ssv ? fmt::format(" SSID {:#x}", r.substream_id) : "",
                                              r.input_addr, r.rnw ? " read" : " write")
                                      .c_str());
    if (next_ != nullptr) next_->on_event(r);
  }
  void on_overflow() override {
    SC_REPORT_WARNING("smmu/driver", fmt::format("{}: the event queue overflowed; records were lost", cpu_).c_str());
    if (next_ != nullptr) next_->on_overflow();
  }
  void on_global_errors(std::uint32_t active) override {
    SC_REPORT_WARNING("smmu/driver", fmt::format("{}: GERROR {:#x} active", cpu_, active).c_str());
    if (next_ != nullptr) next_->on_global_errors(active);
  }

 private:
  const char* cpu_;
  EventListener* next_;
};

}  // namespace

void DriverCpu::quiesce_interrupts() {
  stop_interrupts();
  synchronize();
  while (in_handler_) sc_core::wait(handler_done_);
  irq_driver_ = nullptr;
  irq_listener_ = nullptr;
}

void DriverCpu::handle_interrupts() {
  struct Busy {
    DriverCpu& cpu;
    explicit Busy(DriverCpu& c) : cpu(c) { cpu.in_handler_ = true; }
    ~Busy() {
      cpu.in_handler_ = false;
      cpu.handler_done_.notify(sc_core::SC_ZERO_TIME);
    }
  } busy(*this);
  ReportingListener listener(name(), irq_listener_);
  const std::uint32_t errors = irq_driver_->handle_global_errors(listener);
  const std::size_t events = irq_driver_->drain_events(listener);
  if (errors != 0 || events != 0) ++stats_.interrupts_served;
}

void DriverCpu::interrupt_thread() {
  const bool wired = eventq_irq.size() > 0 && gerror_irq.size() > 0;
  while (true) {
    if (!serving_) {
      sc_core::wait(serving_changed_);
      continue;
    }
    try {
      handle_interrupts();
    } catch (const std::exception& e) {
      SC_REPORT_WARNING("smmu/driver", (std::string(name()) + ": interrupt handler: " + e.what()).c_str());
      serving_ = false;
      continue;
    }
    if (!serving_) continue;
    if (wired && !eventq_irq->read() && !gerror_irq->read()) {
      sc_core::wait(eventq_irq->posedge_event() | gerror_irq->posedge_event() | serving_changed_);
      if (irq_latency_ != sc_core::SC_ZERO_TIME && (eventq_irq->read() || gerror_irq->read())) sc_core::wait(irq_latency_);
    } else {
      // Unwired, or a line still high: poll.
      sc_core::wait(irq_poll_period_, serving_changed_);
    }
  }
}

void DriverCpu::run() {
  script_process_ = sc_core::sc_get_current_process_handle();
  try {
    script_(*this);
    quantum_.sync();
    finished_ = true;
  } catch (const std::exception& e) {
    error_ = e.what();
    SC_REPORT_WARNING("smmu/driver", (std::string(name()) + ": " + error_).c_str());
  }
  // The interrupt thread ends with the script, so that the simulation can end.
  if (serving_) stop_interrupts();
}

std::uint64_t DriverCpu::access(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command,
                                std::uint64_t address, std::uint64_t value, unsigned bytes, const char* what) {
  std::array<std::uint8_t, 8> data{};
  for (unsigned i = 0; i < bytes; ++i) data[i] = static_cast<std::uint8_t>(value >> (8 * i));
  transport(socket, command, address, data.data(), bytes, what);
  std::uint64_t result = 0;
  for (unsigned i = bytes; i-- > 0;) result = (result << 8) | data[i];
  return result;
}

void DriverCpu::transport(tlm::tlm_initiator_socket<>& socket, tlm::tlm_command command, std::uint64_t address,
                          std::uint8_t* data, unsigned bytes, const char* what) {
  tlm::tlm_generic_payload trans;
  trans.set_command(command);
  trans.set_address(address);
  trans.set_data_ptr(data);
  trans.set_data_length(bytes);
  trans.set_streaming_width(bytes);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  // Memory accesses of the script run ahead on the quantum keeper; MMIO and
  // other threads' accesses complete in time order.
  const bool decoupled = &socket == &static_cast<tlm::tlm_initiator_socket<>&>(memory) && on_script_thread();
  if (!decoupled) synchronize();
  sc_core::sc_time delay = decoupled ? quantum_.get_local_time() : sc_core::SC_ZERO_TIME;
  socket->b_transport(trans, delay);
  if (decoupled) {
    quantum_.set(delay);
    if (quantum_.need_sync()) quantum_.sync();
  } else {
    sc_core::wait(delay);
  }
  if (!trans.is_response_ok()) {
    ++stats_.bus_errors;
    throw DriverError(fmt::format("{} at {:#x} failed: {}", what, address, trans.get_response_string()));
  }
}

std::uint64_t DriverCpu::read_register(std::uint64_t offset, unsigned bytes) {
  ++stats_.register_reads;
  return access(registers_, tlm::TLM_READ_COMMAND, offset, 0, bytes, "register read");
}

void DriverCpu::write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) {
  ++stats_.register_writes;
  if (!register_observers_.empty()) {
    synchronize();
    for (const RegisterObserver& observer : register_observers_) observer(offset, value, bytes);
  }
  access(registers_, tlm::TLM_WRITE_COMMAND, offset, value, bytes, "register write");
}

std::uint64_t DriverCpu::load64(std::uint64_t pa) {
  ++stats_.loads;
  return access(memory, tlm::TLM_READ_COMMAND, pa, 0, 8, "load");
}

void DriverCpu::store64(std::uint64_t pa, std::uint64_t value) {
  ++stats_.stores;
  access(memory, tlm::TLM_WRITE_COMMAND, pa, value, 8, "store");
}

void DriverCpu::store_narrow(std::uint64_t pa, std::uint64_t value, unsigned bytes) {
  if (bytes != 1 && bytes != 2 && bytes != 4) throw DriverError(fmt::format("a {}-byte narrow store", bytes));
  ++stats_.stores;
  access(memory, tlm::TLM_WRITE_COMMAND, pa, value, bytes, "store");
}

void DriverCpu::zero(std::uint64_t pa, std::uint64_t bytes) {
  stats_.zeroed_bytes += bytes;
  std::vector<std::uint8_t> zeros(static_cast<std::size_t>(bytes));
  transport(memory, tlm::TLM_WRITE_COMMAND, pa, zeros.data(), static_cast<unsigned>(bytes), "zeroing");
}

void DriverCpu::clean_to_poc(std::uint64_t pa, std::uint64_t bytes) {
  ++stats_.cleans;
  if (!clean_hook_) return;  // no cache model: memory is always current
  sc_core::sc_time delay = on_script_thread() ? quantum_.get_local_time() : sc_core::SC_ZERO_TIME;
  clean_hook_(pa, bytes, delay);
  if (on_script_thread()) {
    quantum_.set(delay);
    if (quantum_.need_sync()) quantum_.sync();
  } else {
    sc_core::wait(delay);
  }
}

}  // namespace smmuv3tlm::driver
