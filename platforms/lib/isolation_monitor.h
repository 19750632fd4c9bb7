// The isolation invariant, checked on the SMMU's downstream path: every
// translated access a stream makes reaches only physical memory that the
// software's own record says the stream's domain may reach, with the access's
// permission. The record is kept by whoever drives the mappings (allow()
// before a map is made, revoke() once an unmap and its TLB invalidation have
// completed: until then the architecture lets the old translation be used),
// independently of the page tables and of the SMMU's caches. The monitor only
// observes: accesses are forwarded whatever the verdict, and DMI is refused so
// that none goes around it.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <boost/icl/interval_map.hpp>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace smmuv3tlm::platform {

struct IsolationViolation {
  sc_core::sc_time time;
  std::uint32_t stream_id = 0;
  bool has_stream = false;  // false: the access carried no side-band at all
  std::uint64_t pa = 0;
  unsigned length = 0;
  bool write = false;
};

struct IsolationStatistics {
  std::uint64_t checked = 0;
  std::uint64_t violations = 0;
  std::uint64_t allows = 0;
  std::uint64_t revokes = 0;
};

class IsolationMonitor : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<IsolationMonitor> in;
  tlm_utils::simple_initiator_socket<IsolationMonitor> out;

  explicit IsolationMonitor(const sc_core::sc_module_name& name);

  // The stream may reach [pa, pa + size) (for writes too when `writable`).
  // Counted: a range allowed twice (two IOVAs onto one page) stays allowed
  // until revoked twice.
  void allow(std::uint32_t stream_id, std::uint64_t pa, std::uint64_t size, bool writable);
  void revoke(std::uint32_t stream_id, std::uint64_t pa, std::uint64_t size, bool writable);

  const IsolationStatistics& statistics() const { return stats_; }
  // The first violations (at most kKeptViolations), in order.
  const std::vector<IsolationViolation>& violations() const { return violations_; }
  static constexpr std::size_t kKeptViolations = 64;

 private:
  struct Reach {
    boost::icl::interval_map<std::uint64_t, std::uint64_t> readable;  // allowances per byte range
    boost::icl::interval_map<std::uint64_t, std::uint64_t> writable;
  };
  static bool covers(const boost::icl::interval_map<std::uint64_t, std::uint64_t>& map, std::uint64_t pa,
                     std::uint64_t length);
  static boost::icl::discrete_interval<std::uint64_t> range_of(std::uint64_t pa, std::uint64_t size);
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  std::map<std::uint32_t, Reach> reach_;  // by StreamID
  IsolationStatistics stats_;
  std::vector<IsolationViolation> violations_;
};

}  // namespace smmuv3tlm::platform
