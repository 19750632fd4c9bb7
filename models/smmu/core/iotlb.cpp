#include "smmuv3tlm/models/smmu/core/iotlb.h"

#include <algorithm>

namespace smmuv3tlm::smmu {

namespace {
constexpr unsigned kRandomSeed = 0x5eed;  // fixed: random replacement is reproducible
}

bool parse_replacement(const std::string& name, Replacement& out) {
  if (name == "lru") out = Replacement::Lru;
  else if (name == "random") out = Replacement::Random;
  else if (name == "round-robin") out = Replacement::RoundRobin;
  else return false;
  return true;
}

const char* to_string(Replacement policy) {
  switch (policy) {
    case Replacement::Lru: return "lru";
    case Replacement::Random: return "random";
    case Replacement::RoundRobin: return "round-robin";
  }
  return "unknown";
}

Iotlb::Iotlb(const TlbGeometry& geometry) : geometry_(geometry), random_(kRandomSeed) {
  if (geometry_.entries == 0) geometry_.entries = 1;
  geometry_.ways = std::clamp(geometry_.ways, 1u, geometry_.entries);
  sets_ = std::max<std::size_t>(1, geometry_.entries / geometry_.ways);
  sets_are_power_of_two_ = (sets_ & (sets_ - 1)) == 0;
  entries_.resize(sets_ * geometry_.ways);
  round_robin_.assign(sets_, 0);
}

std::size_t Iotlb::set_of(std::uint64_t input, unsigned size_log2) const {
  const std::uint64_t page = input >> size_log2;
  const std::uint64_t hash = page ^ (page >> 17);
  return static_cast<std::size_t>(sets_are_power_of_two_ ? (hash & (sets_ - 1)) : (hash % sets_));
}

const TlbEntry* Iotlb::lookup_sets(const TlbTag& tag, std::uint64_t input) {
  ++stats_.lookups;
  for (const std::uint8_t size : sizes_in_use_) {
    TlbEntry* set = &entries_[set_of(input, size) * geometry_.ways];
    for (unsigned w = 0; w < geometry_.ways; ++w) {
      TlbEntry& e = set[w];
      if (e.size_log2 == size && matches(e, tag, input)) {
        e.last_use = ++clock_;
        ++stats_.hits;
        most_recent_ = &e;
        return &e;
      }
    }
  }
  ++stats_.misses;
  return nullptr;
}

const TlbEntry* Iotlb::lookup_exact(const TlbTag& tag, std::uint64_t input, unsigned size_log2) {
  ++stats_.lookups;
  TlbEntry* set = &entries_[set_of(input, size_log2) * geometry_.ways];
  for (unsigned w = 0; w < geometry_.ways; ++w) {
    TlbEntry& e = set[w];
    if (e.size_log2 == size_log2 && matches(e, tag, input)) {
      e.last_use = ++clock_;
      ++stats_.hits;
      return &e;
    }
  }
  ++stats_.misses;
  return nullptr;
}

void Iotlb::insert(const TlbEntry& entry) {
  if (std::find(sizes_in_use_.begin(), sizes_in_use_.end(), entry.size_log2) == sizes_in_use_.end()) {
    sizes_in_use_.push_back(entry.size_log2);
  }
  const std::size_t set_index = set_of(entry.input_base, entry.size_log2);
  TlbEntry* set = &entries_[set_index * geometry_.ways];
  unsigned victim = geometry_.ways;
  for (unsigned w = 0; w < geometry_.ways; ++w) {
    // Replace an entry for the same translation rather than holding two.
    const TlbEntry& e = set[w];
    if (!e.valid || (e.size_log2 == entry.size_log2 && e.input_base == entry.input_base &&
                     e.stage == entry.stage && e.el2 == entry.el2 && e.vmid == entry.vmid &&
                     e.asid == entry.asid && e.global == entry.global)) {
      victim = w;
      break;
    }
  }
  if (victim == geometry_.ways) {
    ++stats_.evictions;
    switch (geometry_.replacement) {
      case Replacement::Lru:
        victim = static_cast<unsigned>(std::min_element(set, set + geometry_.ways,
                                                        [](const TlbEntry& a, const TlbEntry& b) {
                                                          return a.last_use < b.last_use;
                                                        }) - set);
        break;
      case Replacement::Random:
        victim = static_cast<unsigned>(random_() % geometry_.ways);
        break;
      case Replacement::RoundRobin:
        victim = round_robin_[set_index];
        round_robin_[set_index] = (victim + 1) % geometry_.ways;
        break;
    }
  }
  set[victim] = entry;
  set[victim].valid = true;
  set[victim].last_use = ++clock_;
  ++stats_.insertions;
}

std::size_t Iotlb::invalidate_if(const std::function<bool(const TlbEntry&)>& match) {
  std::size_t count = 0;
  for (TlbEntry& e : entries_) {
    if (e.valid && match(e)) {
      e.valid = false;
      ++count;
    }
  }
  stats_.invalidated += count;
  return count;
}

void Iotlb::invalidate_all() {
  invalidate_if([](const TlbEntry&) { return true; });
}

void Iotlb::reset() {
  std::fill(entries_.begin(), entries_.end(), TlbEntry{});
  std::fill(round_robin_.begin(), round_robin_.end(), 0u);
  sizes_in_use_.clear();
  most_recent_ = nullptr;
  random_.seed(kRandomSeed);
  clock_ = 0;
}

std::size_t Iotlb::valid_entries() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const TlbEntry& e) { return e.valid; }));
}

void Iotlb::for_each_valid(const std::function<void(const TlbEntry&)>& visit) const {
  for (const TlbEntry& e : entries_) {
    if (e.valid) visit(e);
  }
}

}  // namespace smmuv3tlm::smmu
