// The SMMU's Non-secure programming interface (IHI 0070 §6): the register file
// of page 0 and page 1, the command queue engine (§4), the event queue writer
// (§7.2), global errors (§7.5) and the interrupt/MSI outputs (§3.18). Plain C++:
// the SystemC shell forwards MMIO to read()/write(), hands it a MemoryPort for
// queue and MSI accesses, and turns the IRQ callback into sc_out<bool> levels.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "smmuv3tlm/models/smmu/arch/atos.h"
#include "smmuv3tlm/models/smmu/arch/cache_maintenance.h"
#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/memory_port.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/core/translation_control.h"
#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm::smmu {

enum class Severity : std::uint8_t { Info, Warning, Error };
const char* to_string(Severity severity);

// The wired interrupt outputs.
//  EventQueue, PriQueue: level. High while IRQ_CTRLACK.<queue>_IRQEN == 1, the
//    queue is enabled (CR0ACK), the queue's MSI is not in use (no IDR0.MSI or
//    *_IRQ_CFG0.ADDR == 0) and the queue is not empty (PROD != CONS). It drops
//    when software consumes the last entry (CONS write), disables the interrupt
//    or the queue, or programs an MSI address.
//  GlobalError: level. High while IRQ_CTRLACK.GERROR_IRQEN == 1, the GERROR MSI
//    is not in use and any error is active (GERROR != GERRORN). It drops when
//    software acknowledges the last active error through GERRORN.
//  CommandSync: pulse. Each CMD_SYNC with CS = SIG_IRQ that does not complete by
//    MSI reports (CommandSync, true) immediately followed by (CommandSync, false).
enum class IrqLine : std::uint8_t {
  EventQueue = 0,
  PriQueue = 1,
  CommandSync = 2,
  GlobalError = 3
};
const char* to_string(IrqLine line);

struct ProgrammingInterfaceConfig {
  // false: CR0, GBPA and IRQ_CTRL updates take effect (and are acknowledged in
  // CR0ACK, GBPA.UPDATE, IRQ_CTRLACK) within the write. true: the write records a
  // pending update; CR0ACK/GBPA/IRQ_CTRLACK keep their old values until the
  // owner calls complete_pending_acks() (the SystemC shell does so after its
  // configured acknowledge latency).
  bool defer_acks = false;
  // GBPA.ABORT after reset (its reset value is IMPLEMENTATION DEFINED).
  bool gbpa_abort_at_reset = false;
  // Severity of the diagnostic reported when a CONSTRAINED UNPREDICTABLE write
  // is ignored.
  Severity constrained_unpredictable_severity = Severity::Warning;
  // true: commands are consumed within the register write that makes them
  // available (CMDQ_PROD, CMDQEN acknowledged, CMDQ_ERR acknowledged). false:
  // the write only calls the commands-pending callback, and the owner consumes
  // them with consume_command() in its own time (the SystemC CommandQueue
  // thread), so software polling CMDQ_CONS sees commands not yet consumed.
  bool consume_commands_on_write = true;
};

