#include "smmuv3tlm/models/smmu/core/programming_interface.h"

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


ProgrammingInterface::ProgrammingInterface(const Capabilities& caps, MemoryPort& queue_memory,
                                           CacheMaintenance& caches,
                                           const ProgrammingInterfaceConfig& config)
    : caps_(caps), memory_(queue_memory), caches_(caches), config_(config) {
  reset();
}

// What each register of reg::kRegisters does, in the same order: its value as
// read, what a write does, and how reset stores its reset value. Read-only
// registers have no write; registers without state have no store.
struct ProgrammingInterface::RegisterBehaviour {
  std::uint64_t offset;  // checked against the layout table
  std::uint64_t (*read)(const ProgrammingInterface&);
  void (*write)(ProgrammingInterface&, std::uint64_t value);
  void (*store)(ProgrammingInterface&, std::uint64_t value);
};

void ProgrammingInterface::reset() {
  // Every register with state takes its reset value from the register table.
  for (const RegisterLayout& layout : reg::kRegisters) {
    const RegisterBehaviour& behaviour = behaviour_of(layout);
    if (behaviour.store != nullptr) behaviour.store(*this, layout.reset_value);
  }
  pending_cr0_.reset();
  pending_gbpa_.reset();
  pending_irq_ctrl_.reset();
  consume_again_ = false;
  ++resets_;
  eventq_reserved_ = 0;
  event_writes_in_flight_ = 0;
  for (IrqLine line : {IrqLine::EventQueue, IrqLine::PriQueue, IrqLine::GlobalError})
    set_line(line, false);
  notify_control_changed();
}

// ---- Queue geometry ----------------------------------------------------------------

ProgrammingInterface::QueueGeometry ProgrammingInterface::cmdq_geometry() const {
  return reg::queue_geometry(cmdq_.base, caps_.cmdq_log2, kCommandEntryBytes);
}

ProgrammingInterface::QueueGeometry ProgrammingInterface::eventq_geometry() const {
  return reg::queue_geometry(eventq_.base, caps_.eventq_log2, kEventEntryBytes);
}

ProgrammingInterface::QueueGeometry ProgrammingInterface::priq_geometry() const {
  return reg::queue_geometry(priq_.base, caps_.priq_log2, kPriEntryBytes);
}

// ---- MMIO: the register table's behaviour ---------------------------------------------------

