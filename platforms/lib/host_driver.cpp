#include "smmuv3tlm/platforms/lib/host_driver.h"

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::platform {

namespace {

namespace reg = smmu::reg;
constexpr std::uint32_t kGbpaUpdate = 1u << 31;
constexpr std::uint32_t kOverflowFlag = 1u << 31;  // EVENTQ_PROD.OVFLG / EVENTQ_CONS.OVACKFLG
constexpr int kPollLimit = 100000;
const sc_core::sc_time kPollPeriod(10, sc_core::SC_NS);

}  // namespace

HostDriver::HostDriver(tlm::tlm_initiator_socket<>& registers, memory::SparseMemory& memory)
    : registers_(registers), memory_(memory) {}

std::uint64_t HostDriver::register_access(tlm::tlm_command command, std::uint64_t offset, std::uint64_t value,
                                          unsigned size) {
  std::array<std::uint8_t, 8> bytes{};
  for (unsigned i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  tlm::tlm_generic_payload trans;
  trans.set_command(command);
  trans.set_address(offset);
  trans.set_data_ptr(bytes.data());
  trans.set_data_length(size);
  trans.set_streaming_width(size);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  registers_->b_transport(trans, delay);
  sc_core::wait(delay);
  if (!trans.is_response_ok()) {
    throw HostDriverError(fmt::format("register {} at {:#x} failed", command == tlm::TLM_READ_COMMAND ? "read" : "write",
                                      offset));
  }
  std::uint64_t result = 0;
  for (unsigned i = size; i-- > 0;) result = (result << 8) | bytes[i];
  return result;
}

std::uint64_t HostDriver::read_reg(std::uint64_t offset, unsigned size) {
  return register_access(tlm::TLM_READ_COMMAND, offset, 0, size);
}

void HostDriver::write_reg(std::uint64_t offset, std::uint64_t value, unsigned size) {
  register_access(tlm::TLM_WRITE_COMMAND, offset, value, size);
  if (offset == reg::CMDQ_BASE) cmdq_base_register_ = value;
  if (offset == reg::EVENTQ_BASE) eventq_base_register_ = value;
  if (offset == reg::CMDQ_PROD) cmdq_prod_ = static_cast<std::uint32_t>(value);
}

void HostDriver::poll(const char* what, const std::function<bool()>& done) {
  for (int i = 0; i < kPollLimit; ++i) {
    if (done()) return;
    sc_core::wait(kPollPeriod);
  }
  throw HostDriverError(std::string("timed out waiting for ") + what);
}

void HostDriver::write_cr0(std::uint32_t value) {
  write_reg(reg::CR0, value);
  poll("CR0ACK", [&] { return read_reg(reg::CR0ACK) == value; });
}

void HostDriver::write_gbpa(std::uint32_t value) {
  write_reg(reg::GBPA, value | kGbpaUpdate);
  poll("GBPA.UPDATE to clear", [&] { return (read_reg(reg::GBPA) & kGbpaUpdate) == 0; });
}

void HostDriver::reset(const SmmuSetup& setup) {
  // The queue sizes the SMMU supports (arm_smmu_device_hw_probe reads IDR1):
  // a larger *_BASE.LOG2SIZE behaves as the maximum, and the driver must walk
  // the queue the SMMU walks.
  const std::uint64_t idr1 = read_reg(reg::IDR1);
  cmdq_max_log2_ = static_cast<unsigned>(reg::idr1::CMDQS.get(idr1));
  eventq_max_log2_ = static_cast<unsigned>(reg::idr1::EVENTQS.get(idr1));
  write_cr0(0);
  write_reg(reg::CR1, setup.cr1);
  write_reg(reg::CR2, setup.cr2);
  write_reg(reg::STRTAB_BASE, setup.strtab_base, 8);
  write_reg(reg::STRTAB_BASE_CFG, setup.strtab_base_cfg);
  write_reg(reg::CMDQ_BASE, setup.cmdq_base, 8);
  write_reg(reg::CMDQ_PROD, 0);
  write_reg(reg::CMDQ_CONS, 0);
  std::uint32_t cr0 = reg::cr0::CMDQEN;
  write_cr0(cr0);
  invalidate_all();
  write_reg(reg::EVENTQ_BASE, setup.eventq_base, 8);
  write_reg(reg::EVENTQ_PROD, 0);
  write_reg(reg::EVENTQ_CONS, 0);
  cr0 |= reg::cr0::EVENTQEN;
  write_cr0(cr0);
  if (setup.gbpa) write_gbpa(*setup.gbpa);
  if (setup.irq_ctrl != 0) {
    write_reg(reg::IRQ_CTRL, setup.irq_ctrl);
    poll("IRQ_CTRLACK", [&] { return read_reg(reg::IRQ_CTRLACK) == setup.irq_ctrl; });
  }
  if (setup.enable) write_cr0(cr0 | reg::cr0::SMMUEN);
}

void HostDriver::submit(const std::vector<smmu::Command>& commands) {
  std::vector<std::array<std::uint64_t, 2>> raw;
  raw.reserve(commands.size());
  for (const smmu::Command& c : commands) raw.push_back(smmu::encode_command(c));
  submit_raw(raw);
}

smmu::reg::QueueGeometry HostDriver::command_queue() const {
  return reg::queue_geometry(cmdq_base_register_, cmdq_max_log2_, smmu::kCommandBytes);
}

smmu::reg::QueueGeometry HostDriver::event_queue() const {
  return reg::queue_geometry(eventq_base_register_, eventq_max_log2_, smmu::kEventRecordBytes);
}

void HostDriver::submit_raw(const std::vector<std::array<std::uint64_t, 2>>& commands) {
  const reg::QueueGeometry q = command_queue();
  // The batch is published at once and waited for, so it must fit.
  if (commands.size() > q.entries()) {
    throw HostDriverError(fmt::format(
        "{} commands do not fit in the command queue of {} entries (CMDQ_BASE.LOG2SIZE capped by IDR1.CMDQS {})",
        commands.size(), q.entries(), cmdq_max_log2_));
  }
  // Every slot checked before any is written: PROD stays what the SMMU has.
  for (std::uint32_t prod = cmdq_prod_, i = 0; i < commands.size(); ++i, prod = q.next(prod)) {
    if (!memory_.is_backed(q.entry_address(prod), smmu::kCommandBytes)) {
      throw HostDriverError(fmt::format("the command queue slot at {:#x} (CMDQ_BASE {:#x}) is not memory",
                                        q.entry_address(prod), cmdq_base_register_));
    }
  }
  for (const auto& command : commands) {
    const std::uint64_t slot = q.entry_address(cmdq_prod_);
    memory_.write64(slot, command[0]);
    memory_.write64(slot + 8, command[1]);
    cmdq_prod_ = q.next(cmdq_prod_);
  }
  write_reg(reg::CMDQ_PROD, cmdq_prod_);
  poll("CMDQ_CONS to reach CMDQ_PROD", [&] {
    const std::uint64_t cons = read_reg(reg::CMDQ_CONS);
    if (reg::queue_pointer::CMDQ_CONS_ERR.get(cons) != 0) {
      throw HostDriverError(fmt::format("command queue error: CMDQ_CONS={:#x}", cons));
    }
    return (cons & q.pointer_mask) == cmdq_prod_;
  });
}

std::uint64_t HostDriver::translate_by_registers(std::uint64_t gatos_sid, std::uint64_t gatos_addr) {
  // §6.3.37: RUN is only taken while SMMUEN == 1 (otherwise PAR would be stale).
  if ((read_reg(reg::CR0ACK) & reg::cr0::SMMUEN) == 0) {
    throw HostDriverError("an address translation operation needs SMMU_CR0.SMMUEN == 1");
  }
  // §9.1.1: RUN must be clear before SID and ADDR change.
  poll("GATOS_CTRL.RUN to clear", [&] { return (read_reg(reg::GATOS_CTRL) & reg::gatos::RUN) == 0; });
  write_reg(reg::GATOS_SID, gatos_sid, 8);
  write_reg(reg::GATOS_ADDR, gatos_addr, 8);
  write_reg(reg::GATOS_CTRL, reg::gatos::RUN);
  poll("GATOS_CTRL.RUN to clear", [&] { return (read_reg(reg::GATOS_CTRL) & reg::gatos::RUN) == 0; });
  return read_reg(reg::GATOS_PAR, 8);
}

void HostDriver::invalidate_all() {
  const auto commands = smmu::invalidate_all_commands();
  submit({commands.begin(), commands.end()});
}

std::vector<smmu::EventRecord> HostDriver::drain_events() {
  const reg::QueueGeometry q = event_queue();
  std::vector<smmu::EventRecord> records;
  const std::uint32_t prod = static_cast<std::uint32_t>(read_reg(reg::EVENTQ_PROD));
  std::uint32_t cons = static_cast<std::uint32_t>(read_reg(reg::EVENTQ_CONS)) & q.pointer_mask;
  while (cons != (prod & q.pointer_mask)) {
    const std::uint64_t slot = q.entry_address(cons);
    std::array<std::uint64_t, 4> words{};
    for (unsigned i = 0; i < 4; ++i) words[i] = memory_.read64(slot + 8 * i);
    records.push_back(smmu::EventRecord::decode(words));
    cons = q.next(cons);
  }
  // CONS catches up with PROD; OVACKFLG acknowledges any overflow.
  write_reg(reg::EVENTQ_CONS, cons | (prod & kOverflowFlag));
  return records;
}

}  // namespace smmuv3tlm::platform
