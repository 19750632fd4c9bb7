#include "models/smmu/core/programming_interface.h"

#include <fmt/format.h>

#include <bitset>
#include <nlohmann/json.hpp>
#include <utility>

namespace smmuv3tlm::smmu {

namespace {

constexpr std::uint32_t kCommandEntryBytes = kCommandBytes;    // 16
constexpr std::uint32_t kEventEntryBytes = kEventRecordBytes;  // 32
constexpr std::uint32_t kPriEntryBytes = 16;
constexpr std::uint32_t kPointerBits =
    static_cast<std::uint32_t>(reg::queue_pointer::WRAP_AND_INDEX.mask());
constexpr std::uint32_t kCmdqErrBits =
    static_cast<std::uint32_t>(reg::queue_pointer::CMDQ_CONS_ERR.mask());
constexpr std::uint64_t kQueueBaseBits =
    reg::queue_base::RA_WA | reg::queue_base::ADDR.mask() | reg::queue_base::LOG2SIZE.mask();
constexpr std::uint64_t kStrtabBaseBits = reg::strtab_base::RA | reg::strtab_base::ADDR.mask();
constexpr std::uint64_t kMsiAddressBits = reg::irq_cfg::ADDR.mask();

const char* name_of(std::uint64_t offset) {
  const char* name = register_name(offset);
  return name != nullptr ? name : "a reserved offset";
}

std::uint64_t load_le64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

void store_le64(std::uint8_t* bytes, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

}  // namespace

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::Info:
      return "info";
    case Severity::Warning:
      return "warning";
    case Severity::Error:
      return "error";
  }
  return "unknown";
}

const char* to_string(IrqLine line) {
  switch (line) {
    case IrqLine::EventQueue:
      return "eventq";
    case IrqLine::PriQueue:
      return "priq";
    case IrqLine::CommandSync:
      return "cmd-sync";
    case IrqLine::GlobalError:
      return "gerror";
  }
  return "unknown";
}

void to_json(nlohmann::json& json, const ProgrammingInterfaceStatistics& stats) {
  nlohmann::json by_opcode = nlohmann::json::object();
  for (std::size_t opcode = 0; opcode < stats.commands_by_opcode.size(); ++opcode) {
    if (stats.commands_by_opcode[opcode] == 0) continue;
    const auto value = static_cast<std::uint8_t>(opcode);
    const std::string name = is_command_opcode(value) ? to_string(static_cast<CommandOpcode>(value))
                                                      : fmt::format("{:#04x}", value);
    by_opcode[name] = stats.commands_by_opcode[opcode];
  }
  json = nlohmann::json{
      {"commands_by_opcode", by_opcode},
      {"commands_executed", stats.commands_executed},
      {"commands_illegal", stats.commands_illegal},
      {"command_fetch_aborts", stats.command_fetch_aborts},
      {"syncs", stats.syncs},
      {"sync_msis", stats.sync_msis},
      {"sync_wired_irqs", stats.sync_wired_irqs},
      {"sev_events", stats.sev_events},
      {"events_recorded", stats.events_recorded},
      {"events_lost", stats.events_lost},
      {"events_discarded", stats.events_discarded},
      {"event_write_aborts", stats.event_write_aborts},
      {"msi_writes", stats.msi_writes},
      {"msi_write_aborts", stats.msi_write_aborts},
      {"gerrors_raised", stats.gerrors_raised},
      {"constrained_unpredictable_writes", stats.constrained_unpredictable_writes},
      {"bad_accesses", stats.bad_accesses},
  };
}

ProgrammingInterface::ProgrammingInterface(const Capabilities& caps, MemoryPort& queue_memory,
                                           CacheMaintenance& caches,
                                           const ProgrammingInterfaceConfig& config)
    : caps_(caps), memory_(queue_memory), caches_(caches), config_(config) {
  reset();
}

void ProgrammingInterface::reset() {
  cr0_ = cr0ack_ = 0;
  cr1_ = cr2_ = 0;
  // GBPA resets to SHCFG = use incoming, ABORT IMPLEMENTATION DEFINED.
  gbpa_effective_ =
      static_cast<std::uint32_t>(reg::gbpa::SHCFG.set(0, reg::gbpa::kShcfgUseIncoming)) |
      (config_.gbpa_abort_at_reset ? reg::gbpa::ABORT : 0u);
  gbpa_register_ = gbpa_effective_;
  irq_ctrl_ = irq_ctrlack_ = 0;
  gerror_ = gerrorn_ = 0;
  gerror_msi_ = eventq_msi_ = priq_msi_ = MsiConfig{};
  strtab_base_ = 0;
  strtab_base_cfg_ = 0;
  cmdq_ = eventq_ = priq_ = Queue{};
  pending_cr0_.reset();
  pending_gbpa_.reset();
  pending_irq_ctrl_.reset();
  consume_again_ = false;
  for (IrqLine line : {IrqLine::EventQueue, IrqLine::PriQueue, IrqLine::GlobalError})
    set_line(line, false);
  notify_control_changed();
}