struct ProgrammingInterfaceStatistics {
  std::map<CommandOpcode, std::uint64_t> commands_by_opcode;  // executed commands
  std::uint64_t commands_executed = 0;
  std::uint64_t commands_illegal = 0;      // CERROR_ILL
  std::uint64_t command_fetch_aborts = 0;  // CERROR_ABT
  std::uint64_t syncs = 0;
  std::uint64_t sync_msis = 0;
  std::uint64_t sync_wired_irqs = 0;
  std::uint64_t sev_events = 0;  // CMD_SYNC CS = SIG_SEV with IDR0.SEV
  std::uint64_t events_recorded = 0;
  std::uint64_t events_lost = 0;       // queue full: overflow
  std::uint64_t events_discarded = 0;  // queue disabled or EVTQ_ABT_ERR active
  std::uint64_t event_write_aborts = 0;
  std::uint64_t msi_writes = 0;
  std::uint64_t msi_write_aborts = 0;
  std::uint64_t gerrors_raised = 0;                    // error bits activated
  std::uint64_t constrained_unpredictable_writes = 0;  // ignored
  std::uint64_t bad_accesses = 0;                      // wrong size/alignment/offset
  std::uint64_t atos_requests = 0;  // GATOS_CTRL.RUN set
  std::uint64_t atos_faults = 0;    // completed with GATOS_PAR.FAULT == 1
  // Entries in the queue: the command queue's each time software moves PROD,
  // the event queue's each time a record lands.
  stats::Histogram command_queue_occupancy{"entries", 1.0};
  stats::Histogram event_queue_occupancy{"entries", 1.0};
};
inline auto statistic_fields(const ProgrammingInterfaceStatistics&) {
  using S = ProgrammingInterfaceStatistics;
  return std::make_tuple(
      stats::field("commands_by_opcode", &S::commands_by_opcode), stats::field("commands_executed", &S::commands_executed),
      stats::field("commands_illegal", &S::commands_illegal), stats::field("command_fetch_aborts", &S::command_fetch_aborts),
      stats::field("syncs", &S::syncs), stats::field("sync_msis", &S::sync_msis),
      stats::field("sync_wired_irqs", &S::sync_wired_irqs), stats::field("sev_events", &S::sev_events),
      stats::field("events_recorded", &S::events_recorded), stats::field("events_lost", &S::events_lost),
      stats::field("events_discarded", &S::events_discarded), stats::field("event_write_aborts", &S::event_write_aborts),
      stats::field("msi_writes", &S::msi_writes), stats::field("msi_write_aborts", &S::msi_write_aborts),
      stats::field("gerrors_raised", &S::gerrors_raised),
      stats::field("constrained_unpredictable_writes", &S::constrained_unpredictable_writes),
      stats::field("bad_accesses", &S::bad_accesses), stats::field("atos_requests", &S::atos_requests),
      stats::field("atos_faults", &S::atos_faults),
      stats::field("command_queue_occupancy", &S::command_queue_occupancy),
      stats::field("event_queue_occupancy", &S::event_queue_occupancy));
}
inline void to_json(nlohmann::json& json, const ProgrammingInterfaceStatistics& statistics) {
  json = stats::to_json(statistics);
}

class ProgrammingInterface {
 public:
  using DiagnosticsCallback = std::function<void(Severity, const std::string& rule_message)>;
  using IrqCallback = std::function<void(IrqLine line, bool level)>;
  // Called after any register the translation side depends on changes its
  // effective value: CR0ACK, GBPA (applied), STRTAB_BASE, STRTAB_BASE_CFG, CR1, CR2.
  using ControlChangedCallback = std::function<void()>;
  using CommandsPendingCallback = std::function<void()>;
  // GATOS_CTRL.RUN was set: the owner translates pending_atos() and calls
  // complete_atos() (within the call, or later from its own thread).
  using AtosRequestedCallback = std::function<void()>;

  ProgrammingInterface(const Capabilities& caps, MemoryPort& queue_memory, CacheMaintenance& caches,
                       const ProgrammingInterfaceConfig& config = {});

  void set_diagnostics_callback(DiagnosticsCallback callback) {
    diagnostics_ = std::move(callback);
  }
  void set_irq_callback(IrqCallback callback) { irq_ = std::move(callback); }
  void set_control_changed_callback(ControlChangedCallback callback) {
    control_changed_ = std::move(callback);
  }
  // ProgrammingInterfaceConfig::consume_commands_on_write == false: called when
  // a register write may have made a command ready.
  void set_commands_pending_callback(CommandsPendingCallback callback) {
    commands_pending_ = std::move(callback);
  }

  void set_atos_requested_callback(AtosRequestedCallback callback) { atos_requested_ = std::move(callback); }

  // The ATOS request RUN started (`running` false when RUN is 0), and its
  // sequence number for complete_atos(): GATOS_PAR takes the result and RUN
  // clears, unless a reset or a newer request came since.
  struct PendingAtos {
    bool running = false;
    std::uint64_t sequence = 0;
    AtosRequest request;
  };
  PendingAtos pending_atos() const;
  void complete_atos(std::uint64_t sequence, const AtosResult& result);

  // Every register to its reset value, pending acknowledgements dropped, wired
  // lines low. Statistics are kept.
  void reset();
  void reset_statistics() { stats_ = ProgrammingInterfaceStatistics{}; }

