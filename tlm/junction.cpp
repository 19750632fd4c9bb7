#include "smmuv3tlm/tlm/junction.h"

namespace smmuv3tlm::tlm_ext {

Junction::Junction(const sc_core::sc_module_name& name) : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &Junction::b_transport);
  in.register_get_direct_mem_ptr(this, &Junction::get_direct_mem_ptr);
  in.register_transport_dbg(this, &Junction::transport_dbg);
  out.register_invalidate_direct_mem_ptr(this, &Junction::invalidate_direct_mem_ptr);
}

void Junction::b_transport(int initiator, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  out->b_transport(trans, delay);
  for (const Observer& observer : observers_) observer(initiator, trans);
}

bool Junction::get_direct_mem_ptr(int, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  return out->get_direct_mem_ptr(trans, dmi);
}

unsigned Junction::transport_dbg(int, tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

void Junction::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  for (unsigned i = 0; i < in.size(); ++i) in[static_cast<int>(i)]->invalidate_direct_mem_ptr(start, end);
}

}  // namespace smmuv3tlm::tlm_ext