// ---- Queue geometry ----------------------------------------------------------------

ProgrammingInterface::QueueGeometry ProgrammingInterface::geometry(const Queue& queue,
                                                                   unsigned max_log2,
                                                                   std::uint32_t entry_bytes) {
  QueueGeometry g;
  // *_BASE.LOG2SIZE above the IDR1 maximum behaves as the maximum.
  const auto requested = static_cast<unsigned>(reg::queue_base::LOG2SIZE.get(queue.base));
  const unsigned limit = max_log2 < reg::queue_pointer::kMaxLog2Entries
                             ? max_log2
                             : reg::queue_pointer::kMaxLog2Entries;
  g.log2_entries = requested < limit ? requested : limit;
  g.index_mask = (std::uint32_t{1} << g.log2_entries) - 1;
  g.pointer_mask = (std::uint32_t{1} << (g.log2_entries + 1)) - 1;
  g.entry_bytes = entry_bytes;
  // The base is aligned to the queue size (at least 32 bytes): address bits
  // below that alignment are IGNORED.
  std::uint64_t queue_bytes = (std::uint64_t{1} << g.log2_entries) * entry_bytes;
  if (queue_bytes < 32) queue_bytes = 32;
  g.base_address = (queue.base & reg::queue_base::ADDR.mask()) & ~(queue_bytes - 1);
  return g;
}

ProgrammingInterface::QueueGeometry ProgrammingInterface::cmdq_geometry() const {
  return geometry(cmdq_, caps_.cmdq_log2, kCommandEntryBytes);
}

ProgrammingInterface::QueueGeometry ProgrammingInterface::eventq_geometry() const {
  return geometry(eventq_, caps_.eventq_log2, kEventEntryBytes);
}

ProgrammingInterface::QueueGeometry ProgrammingInterface::priq_geometry() const {
  return geometry(priq_, caps_.priq_log2, kPriEntryBytes);
}

// ---- MMIO ---------------------------------------------------------------------------

ProgrammingInterface::Width ProgrammingInterface::width_of(std::uint64_t offset) const {
  const bool pri = caps_.pri;
  const bool msi = caps_.msi;
  switch (offset) {
    case reg::IDR0:
    case reg::IDR1:
    case reg::IDR2:
    case reg::IDR3:
    case reg::IDR4:
    case reg::IDR5:
    case reg::IIDR:
    case reg::AIDR:
    case reg::CR0:
    case reg::CR0ACK:
    case reg::CR1:
    case reg::CR2:
    case reg::STATUSR:
    case reg::GBPA:
    case reg::IRQ_CTRL:
    case reg::IRQ_CTRLACK:
    case reg::GERROR:
    case reg::GERRORN:
    case reg::STRTAB_BASE_CFG:
    case reg::CMDQ_PROD:
    case reg::CMDQ_CONS:
    case reg::EVENTQ_PROD:
    case reg::EVENTQ_CONS:
      return Width::Bits32;
    // The MSI configuration registers exist when IDR0.MSI == 1.
    case reg::GERROR_IRQ_CFG1:
    case reg::GERROR_IRQ_CFG2:
    case reg::EVENTQ_IRQ_CFG1:
    case reg::EVENTQ_IRQ_CFG2:
      return msi ? Width::Bits32 : Width::Absent;
    // The PRI queue registers exist when IDR0.PRI == 1.
    case reg::PRIQ_PROD:
    case reg::PRIQ_CONS:
      return pri ? Width::Bits32 : Width::Absent;
    case reg::PRIQ_IRQ_CFG1:
    case reg::PRIQ_IRQ_CFG2:
      return pri && msi ? Width::Bits32 : Width::Absent;
    case reg::STRTAB_BASE:
    case reg::STRTAB_BASE + 4:
    case reg::CMDQ_BASE:
    case reg::CMDQ_BASE + 4:
    case reg::EVENTQ_BASE:
    case reg::EVENTQ_BASE + 4:
      return Width::Bits64;
    case reg::GERROR_IRQ_CFG0:
    case reg::GERROR_IRQ_CFG0 + 4:
    case reg::EVENTQ_IRQ_CFG0:
    case reg::EVENTQ_IRQ_CFG0 + 4:
      return msi ? Width::Bits64 : Width::Absent;
    case reg::PRIQ_BASE:
    case reg::PRIQ_BASE + 4:
      return pri ? Width::Bits64 : Width::Absent;
    case reg::PRIQ_IRQ_CFG0:
    case reg::PRIQ_IRQ_CFG0 + 4:
      return pri && msi ? Width::Bits64 : Width::Absent;
    default:
      return Width::Absent;
  }
}

