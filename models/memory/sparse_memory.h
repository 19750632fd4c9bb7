// A sparse physical memory: the TLM-2.0 target behind the SMMU and the DMA
// masters. Only pages that have been written (or handed out through DMI) take
// host memory, so the full 52-bit physical space of SMMUv3 can be modelled.
//
// Behaviour in one place:
// - Storage is allocated per 4 KiB page on the first write, backdoor write or DMI
//   grant. A page never moves once allocated (DMI pointers stay valid for the
//   life of the module). Unallocated bytes read as `fill_byte`, or as whatever the
//   untouched-fill function produces; the fill is applied when a page materialises,
//   so changing it later affects only pages not yet allocated.
// - Without regions, all of [0, size) is memory. Once a region is declared, only
//   declared regions are memory; every other address is a hole answering
//   TLM_ADDRESS_ERROR_RESPONSE. A transaction must lie within one region.
// - Poison is byte-granular. A TLM read of a poisoned byte returns the scrub
//   pattern (kPoisonPattern, little-endian per aligned 32-bit word: byte at `pa`
//   is (0xDEADBEEF >> 8 * (pa % 4)) & 0xFF) with TLM_OK_RESPONSE, counts one poison
//   read per transaction and records every maximal poisoned run it touched. Any
//   write (TLM, debug or backdoor) clears poison for exactly the bytes it writes.
// - DMI: granted for the 4 KiB page holding the address (clipped to its region
//   and to `size`), read and write, with the configured latencies; an unallocated
//   page is allocated on request. Refused (LRM: range 0..max, access none, return
//   false) when DMI is disabled, the address is not memory, or the page holds any
//   poison. Poisoning a granted page invalidates it through the socket.
// - Timing (loosely timed): each transaction adds its command's latency plus one
//   `beat_period` for every bus beat after the first, a beat being
//   `bus_width_bytes` of data. The defaults (10 ns, 16-byte bus at 1 ns per beat)
//   stand for an uncontended on-chip DRAM controller.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm::memory {

struct SparseMemoryConfig {
  std::uint64_t size = std::uint64_t{1} << 52;  // SMMUv3's largest physical address space
  std::uint8_t fill_byte = 0;                   // value of never-written bytes
  sc_core::sc_time read_latency{10, sc_core::SC_NS};   // first beat of a read (and DMI read latency)
  sc_core::sc_time write_latency{10, sc_core::SC_NS};  // first beat of a write (and DMI write latency)
  sc_core::sc_time beat_period{1, sc_core::SC_NS};     // each further bus beat
  unsigned bus_width_bytes = 16;                       // bytes per beat
  bool dmi_allowed = true;
  std::size_t poison_log_capacity = 1024;  // poisoned-read records kept; the counter keeps counting
};

struct SparseMemoryStatistics {
  std::uint64_t reads = 0;             // b_transport read transactions (any response)
  std::uint64_t writes = 0;            // b_transport write transactions (any response)
  std::uint64_t ignores = 0;           // TLM_IGNORE_COMMAND transactions
  std::uint64_t bytes_read = 0;        // enabled bytes delivered by successful reads
  std::uint64_t bytes_written = 0;     // enabled bytes stored by successful writes
  std::uint64_t error_responses = 0;   // transactions answered with any error response
  std::uint64_t poison_reads = 0;      // read transactions that returned poisoned bytes
  std::uint64_t dmi_grants = 0;
  std::uint64_t dmi_refusals = 0;
  std::uint64_t dmi_invalidations = 0;  // invalidate_direct_mem_ptr calls made
};
inline auto statistic_fields(const SparseMemoryStatistics&) {
  using S = SparseMemoryStatistics;
  return std::make_tuple(stats::field("reads", &S::reads), stats::field("writes", &S::writes),
                         stats::field("ignores", &S::ignores), stats::field("bytes_read", &S::bytes_read),
                         stats::field("bytes_written", &S::bytes_written),
                         stats::field("error_responses", &S::error_responses),
                         stats::field("poison_reads", &S::poison_reads), stats::field("dmi_grants", &S::dmi_grants),
                         stats::field("dmi_refusals", &S::dmi_refusals),
                         stats::field("dmi_invalidations", &S::dmi_invalidations));
}

// One maximal run of poisoned bytes returned by a read.
struct PoisonedRead {
  std::uint64_t pa;
  std::size_t length;
};

class SparseMemory : public sc_core::sc_module {
 public:
  using Config = SparseMemoryConfig;
  using Statistics = SparseMemoryStatistics;
  using UntouchedFill = std::function<void(std::uint64_t pa, std::uint8_t* data, std::size_t len)>;
  using PoisonObserver = std::function<void(std::uint64_t pa, std::size_t len)>;
  using AccessObserver = std::function<void(const tlm::tlm_generic_payload&)>;

  static constexpr std::uint64_t kPageSize = 4096;
  static constexpr std::uint32_t kPoisonPattern = 0xDEADBEEF;

  tlm_utils::simple_target_socket<SparseMemory> socket;

  explicit SparseMemory(const sc_core::sc_module_name& name, const Config& config = Config());