  // MMIO at `offset` in [0, 0x20000). 32-bit accesses to any register; 64-bit
  // accesses to 64-bit registers (which also accept two 32-bit halves). Reserved
  // offsets are RAZ/WI; other sizes, misalignment and 64-bit accesses to 32-bit
  // registers are RAZ/WI with a diagnostic.
  std::uint64_t read(std::uint64_t offset, unsigned size_bytes);
  void write(std::uint64_t offset, std::uint64_t value, unsigned size_bytes);

  // Deferred acknowledgement (ProgrammingInterfaceConfig::defer_acks).
  bool has_pending_acks() const;
  void complete_pending_acks();

  // Consumes commands while CR0ACK.CMDQEN == 1, PROD != CONS and no CMDQ_ERR is
  // active. Called internally on a CMDQ_PROD write, on CMDQEN being acknowledged
  // and on CMDQ_ERR being acknowledged.
  void process_command_queue();
  // One step of the command queue engine: true when CR0ACK.CMDQEN == 1, no
  // CMDQ_ERR is active and PROD != CONS; consume_command() then fetches, checks
  // and executes the command at CONS and moves CONS past it (or stops the queue
  // with CERROR_ILL / CERROR_ABT).
  bool command_ready() const;
  // `context` goes with the command's memory accesses (fetch, MSI): the
  // caller's time accumulator. A reset while an access waits discards the command.
  void consume_command(const AccessContext& context = {});

  // Writes one record to the event queue. Returns false when the record was not
  // written: queue disabled (CR0ACK.EVENTQEN == 0) or EVTQ_ABT_ERR active
  // (discarded), queue full (lost: EVENTQ_PROD.OVFLG toggles if no overflow is
  // outstanding), or the write aborted (GERROR.EVTQ_ABT_ERR).
  // Several records may be in flight when the memory target waits: each takes
  // its own slot, and PROD moves once every slot before it is written. A reset
  // meanwhile discards them. `context` goes with the record's write and MSI.
  bool record_event(const EventRecord& record, const AccessContext& context = {});

  // ---- State the translation side reads --------------------------------------
  bool smmu_enabled() const { return (cr0ack_ & reg::cr0::SMMUEN) != 0; }
  std::uint32_t cr0ack() const { return cr0ack_; }
  // The queues' pointers as they change, by reference for waveform tracing (sc_trace).
  const std::uint32_t& cmdq_prod() const { return cmdq_.prod; }
  const std::uint32_t& cmdq_cons() const { return cmdq_.cons; }
  const std::uint32_t& eventq_prod() const { return eventq_.prod; }
  const std::uint32_t& eventq_cons() const { return eventq_.cons; }
  std::uint32_t gbpa() const { return gbpa_effective_; }  // without UPDATE
  std::uint64_t strtab_base() const { return strtab_base_; }
  std::uint32_t strtab_base_cfg() const { return strtab_base_cfg_; }
  std::uint32_t cr1() const { return cr1_; }
  std::uint32_t cr2() const { return cr2_; }
  const Capabilities& capabilities() const { return caps_; }
  // All of the above the translation engine needs, as it takes it.
  TranslationControl translation_control() const {
    return TranslationControl{smmu_enabled(), gbpa(), strtab_base(), strtab_base_cfg(), cr2()};
  }

  // ---- Observation ------------------------------------------------------------
  bool irq_level(IrqLine line) const { return line_levels_[static_cast<std::size_t>(line)]; }
  std::uint32_t active_global_errors() const {
    return (gerror_ ^ gerrorn_) & reg::gerror::kDefinedBits;
  }
  const ProgrammingInterfaceStatistics& statistics() const { return stats_; }
  const ProgrammingInterfaceConfig& config() const { return config_; }
  // Every entry of reg::kRegisters has its behaviour at the same index (a unit test checks).
  static bool register_table_consistent();

 private:
  struct Queue {
    std::uint64_t base = 0;
    std::uint32_t prod = 0;
    std::uint32_t cons = 0;
  };
  using QueueGeometry = reg::QueueGeometry;
  // False, with a diagnostic, when CMDQ_PROD is more than a queue length ahead of CMDQ_CONS.
  bool command_indexes_coherent();
  struct MsiConfig {
    std::uint64_t cfg0 = 0;  // ADDR
    std::uint32_t cfg1 = 0;  // DATA
    std::uint32_t cfg2 = 0;  // MEMATTR, SH
  };
  struct RegisterBehaviour;
  static const RegisterBehaviour& behaviour_of(const RegisterLayout& layout);
  // The register `offset` falls in, when it exists on this SMMU.
  const RegisterLayout* present_register(std::uint64_t offset) const;