std::uint64_t ProgrammingInterface::read(std::uint64_t offset, unsigned size_bytes) {
  const bool size_ok = size_bytes == 4 || size_bytes == 8;
  if (offset >= reg::kRegisterSpaceBytes || !size_ok || offset % size_bytes != 0) {
    ++stats_.bad_accesses;
    diagnose(
        Severity::Warning,
        fmt::format("{}-byte read at {:#x}: the register space takes aligned 32-bit and 64-bit "
                    "accesses in [0, 0x20000); read as zero (IHI 0070 §6.2)",
                    size_bytes, offset));
    return 0;
  }
  const Width width = width_of(offset);
  if (size_bytes == 4) {
    if (width == Width::Bits32) return read32(offset);
    if (width == Width::Bits64)
      return (read64(offset & ~std::uint64_t{7}) >> ((offset & 4) * 8)) & 0xFFFF'FFFFu;
    return 0;  // reserved: RAZ
  }
  if (width == Width::Bits64) return read64(offset);
  if (width == Width::Absent && width_of(offset + 4) == Width::Absent) return 0;  // reserved: RAZ
  ++stats_.bad_accesses;
  diagnose(
      config_.constrained_unpredictable_severity,
      fmt::format(
          "CONSTRAINED UNPREDICTABLE: 64-bit read of 32-bit register {} at {:#x}; read as zero "
          "(IHI 0070 §6.2: 32-bit registers take 32-bit accesses)",
          name_of(width == Width::Absent ? offset + 4 : offset), offset));
  return 0;
}

void ProgrammingInterface::write(std::uint64_t offset, std::uint64_t value, unsigned size_bytes) {
  const bool size_ok = size_bytes == 4 || size_bytes == 8;
  if (offset >= reg::kRegisterSpaceBytes || !size_ok || offset % size_bytes != 0) {
    ++stats_.bad_accesses;
    diagnose(
        Severity::Warning,
        fmt::format("{}-byte write of {:#x} at {:#x}: the register space takes aligned 32-bit and "
                    "64-bit accesses in [0, 0x20000); ignored (IHI 0070 §6.2)",
                    size_bytes, value, offset));
    return;
  }
  const Width width = width_of(offset);
  if (size_bytes == 4) {
    const auto value32 = static_cast<std::uint32_t>(value);
    if (width == Width::Bits32) {
      write32(offset, value32);
    } else if (width == Width::Bits64) {
      // One half of a 64-bit register: the other half keeps its value.
      const std::uint64_t base = offset & ~std::uint64_t{7};
      const unsigned shift = (offset & 4) != 0 ? 32 : 0;
      const std::uint64_t merged = deposit(read64(base), shift + 31, shift, value32);
      write64(base, merged);
    }
    return;  // reserved: WI
  }
  if (width == Width::Bits64) {
    write64(offset, value);
    return;
  }
  if (width == Width::Absent && width_of(offset + 4) == Width::Absent) return;  // reserved: WI
  ++stats_.bad_accesses;
  diagnose(config_.constrained_unpredictable_severity,
           fmt::format(
               "CONSTRAINED UNPREDICTABLE: 64-bit write of {:#x} to 32-bit register {} at {:#x}; "
               "ignored (IHI 0070 §6.2: 32-bit registers take 32-bit accesses)",
               value, name_of(width == Width::Absent ? offset + 4 : offset), offset));
}

std::uint32_t ProgrammingInterface::read32(std::uint64_t offset) const {
  switch (offset) {
    case reg::IDR0:
      return caps_.idr0();
    case reg::IDR1:
      return caps_.idr1();
    case reg::IDR2:
      return caps_.idr2();
    case reg::IDR3:
      return caps_.idr3();
    case reg::IDR4:
      return caps_.idr4();
    case reg::IDR5:
      return caps_.idr5();
    case reg::IIDR:
      return caps_.iidr;
    case reg::AIDR:
      return caps_.aidr();
    case reg::CR0:
      return cr0_;
    case reg::CR0ACK:
      return cr0ack_;
    case reg::CR1:
      return cr1_;
    case reg::CR2:
      return cr2_;
    case reg::STATUSR:
      return 0;  // DORMANT: no dormant state (IDR0.DORMHINT == 0)
    case reg::GBPA:
      return gbpa_register_;
    case reg::IRQ_CTRL:
      return irq_ctrl_;
    case reg::IRQ_CTRLACK:
      return irq_ctrlack_;
    case reg::GERROR:
      return gerror_;
    case reg::GERRORN:
      return gerrorn_;
    case reg::GERROR_IRQ_CFG1:
      return gerror_msi_.cfg1;
    case reg::GERROR_IRQ_CFG2:
      return gerror_msi_.cfg2;
    case reg::STRTAB_BASE_CFG:
      return strtab_base_cfg_;
    case reg::CMDQ_PROD:
      return cmdq_.prod;
    case reg::CMDQ_CONS:
      return cmdq_.cons;
    case reg::EVENTQ_IRQ_CFG1:
      return eventq_msi_.cfg1;
    case reg::EVENTQ_IRQ_CFG2:
      return eventq_msi_.cfg2;
    case reg::PRIQ_IRQ_CFG1:
      return priq_msi_.cfg1;
    case reg::PRIQ_IRQ_CFG2:
      return priq_msi_.cfg2;
    case reg::EVENTQ_PROD:
      return eventq_.prod;
    case reg::EVENTQ_CONS:
      return eventq_.cons;
    case reg::PRIQ_PROD:
      return priq_.prod;
    case reg::PRIQ_CONS:
      return priq_.cons;
    default:
      return 0;
  }
}

