// ASID/VMID collisions, as a new driver that reuses an identifier still live
// in adopted tables produces them: two contexts the SMMU is using at the same
// time with the same VMID but different S2TTB, or the same ASID in one VMID
// but different TTB0. TLB entries tagged by those identifiers would then be
// shared between address spaces. Learned from the STEs and CDs the SMMU reads
// (each stream's latest, assembled from however many reads the SMMU makes of
// an entry); one finding per identifier pair.
#pragma once

#include <map>
#include <set>
#include <tuple>

#include "smmuv3tlm/models/handover/checkers/checker.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::handover {

class IdCollisionChecker : public Checker {
 public:
  IdCollisionChecker() : Checker("id-collision") {}
  void on_smmu_access(const SmmuAccess& access);
  // A new stream table (STRTAB_BASE written, as a reset does): nothing learned
  // from the old one is reachable any more, and the reset's TLBI_NSNH_ALL
  // leaves no entry tagged by its identifiers.
  void on_stream_table_change();

 private:
  void on_entry(const SmmuAccess& access, std::uint64_t base, const smmu::EntryWords& w);
  struct Partial {
    smmu::EntryWords words{};
    unsigned have = 0;  // a bit per qword read
  };
  std::map<std::uint64_t, Partial> partial_;
  struct StreamContext {
    bool has_stage2 = false;
    std::uint16_t vmid = 0;
    std::uint64_t s2ttb = 0;
  };
  std::map<std::uint32_t, StreamContext> streams_;
  // (VMID, ASID) -> the TTB0 of each CD (by CD address) that carries them.
  std::map<std::pair<std::uint16_t, std::uint16_t>, std::map<std::uint64_t, std::uint64_t>> asids_;
  std::set<std::tuple<int, std::uint16_t, std::uint16_t>> reported_;
};

}  // namespace smmuv3tlm::handover