  QueueGeometry cmdq_geometry() const;
  QueueGeometry eventq_geometry() const;
  QueueGeometry priq_geometry() const;


  void write_cr0(std::uint32_t value);
  void write_gbpa(std::uint32_t value);
  void write_irq_ctrl(std::uint32_t value);
  void write_gerrorn(std::uint32_t value);
  void write_gatos_ctrl(std::uint32_t value);
  void apply_cr0(std::uint32_t value);
  void apply_gbpa(std::uint32_t value);
  void apply_irq_ctrl(std::uint32_t value);

  // Rejects a write the architecture makes CONSTRAINED UNPREDICTABLE: reports
  // `rule` and returns true when `forbidden`.
  bool ignore_if(bool forbidden, std::uint64_t offset, std::uint64_t value, const char* rule);
  void diagnose(Severity severity, const std::string& message);

  void execute(const Command& command, const AccessContext& context);
  void complete_sync(const Command& command, const AccessContext& context);
  void stop_command_queue(CommandError error, const AccessContext& context);
  void activate_global_errors(std::uint32_t errors, const AccessContext& context = {});
  bool msi_in_use(const MsiConfig& msi) const;
  bool send_msi(std::uint64_t address, std::uint32_t data, const AccessContext& context);
  bool send_msi(const MsiConfig& msi, const AccessContext& context) {
    return send_msi(msi.cfg0 & reg::irq_cfg::ADDR.mask(), msi.cfg1, context);
  }
  void update_irq_lines();
  void set_line(IrqLine line, bool level);
  void notify_control_changed();
  void commands_may_be_pending();

  Capabilities caps_;
  MemoryPort& memory_;
  CacheMaintenance& caches_;
  ProgrammingInterfaceConfig config_;
  DiagnosticsCallback diagnostics_;
  IrqCallback irq_;
  ControlChangedCallback control_changed_;
  CommandsPendingCallback commands_pending_;
  AtosRequestedCallback atos_requested_;

  // Register file.
  std::uint32_t cr0_ = 0;
  std::uint32_t cr0ack_ = 0;
  std::uint32_t cr1_ = 0;
  std::uint32_t cr2_ = 0;
  std::uint32_t gbpa_register_ = 0;   // as read: UPDATE set while an update is pending
  std::uint32_t gbpa_effective_ = 0;  // as applied
  std::uint32_t irq_ctrl_ = 0;
  std::uint32_t irq_ctrlack_ = 0;
  std::uint32_t gerror_ = 0;
  std::uint32_t gerrorn_ = 0;
  MsiConfig gerror_msi_;
  std::uint64_t strtab_base_ = 0;
  std::uint32_t strtab_base_cfg_ = 0;
  std::uint32_t gatos_ctrl_ = 0;
  std::uint64_t gatos_sid_ = 0;
  std::uint64_t gatos_addr_ = 0;
  std::uint64_t gatos_par_ = 0;
  std::uint64_t atos_sequence_ = 0;
  Queue cmdq_;
  Queue eventq_;
  MsiConfig eventq_msi_;
  Queue priq_;
  MsiConfig priq_msi_;

  // Deferred acknowledgement.
  std::optional<std::uint32_t> pending_cr0_;
  std::optional<std::uint32_t> pending_gbpa_;
  std::optional<std::uint32_t> pending_irq_ctrl_;

  // Command queue re-entrancy: a callback may write CMDQ_PROD while a command
  // executes; the running loop picks the new commands up.
  bool consuming_commands_ = false;
  bool consume_again_ = false;

  // Bumped by reset(): an access that waited across a reset commits nothing.
  std::uint64_t resets_ = 0;
  // Event records being written: the next free slot (PROD moves to it once
  // no write is in flight).
  std::uint32_t eventq_reserved_ = 0;
  unsigned event_writes_in_flight_ = 0;

  std::array<bool, 4> line_levels_{};
  ProgrammingInterfaceStatistics stats_;
};

}  // namespace smmuv3tlm::smmu