std::uint64_t ProgrammingInterface::read64(std::uint64_t offset) const {
  switch (offset) {
    case reg::GERROR_IRQ_CFG0:
      return gerror_msi_.cfg0;
    case reg::STRTAB_BASE:
      return strtab_base_;
    case reg::CMDQ_BASE:
      return cmdq_.base;
    case reg::EVENTQ_BASE:
      return eventq_.base;
    case reg::EVENTQ_IRQ_CFG0:
      return eventq_msi_.cfg0;
    case reg::PRIQ_BASE:
      return priq_.base;
    case reg::PRIQ_IRQ_CFG0:
      return priq_msi_.cfg0;
    default:
      return 0;
  }
}

void ProgrammingInterface::write64(std::uint64_t offset, std::uint64_t value) {
  namespace cr0 = reg::cr0;
  namespace irq = reg::irq_ctrl;
  switch (offset) {
    case reg::GERROR_IRQ_CFG0:
      if (ignore_if(irq_ctrlack_ & irq::GERROR_IRQEN, offset, value,
                    "the GERROR MSI configuration changes while IRQ_CTRLACK.GERROR_IRQEN == 1")) {
        return;
      }
      gerror_msi_.cfg0 = value & kMsiAddressBits;
      break;
    case reg::EVENTQ_IRQ_CFG0:
      if (ignore_if(
              irq_ctrlack_ & irq::EVENTQ_IRQEN, offset, value,
              "the event queue MSI configuration changes while IRQ_CTRLACK.EVENTQ_IRQEN == 1")) {
        return;
      }
      eventq_msi_.cfg0 = value & kMsiAddressBits;
      break;
    case reg::PRIQ_IRQ_CFG0:
      if (ignore_if(irq_ctrlack_ & irq::PRIQ_IRQEN, offset, value,
                    "the PRI queue MSI configuration changes while IRQ_CTRLACK.PRIQ_IRQEN == 1")) {
        return;
      }
      priq_msi_.cfg0 = value & kMsiAddressBits;
      break;
    case reg::STRTAB_BASE:
      if (ignore_if(cr0ack_ & cr0::SMMUEN, offset, value,
                    "STRTAB_BASE changes while CR0ACK.SMMUEN == 1")) {
        return;
      }
      strtab_base_ = value & kStrtabBaseBits;
      notify_control_changed();
      break;
    case reg::CMDQ_BASE:
      if (ignore_if(cr0ack_ & cr0::CMDQEN, offset, value,
                    "CMDQ_BASE changes while CR0ACK.CMDQEN == 1")) {
        return;
      }
      cmdq_.base = value & kQueueBaseBits;
      break;
    case reg::EVENTQ_BASE:
      if (ignore_if(cr0ack_ & cr0::EVENTQEN, offset, value,
                    "EVENTQ_BASE changes while CR0ACK.EVENTQEN == 1")) {
        return;
      }
      eventq_.base = value & kQueueBaseBits;
      break;
    case reg::PRIQ_BASE:
      if (ignore_if(cr0ack_ & cr0::PRIQEN, offset, value,
                    "PRIQ_BASE changes while CR0ACK.PRIQEN == 1")) {
        return;
      }
      priq_.base = value & kQueueBaseBits;
      break;
    default:
      return;
  }
  update_irq_lines();
}

