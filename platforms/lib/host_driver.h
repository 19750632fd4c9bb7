// The host software's view of the SMMU, programmed the way the Linux arm-smmu-v3
// driver does it: only through the register socket and memory. This is the seed
// of the driver model; the conformance runner, the reference platform and the
// integration tests all program the SMMU through it.
//
// Call every method from an SC_THREAD: register accesses wait for their annotated
// delay and polls wait between reads. Polls are bounded; a timeout or a command
// queue error throws HostDriverError.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include <systemc>
#include <tlm>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::platform {

class HostDriverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The register values of one reset sequence (IHI 0070 §6; Linux arm_smmu_device_reset order).
struct SmmuSetup {
  std::uint32_t cr1 = 0;
  std::uint32_t cr2 = 0;
  std::uint64_t strtab_base = 0;
  std::uint32_t strtab_base_cfg = 0;
  std::uint64_t cmdq_base = 0;    // CMDQ_BASE register value (ADDR | LOG2SIZE)
  std::uint64_t eventq_base = 0;  // EVENTQ_BASE register value
  std::optional<std::uint32_t> gbpa;
  std::uint32_t irq_ctrl = 0;
  bool enable = true;             // set SMMUEN at the end
};

class HostDriver {
 public:
  HostDriver(tlm::tlm_initiator_socket<>& registers, memory::SparseMemory& memory);

  std::uint64_t read_reg(std::uint64_t offset, unsigned size = 4);
  void write_reg(std::uint64_t offset, std::uint64_t value, unsigned size = 4);
  // CR0 write, then poll CR0ACK until it matches.
  void write_cr0(std::uint32_t value);
  // GBPA through its UPDATE protocol.
  void write_gbpa(std::uint32_t value);

  // CR0=0 → CR1/CR2 → STRTAB → CMDQ → CMDQEN → CFGI_ALL, TLBI_NSNH_ALL, CMD_SYNC →
  // EVENTQ → EVENTQEN → GBPA → IRQ_CTRL → SMMUEN.
  void reset(const SmmuSetup& setup);

  // Writes the commands at CMDQ_PROD, publishes them and waits until the SMMU has
  // consumed them (a CMD_SYNC among them has then completed).
  void submit(const std::vector<smmu::Command>& commands);
  void submit_raw(const std::vector<std::array<std::uint64_t, 2>>& commands);
  // CFGI_ALL + TLBI_NSNH_ALL + CMD_SYNC.
  void invalidate_all();

  // An address translation operation (IHI 0070 chapter 9): GATOS_SID and
  // GATOS_ADDR (layout reg::gatos), RUN, poll until RUN clears; returns GATOS_PAR.
  std::uint64_t translate_by_registers(std::uint64_t gatos_sid, std::uint64_t gatos_addr);

  // Reads every record between EVENTQ_CONS and EVENTQ_PROD and acknowledges them.
  std::vector<smmu::EventRecord> drain_events();

  // The queues as the SMMU uses them (after reset(): *_BASE with IDR1's limits).
  smmu::reg::QueueGeometry command_queue() const;
  smmu::reg::QueueGeometry event_queue() const;

 private:
  void poll(const char* what, const std::function<bool()>& done);
  std::uint64_t register_access(tlm::tlm_command command, std::uint64_t offset, std::uint64_t value, unsigned size);

  tlm::tlm_initiator_socket<>& registers_;
  memory::SparseMemory& memory_;
  std::uint64_t cmdq_base_register_ = 0;
  std::uint64_t eventq_base_register_ = 0;
  std::uint32_t cmdq_prod_ = 0;
  unsigned cmdq_max_log2_ = smmu::reg::queue_pointer::kMaxLog2Entries;  // IDR1.CMDQS, read by reset()
  unsigned eventq_max_log2_ = smmu::reg::queue_pointer::kMaxLog2Entries;  // IDR1.EVENTQS
};

}  // namespace smmuv3tlm::platform