const ProgrammingInterface::RegisterBehaviour& ProgrammingInterface::behaviour_of(const RegisterLayout& layout) {
  using PI = ProgrammingInterface;
  namespace cr0 = reg::cr0;
  namespace irq = reg::irq_ctrl;
  namespace qp = reg::queue_pointer;
  // The MSI configuration of one interrupt may not change while it is enabled.
  static constexpr auto msi_cfg0 = [](PI& p, MsiConfig& msi, std::uint32_t irqen, std::uint64_t offset,
                               std::uint64_t value, const char* rule) {
    if (p.ignore_if(p.irq_ctrlack_ & irqen, offset, value, rule)) return;
    msi.cfg0 = value & kMsiAddressBits;
  };
  static constexpr auto msi_cfg = [](PI& p, std::uint32_t& field, std::uint32_t irqen, std::uint64_t offset,
                              std::uint64_t value, std::uint32_t defined, const char* rule) {
    if (p.ignore_if(p.irq_ctrlack_ & irqen, offset, value, rule)) return;
    field = static_cast<std::uint32_t>(value) & defined;
  };
  static constexpr const char* kGerrorMsiRule = "the GERROR MSI configuration changes while IRQ_CTRLACK.GERROR_IRQEN == 1";
  static constexpr const char* kEventqMsiRule =
      "the event queue MSI configuration changes while IRQ_CTRLACK.EVENTQ_IRQEN == 1";
  static constexpr const char* kPriqMsiRule = "the PRI queue MSI configuration changes while IRQ_CTRLACK.PRIQ_IRQEN == 1";
  static constexpr std::uint32_t kAll = ~std::uint32_t{0};
  // A queue's base may not change while the queue is enabled.
  static constexpr auto queue_base = [](PI& p, Queue& q, std::uint32_t enable, std::uint64_t offset, std::uint64_t value,
                                 const char* rule) {
    if (p.ignore_if(p.cr0ack_ & enable, offset, value, rule)) return;
    q.base = value & kQueueBaseBits;
  };
  constexpr auto none = nullptr;

  static const RegisterBehaviour kBehaviours[] = {
      {reg::IDR0, [](const PI& p) -> std::uint64_t { return p.caps_.idr0(); }, none, none},
      {reg::IDR1, [](const PI& p) -> std::uint64_t { return p.caps_.idr1(); }, none, none},
      {reg::IDR2, [](const PI& p) -> std::uint64_t { return p.caps_.idr2(); }, none, none},
      {reg::IDR3, [](const PI& p) -> std::uint64_t { return p.caps_.idr3(); }, none, none},
      {reg::IDR4, [](const PI& p) -> std::uint64_t { return p.caps_.idr4(); }, none, none},
      {reg::IDR5, [](const PI& p) -> std::uint64_t { return p.caps_.idr5(); }, none, none},
      {reg::IIDR, [](const PI& p) -> std::uint64_t { return p.caps_.iidr; }, none, none},
      {reg::AIDR, [](const PI& p) -> std::uint64_t { return p.caps_.aidr(); }, none, none},
      {reg::CR0, [](const PI& p) -> std::uint64_t { return p.cr0_; },
       [](PI& p, std::uint64_t v) { p.write_cr0(static_cast<std::uint32_t>(v)); },
       [](PI& p, std::uint64_t v) { p.cr0_ = static_cast<std::uint32_t>(v); }},
      {reg::CR0ACK, [](const PI& p) -> std::uint64_t { return p.cr0ack_; }, none,
       [](PI& p, std::uint64_t v) { p.cr0ack_ = static_cast<std::uint32_t>(v); }},
      {reg::CR1, [](const PI& p) -> std::uint64_t { return p.cr1_; },
       [](PI& p, std::uint64_t v) {
         // CR1 sets the attributes of table and queue accesses: it must not
         // change while the SMMU or any queue is enabled.
         if (p.ignore_if(p.cr0ack_ & (cr0::SMMUEN | cr0::kQueueEnables), reg::CR1, v,
                         "CR1 changes while CR0ACK.SMMUEN or a queue enable is 1")) {
           return;
         }
         p.cr1_ = static_cast<std::uint32_t>(v) & reg::cr1::kDefinedBits;
         p.notify_control_changed();
       },
       [](PI& p, std::uint64_t v) { p.cr1_ = static_cast<std::uint32_t>(v); }},
      {reg::CR2, [](const PI& p) -> std::uint64_t { return p.cr2_; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.cr0ack_ & cr0::SMMUEN, reg::CR2, v, "CR2 changes while CR0ACK.SMMUEN == 1")) return;
         std::uint32_t writable = reg::cr2::RECINVSID;
         if (p.caps_.hyp) writable |= reg::cr2::E2H;
         if (p.caps_.broadcast_tlb) writable |= reg::cr2::PTM;
         p.cr2_ = static_cast<std::uint32_t>(v) & writable;
         p.notify_control_changed();
       },
       [](PI& p, std::uint64_t v) { p.cr2_ = static_cast<std::uint32_t>(v); }},
      // DORMANT: no dormant state (IDR0.DORMHINT == 0).
      {reg::STATUSR, [](const PI&) -> std::uint64_t { return 0; }, none, none},
      {reg::GBPA, [](const PI& p) -> std::uint64_t { return p.gbpa_register_; },
       [](PI& p, std::uint64_t v) { p.write_gbpa(static_cast<std::uint32_t>(v)); },
       [](PI& p, std::uint64_t v) {
         p.gbpa_effective_ = static_cast<std::uint32_t>(v) | (p.config_.gbpa_abort_at_reset ? reg::gbpa::ABORT : 0u);
         p.gbpa_register_ = p.gbpa_effective_;
       }},
      {reg::AGBPA, none, none, none},
      {reg::IRQ_CTRL, [](const PI& p) -> std::uint64_t { return p.irq_ctrl_; },
       [](PI& p, std::uint64_t v) { p.write_irq_ctrl(static_cast<std::uint32_t>(v)); },
       [](PI& p, std::uint64_t v) { p.irq_ctrl_ = static_cast<std::uint32_t>(v); }},
      {reg::IRQ_CTRLACK, [](const PI& p) -> std::uint64_t { return p.irq_ctrlack_; }, none,
       [](PI& p, std::uint64_t v) { p.irq_ctrlack_ = static_cast<std::uint32_t>(v); }},
      {reg::GERROR, [](const PI& p) -> std::uint64_t { return p.gerror_; }, none,
       [](PI& p, std::uint64_t v) { p.gerror_ = static_cast<std::uint32_t>(v); }},
      {reg::GERRORN, [](const PI& p) -> std::uint64_t { return p.gerrorn_; },
       [](PI& p, std::uint64_t v) { p.write_gerrorn(static_cast<std::uint32_t>(v)); },
       [](PI& p, std::uint64_t v) { p.gerrorn_ = static_cast<std::uint32_t>(v); }},
      {reg::GERROR_IRQ_CFG0, [](const PI& p) -> std::uint64_t { return p.gerror_msi_.cfg0; },
       [](PI& p, std::uint64_t v) {
         msi_cfg0(p, p.gerror_msi_, irq::GERROR_IRQEN, reg::GERROR_IRQ_CFG0, v, kGerrorMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.gerror_msi_.cfg0 = v; }},
      {reg::GERROR_IRQ_CFG1, [](const PI& p) -> std::uint64_t { return p.gerror_msi_.cfg1; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.gerror_msi_.cfg1, irq::GERROR_IRQEN, reg::GERROR_IRQ_CFG1, v, kAll, kGerrorMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.gerror_msi_.cfg1 = static_cast<std::uint32_t>(v); }},
      {reg::GERROR_IRQ_CFG2, [](const PI& p) -> std::uint64_t { return p.gerror_msi_.cfg2; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.gerror_msi_.cfg2, irq::GERROR_IRQEN, reg::GERROR_IRQ_CFG2, v, reg::irq_cfg::kCfg2DefinedBits,
                 kGerrorMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.gerror_msi_.cfg2 = static_cast<std::uint32_t>(v); }},
      {reg::STRTAB_BASE, [](const PI& p) -> std::uint64_t { return p.strtab_base_; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.cr0ack_ & cr0::SMMUEN, reg::STRTAB_BASE, v, "STRTAB_BASE changes while CR0ACK.SMMUEN == 1")) {
           return;
         }
         p.strtab_base_ = v & kStrtabBaseBits;
         p.notify_control_changed();
       },
       [](PI& p, std::uint64_t v) { p.strtab_base_ = v; }},
      {reg::STRTAB_BASE_CFG, [](const PI& p) -> std::uint64_t { return p.strtab_base_cfg_; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.cr0ack_ & cr0::SMMUEN, reg::STRTAB_BASE_CFG, v,
                         "STRTAB_BASE_CFG changes while CR0ACK.SMMUEN == 1")) {
           return;
         }
         p.strtab_base_cfg_ = static_cast<std::uint32_t>(v) & reg::strtab_base_cfg::kDefinedBits;
         p.notify_control_changed();
       },
       [](PI& p, std::uint64_t v) { p.strtab_base_cfg_ = static_cast<std::uint32_t>(v); }},
      {reg::CMDQ_BASE, [](const PI& p) -> std::uint64_t { return p.cmdq_.base; },
       [](PI& p, std::uint64_t v) {
         queue_base(p, p.cmdq_, cr0::CMDQEN, reg::CMDQ_BASE, v, "CMDQ_BASE changes while CR0ACK.CMDQEN == 1");
       },
       [](PI& p, std::uint64_t v) { p.cmdq_.base = v; }},
      {reg::CMDQ_PROD, [](const PI& p) -> std::uint64_t { return p.cmdq_.prod; },
       [](PI& p, std::uint64_t v) {
         p.cmdq_.prod = static_cast<std::uint32_t>(v) & kPointerBits;
         // While the queue is disabled software writes PROD and CONS one at a
         // time; the indexes must be coherent once the queue runs.
         if ((p.cr0ack_ & cr0::CMDQEN) == 0) return;
         if (!p.command_indexes_coherent()) return;
         const QueueGeometry g = p.cmdq_geometry();
         p.stats_.command_queue_occupancy.add(g.occupancy(p.cmdq_.prod, p.cmdq_.cons));
         p.commands_may_be_pending();
       },
       [](PI& p, std::uint64_t v) { p.cmdq_.prod = static_cast<std::uint32_t>(v); }},
      {reg::CMDQ_CONS, [](const PI& p) -> std::uint64_t { return p.cmdq_.cons; },
       [](PI& p, std::uint64_t v) {
         // CONS belongs to the SMMU while the queue is enabled.
         if (p.ignore_if(p.cr0ack_ & cr0::CMDQEN, reg::CMDQ_CONS, v, "CMDQ_CONS changes while CR0ACK.CMDQEN == 1")) {
           return;
         }
         p.cmdq_.cons = (p.cmdq_.cons & kCmdqErrBits) | (static_cast<std::uint32_t>(v) & kPointerBits);
       },
       [](PI& p, std::uint64_t v) { p.cmdq_.cons = static_cast<std::uint32_t>(v); }},
      {reg::EVENTQ_BASE, [](const PI& p) -> std::uint64_t { return p.eventq_.base; },
       [](PI& p, std::uint64_t v) {
         queue_base(p, p.eventq_, cr0::EVENTQEN, reg::EVENTQ_BASE, v,
                    "EVENTQ_BASE changes while CR0ACK.EVENTQEN == 1");
       },
       [](PI& p, std::uint64_t v) { p.eventq_.base = v; }},
      {reg::EVENTQ_IRQ_CFG0, [](const PI& p) -> std::uint64_t { return p.eventq_msi_.cfg0; },
       [](PI& p, std::uint64_t v) {
         msi_cfg0(p, p.eventq_msi_, irq::EVENTQ_IRQEN, reg::EVENTQ_IRQ_CFG0, v, kEventqMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.eventq_msi_.cfg0 = v; }},
      {reg::EVENTQ_IRQ_CFG1, [](const PI& p) -> std::uint64_t { return p.eventq_msi_.cfg1; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.eventq_msi_.cfg1, irq::EVENTQ_IRQEN, reg::EVENTQ_IRQ_CFG1, v, kAll, kEventqMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.eventq_msi_.cfg1 = static_cast<std::uint32_t>(v); }},
      {reg::EVENTQ_IRQ_CFG2, [](const PI& p) -> std::uint64_t { return p.eventq_msi_.cfg2; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.eventq_msi_.cfg2, irq::EVENTQ_IRQEN, reg::EVENTQ_IRQ_CFG2, v, reg::irq_cfg::kCfg2DefinedBits,
                 kEventqMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.eventq_msi_.cfg2 = static_cast<std::uint32_t>(v); }},
      {reg::PRIQ_BASE, [](const PI& p) -> std::uint64_t { return p.priq_.base; },
       [](PI& p, std::uint64_t v) {
         queue_base(p, p.priq_, cr0::PRIQEN, reg::PRIQ_BASE, v, "PRIQ_BASE changes while CR0ACK.PRIQEN == 1");
       },
       [](PI& p, std::uint64_t v) { p.priq_.base = v; }},
      {reg::PRIQ_IRQ_CFG0, [](const PI& p) -> std::uint64_t { return p.priq_msi_.cfg0; },
       [](PI& p, std::uint64_t v) { msi_cfg0(p, p.priq_msi_, irq::PRIQ_IRQEN, reg::PRIQ_IRQ_CFG0, v, kPriqMsiRule); },
       [](PI& p, std::uint64_t v) { p.priq_msi_.cfg0 = v; }},
      {reg::PRIQ_IRQ_CFG1, [](const PI& p) -> std::uint64_t { return p.priq_msi_.cfg1; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.priq_msi_.cfg1, irq::PRIQ_IRQEN, reg::PRIQ_IRQ_CFG1, v, kAll, kPriqMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.priq_msi_.cfg1 = static_cast<std::uint32_t>(v); }},
      {reg::PRIQ_IRQ_CFG2, [](const PI& p) -> std::uint64_t { return p.priq_msi_.cfg2; },
       [](PI& p, std::uint64_t v) {
         msi_cfg(p, p.priq_msi_.cfg2, irq::PRIQ_IRQEN, reg::PRIQ_IRQ_CFG2, v, reg::irq_cfg::kCfg2DefinedBits,
                 kPriqMsiRule);
       },
       [](PI& p, std::uint64_t v) { p.priq_msi_.cfg2 = static_cast<std::uint32_t>(v); }},
      // ATOS (chapter 9): SID and ADDR are guarded by RUN; RUN = 1 starts the
      // translation (the owner runs it and calls complete_atos()).
      {reg::GATOS_CTRL, [](const PI& p) -> std::uint64_t { return p.gatos_ctrl_; },
       [](PI& p, std::uint64_t v) { p.write_gatos_ctrl(static_cast<std::uint32_t>(v)); },
       [](PI& p, std::uint64_t v) { p.gatos_ctrl_ = static_cast<std::uint32_t>(v); }},
      {reg::GATOS_SID, [](const PI& p) -> std::uint64_t { return p.gatos_sid_; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.gatos_ctrl_ & reg::gatos::RUN, reg::GATOS_SID, v, "GATOS_SID changes while GATOS_CTRL.RUN == 1")) {
           return;
         }
         p.gatos_sid_ = v & (reg::gatos::STREAMID.mask() | reg::gatos::SUBSTREAMID.mask() | reg::gatos::SSID_VALID);
       },
       [](PI& p, std::uint64_t v) { p.gatos_sid_ = v; }},
      {reg::GATOS_ADDR, [](const PI& p) -> std::uint64_t { return p.gatos_addr_; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.gatos_ctrl_ & reg::gatos::RUN, reg::GATOS_ADDR, v,
                         "GATOS_ADDR changes while GATOS_CTRL.RUN == 1")) {
           return;
         }
         namespace g = reg::gatos;
         p.gatos_addr_ = v & (g::ADDR.mask() | g::TYPE.mask() | g::PNU | g::RNW | g::IND | g::HTTUI);
       },
       [](PI& p, std::uint64_t v) { p.gatos_addr_ = v; }},
      {reg::GATOS_PAR, [](const PI& p) -> std::uint64_t { return p.gatos_par_; }, none,
       [](PI& p, std::uint64_t v) { p.gatos_par_ = v; }},
      {reg::VATOS_SEL, none, none, none},
      {reg::EVENTQ_PROD, [](const PI& p) -> std::uint64_t { return p.eventq_.prod; },
       [](PI& p, std::uint64_t v) {
         // PROD belongs to the SMMU while the queue is enabled.
         if (p.ignore_if(p.cr0ack_ & cr0::EVENTQEN, reg::EVENTQ_PROD, v,
                         "EVENTQ_PROD changes while CR0ACK.EVENTQEN == 1")) {
           return;
         }
         p.eventq_.prod = static_cast<std::uint32_t>(v) & (kPointerBits | qp::OVFLG);
       },
       [](PI& p, std::uint64_t v) { p.eventq_.prod = static_cast<std::uint32_t>(v); }},
      {reg::EVENTQ_CONS, [](const PI& p) -> std::uint64_t { return p.eventq_.cons; },
       [](PI& p, std::uint64_t v) { p.eventq_.cons = static_cast<std::uint32_t>(v) & (kPointerBits | qp::OVACKFLG); },
       [](PI& p, std::uint64_t v) { p.eventq_.cons = static_cast<std::uint32_t>(v); }},
      {reg::PRIQ_PROD, [](const PI& p) -> std::uint64_t { return p.priq_.prod; },
       [](PI& p, std::uint64_t v) {
         if (p.ignore_if(p.cr0ack_ & cr0::PRIQEN, reg::PRIQ_PROD, v, "PRIQ_PROD changes while CR0ACK.PRIQEN == 1")) {
           return;
         }
         p.priq_.prod = static_cast<std::uint32_t>(v) & (kPointerBits | qp::OVFLG);
       },
       [](PI& p, std::uint64_t v) { p.priq_.prod = static_cast<std::uint32_t>(v); }},
      {reg::PRIQ_CONS, [](const PI& p) -> std::uint64_t { return p.priq_.cons; },
       [](PI& p, std::uint64_t v) { p.priq_.cons = static_cast<std::uint32_t>(v) & (kPointerBits | qp::OVACKFLG); },
       [](PI& p, std::uint64_t v) { p.priq_.cons = static_cast<std::uint32_t>(v); }},
  };
  static_assert(sizeof(kBehaviours) / sizeof(kBehaviours[0]) == reg::kRegisterCount,
                "one behaviour per register of reg::kRegisters");
  const std::size_t index = static_cast<std::size_t>(&layout - reg::kRegisters);
  return kBehaviours[index];
}

