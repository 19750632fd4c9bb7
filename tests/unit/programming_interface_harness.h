// Test harness for ProgrammingInterface: a MapMemory for the queues and MSIs, a
// CacheMaintenance that records what it is asked to do, and helpers that program
// the SMMU through MMIO the way a driver does.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/cache_maintenance.h"
#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/core/programming_interface.h"
#include "smmuv3tlm/tests/support/map_memory.h"

namespace smmuv3tlm::smmu::test {

class RecordingCaches : public CacheMaintenance {
 public:
  void execute(const Command& command) override { executed.push_back(command); }
  std::vector<Command> executed;
};

class ProgrammingInterfaceHarness {
 public:
  static constexpr std::uint64_t kCmdqBase = 0x4000'0000;
  static constexpr std::uint64_t kEventqBase = 0x4010'0000;
  static constexpr std::uint64_t kPriqBase = 0x4020'0000;
  static constexpr std::uint64_t kMsiDoorbell = 0x0800'0040;

  explicit ProgrammingInterfaceHarness(const Capabilities& caps = Capabilities{},
                                       const ProgrammingInterfaceConfig& config = {})
      : caps_(caps) {
    pi = std::make_unique<ProgrammingInterface>(caps_, memory, caches, config);
    pi->set_diagnostics_callback([this](Severity severity, const std::string& message) {
      diagnostics.emplace_back(severity, message);
    });
    pi->set_irq_callback(
        [this](IrqLine line, bool level) { irq_changes.emplace_back(line, level); });
    pi->set_control_changed_callback([this] { ++control_changes; });
  }

  std::uint32_t read32(std::uint64_t offset) {
    return static_cast<std::uint32_t>(pi->read(offset, 4));
  }
  std::uint64_t read64(std::uint64_t offset) { return pi->read(offset, 8); }
  void write32(std::uint64_t offset, std::uint32_t value) { pi->write(offset, value, 4); }
  void write64(std::uint64_t offset, std::uint64_t value) { pi->write(offset, value, 8); }

  // CR0 |= bits, then wait for the acknowledgement (immediate unless deferred).
  void enable(std::uint32_t bits) {
    write32(reg::CR0, read32(reg::CR0) | bits);
    if (pi->has_pending_acks()) pi->complete_pending_acks();
  }
  void disable(std::uint32_t bits) {
    write32(reg::CR0, read32(reg::CR0) & ~bits);
    if (pi->has_pending_acks()) pi->complete_pending_acks();
  }

  void setup_command_queue(unsigned log2_entries) {
    cmdq_log2 = log2_entries;
    write64(reg::CMDQ_BASE, kCmdqBase | log2_entries);
    write32(reg::CMDQ_PROD, 0);
    write32(reg::CMDQ_CONS, 0);
    software_prod = 0;
  }
  void setup_event_queue(unsigned log2_entries) {
    eventq_log2 = log2_entries;
    write64(reg::EVENTQ_BASE, kEventqBase | log2_entries);
    write32(reg::EVENTQ_PROD, 0);
    write32(reg::EVENTQ_CONS, 0);
  }

  std::uint32_t pointer_mask(unsigned log2) const { return (1u << (log2 + 1)) - 1; }
  std::uint32_t index_of(std::uint32_t pointer, unsigned log2) const {
    return pointer & ((1u << log2) - 1);
  }

  std::uint64_t command_slot(std::uint32_t pointer) const {
    return kCmdqBase + std::uint64_t{index_of(pointer, cmdq_log2)} * 16;
  }

  // Writes one command at the software PROD without publishing it.
  void stage(const std::array<std::uint64_t, 2>& words) {
    memory.poke64(command_slot(software_prod), words[0]);
    memory.poke64(command_slot(software_prod) + 8, words[1]);
    software_prod = (software_prod + 1) & pointer_mask(cmdq_log2);
  }
  void stage(const Command& command) { stage(encode_command(command)); }
  // Publishes the staged commands (CMDQ_PROD write).
  void publish() { write32(reg::CMDQ_PROD, software_prod); }
  void post(const Command& command) {
    stage(command);
    publish();
  }
  void post(const std::array<std::uint64_t, 2>& words) {
    stage(words);
    publish();
  }

  // What Linux's arm_smmu_cmdq_skip_err() does for CERROR_ILL: overwrite the
  // command at CONS with a CMD_SYNC, then acknowledge the error through GERRORN.
  void skip_illegal_command_like_linux() {
    const std::uint32_t cons = read32(reg::CMDQ_CONS);
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    sync.sync_signal = SyncSignal::None;
    const auto words = encode_command(sync);
    memory.poke64(command_slot(cons), words[0]);
    memory.poke64(command_slot(cons) + 8, words[1]);
    acknowledge_global_errors();
  }
  void acknowledge_global_errors() { write32(reg::GERRORN, read32(reg::GERROR)); }

  std::uint32_t cmdq_cons_error() { return (read32(reg::CMDQ_CONS) >> 24) & 0x7F; }
  bool cmdq_error_active() {
    return ((read32(reg::GERROR) ^ read32(reg::GERRORN)) & reg::gerror::CMDQ_ERR) != 0;
  }

  std::size_t count_diagnostics(Severity severity) const {
    std::size_t n = 0;
    for (const auto& d : diagnostics) n += d.first == severity ? 1 : 0;
    return n;
  }
  bool any_diagnostic_contains(const std::string& text) const {
    for (const auto& d : diagnostics) {
      if (d.second.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::size_t count_irq(IrqLine line, bool level) const {
    std::size_t n = 0;
    for (const auto& change : irq_changes)
      n += change.first == line && change.second == level ? 1 : 0;
    return n;
  }

  Capabilities caps_;
  test_support::MapMemory memory;
  RecordingCaches caches;
  std::unique_ptr<ProgrammingInterface> pi;
  std::vector<std::pair<Severity, std::string>> diagnostics;
  std::vector<std::pair<IrqLine, bool>> irq_changes;
  unsigned control_changes = 0;
  unsigned cmdq_log2 = 0;
  unsigned eventq_log2 = 0;
  std::uint32_t software_prod = 0;
};

inline Command make_command(CommandOpcode opcode) {
  Command c;
  c.opcode = opcode;
  return c;
}

inline Command make_sync(SyncSignal signal, std::uint64_t msi_address = 0,
                         std::uint32_t msi_data = 0) {
  Command c;
  c.opcode = CommandOpcode::CMD_SYNC;
  c.sync_signal = signal;
  c.msi_address = msi_address;
  c.msi_data = msi_data;
  return c;
}

// Every feature the model implements switched on (for command decoding tests).
inline Capabilities everything_capabilities() {
  Capabilities caps;
  caps.hyp = true;
  caps.ats = true;
  caps.pri = true;
  caps.priq_log2 = 8;
  caps.ssid_bits = 20;
  caps.ril = true;
  caps.asid16 = true;
  caps.vmid16 = true;
  caps.msi = true;
  caps.sev = true;
  return caps;
}

}  // namespace smmuv3tlm::smmu::test
