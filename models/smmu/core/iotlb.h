// The IOTLB: translations tagged by translation regime, VMID, ASID, input range
// and stage, with configurable geometry and replacement. Entries of several
// sizes (pages and blocks) share the sets: a lookup probes once per size in use.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/models/smmu/arch/memory_attributes.h"

namespace smmuv3tlm::smmu {

// What an entry translates.
enum class TlbStage : std::uint8_t {
  Stage1,   // VA -> PA for a stage-1-only stream
  Stage2,   // IPA -> PA (stage-2-only streams, and stage-2 steps of nested walks)
  Nested,   // VA -> PA combined stage 1 + stage 2
};

enum class Replacement : std::uint8_t { Lru, Random, RoundRobin };
bool parse_replacement(const std::string& name, Replacement& out);
const char* to_string(Replacement policy);

struct TlbGeometry {
  unsigned entries = 1024;
  unsigned ways = 4;  // entries/ways sets; ways == entries is fully associative
  Replacement replacement = Replacement::Lru;
};

// Effective permissions of a cached translation, already combined across table
// levels (APTable, XNTable) and, for nested entries, across both stages.
struct TlbPermissions {
  bool s1 = false;                 // stage-1 permissions apply
  unsigned s1_ap = 0;              // AP[2:1] after APTable
  bool s1_pxn = false;
  bool s1_uxn = false;
  bool s1_dirty_clean = false;     // DBM set, AP[2]=1: a write must walk to set dirty state
  bool s2 = false;                 // stage-2 permissions apply
  unsigned s2_ap = 0;              // S2AP (bit 0 read, bit 1 write)
  unsigned s2_xn = 0;              // XN[1:0]
  bool s2_dirty_clean = false;
};

// The memory attributes a cached translation's descriptors gave, each used
// when its stage's permissions apply (TlbPermissions::s1, s2).
struct TlbAttributes {
  std::uint8_t s1_type = MemoryAttributes::kDefaultType;  // CD.MAIR[AttrIndx]
  Shareability s1_sh = Shareability::NonShareable;        // descriptor SH
  std::uint8_t s2_memattr = 0xf;                           // stage-2 MemAttr[3:0]
  Shareability s2_sh = Shareability::NonShareable;
  // The output for the default incoming attributes without overrides: what
  // almost every hit needs, computed once when the entry is made.
  MemoryAttributes default_output;
};

struct TlbEntry {
  bool valid = false;
  TlbStage stage = TlbStage::Stage1;
  bool el2 = false;        // EL2 translation regime (StreamWorld EL2)
  bool global = false;     // nG == 0: matches every ASID
  std::uint16_t vmid = 0;
  std::uint16_t asid = 0;
  std::uint8_t size_log2 = 12;
  std::uint64_t input_base = 0;   // aligned to 2^size_log2
  std::uint64_t output_base = 0;
  std::uint64_t ipa_base = 0;     // nested: the IPA the stage-1 output reached
  TlbPermissions perms;
  TlbAttributes attributes;
  // Bit (read | privileged << 1 | instruction << 2) is set when both stages'
  // permissions allow that kind of access: the hit path's whole permission check.
  std::uint8_t allowed_accesses = 0;
  std::uint64_t last_use = 0;
};

inline unsigned access_kind(bool read, bool privileged, bool instruction) {
  return (read ? 1u : 0u) | (privileged ? 2u : 0u) | (instruction ? 4u : 0u);
}

struct TlbTag {
  TlbStage stage = TlbStage::Stage1;
  bool el2 = false;
  std::uint16_t vmid = 0;
  std::uint16_t asid = 0;
};

struct TlbStatistics {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t insertions = 0;
  std::uint64_t evictions = 0;
  std::uint64_t invalidated = 0;
};
inline auto statistic_fields(const TlbStatistics&) {
  using S = TlbStatistics;
  return std::make_tuple(stats::field("lookups", &S::lookups), stats::field("hits", &S::hits),
                         stats::field("misses", &S::misses), stats::field("insertions", &S::insertions),
                         stats::field("evictions", &S::evictions), stats::field("invalidated", &S::invalidated));
}

class Iotlb {
 public:
  explicit Iotlb(const TlbGeometry& geometry = {});

  const TlbEntry* lookup(const TlbTag& tag, std::uint64_t input) {
    // Most DMA hits the entry that hit last (a one-entry micro-TLB in front).
    if (most_recent_ != nullptr && matches(*most_recent_, tag, input)) {
      ++stats_.lookups;
      ++stats_.hits;
      most_recent_->last_use = ++clock_;
      return most_recent_;
    }
    return lookup_sets(tag, input);
  }
  // Looks only among entries of one size (the walk cache probes level by level).
  const TlbEntry* lookup_exact(const TlbTag& tag, std::uint64_t input, unsigned size_log2);
  void insert(const TlbEntry& entry);
  // Invalidates every valid entry for which `match` is true; returns how many.
  std::size_t invalidate_if(const std::function<bool(const TlbEntry&)>& match);
  void invalidate_all();
  // Power-on state: no valid entry, replacement state (LRU clock, round-robin
  // pointers, random seed) as after construction. Statistics are kept.
  void reset();
  void reset_statistics() { stats_ = TlbStatistics{}; }

  // Inspection (tests, the handover checker, statistics dumps).
  std::size_t valid_entries() const;
  void for_each_valid(const std::function<void(const TlbEntry&)>& visit) const;
  const TlbStatistics& statistics() const { return stats_; }
  const TlbGeometry& geometry() const { return geometry_; }

 private:
  std::size_t set_of(std::uint64_t input, unsigned size_log2) const;
  const TlbEntry* lookup_sets(const TlbTag& tag, std::uint64_t input);
  bool matches(const TlbEntry& e, const TlbTag& tag, std::uint64_t input) const {
    return e.valid && e.stage == tag.stage && e.el2 == tag.el2 && e.vmid == tag.vmid &&
           (e.global || e.asid == tag.asid) && (input >> e.size_log2) == (e.input_base >> e.size_log2);
  }

  TlbGeometry geometry_;
  std::size_t sets_;
  bool sets_are_power_of_two_ = false;
  TlbEntry* most_recent_ = nullptr;  // invalidation clears `valid`, so no stale match
  std::vector<TlbEntry> entries_;       // sets_ * ways, set-major
  std::vector<unsigned> round_robin_;   // next victim per set
  std::vector<std::uint8_t> sizes_in_use_;
  std::mt19937 random_;
  std::uint64_t clock_ = 0;
  TlbStatistics stats_;
};

}  // namespace smmuv3tlm::smmu
