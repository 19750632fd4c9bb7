// DMA continuity across a handover: a pass-through between one DMA master and
// the SMMU port it uses that counts, per handover phase, transactions that
// completed and that failed (error responses: faults and aborts alike; the
// driver's events tell which faulted), and the longest gap between two
// successful completions. It refuses DMI so that every access is seen.
#pragma once

#include <array>
#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "smmuv3tlm/models/handover/handover_controller.h"

namespace smmuv3tlm::handover {

struct PhaseDma {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  sc_core::sc_time longest_gap;  // between successful completions, gaps ending in this phase
};

class DmaMonitor : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<DmaMonitor> upstream;
  tlm_utils::simple_initiator_socket<DmaMonitor> downstream;

  // `controller` gives the phase (null: everything counts as running).
  DmaMonitor(const sc_core::sc_module_name& name, const HandoverController* controller);

  const PhaseDma& phase(Phase p) const { return phases_[static_cast<std::size_t>(p)]; }
  std::uint64_t completed() const;
  std::uint64_t failed() const;
  sc_core::sc_time longest_gap() const;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans) { return downstream->transport_dbg(trans); }

  const HandoverController* controller_;
  std::array<PhaseDma, std::size(kAllPhases)> phases_{};
  bool seen_ok_ = false;
  sc_core::sc_time last_ok_;
};

}  // namespace smmuv3tlm::handover