void ProgrammingInterface::write32(std::uint64_t offset, std::uint32_t value) {
  namespace cr0 = reg::cr0;
  namespace irq = reg::irq_ctrl;
  namespace qp = reg::queue_pointer;
  switch (offset) {
    case reg::CR0:
      write_cr0(value);
      return;
    case reg::CR1:
      // CR1 sets the attributes of table and queue accesses: it must not change
      // while the SMMU or any queue is enabled.
      if (ignore_if(cr0ack_ & (cr0::SMMUEN | cr0::kQueueEnables), offset, value,
                    "CR1 changes while CR0ACK.SMMUEN or a queue enable is 1")) {
        return;
      }
      cr1_ = value & reg::cr1::kDefinedBits;
      notify_control_changed();
      return;
    case reg::CR2: {
      if (ignore_if(cr0ack_ & cr0::SMMUEN, offset, value, "CR2 changes while CR0ACK.SMMUEN == 1"))
        return;
      std::uint32_t writable = reg::cr2::RECINVSID;
      if (caps_.hyp) writable |= reg::cr2::E2H;
      if (caps_.broadcast_tlb) writable |= reg::cr2::PTM;
      cr2_ = value & writable;
      notify_control_changed();
      return;
    }
    case reg::GBPA:
      write_gbpa(value);
      return;
    case reg::IRQ_CTRL:
      write_irq_ctrl(value);
      return;
    case reg::GERRORN:
      write_gerrorn(value);
      return;
    case reg::GERROR_IRQ_CFG1:
    case reg::GERROR_IRQ_CFG2:
      if (ignore_if(irq_ctrlack_ & irq::GERROR_IRQEN, offset, value,
                    "the GERROR MSI configuration changes while IRQ_CTRLACK.GERROR_IRQEN == 1")) {
        return;
      }
      if (offset == reg::GERROR_IRQ_CFG1) {
        gerror_msi_.cfg1 = value;
      } else {
        gerror_msi_.cfg2 = value & reg::irq_cfg::kCfg2DefinedBits;
      }
      return;
    case reg::EVENTQ_IRQ_CFG1:
    case reg::EVENTQ_IRQ_CFG2:
      if (ignore_if(
              irq_ctrlack_ & irq::EVENTQ_IRQEN, offset, value,
              "the event queue MSI configuration changes while IRQ_CTRLACK.EVENTQ_IRQEN == 1")) {
        return;
      }
      if (offset == reg::EVENTQ_IRQ_CFG1) {
        eventq_msi_.cfg1 = value;
      } else {
        eventq_msi_.cfg2 = value & reg::irq_cfg::kCfg2DefinedBits;
      }
      return;
    case reg::PRIQ_IRQ_CFG1:
    case reg::PRIQ_IRQ_CFG2:
      if (ignore_if(irq_ctrlack_ & irq::PRIQ_IRQEN, offset, value,
                    "the PRI queue MSI configuration changes while IRQ_CTRLACK.PRIQ_IRQEN == 1")) {
        return;
      }
      if (offset == reg::PRIQ_IRQ_CFG1) {
        priq_msi_.cfg1 = value;
      } else {
        priq_msi_.cfg2 = value & reg::irq_cfg::kCfg2DefinedBits;
      }
      return;
    case reg::STRTAB_BASE_CFG:
      if (ignore_if(cr0ack_ & cr0::SMMUEN, offset, value,
                    "STRTAB_BASE_CFG changes while CR0ACK.SMMUEN == 1")) {
        return;
      }
      strtab_base_cfg_ = value & reg::strtab_base_cfg::kDefinedBits;
      notify_control_changed();
      return;
    case reg::CMDQ_PROD:
      cmdq_.prod = value & kPointerBits;
      commands_may_be_pending();
      return;
    case reg::CMDQ_CONS:
      // CONS belongs to the SMMU while the queue is enabled.
      if (ignore_if(cr0ack_ & cr0::CMDQEN, offset, value,
                    "CMDQ_CONS changes while CR0ACK.CMDQEN == 1")) {
        return;
      }
      cmdq_.cons = (cmdq_.cons & kCmdqErrBits) | (value & kPointerBits);
      return;
    case reg::EVENTQ_PROD:
      // PROD belongs to the SMMU while the queue is enabled.
      if (ignore_if(cr0ack_ & cr0::EVENTQEN, offset, value,
                    "EVENTQ_PROD changes while CR0ACK.EVENTQEN == 1")) {
        return;
      }
      eventq_.prod = value & (kPointerBits | qp::OVFLG);
      update_irq_lines();
      return;
    case reg::EVENTQ_CONS:
      eventq_.cons = value & (kPointerBits | qp::OVACKFLG);
      update_irq_lines();
      return;
    case reg::PRIQ_PROD:
      if (ignore_if(cr0ack_ & cr0::PRIQEN, offset, value,
                    "PRIQ_PROD changes while CR0ACK.PRIQEN == 1")) {
        return;
      }
      priq_.prod = value & (kPointerBits | qp::OVFLG);
      update_irq_lines();
      return;
    case reg::PRIQ_CONS:
      priq_.cons = value & (kPointerBits | qp::OVACKFLG);
      update_irq_lines();
      return;
    default:
      // ID registers, CR0ACK, STATUSR, IRQ_CTRLACK and GERROR are read-only.
      return;
  }
}

// ---- Control registers with acknowledgement ----------------------------------------------

void ProgrammingInterface::write_cr0(std::uint32_t value) {
  namespace cr0 = reg::cr0;
  std::uint32_t writable = cr0::SMMUEN | cr0::EVENTQEN | cr0::CMDQEN;
  if (caps_.pri) writable |= cr0::PRIQEN;
  if (caps_.ats) writable |= cr0::ATSCHK;
  if (caps_.vmid_wildcard) writable |= static_cast<std::uint32_t>(cr0::VMW.mask());
  cr0_ = value & writable;
  if (config_.defer_acks) {
    pending_cr0_ = cr0_;
  } else {
    apply_cr0(cr0_);
  }
}

void ProgrammingInterface::apply_cr0(std::uint32_t value) {
  const std::uint32_t previous = cr0ack_;
  cr0ack_ = value;
  if (previous != value) notify_control_changed();
  update_irq_lines();
  // Enabling the command queue starts consumption of anything already posted.
  commands_may_be_pending();
}

