#include "platforms/driver/driver_cpu.h"

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
}

void DriverCpu::run() {
  try {
    script_(*this);
    finished_ = true;
  } catch (const std::exception& e) {
    error_ = e.what();
    SC_REPORT_WARNING("smmu/driver", (std::string(name()) + ": " + error_).c_str());
  }
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
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(trans, delay);
  sc_core::wait(delay);
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

void DriverCpu::zero(std::uint64_t pa, std::uint64_t bytes) {
  stats_.zeroed_bytes += bytes;
  std::vector<std::uint8_t> zeros(static_cast<std::size_t>(bytes));
  transport(memory, tlm::TLM_WRITE_COMMAND, pa, zeros.data(), static_cast<unsigned>(bytes), "zeroing");
}

void DriverCpu::clean_to_poc(std::uint64_t, std::uint64_t) {
  // Without a CPU cache model memory is always up to date; the count shows
  // where a real driver cleans (the live-update issue adds the cache model).
  ++stats_.cleans;
}

}  // namespace smmuv3tlm::driver
