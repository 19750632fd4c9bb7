#include "smmuv3tlm/models/smmu/register_file.h"

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/tcu.h"

namespace smmuv3tlm::smmu {

RegisterFile::RegisterFile(const sc_core::sc_module_name& name, const Capabilities& caps, Tcu& tcu,
                           CacheMaintenance& caches, const ProgrammingInterfaceConfig& config,
                           const sc_core::sc_time& access_latency, const sc_core::sc_time& ack_delay)
    : sc_core::sc_module(name),
      socket("socket"),
      tcu_(tcu),
      core_(caps, tcu.memory(), caches, config),
      access_latency_(access_latency),
      ack_delay_(ack_delay) {
  socket.register_b_transport(this, &RegisterFile::b_transport);
  socket.register_transport_dbg(this, &RegisterFile::transport_dbg);
  SC_METHOD(complete_acks);
  sensitive << ack_due_;
  dont_initialize();
  // The programming interface's counters: commands, event records, MSIs, errors.
  registration_.add(
      this->name(), [this] { return stats::to_json(core_.statistics()); }, [this] { core_.reset_statistics(); });
}

void RegisterFile::reset(bool cold) {
  ack_due_.cancel();
  core_.reset();
  if (cold) core_.reset_statistics();
}

void RegisterFile::complete_acks() {
  // Only register state changes here: command consumption is the CommandQueue
  // thread's, so no memory access is made from this method.
  core_.complete_pending_acks();
}

bool RegisterFile::access(tlm::tlm_generic_payload& trans) {
  const std::uint64_t offset = trans.get_address();
  const unsigned length = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr || trans.get_streaming_width() < length) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  // Written so that it cannot wrap: an access near 2^64 is outside, not at 0.
  const bool outside = length > reg::kRegisterSpaceBytes || offset > reg::kRegisterSpaceBytes - length;
  if ((length != 4 && length != 8) || offset % length != 0 || outside) {
    trans.set_response_status(outside ? tlm::TLM_ADDRESS_ERROR_RESPONSE : tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  std::uint8_t* data = trans.get_data_ptr();
  if (trans.is_read()) {
    const std::uint64_t value = core_.read(offset, length);
    for (unsigned i = 0; i < length; ++i) data[i] = static_cast<std::uint8_t>(value >> (8 * i));
  } else if (trans.is_write()) {
    std::uint64_t value = 0;
    for (unsigned i = length; i-- > 0;) value = (value << 8) | data[i];
    core_.write(offset, value, length);
    if (core_.has_pending_acks()) ack_due_.notify(ack_delay_);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

void RegisterFile::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  delay += access_latency_;
  access(trans);
  delay += tcu_.take_unowned_delay();  // a GERROR MSI the write caused
}

unsigned RegisterFile::transport_dbg(tlm::tlm_generic_payload& trans) {
  if (!trans.is_read()) return 0;  // debug writes must not change state
  return access(trans) ? trans.get_data_length() : 0;
}

}  // namespace smmuv3tlm::smmu