void ProgrammingInterface::write_gbpa(std::uint32_t value) {
  namespace gbpa = reg::gbpa;
  if (ignore_if((gbpa_register_ & gbpa::UPDATE) != 0, reg::GBPA, value,
                "GBPA written while a previous update is in progress (GBPA.UPDATE == 1)")) {
    return;
  }
  if ((value & gbpa::UPDATE) == 0) {
    // The attribute fields change only through a write with UPDATE = 1.
    diagnose(Severity::Info,
             fmt::format("GBPA write of {:#x} without UPDATE ignored (IHI 0070 SMMU_GBPA.Update)",
                         value));
    return;
  }
  const std::uint32_t fields = value & gbpa::kAttributeBits;
  gbpa_register_ = fields | gbpa::UPDATE;
  if (config_.defer_acks) {
    pending_gbpa_ = fields;
  } else {
    apply_gbpa(fields);
  }
}

void ProgrammingInterface::apply_gbpa(std::uint32_t fields) {
  const std::uint32_t previous = gbpa_effective_;
  gbpa_effective_ = fields;
  gbpa_register_ = fields;  // UPDATE reads 0: the update is complete
  if (previous != fields) notify_control_changed();
}

void ProgrammingInterface::write_irq_ctrl(std::uint32_t value) {
  namespace irq = reg::irq_ctrl;
  std::uint32_t writable = irq::GERROR_IRQEN | irq::EVENTQ_IRQEN;
  if (caps_.pri) writable |= irq::PRIQ_IRQEN;
  irq_ctrl_ = value & writable;
  if (config_.defer_acks) {
    pending_irq_ctrl_ = irq_ctrl_;
  } else {
    apply_irq_ctrl(irq_ctrl_);
  }
}

void ProgrammingInterface::apply_irq_ctrl(std::uint32_t value) {
  irq_ctrlack_ = value;
  update_irq_lines();
}

bool ProgrammingInterface::has_pending_acks() const {
  return pending_cr0_.has_value() || pending_gbpa_.has_value() || pending_irq_ctrl_.has_value();
}

void ProgrammingInterface::complete_pending_acks() {
  if (pending_irq_ctrl_) {
    const std::uint32_t value = *pending_irq_ctrl_;
    pending_irq_ctrl_.reset();
    apply_irq_ctrl(value);
  }
  if (pending_gbpa_) {
    const std::uint32_t value = *pending_gbpa_;
    pending_gbpa_.reset();
    apply_gbpa(value);
  }
  if (pending_cr0_) {
    const std::uint32_t value = *pending_cr0_;
    pending_cr0_.reset();
    apply_cr0(value);
  }
}

// ---- Global errors (IHI 0070 §7.5) --------------------------------------------------------

void ProgrammingInterface::write_gerrorn(std::uint32_t value) {
  const std::uint32_t active = active_global_errors();
  const std::uint32_t toggled = (gerrorn_ ^ value) & reg::gerror::kDefinedBits;
  if (const std::uint32_t inactive = toggled & ~active; inactive != 0) {
    // Software may only acknowledge active errors; toggling an inactive bit is
    // CONSTRAINED UNPREDICTABLE. Those bits keep their value.
    ++stats_.constrained_unpredictable_writes;
    diagnose(config_.constrained_unpredictable_severity,
             fmt::format(
                 "CONSTRAINED UNPREDICTABLE: GERRORN write of {:#x} toggles bits {:#x} whose error "
                 "is not active; those bits ignored (IHI 0070 SMMU_GERRORN)",
                 value, inactive));
  }
  const std::uint32_t acknowledged = toggled & active;
  gerrorn_ ^= acknowledged;
  update_irq_lines();
  if ((acknowledged & reg::gerror::CMDQ_ERR) != 0) {
    // CMDQ_CONS.ERR is UNKNOWN once the error is no longer active; the model
    // clears it. Consumption resumes at CONS: software has either fixed the
    // entry (Linux rewrites it as a CMD_SYNC) or moved on.
    cmdq_.cons &= ~kCmdqErrBits;
    commands_may_be_pending();
  }
}

void ProgrammingInterface::activate_global_errors(std::uint32_t errors) {
  // An error that is already active is not raised again.
  const std::uint32_t newly = errors & ~active_global_errors() & reg::gerror::kDefinedBits;
  if (newly == 0) return;
  gerror_ ^= newly;
  stats_.gerrors_raised += std::bitset<32>(newly).count();
  // The GERROR MSI reports new errors; a failed GERROR MSI only sets
  // MSI_GERROR_ABT_ERR (it does not send another MSI).
  const bool signal = (irq_ctrlack_ & reg::irq_ctrl::GERROR_IRQEN) != 0 &&
                      msi_in_use(gerror_msi_) && (newly & ~reg::gerror::MSI_GERROR_ABT_ERR) != 0;
  if (signal && !send_msi(gerror_msi_)) activate_global_errors(reg::gerror::MSI_GERROR_ABT_ERR);
  update_irq_lines();
}

// ---- Command queue (IHI 0070 §4, SMMU_CMDQ_*) ---------------------------------------------

