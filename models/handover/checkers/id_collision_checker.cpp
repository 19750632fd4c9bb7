#include "smmuv3tlm/models/handover/checkers/id_collision_checker.h"

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::handover {


void IdCollisionChecker::on_smmu_access(const SmmuAccess& access) {
  const bool entry = access.purpose == smmu::AccessPurpose::StreamTableEntry ||
                     access.purpose == smmu::AccessPurpose::ContextDesc;
  if (access.write || !entry || access.data == nullptr) return;
  const std::uint64_t base = access.pa & ~std::uint64_t{63};
  Partial& p = partial_[base];
  for (std::uint32_t i = 0; i < access.size && (access.pa - base) + i < 64; ++i) {
    const std::uint64_t byte = access.pa - base + i;
    const unsigned shift = static_cast<unsigned>(8 * (byte % 8));
    std::uint64_t& word = p.words[byte / 8];
    word = (word & ~(std::uint64_t{0xff} << shift)) | (std::uint64_t{access.data[i]} << shift);
    if (byte % 8 == 7) p.have |= 1u << (byte / 8);
  }
  if (p.have != 0xff) return;
  const smmu::EntryWords w = p.words;
  partial_.erase(base);
  on_entry(access, base, w);
}

void IdCollisionChecker::on_entry(const SmmuAccess& access, std::uint64_t base, const smmu::EntryWords& w) {
  if (access.purpose == smmu::AccessPurpose::StreamTableEntry) {
    namespace ste = smmu::ste;
    if (!ste::V.is_set(w)) return;
    const std::uint64_t config = ste::CONFIG.get(w);
    StreamContext& s = streams_[access.stream_id];
    s.has_stage2 = config == ste::kConfigStage2 || config == ste::kConfigNested;
    s.vmid = s.has_stage2 ? static_cast<std::uint16_t>(ste::S2VMID.get(w)) : 0;
    s.s2ttb = s.has_stage2 ? ste::S2TTB.get(w) : 0;
    if (!s.has_stage2) return;
    for (const auto& [other_id, other] : streams_) {
      if (other_id == access.stream_id || !other.has_stage2 || other.vmid != s.vmid || other.s2ttb == s.s2ttb) continue;
      if (!reported_.insert({2, s.vmid, 0}).second) return;
      report(access.time_ns, access.stream_id, base, "STE",
             fmt::format("VMID {} is live with two stage-2 tables ({:#x} for StreamID {:#x}, {:#x} here)", s.vmid,
                         other.s2ttb, other_id, s.s2ttb));
      return;
    }
    return;
  }
  if (access.purpose != smmu::AccessPurpose::ContextDesc) return;
  namespace cd = smmu::cd;
  if (!cd::V.is_set(w)) return;
  const auto stream = streams_.find(access.stream_id);
  const std::uint16_t vmid = stream == streams_.end() ? 0 : stream->second.vmid;
  const std::uint16_t asid = static_cast<std::uint16_t>(cd::ASID.get(w));
  const std::uint64_t ttb0 = cd::TTB0.get(w);
  auto& cds = asids_[{vmid, asid}];
  cds[base] = ttb0;
  for (const auto& [address, other_ttb0] : cds) {
    if (address == base || other_ttb0 == ttb0) continue;
    if (!reported_.insert({1, vmid, asid}).second) return;
    report(access.time_ns, access.stream_id, base, "CD",
           fmt::format("ASID {} in VMID {} is live with two stage-1 tables ({:#x} in the CD at {:#x}, {:#x} here)", asid,
                       vmid, other_ttb0, address, ttb0));
    return;
  }
}

void IdCollisionChecker::on_stream_table_change() {
  partial_.clear();
  streams_.clear();
  asids_.clear();
}

}  // namespace smmuv3tlm::handover
