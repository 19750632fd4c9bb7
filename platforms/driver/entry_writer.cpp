#include "smmuv3tlm/platforms/driver/entry_writer.h"

#include <bitset>

namespace smmuv3tlm::driver {

namespace {
constexpr unsigned kQwords = 8;
}  // namespace


smmu::EntryWords used_bits(EntryKind kind, const smmu::EntryWords& entry) {
  return kind == EntryKind::Ste ? smmu::ste::used_bits(entry) : smmu::cd::used_bits(entry);
}

smmu::EntryWords update_safe_bits(EntryKind kind, const smmu::EntryWords& current, const smmu::EntryWords& target) {
  return kind == EntryKind::Ste ? smmu::ste::update_safe_bits(current, target) : smmu::EntryWords{};
}

EntryWriter::EntryWriter(EntryKind kind, Store store, Sync sync)
    : kind_(kind), store_(std::move(store)), sync_(std::move(sync)) {}

void EntryWriter::set(smmu::EntryWords& entry, const smmu::EntryWords& target, unsigned first, unsigned count,
                      const smmu::EntryWords& initial, const smmu::EntryWords& final_target, EntryUpdate& report) {
  bool changed = false;
  for (unsigned i = first; i < first + count; ++i) {
    if (entry[i] == target[i]) continue;
    entry[i] = target[i];
    store_(i, target[i]);
    ++report.stores;
    changed = true;
  }
  if (!changed) return;
  sync_();
  ++report.syncs;
  report.states.push_back(entry);
  if (entry[0] == 0) {
    report.hitless = false;
    return;
  }
  const bool consistent = kind_ == EntryKind::Ste ? smmu::ste::consistent_state(entry, initial, final_target)
                                                  : smmu::cd::consistent_state(entry, initial, final_target);
  if (!consistent) report.states_ok = false;
}

EntryUpdate EntryWriter::write(smmu::EntryWords& entry, const smmu::EntryWords& target) {
  EntryUpdate report;
  const smmu::EntryWords initial = entry;
  smmu::EntryWords current_used = used_bits(kind_, entry);
  const smmu::EntryWords target_used = used_bits(kind_, target);
  smmu::EntryWords safe = update_safe_bits(kind_, entry, target);
  // What the entry becomes when every bit it does not use takes its new value,
  // and the qwords whose used bits must still change after that.
  smmu::EntryWords unused_update{};
  unsigned critical = 0;
  std::bitset<kQwords> critical_qwords;
  for (unsigned i = 0; i < kQwords; ++i) {
    safe[i] &= target_used[i] & current_used[i];  // safe only where both use the bits
    current_used[i] &= ~safe[i];
    unused_update[i] = (entry[i] & current_used[i]) | (target[i] & ~current_used[i]);
    if ((unused_update[i] & target_used[i]) != target[i]) {
      critical_qwords.set(i);
      if (critical_qwords.count() == 1) critical = i;
    }
  }
  if (critical_qwords.count() == 1) {
    // Hitless: the critical qword is written alone, after the others' unused bits.
    unused_update[critical] = entry[critical];
    set(entry, unused_update, 0, kQwords, initial, target, report);
    set(entry, target, critical, 1, initial, target, report);
    set(entry, target, 0, kQwords, initial, target, report);
  } else if (critical_qwords.any()) {
    // Breaking: V=0 first, then the rest, then qword 0 with V=1.
    unused_update[0] = 0;
    set(entry, unused_update, 0, 1, initial, target, report);
    set(entry, target, 1, kQwords - 1, initial, target, report);
    set(entry, target, 0, 1, initial, target, report);
  } else {
    // No used bit changes (only unused or update-safe ones).
    set(entry, target, 0, kQwords, initial, target, report);
  }
  return report;
}

}  // namespace smmuv3tlm::driver
