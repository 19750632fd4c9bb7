// The SMMU's two timing modes and the approximately-timed pipeline's
// parameters. The parameters are gem5's SMMUv3 set (SMMUv3.py), in
// nanoseconds instead of cycles, so a gem5 configuration carries over.
#pragma once

#include <cstdint>

#include <systemc>

namespace smmuv3tlm::smmu {

enum class TimingMode : std::uint8_t {
  LooselyTimed,        // "lt": b_transport, latencies annotated (the default, the fastest)
  ApproximatelyTimed,  // "at": every stage waited for, shared resources contended
};

struct ApproximateTiming {
  unsigned tbu_outstanding = 16;                          // per TBU; gem5 SMMUv3DeviceInterface.xlate_slots
  unsigned walk_slots = 16;                               // in the TCU; gem5 SMMUv3.ptw_slots
  sc_core::sc_time utlb_lookup{1, sc_core::SC_NS};        // gem5 utlb_lat
  sc_core::sc_time tbu_to_tcu{8, sc_core::SC_NS};         // gem5 ifc_smmu_lat
  sc_core::sc_time tcu_to_tbu{8, sc_core::SC_NS};         // gem5 smmu_ifc_lat
  sc_core::sc_time tlb_lookup{3, sc_core::SC_NS};         // gem5 tlb_lat (main TLB)
  sc_core::sc_time walk_cache_lookup{4, sc_core::SC_NS};  // gem5 walk_lat, once per stage walk
};

}  // namespace smmuv3tlm::smmu