bool ProgrammingInterface::register_table_consistent() {
  for (const RegisterLayout& layout : reg::kRegisters) {
    if (behaviour_of(layout).offset != layout.offset) return false;
  }
  return true;
}

const RegisterLayout* ProgrammingInterface::present_register(std::uint64_t offset) const {
  const RegisterLayout* layout = find_register(offset);
  if (layout == nullptr || !register_present(layout->presence, caps_.msi, caps_.pri, caps_.atos)) return nullptr;
  return layout;
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
  const RegisterLayout* layout = present_register(offset);
  if (size_bytes == 8 && layout == nullptr) layout = present_register(offset + 4);
  if (layout == nullptr) return 0;  // reserved: RAZ
  if (size_bytes == 8 && layout->bytes == 4) {
    ++stats_.bad_accesses;
    diagnose(config_.constrained_unpredictable_severity,
             fmt::format("CONSTRAINED UNPREDICTABLE: 64-bit read of 32-bit register {} at {:#x}; read as zero "
                         "(IHI 0070 §6.2: 32-bit registers take 32-bit accesses)",
                         layout->name, offset));
    return 0;
  }
  const RegisterBehaviour& behaviour = behaviour_of(*layout);
  const std::uint64_t value = behaviour.read != nullptr ? behaviour.read(*this) : 0;
  if (size_bytes == 4 && layout->bytes == 8) return (value >> ((offset - layout->offset) * 8)) & 0xFFFF'FFFFu;
  return value;
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
  const RegisterLayout* layout = present_register(offset);
  if (size_bytes == 8 && layout == nullptr) layout = present_register(offset + 4);
  if (layout == nullptr) return;  // reserved: WI
  if (size_bytes == 8 && layout->bytes == 4) {
    ++stats_.bad_accesses;
    diagnose(config_.constrained_unpredictable_severity,
             fmt::format("CONSTRAINED UNPREDICTABLE: 64-bit write of {:#x} to 32-bit register {} at {:#x}; "
                         "ignored (IHI 0070 §6.2: 32-bit registers take 32-bit accesses)",
                         value, layout->name, offset));
    return;
  }
  const RegisterBehaviour& behaviour = behaviour_of(*layout);
  if (behaviour.write == nullptr) return;  // read-only
  if (size_bytes == 4 && layout->bytes == 8) {
    // One half of a 64-bit register: the other half keeps its value.
    const unsigned shift = static_cast<unsigned>(offset - layout->offset) * 8;
    value = deposit(behaviour.read(*this), shift + 31, shift, value & 0xFFFF'FFFFu);
  } else if (size_bytes == 4) {
    value &= 0xFFFF'FFFFu;
  }
  behaviour.write(*this, value);
  update_irq_lines();
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
  if ((value & ~previous & reg::cr0::CMDQEN) != 0 && !command_indexes_coherent()) return;
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

void ProgrammingInterface::activate_global_errors(std::uint32_t errors, const AccessContext& context) {
  // An error that is already active is not raised again.
  const std::uint32_t newly = errors & ~active_global_errors() & reg::gerror::kDefinedBits;
  if (newly == 0) return;
  gerror_ ^= newly;
  stats_.gerrors_raised += std::bitset<32>(newly).count();
  // The GERROR MSI reports new errors; a failed GERROR MSI only sets
  // MSI_GERROR_ABT_ERR (it does not send another MSI).
  const bool signal = (irq_ctrlack_ & reg::irq_ctrl::GERROR_IRQEN) != 0 &&
                      msi_in_use(gerror_msi_) && (newly & ~reg::gerror::MSI_GERROR_ABT_ERR) != 0;
  if (signal && !send_msi(gerror_msi_, context)) activate_global_errors(reg::gerror::MSI_GERROR_ABT_ERR, context);
  update_irq_lines();
}

// ---- Command queue (IHI 0070 §4, SMMU_CMDQ_*) ---------------------------------------------

bool ProgrammingInterface::command_indexes_coherent() {
  const QueueGeometry g = cmdq_geometry();
  if (g.coherent(cmdq_.prod, cmdq_.cons)) return true;
  // PROD more than a queue length ahead of CONS (IHI 0070 §3.5.1: an
  // incoherent index state). Of the CONSTRAINED UNPREDICTABLE choices the model
  // takes "the SMMU consumes nothing" until the indexes agree again, so no slot
  // is executed twice.
  ++stats_.constrained_unpredictable_writes;
  diagnose(config_.constrained_unpredictable_severity,
           fmt::format("CONSTRAINED UNPREDICTABLE: CMDQ_PROD {:#x} is more than the queue's {} entries ahead of "
                       "CMDQ_CONS {:#x} (incoherent indexes, IHI 0070 §3.5.1); no command is consumed until "
                       "CMDQ_PROD is written coherently",
                       cmdq_.prod, g.entries(), cmdq_.cons & kPointerBits));
  return false;
}

void ProgrammingInterface::commands_may_be_pending() {
  if (config_.consume_commands_on_write) {
    process_command_queue();
  } else if (command_ready() && commands_pending_) {
    commands_pending_();
  }
}

bool ProgrammingInterface::command_ready() const {
  const QueueGeometry g = cmdq_geometry();
  return (cr0ack_ & reg::cr0::CMDQEN) != 0 && (active_global_errors() & reg::gerror::CMDQ_ERR) == 0 &&
         !g.empty(cmdq_.prod, cmdq_.cons) && g.coherent(cmdq_.prod, cmdq_.cons);
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

void ProgrammingInterface::consume_command(const AccessContext& context) {
  if (!command_ready()) return;
  const std::uint64_t resets = resets_;
  const QueueGeometry g = cmdq_geometry();
  const std::uint64_t address = g.entry_address(cmdq_.cons);
  std::uint8_t bytes[kCommandEntryBytes];
  const bool fetched = memory_.read_for(context, address, bytes, kCommandEntryBytes, AccessPurpose::CommandQueue);
  if (resets != resets_) return;  // reset while the fetch waited: the queue is gone
  if (!fetched) {
    ++stats_.command_fetch_aborts;
    diagnose(Severity::Info,
             fmt::format("CERROR_ABT: command fetch at {:#x} (CMDQ_CONS {:#x}) aborted", address, cmdq_.cons));
    stop_command_queue(CommandError::Abort, context);
    return;
  }
  const std::array<std::uint64_t, 2> words = {load_le64(bytes), load_le64(bytes + 8)};
  std::string why;
  const std::optional<Command> command = decode_command(words, caps_, why);
  if (!command) {
    ++stats_.commands_illegal;
    diagnose(Severity::Info, fmt::format("CERROR_ILL at CMDQ_CONS {:#x} ({:#018x} {:#018x}): {}", cmdq_.cons,
                                         words[0], words[1], why));
    stop_command_queue(CommandError::Illegal, context);
    return;
  }
  execute(*command, context);
  if (resets != resets_) return;
  // CONS moves past a command once it has completed.
  cmdq_.cons = g.next(cmdq_.cons);
}

void ProgrammingInterface::stop_command_queue(CommandError error, const AccessContext& context) {
  // CONS keeps pointing at the failed command; ERR says why (IHI 0070 §7.1).
  cmdq_.cons = static_cast<std::uint32_t>(
      reg::queue_pointer::CMDQ_CONS_ERR.set(cmdq_.cons, static_cast<std::uint8_t>(error)));
  activate_global_errors(reg::gerror::CMDQ_ERR, context);
}

void ProgrammingInterface::execute(const Command& command, const AccessContext& context) {
  ++stats_.commands_executed;
  ++stats_.commands_by_opcode[command.opcode];
  switch (command.opcode) {
    case CommandOpcode::CMD_SYNC:
      complete_sync(command, context);
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

void ProgrammingInterface::complete_sync(const Command& command, const AccessContext& context) {
  // Every earlier command has completed (they execute synchronously), so the
  // CMD_SYNC completes now and signals as CS asks (IHI 0070 CMD_SYNC).
  ++stats_.syncs;
  switch (command.sync_signal) {
    case SyncSignal::None:
      return;
    case SyncSignal::Irq:
      if (caps_.msi && command.msi_address != 0) {
        // MSI: a 32-bit write of MSIData to MSIAddress.
        if (send_msi(command.msi_address, command.msi_data, context)) {
          ++stats_.sync_msis;
        } else {
          activate_global_errors(reg::gerror::MSI_CMDQ_ABT_ERR, context);
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

bool ProgrammingInterface::record_event(const EventRecord& record, const AccessContext& context) {
  namespace qp = reg::queue_pointer;
  if ((cr0ack_ & reg::cr0::EVENTQEN) == 0 ||
      (active_global_errors() & reg::gerror::EVTQ_ABT_ERR) != 0) {
    // A disabled queue records nothing; after an abort on a queue write the
    // queue accepts no record until software acknowledges EVTQ_ABT_ERR.
    ++stats_.events_discarded;
    return false;
  }
  const QueueGeometry g = eventq_geometry();
  if (event_writes_in_flight_ == 0) eventq_reserved_ = eventq_.prod;
  // Full counts the slots of records still being written.
  if (g.full(eventq_reserved_, eventq_.cons)) {
    // Overflow: nothing is overwritten. OVFLG toggles when this is a new
    // overflow (OVFLG == CONS.OVACKFLG, i.e. software acknowledged the last one).
    ++stats_.events_lost;
    if (((eventq_.prod ^ eventq_.cons) & qp::OVFLG) == 0) eventq_.prod ^= qp::OVFLG;
    return false;
  }
  const std::uint32_t slot = eventq_reserved_;
  eventq_reserved_ = (eventq_reserved_ & qp::OVFLG) | g.next(eventq_reserved_);
  ++event_writes_in_flight_;
  const std::uint64_t resets = resets_;
  const std::array<std::uint64_t, 4> words = record.encode();
  std::uint8_t bytes[kEventEntryBytes];
  for (std::size_t i = 0; i < words.size(); ++i) store_le64(bytes + 8 * i, words[i]);
  const std::uint64_t address = g.entry_address(slot);
  const bool written = memory_.write_for(context, address, bytes, kEventEntryBytes, AccessPurpose::EventQueue);
  if (resets != resets_) return false;  // reset while the write waited: the queue is gone
  --event_writes_in_flight_;
  if (!written) {
    ++stats_.event_write_aborts;
    diagnose(Severity::Info,
             fmt::format("EVTQ_ABT_ERR: event record write at {:#x} aborted", address));
    activate_global_errors(reg::gerror::EVTQ_ABT_ERR, context);
    return false;
  }
  ++stats_.events_recorded;
  stats_.event_queue_occupancy.add(g.occupancy(eventq_reserved_, eventq_.cons));
  if (event_writes_in_flight_ != 0) return true;  // PROD moves when the last one lands
  const bool was_empty = g.empty(eventq_.prod, eventq_.cons);
  eventq_.prod = (eventq_.prod & qp::OVFLG) | (eventq_reserved_ & ~qp::OVFLG);
  // The queue interrupt fires when the queue becomes non-empty.
  if (was_empty && (irq_ctrlack_ & reg::irq_ctrl::EVENTQ_IRQEN) != 0 && msi_in_use(eventq_msi_) &&
      !send_msi(eventq_msi_, context)) {
    activate_global_errors(reg::gerror::MSI_EVTQ_ABT_ERR, context);
  }
  update_irq_lines();
  return true;
}

// ---- Interrupts and MSIs (IHI 0070 §3.18) ------------------------------------------------------

bool ProgrammingInterface::msi_in_use(const MsiConfig& msi) const {
  // An MSI is sent when MSIs are implemented and the address is non-zero.
  return caps_.msi && (msi.cfg0 & kMsiAddressBits) != 0;
}

bool ProgrammingInterface::send_msi(std::uint64_t address, std::uint32_t data, const AccessContext& context) {
  ++stats_.msi_writes;
  const std::uint8_t bytes[4] = {
      static_cast<std::uint8_t>(data), static_cast<std::uint8_t>(data >> 8),
      static_cast<std::uint8_t>(data >> 16), static_cast<std::uint8_t>(data >> 24)};
  if (memory_.write_for(context, address, bytes, sizeof bytes, AccessPurpose::Msi)) return true;
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

void ProgrammingInterface::write_gatos_ctrl(std::uint32_t value) {
  const bool run = (value & reg::gatos::RUN) != 0;
  if (ignore_if(gatos_ctrl_ & reg::gatos::RUN, reg::GATOS_CTRL, value, "GATOS_CTRL changes while GATOS_CTRL.RUN == 1") ||
      !run) {
    return;  // writing RUN = 0 while it is 0 has no effect
  }
  if (ignore_if(!smmu_enabled(), reg::GATOS_CTRL, value,
                "GATOS_CTRL.RUN set while SMMU_CR0.SMMUEN == 0 (ATOS requests are not processed)")) {
    return;
  }
  gatos_ctrl_ = reg::gatos::RUN;
  ++atos_sequence_;
  ++stats_.atos_requests;
  if (atos_requested_) atos_requested_();
}

ProgrammingInterface::PendingAtos ProgrammingInterface::pending_atos() const {
  if ((gatos_ctrl_ & reg::gatos::RUN) == 0) return PendingAtos{};
  return PendingAtos{true, atos_sequence_,
                     AtosRequest::from_registers(gatos_sid_, gatos_addr_, caps_.sid_bits, caps_.ssid_bits)};
}

void ProgrammingInterface::complete_atos(std::uint64_t sequence, const AtosResult& result) {
  // A reset, or a newer request, since this one started: its result is stale.
  if ((gatos_ctrl_ & reg::gatos::RUN) == 0 || sequence != atos_sequence_) return;
  gatos_par_ = result.par();
  if (result.fault) ++stats_.atos_faults;
  gatos_ctrl_ = 0;
}

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
