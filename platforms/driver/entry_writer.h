// The host driver's hitless STE/CD writer: the algorithm of Linux's
// arm_smmu_write_entry() (drivers/iommu/arm/arm-smmu-v3), which updates a live
// 64-byte entry with 64-bit stores so that the SMMU, which may read the entry
// between any two stores, never sees a mix of the old and new configuration on
// the bits it uses:
//   - the used bits change in no qword: store what differs, sync;
//   - in exactly one qword (hitless): the other qwords' now-unused bits first,
//     sync; the critical qword, sync; the whole target, sync;
//   - in two or more (breaking): qword 0 with V=0, sync; qwords 1-7, sync;
//     qword 0, sync.
// A step that stores nothing issues no sync. Plain C++: the driver model hands
// it store and sync callbacks (a 64-bit TLM write; CFGI_STE/CFGI_CD + CMD_SYNC).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::driver {

enum class EntryKind : std::uint8_t { Ste, Cd };

// The bits in use (ste::used_bits / cd::used_bits).
smmu::EntryWords used_bits(EntryKind kind, const smmu::EntryWords& entry);
// Bits that may change in place even while in use (Linux's
// arm_smmu_get_ste_update_safe: STE.MEV always, and EATS' TRANS bit unless
// either entry has EATS=S1CHK or S2S set). None for a CD.
smmu::EntryWords update_safe_bits(EntryKind kind, const smmu::EntryWords& current, const smmu::EntryWords& target);

struct EntryUpdate {
  unsigned stores = 0;
  unsigned syncs = 0;
  // No sync saw qword 0 all zero (an invalid entry), as Linux's KUnit test defines it.
  bool hitless = true;
  // Every state a sync saw with qword 0 non-zero equals the initial or the target
  // entry on the bits that state uses, less the update-safe bits.
  bool states_ok = true;
  std::vector<smmu::EntryWords> states;  // the entry at each sync
};

class EntryWriter {
 public:
  using Store = std::function<void(unsigned qword, std::uint64_t value)>;
  using Sync = std::function<void()>;

  EntryWriter(EntryKind kind, Store store, Sync sync);

  // Updates `entry` (the CPU's view of the live entry, changed store by store)
  // to `target`.
  EntryUpdate write(smmu::EntryWords& entry, const smmu::EntryWords& target);

 private:
  // Stores target[first .. first+count) that differ; syncs when any did.
  void set(smmu::EntryWords& entry, const smmu::EntryWords& target, unsigned first, unsigned count,
           const smmu::EntryWords& initial, const smmu::EntryWords& final_target, EntryUpdate& report);

  EntryKind kind_;
  Store store_;
  Sync sync_;
};

}  // namespace smmuv3tlm::driver