void ProgrammingInterface::commands_may_be_pending() {
  if (config_.consume_commands_on_write) {
    process_command_queue();
  } else if (command_ready() && commands_pending_) {
    commands_pending_();
  }
}

bool ProgrammingInterface::command_ready() const {
  return (cr0ack_ & reg::cr0::CMDQEN) != 0 && (active_global_errors() & reg::gerror::CMDQ_ERR) == 0 &&
         !cmdq_geometry().empty(cmdq_.prod, cmdq_.cons);
}

void ProgrammingInterface::process_command_queue() {
  if (consuming_commands_) {
    consume_again_ = true;
    return;
  }
  consuming_commands_ = true;
  do {
    consume_again_ = false;
    while (command_ready()) consume_command();
  } while (consume_again_);
  consuming_commands_ = false;
}

void ProgrammingInterface::consume_command() {
  if (!command_ready()) return;
  const QueueGeometry g = cmdq_geometry();
  const std::uint64_t address = g.entry_address(cmdq_.cons);
  std::uint8_t bytes[kCommandEntryBytes];
  if (!memory_.read(address, bytes, kCommandEntryBytes, AccessPurpose::CommandQueue)) {
    ++stats_.command_fetch_aborts;
    diagnose(Severity::Info,
             fmt::format("CERROR_ABT: command fetch at {:#x} (CMDQ_CONS {:#x}) aborted", address, cmdq_.cons));
    stop_command_queue(CommandError::Abort);
    return;
  }
  const std::array<std::uint64_t, 2> words = {load_le64(bytes), load_le64(bytes + 8)};
  std::string why;
  const std::optional<Command> command = decode_command(words, caps_, why);
  if (!command) {
    ++stats_.commands_illegal;
    diagnose(Severity::Info, fmt::format("CERROR_ILL at CMDQ_CONS {:#x} ({:#018x} {:#018x}): {}", cmdq_.cons,
                                         words[0], words[1], why));
    stop_command_queue(CommandError::Illegal);
    return;
  }
  execute(*command);
  // CONS moves past a command once it has completed.
  cmdq_.cons = g.next(cmdq_.cons);
}

void ProgrammingInterface::stop_command_queue(CommandError error) {
  // CONS keeps pointing at the failed command; ERR says why (IHI 0070 §7.1).
  cmdq_.cons = static_cast<std::uint32_t>(
      reg::queue_pointer::CMDQ_CONS_ERR.set(cmdq_.cons, static_cast<std::uint8_t>(error)));
  activate_global_errors(reg::gerror::CMDQ_ERR);
}

void ProgrammingInterface::execute(const Command& command) {
  ++stats_.commands_executed;
  ++stats_.commands_by_opcode[static_cast<std::uint8_t>(command.opcode)];
  switch (command.opcode) {
    case CommandOpcode::CMD_SYNC:
      complete_sync(command);
      return;
    case CommandOpcode::PRI_RESP:
    case CommandOpcode::RESUME:
    case CommandOpcode::STALL_TERM:
      // No page request group or stalled transaction can be outstanding: the
      // model has no PRI engine and implements the terminate model only
      // (IDR0.STALL_MODEL == 0b01), so these commands complete with no effect.
      return;
    default:
      // PREFETCH_*, CFGI_*, TLBI_*, ATC_INV: in queue order, before any later
      // CMD_SYNC completes.
      caches_.execute(command);
      return;
  }
}

void ProgrammingInterface::complete_sync(const Command& command) {
  // Every earlier command has completed (they execute synchronously), so the
  // CMD_SYNC completes now and signals as CS asks (IHI 0070 CMD_SYNC).
  ++stats_.syncs;
  switch (command.sync_signal) {
    case SyncSignal::None:
      return;
    case SyncSignal::Irq:
      if (caps_.msi && command.msi_address != 0) {
        // MSI: a 32-bit write of MSIData to MSIAddress.
        if (send_msi(command.msi_address, command.msi_data)) {
          ++stats_.sync_msis;
        } else {
          activate_global_errors(reg::gerror::MSI_CMDQ_ABT_ERR);
        }
      } else {
        ++stats_.sync_wired_irqs;
        if (irq_) {
          irq_(IrqLine::CommandSync, true);
          irq_(IrqLine::CommandSync, false);
        }
      }
      return;
    case SyncSignal::Sev:
      // Without IDR0.SEV no event is sent: the completion is only visible in CONS.
      if (caps_.sev) ++stats_.sev_events;
      return;
  }
}

// ---- Event queue (IHI 0070 §7.2, overflow §7.4)
// ----------------------------------------------------------

