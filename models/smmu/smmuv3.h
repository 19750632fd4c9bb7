// The SMMUv3 as SystemC modules named after the architecture's units
// (docs/architecture.md has the map):
//
//   Smmuv3 "smmu"
//   ├── RegisterFile "registers"     page 0/1 register socket, CR0/GBPA/IRQ_CTRL ack timing
//   ├── CommandQueue "command_queue" consumes commands in its own thread
//   ├── EventQueue   "event_queue"   event records, GERROR, wired IRQs and MSIs
//   ├── Tcu          "tcu"           config cache, walker, TLB, walk caches; table_walk socket
//   └── Tbu          "tbu_<i>"       one per upstream port: socket, context memo, splitting, DMI
//
// Sockets
//   upstream(i)   target, one per TBU; default StreamID per port, used when a
//                 transaction carries no SidebandExtension
//   downstream    initiator for translated traffic
//   table_walk    initiator for table walks, queue accesses and MSI writes (may be
//                 bound to the same interconnect as downstream)
//   registers     target for the 128 KiB register space (page 0 + page 1)
// Lines: irq_eventq, irq_gerror, irq_priq, irq_cmd_sync (level outputs, may stay
// unbound); rst (input, may stay unbound: a rising edge is a cold reset).
//
// Responses: a terminated translation completes with TLM_ADDRESS_ERROR_RESPONSE,
// or TLM_COMMAND_ERROR_RESPONSE for a permission fault; RAZ/WI terminations
// complete OK with read data zero. DMI: granted for the translated page
// intersected with the downstream DMI window, per TBU; a TLBI/CFGI revokes the
// grants it covers, a CR0/GBPA/STRTAB change or a reset revokes every grant,
// and a downstream invalidation the grants whose output range it overlaps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <nlohmann/json_fwd.hpp>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/command_queue.h"
#include "smmuv3tlm/models/smmu/core/programming_interface.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/models/smmu/event_queue.h"
#include "smmuv3tlm/models/smmu/register_file.h"
#include "smmuv3tlm/models/smmu/tbu.h"
#include "smmuv3tlm/models/smmu/tcu.h"

namespace smmuv3tlm::smmu {

// Every latency the SMMU adds, in one place.
struct Smmuv3Timing {
  // Loosely timed: a translation costs `tlb_hit_latency` plus its walk's memory
  // latencies, annotated on the caller's time. Approximately timed: each stage
  // below is waited for, walks queue for the TCU's walk slots, and upstream
  // sockets take nb_transport with the base protocol's four phases.
  TimingMode mode = TimingMode::LooselyTimed;
  sc_core::sc_time tlb_hit_latency{1, sc_core::SC_NS};  // LT: per translated piece (TBU)
  sc_core::sc_time register_access_latency{0, sc_core::SC_NS};
  sc_core::sc_time ack_delay{0, sc_core::SC_NS};        // CR0ACK / GBPA / IRQ_CTRLACK
  sc_core::sc_time command_latency{0, sc_core::SC_NS};  // per command consumed, before its memory accesses
  ApproximateTiming at;
};

struct Smmuv3Config {
  Capabilities capabilities;
  TranslationConfig translation;
  Smmuv3Timing timing;
  unsigned ports = 1;
  unsigned micro_tlb_entries = 1;  // per TBU (gem5 utlb_entries)
  std::vector<std::uint32_t> default_stream_ids;  // per port; missing entries are 0
  bool dmi = true;
  // Software that writes CR1, CR2 or STRTAB_BASE* with SMMUEN=1 (an adopting
  // kernel must not) gets an error, not silence; false is the tolerant
  // behaviour: the write is ignored with a warning.
  bool unpredictable_writes_are_errors = true;
};

enum class ResetKind : std::uint8_t {
  Warm,  // registers, queues, caches, DMI grants; statistics kept
  Cold,  // power-on: as Warm, and every statistic cleared
};

class Smmuv3 : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Smmuv3);
  using Config = Smmuv3Config;

 private:
  // The units, declared first: the sockets and lines below refer to theirs.
  class Maintenance;
  Config config_;
  std::unique_ptr<Maintenance> maintenance_;
  Tcu tcu_;
  RegisterFile register_file_;
  EventQueue event_queue_;
  CommandQueue command_queue_;

 public:
  tlm_utils::simple_initiator_socket<Smmuv3> downstream;
  tlm_utils::simple_initiator_socket<Tcu>& table_walk;
  tlm_utils::simple_target_socket<RegisterFile>& registers;
  OptionalIrqOut& irq_eventq;
  OptionalIrqOut& irq_gerror;
  OptionalIrqOut& irq_priq;
  OptionalIrqOut& irq_cmd_sync;
  sc_core::sc_port<sc_core::sc_signal_in_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND> rst;

  Smmuv3(const sc_core::sc_module_name& name, const Config& config);
  // `base` with the keys "<name>.<key>" of `settings` applied (smmuv3_parameters.h),
  // so every SMMU of a platform reads its own keys from one settings object.
  // Throws std::invalid_argument naming a bad key.
  Smmuv3(const sc_core::sc_module_name& name, const Config& base, const nlohmann::json& settings);
  ~Smmuv3() override;

  tlm_utils::simple_target_socket<Tbu>& upstream(unsigned port);
  unsigned port_count() const { return static_cast<unsigned>(tbus_.size()); }

  // Architectural reset: registers to their reset values, queue engines
  // stopped, every cache (TLB, walk caches, configuration cache, micro-TLB
  // memos, table-walk DMI windows) flushed, every DMI grant revoked. Memory is
  // untouched.
  void reset(ResetKind kind);

  // The units, for tests, statistics and the handover controller.
  ProgrammingInterface& programming_interface() { return register_file_.core(); }
  TranslationEngine& translation() { return tcu_.engine(); }
  Tcu& tcu() { return tcu_; }
  Tbu& tbu(unsigned port) { return *tbus_.at(port); }
  EventQueue& event_queue() { return event_queue_; }
  CommandQueue& command_queue() { return command_queue_; }
  RegisterFile& register_file() { return register_file_; }
  const Config& config() const { return config_; }

  // Observers of every access the SMMU makes through `table_walk`.
  unsigned add_memory_observer(MemoryAccessObserver observer) { return tcu_.add_observer(std::move(observer)); }
  void remove_memory_observer(unsigned id) { tcu_.remove_observer(id); }
  // Observers of every upstream transaction, on every TBU.
  void add_transaction_observer(const TransactionObserver& observer) {
    for (auto& tbu : tbus_) tbu->add_transaction_observer(observer);
  }

  // The statistics of every unit of this SMMU, keyed by hierarchical name (the
  // entries of stats::Registry::global() below this module), as JSON.
  std::string statistics_json() const;

 private:
  void end_of_elaboration() override;
  void on_reset_edge();
  void sync_control();
  void downstream_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
  // SMMU_GATOS requests (IDR0.ATOS), served one at a time: the TCU walks the
  // tables (TLB lookup latency plus the walk's memory time), then GATOS_PAR
  // takes the result and RUN clears.
  void serve_atos();
  sc_core::sc_event atos_requested_;

  std::vector<std::unique_ptr<Tbu>> tbus_;
};

}  // namespace smmuv3tlm::smmu
