// The CPU's data cache as a device that is not I/O-coherent sees it, between
// the CPU's memory port and the interconnect. Write-back, write-allocate,
// 64-byte lines, for cacheable addresses; `set_cacheable` says which are
// (Linux maps coherent-dma memory non-cacheable for a non-coherent device, so
// queues and MSI words bypass the cache). Clean and invalidate to the point
// of coherency are operations on it.
//
// With a coherent SMMU (IDR0.COHACC=1) the cache is write-through: memory is
// always current, which is what the SMMU's snooping walks would see. With a
// non-coherent one, a store stays dirty in the cache until cleaned, and the
// SMMU, reading memory, does not see it: a missing clean is a stale table.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm::memory {

struct CpuCacheStatistics {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;          // line fills
  std::uint64_t write_backs = 0;     // dirty lines written to memory (cleans, kexec)
  std::uint64_t lost_lines = 0;      // dirty lines discarded (a kexec that loses them)
  std::uint64_t uncached_accesses = 0;
};
inline auto statistic_fields(const CpuCacheStatistics&) {
  using S = CpuCacheStatistics;
  return std::make_tuple(stats::field("hits", &S::hits), stats::field("misses", &S::misses),
                         stats::field("write_backs", &S::write_backs), stats::field("lost_lines", &S::lost_lines),
                         stats::field("uncached_accesses", &S::uncached_accesses));
}

class CpuCache : public sc_core::sc_module {
 public:
  static constexpr std::uint64_t kLineBytes = 64;

  tlm_utils::simple_target_socket<CpuCache> cpu;
  tlm_utils::simple_initiator_socket<CpuCache> memory_side;

  // `write_back`: false = write-through (a coherent SMMU's view).
  CpuCache(const sc_core::sc_module_name& name, bool write_back,
           sc_core::sc_time hit_latency = sc_core::sc_time(1, sc_core::SC_NS));

  using Cacheable = std::function<bool(std::uint64_t pa)>;
  void set_cacheable(Cacheable cacheable) { cacheable_ = std::move(cacheable); }
  bool write_back() const { return write_back_; }

  // DC CVAC over [pa, pa + bytes): dirty lines are written to memory.
  void clean(std::uint64_t pa, std::uint64_t bytes, sc_core::sc_time& delay);
  // DC IVAC over [pa, pa + bytes): the lines are dropped, dirty data with
  // them (what a CPU does before reading memory a device wrote).
  void invalidate(std::uint64_t pa, std::uint64_t bytes);
  // Every dirty line written back (a kexec that flushes), or discarded (one that loses them).
  void write_back_all();
  void discard_all();
  // Whether any byte of [pa, pa + bytes) is newer in the cache than in memory.
  bool dirty(std::uint64_t pa, std::uint64_t bytes) const;
  std::size_t dirty_lines() const;
  const CpuCacheStatistics& statistics() const { return stats_; }

 private:
  struct Line {
    std::array<std::uint8_t, kLineBytes> data{};
    std::bitset<kLineBytes> dirty;  // bytes newer than memory (the line is written back whole)
  };
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  Line& line(std::uint64_t line_pa, sc_core::sc_time& delay, bool& ok);
  bool write_line(std::uint64_t line_pa, const Line& l, sc_core::sc_time& delay);
  bool forward(tlm::tlm_command command, std::uint64_t pa, std::uint8_t* data, unsigned bytes, sc_core::sc_time& delay);

  bool write_back_;
  sc_core::sc_time hit_latency_;
  Cacheable cacheable_;
  std::unordered_map<std::uint64_t, Line> lines_;
  CpuCacheStatistics stats_;
  stats::Registration registration_;
};

}  // namespace smmuv3tlm::memory