bool ProgrammingInterface::record_event(const EventRecord& record) {
  namespace qp = reg::queue_pointer;
  if ((cr0ack_ & reg::cr0::EVENTQEN) == 0 ||
      (active_global_errors() & reg::gerror::EVTQ_ABT_ERR) != 0) {
    // A disabled queue records nothing; after an abort on a queue write the
    // queue accepts no record until software acknowledges EVTQ_ABT_ERR.
    ++stats_.events_discarded;
    return false;
  }
  const QueueGeometry g = eventq_geometry();
  if (g.full(eventq_.prod, eventq_.cons)) {
    // Overflow: nothing is overwritten. OVFLG toggles when this is a new
    // overflow (OVFLG == CONS.OVACKFLG, i.e. software acknowledged the last one).
    ++stats_.events_lost;
    if (((eventq_.prod ^ eventq_.cons) & qp::OVFLG) == 0) eventq_.prod ^= qp::OVFLG;
    return false;
  }
  const bool was_empty = g.empty(eventq_.prod, eventq_.cons);
  const std::array<std::uint64_t, 4> words = record.encode();
  std::uint8_t bytes[kEventEntryBytes];
  for (std::size_t i = 0; i < words.size(); ++i) store_le64(bytes + 8 * i, words[i]);
  const std::uint64_t address = g.entry_address(eventq_.prod);
  if (!memory_.write(address, bytes, kEventEntryBytes, AccessPurpose::EventQueue)) {
    ++stats_.event_write_aborts;
    diagnose(Severity::Info,
             fmt::format("EVTQ_ABT_ERR: event record write at {:#x} aborted", address));
    activate_global_errors(reg::gerror::EVTQ_ABT_ERR);
    return false;
  }
  eventq_.prod = (eventq_.prod & qp::OVFLG) | g.next(eventq_.prod);
  ++stats_.events_recorded;
  // The queue interrupt fires when the queue becomes non-empty.
  if (was_empty && (irq_ctrlack_ & reg::irq_ctrl::EVENTQ_IRQEN) != 0 && msi_in_use(eventq_msi_) &&
      !send_msi(eventq_msi_)) {
    activate_global_errors(reg::gerror::MSI_EVTQ_ABT_ERR);
  }
  update_irq_lines();
  return true;
}

// ---- Interrupts and MSIs (IHI 0070 §3.18) ------------------------------------------------------

bool ProgrammingInterface::msi_in_use(const MsiConfig& msi) const {
  // An MSI is sent when MSIs are implemented and the address is non-zero.
  return caps_.msi && (msi.cfg0 & kMsiAddressBits) != 0;
}

bool ProgrammingInterface::send_msi(std::uint64_t address, std::uint32_t data) {
  ++stats_.msi_writes;
  const std::uint8_t bytes[4] = {
      static_cast<std::uint8_t>(data), static_cast<std::uint8_t>(data >> 8),
      static_cast<std::uint8_t>(data >> 16), static_cast<std::uint8_t>(data >> 24)};
  if (memory_.write(address, bytes, sizeof bytes, AccessPurpose::Msi)) return true;
  ++stats_.msi_write_aborts;
  diagnose(Severity::Info, fmt::format("MSI write of {:#x} to {:#x} aborted", data, address));
  return false;
}

void ProgrammingInterface::update_irq_lines() {
  namespace irq = reg::irq_ctrl;
  namespace cr0 = reg::cr0;
  const bool eventq = (irq_ctrlack_ & irq::EVENTQ_IRQEN) != 0 && (cr0ack_ & cr0::EVENTQEN) != 0 &&
                      !msi_in_use(eventq_msi_) &&
                      !eventq_geometry().empty(eventq_.prod, eventq_.cons);
  const bool priq = caps_.pri && (irq_ctrlack_ & irq::PRIQ_IRQEN) != 0 &&
                    (cr0ack_ & cr0::PRIQEN) != 0 && !msi_in_use(priq_msi_) &&
                    !priq_geometry().empty(priq_.prod, priq_.cons);
  const bool gerror = (irq_ctrlack_ & irq::GERROR_IRQEN) != 0 && !msi_in_use(gerror_msi_) &&
                      active_global_errors() != 0;
  set_line(IrqLine::EventQueue, eventq);
  set_line(IrqLine::PriQueue, priq);
  set_line(IrqLine::GlobalError, gerror);
}

void ProgrammingInterface::set_line(IrqLine line, bool level) {
  bool& current = line_levels_[static_cast<std::size_t>(line)];
  if (current == level) return;
  current = level;
  if (irq_) irq_(line, level);
}

// ---- Diagnostics --------------------------------------------------------------------------

bool ProgrammingInterface::ignore_if(bool forbidden, std::uint64_t offset, std::uint64_t value,
                                     const char* rule) {
  if (!forbidden) return false;
  ++stats_.constrained_unpredictable_writes;
  diagnose(
      config_.constrained_unpredictable_severity,
      fmt::format("CONSTRAINED UNPREDICTABLE: write of {:#x} to {} ignored: {} (IHI 0070 SMMU_{})",
                  value, name_of(offset), rule, name_of(offset)));
  return true;
}

void ProgrammingInterface::diagnose(Severity severity, const std::string& message) {
  if (diagnostics_) diagnostics_(severity, message);
}

void ProgrammingInterface::notify_control_changed() {
  if (control_changed_) control_changed_();
}

}  // namespace smmuv3tlm::smmu
