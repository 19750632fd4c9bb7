// Non-hitless (torn) entry updates. The SMMU may read a live STE, CD or PTE
// between any two CPU stores and is only promised 64-bit single-copy
// atomicity. An entry is live once the SMMU has read it as that type; between
// two CMD_SYNCs the checker keeps every state the CPU's stores produced, and
// at the second sync checks each against the entry at the first sync (old)
// and at the second (new): on the bits the state uses (STE/CD: the used-bits
// rule less the update-safe bits; PTE: all bits of a valid descriptor) it
// must equal one of them. An invalid state (V=0) is consistent: the access
// aborts, nothing is torn. Stores narrower than 64 bits are checked the same
// way and named in the finding.
#pragma once

#include <map>

#include "smmuv3tlm/models/handover/checkers/checker.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::handover {

class TornEntryChecker : public Checker {
 public:
  TornEntryChecker() : Checker("torn-entry") {}
  void on_smmu_access(const SmmuAccess& access);
  void on_cpu_store(const CpuStore& store);
  // A CMD_SYNC reached the SMMU (every entry's current state becomes the reference).
  void on_sync(double time_ns);
  std::size_t live_entries() const { return entries_.size(); }

 private:
  enum class Kind : std::uint8_t { Ste, Cd, Pte };
  struct Entry {
    Kind kind = Kind::Ste;
    std::uint32_t stream_id = kNoStream;
    smmu::EntryWords reference{};
    smmu::EntryWords current{};
    std::vector<smmu::EntryWords> states;
    bool narrow = false;
  };
  static unsigned bytes_of(Kind kind) { return kind == Kind::Pte ? 8 : 64; }
  bool consistent(const Entry& e, const smmu::EntryWords& state) const;

  std::map<std::uint64_t, Entry> entries_;  // by entry base address
};

}  // namespace smmuv3tlm::handover