  const Config& config() const { return config_; }

  // Declares [base, base + size) as memory. Overlapping or adjacent regions merge.
  // The first declaration turns every undeclared address into a hole (and
  // invalidates all DMI granted so far, since it may now cover a hole).
  void add_region(std::uint64_t base, std::uint64_t size);
  // True when every byte of [pa, pa + len) is memory inside a single region.
  bool is_backed(std::uint64_t pa, std::uint64_t len) const;

  void set_untouched_fill(UntouchedFill fill);
  void set_poison_observer(PoisonObserver observer);
  // Called after every b_transport, with the completed payload (response set).
  void set_access_observer(AccessObserver observer);

  // Zero-time access without TLM: no latency, no counters, no observers. Reads
  // show what a TLM read would (scrub pattern on poisoned bytes, not counted);
  // writes allocate pages and clear poison. Out-of-memory ranges → SC_REPORT_ERROR,
  // nothing transferred, false returned.
  bool backdoor_read(std::uint64_t pa, std::uint8_t* data, std::size_t len) const;
  bool backdoor_write(std::uint64_t pa, const std::uint8_t* data, std::size_t len);
  // Little-endian 64-bit helpers; read64 returns 0 after reporting an error.
  std::uint64_t read64(std::uint64_t pa) const;
  bool write64(std::uint64_t pa, std::uint64_t value);

  // Marks [pa, pa + len) as scrubbed / clears that mark. Both report an error for
  // an empty or out-of-memory range and then do nothing.
  void poison(std::uint64_t pa, std::uint64_t len);
  void unpoison(std::uint64_t pa, std::uint64_t len);
  bool is_poisoned(std::uint64_t pa, std::uint64_t len = 1) const;  // any byte poisoned

  const Statistics& statistics() const { return stats_; }
  std::uint64_t poison_reads() const { return stats_.poison_reads; }
  // The first `poison_log_capacity` poisoned runs returned by reads, in order.
  const std::vector<PoisonedRead>& poisoned_reads() const { return poisoned_reads_; }
  std::size_t allocated_pages() const { return pages_.size(); }

  // The scrub pattern byte a poisoned `pa` reads as.
  static std::uint8_t poison_byte(std::uint64_t pa);

 private:
  using Page = std::array<std::uint8_t, kPageSize>;

  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi_data);

  // Fills in the response of one b_transport; returns the response status.
  tlm::tlm_response_status execute(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  // Why a transaction is not a well-formed base-protocol transaction, or nullptr.
  static const char* malformation(const tlm::tlm_generic_payload& trans);

  // The memory range [start, end) holding `pa` (its region, or [0, size) when no
  // regions are declared); false when `pa` is a hole or beyond `size`.
  bool containing_memory(std::uint64_t pa, std::uint64_t& start, std::uint64_t& end) const;
  bool check_backdoor_range(const char* operation, std::uint64_t pa, std::uint64_t len) const;

  Page* find_page(std::uint64_t page_number) const;
  Page& materialise_page(std::uint64_t page_number);

  // Raw storage access (no poison handling); unallocated bytes come from the fill.
  void read_bytes(std::uint64_t pa, std::uint8_t* data, std::size_t len) const;
  void write_bytes(std::uint64_t pa, const std::uint8_t* data, std::size_t len);
  std::uint8_t read_byte(std::uint64_t pa) const;
  void write_byte(std::uint64_t pa, std::uint8_t value);
  void fill_untouched(std::uint64_t pa, std::uint8_t* data, std::size_t len) const;

  // Poison bookkeeping over disjoint half-open intervals [start, end).
  void add_poison_interval(std::uint64_t start, std::uint64_t end);
  void remove_poison_interval(std::uint64_t start, std::uint64_t end);
  bool overlaps_poison(std::uint64_t start, std::uint64_t end) const;
  void overlay_poison_pattern(std::uint64_t pa, std::uint8_t* data, std::size_t len) const;
  // Records one poisoned run returned to a TLM initiator.
  void note_poisoned_read(std::uint64_t pa, std::size_t len);

  // Invalidates every DMI-granted page that intersects [start, end).
  void invalidate_granted_pages(std::uint64_t start, std::uint64_t end);
  void invalidate_all_dmi();

  Config config_;
  std::map<std::uint64_t, std::uint64_t> regions_;  // base → end (exclusive), merged
  std::unordered_map<std::uint64_t, std::unique_ptr<Page>> pages_;
  // Lookup cache: DMA streams hit the same page again and again.
  mutable std::uint64_t cached_page_number_ = ~std::uint64_t{0};
  mutable Page* cached_page_ = nullptr;
  std::map<std::uint64_t, std::uint64_t> poison_;  // start → end (exclusive), merged
  std::set<std::uint64_t> dmi_granted_pages_;       // page numbers handed out through DMI
  UntouchedFill untouched_fill_;
  PoisonObserver poison_observer_;
  AccessObserver access_observer_;
  Statistics stats_;
  stats::Registration registration_;
  std::vector<PoisonedRead> poisoned_reads_;
};

}  // namespace smmuv3tlm::memory
