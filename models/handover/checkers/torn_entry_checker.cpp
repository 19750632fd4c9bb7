#include "smmuv3tlm/models/handover/checkers/torn_entry_checker.h"

#include <algorithm>
#include <cstring>

namespace smmuv3tlm::handover {

namespace {

void put_bytes(smmu::EntryWords& words, std::uint64_t offset, const std::uint8_t* data, std::uint64_t size) {
  for (std::uint64_t i = 0; i < size; ++i) {
    const std::uint64_t byte = offset + i;
    const unsigned shift = static_cast<unsigned>(8 * (byte % 8));
    std::uint64_t& word = words[byte / 8];
    word = (word & ~(std::uint64_t{0xff} << shift)) | (std::uint64_t{data[i]} << shift);
  }
}

const char* table_name(bool ste, bool cd) { return ste ? "STE" : cd ? "CD" : "translation table entry"; }

}  // namespace

void TornEntryChecker::on_smmu_access(const SmmuAccess& access) {
  Kind kind;
  switch (access.purpose) {
    case smmu::AccessPurpose::StreamTableEntry: kind = Kind::Ste; break;
    case smmu::AccessPurpose::ContextDesc: kind = Kind::Cd; break;
    case smmu::AccessPurpose::Stage1Walk:
    case smmu::AccessPurpose::Stage2Walk:
    case smmu::AccessPurpose::HardwareUpdate: kind = Kind::Pte; break;
    default: return;
  }
  if (access.data == nullptr || access.size == 0) return;
  const std::uint64_t span = bytes_of(kind);
  const std::uint64_t base = access.pa & ~(span - 1);
  auto [it, inserted] = entries_.try_emplace(base);
  Entry& e = it->second;
  if (inserted) {
    e.kind = kind;
    e.stream_id = access.stream_id;
  }
  const std::uint64_t size = std::min<std::uint64_t>(access.size, base + span - access.pa);
  // What the SMMU saw (or, for an HTTU write, wrote) is the entry now, unless
  // CPU stores since the last sync are pending: the shadow is newer then.
  if (e.states.empty() || access.write) {
    put_bytes(e.current, access.pa - base, access.data, size);
    if (e.states.empty()) e.reference = e.current;
  }
}

void TornEntryChecker::on_cpu_store(const CpuStore& store) {
  if (store.size == 0 || store.data == nullptr) return;
  // Entries overlapping the store: at most a few (64-byte STE/CD, 8-byte PTE).
  auto it = entries_.upper_bound(store.pa);
  if (it != entries_.begin()) --it;
  for (; it != entries_.end() && it->first < store.pa + store.size; ++it) {
    Entry& e = it->second;
    const std::uint64_t base = it->first;
    const std::uint64_t end = base + bytes_of(e.kind);
    if (end <= store.pa) continue;
    const std::uint64_t from = std::max(base, store.pa);
    const std::uint64_t to = std::min(end, store.pa + store.size);
    put_bytes(e.current, from - base, store.data + (from - store.pa), to - from);
    e.states.push_back(e.current);
    if (store.size < 8) e.narrow = true;
  }
}

bool TornEntryChecker::consistent(const Entry& e, const smmu::EntryWords& state) const {
  switch (e.kind) {
    case Kind::Ste: return smmu::ste::consistent_state(state, e.reference, e.current);
    case Kind::Cd: return smmu::cd::consistent_state(state, e.reference, e.current);
    case Kind::Pte: return (state[0] & 1) == 0 || state[0] == e.reference[0] || state[0] == e.current[0];
  }
  return true;
}

void TornEntryChecker::on_sync(double time_ns) {
  for (auto& [base, e] : entries_) {
    if (e.states.empty()) continue;
    const bool torn = std::any_of(e.states.begin(), e.states.end(),
                                  [&](const smmu::EntryWords& s) { return !consistent(e, s); });
    if (torn) {
      std::string rule =
          "a state the SMMU could read between two syncs is neither the old nor the new entry on the bits it uses";
      if (e.narrow) rule += " (stores narrower than 64 bits)";
      report(time_ns, e.stream_id, base, table_name(e.kind == Kind::Ste, e.kind == Kind::Cd), rule);
    }
    e.reference = e.current;
    e.states.clear();
    e.narrow = false;
  }
}

}  // namespace smmuv3tlm::handover
