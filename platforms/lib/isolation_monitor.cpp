#include "smmuv3tlm/platforms/lib/isolation_monitor.h"

#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::platform {

namespace icl = boost::icl;

IsolationMonitor::IsolationMonitor(const sc_core::sc_module_name& name) : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &IsolationMonitor::b_transport);
  in.register_get_direct_mem_ptr(this, &IsolationMonitor::get_direct_mem_ptr);
  in.register_transport_dbg(this, &IsolationMonitor::transport_dbg);
  out.register_invalidate_direct_mem_ptr(this, &IsolationMonitor::invalidate_direct_mem_ptr);
}

// [pa, pa + size), closed so that a range ending at 2^64 does not wrap to empty.
icl::discrete_interval<std::uint64_t> IsolationMonitor::range_of(std::uint64_t pa, std::uint64_t size) {
  const std::uint64_t last = pa > ~std::uint64_t{0} - (size - 1) ? ~std::uint64_t{0} : pa + (size - 1);
  return icl::discrete_interval<std::uint64_t>::closed(pa, last);
}

void IsolationMonitor::allow(std::uint32_t stream_id, std::uint64_t pa, std::uint64_t size, bool writable) {
  if (size == 0) return;
  ++stats_.allows;
  Reach& reach = reach_[stream_id];
  const auto range = range_of(pa, size);
  reach.readable += std::make_pair(range, std::uint64_t{1});
  if (writable) reach.writable += std::make_pair(range, std::uint64_t{1});
}

void IsolationMonitor::revoke(std::uint32_t stream_id, std::uint64_t pa, std::uint64_t size, bool writable) {
  if (size == 0) return;
  ++stats_.revokes;
  Reach& reach = reach_[stream_id];
  const auto range = range_of(pa, size);
  // interval_map drops a range whose count falls to zero (partial_absorber).
  reach.readable -= std::make_pair(range, std::uint64_t{1});
  if (writable) reach.writable -= std::make_pair(range, std::uint64_t{1});
}

bool IsolationMonitor::covers(const icl::interval_map<std::uint64_t, std::uint64_t>& map, std::uint64_t pa,
                              std::uint64_t length) {
  // Ranges whose count falls to zero leave the map, so covered = inside its domain.
  if (length == 0 || pa > ~std::uint64_t{0} - (length - 1)) return false;  // would wrap
  return icl::contains(map, icl::discrete_interval<std::uint64_t>::closed(pa, pa + (length - 1)));
}

void IsolationMonitor::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const bool write = trans.is_write();
  if (write || trans.is_read()) {
    ++stats_.checked;
    const auto* sideband = trans.get_extension<tlm_ext::SidebandExtension>();
    bool allowed = false;
    if (sideband != nullptr) {
      const auto it = reach_.find(sideband->stream_id);
      allowed = it != reach_.end() &&
                covers(write ? it->second.writable : it->second.readable, trans.get_address(), trans.get_data_length());
    }
    if (!allowed) {
      ++stats_.violations;
      if (violations_.size() < kKeptViolations) {
        violations_.push_back(IsolationViolation{sc_core::sc_time_stamp() + delay,
                                                 sideband != nullptr ? sideband->stream_id : 0, sideband != nullptr,
                                                 trans.get_address(), trans.get_data_length(), write});
      }
    }
  }
  out->b_transport(trans, delay);
}

bool IsolationMonitor::get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) {
  // Every access must pass here to be checked. LRM: a refusal describes the
  // whole address space and grants no access.
  dmi.set_start_address(0);
  dmi.set_end_address(~sc_dt::uint64{0});
  dmi.allow_none();
  return false;
}

unsigned IsolationMonitor::transport_dbg(tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

void IsolationMonitor::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  in->invalidate_direct_mem_ptr(start, end);
}

}  // namespace smmuv3tlm::platform
