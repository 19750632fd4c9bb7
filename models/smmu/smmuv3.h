// The SMMUv3 SystemC shell: TLM-2.0 sockets and interrupt lines around the
// plain-C++ core (ProgrammingInterface for registers and queues,
// TranslationEngine for translation and caches).
//
// Sockets
//   upstream(i)   target, one per TBU port; default StreamID per port, used when a
//                 transaction carries no SidebandExtension
//   downstream    initiator for translated traffic
//   table_walk    initiator for table walks, queue accesses and MSI writes (may be
//                 bound to the same interconnect as downstream)
//   registers     target for the 128 KiB register space (page 0 + page 1)
// Interrupts (level, sc_out<bool>): irq_eventq, irq_gerror, irq_priq, irq_cmd_sync.
//
// Responses: a terminated translation completes with TLM_ADDRESS_ERROR_RESPONSE,
// or TLM_COMMAND_ERROR_RESPONSE for a permission fault; RAZ/WI terminations
// complete OK with read data zero. DMI: granted for the translated page
// intersected with the downstream DMI window; every invalidation command, every
// CR0/GBPA/STRTAB change and every downstream invalidation revokes all grants.
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

#include "models/smmu/arch/capabilities.h"
#include "models/smmu/arch/memory_port.h"
#include "models/smmu/core/programming_interface.h"
#include "models/smmu/core/translation_engine.h"

namespace smmuv3tlm::smmu {

struct Smmuv3Config {
  Capabilities capabilities;
  TranslationConfig translation;
  unsigned ports = 1;
  std::vector<std::uint32_t> default_stream_ids;  // per port; missing entries are 0
  sc_core::sc_time tlb_hit_latency{1, sc_core::SC_NS};
  sc_core::sc_time register_access_latency{0, sc_core::SC_NS};
  sc_core::sc_time ack_delay{0, sc_core::SC_NS};  // CR0ACK / GBPA / IRQ_CTRLACK
  bool dmi = true;
  bool unpredictable_writes_are_errors = false;
};

// Everything the SMMU does to memory, as a checker sees it.
struct TableAccess {
  std::uint64_t pa;
  std::uint32_t size;
  bool write;
  AccessPurpose purpose;
  const std::uint8_t* data;  // the bytes read or written (valid during the callback)
  bool ok;
};

class Smmuv3 : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Smmuv3);
  using Config = Smmuv3Config;

  tlm_utils::simple_initiator_socket<Smmuv3> downstream;
  tlm_utils::simple_initiator_socket<Smmuv3> table_walk;
  tlm_utils::simple_target_socket<Smmuv3> registers;
  sc_core::sc_out<bool> irq_eventq;
  sc_core::sc_out<bool> irq_gerror;
  sc_core::sc_out<bool> irq_priq;
  sc_core::sc_out<bool> irq_cmd_sync;

  Smmuv3(const sc_core::sc_module_name& name, const Config& config);
  ~Smmuv3() override;

  tlm_utils::simple_target_socket_tagged<Smmuv3>& upstream(unsigned port);
  unsigned port_count() const { return static_cast<unsigned>(upstream_.size()); }

  // Inspection for tests, statistics and the handover controller.
  ProgrammingInterface& programming_interface() { return *registers_core_; }
  TranslationEngine& translation() { return *engine_; }
  const Config& config() const { return config_; }
  // Called for every access the SMMU makes through `table_walk`.
  void set_table_access_observer(std::function<void(const TableAccess&)> observer);

  struct Statistics {
    std::uint64_t transactions = 0;
    std::uint64_t translated = 0;
    std::uint64_t bypassed = 0;
    std::uint64_t terminated = 0;
    std::uint64_t events_recorded = 0;
    std::uint64_t events_suppressed = 0;  // not written (queue off/full)
    std::uint64_t dmi_grants = 0;
    std::uint64_t dmi_invalidations = 0;
  };
  const Statistics& statistics() const { return stats_; }
  // All statistics (SMMU, TLB, translation, queues) as one JSON document.
  std::string statistics_json() const;

 private:
  class TlmTablePort;
  class MaintenanceForwarder;

  void upstream_b_transport(int port, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool upstream_get_dmi(int port, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  unsigned upstream_transport_dbg(int port, tlm::tlm_generic_payload& trans);
  void registers_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned registers_transport_dbg(tlm::tlm_generic_payload& trans);
  void downstream_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
  void table_walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);

  TranslationRequest request_for(int port, const tlm::tlm_generic_payload& trans) const;
  bool register_access(tlm::tlm_generic_payload& trans);
  void sync_control();
  void revoke_dmi();
  void drive_irqs();
  void complete_acks();

  Config config_;
  std::vector<std::unique_ptr<tlm_utils::simple_target_socket_tagged<Smmuv3>>> upstream_;
  std::unique_ptr<TlmTablePort> table_port_;
  std::unique_ptr<MaintenanceForwarder> maintenance_;
  std::unique_ptr<TranslationEngine> engine_;
  std::unique_ptr<ProgrammingInterface> registers_core_;
  std::function<void(const TableAccess&)> table_observer_;
  bool irq_level_[4] = {false, false, false, false};
  unsigned cmd_sync_pulses_ = 0;
  bool cmd_sync_high_ = false;
  sc_core::sc_event irq_changed_;
  sc_core::sc_event ack_due_;
  bool dmi_granted_ = false;
  Statistics stats_;
};

}  // namespace smmuv3tlm::smmu
