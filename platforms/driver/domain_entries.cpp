#include "smmuv3tlm/platforms/driver/domain_entries.h"

namespace smmuv3tlm::driver {

namespace ste = smmu::ste;
namespace cd = smmu::cd;

smmu::EntryWords make_s1_cd(const Stage1Context& s1, const MasterTraits& master) {
  smmu::EntryWords w{};
  cd::T0SZ.set(w, s1.tsz);
  cd::TG0.set(w, s1.tg);
  cd::IR0.set(w, s1.irgn);
  cd::OR0.set(w, s1.orgn);
  cd::SH0.set(w, s1.sh);
  cd::EPD1.set(w, 1);  // no TTB1 range
  cd::V.set(w, 1);
  cd::IPS.set(w, s1.ips);
  cd::AA64.set(w, 1);
  cd::S.set(w, master.stall);
  cd::R.set(w, 1);
  cd::A.set(w, 1);
  cd::ASET.set(w, 1);
  cd::ASID.set(w, s1.asid);
  if (s1.dirty_tracking) {
    cd::HA.set(w, 1);
    cd::HD.set(w, 1);
  }
  cd::TTB0.set(w, s1.ttb);
  cd::MAIR.set(w, s1.mair);
  return w;
}

smmu::EntryWords make_cdtable_ste(std::uint64_t cd_table, unsigned s1fmt, unsigned s1cdmax, unsigned s1dss,
                                  const DriverFeatures& features, const MasterTraits& master) {
  smmu::EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigStage1);
  ste::S1FMT.set(w, s1fmt);
  ste::S1_CONTEXT_PTR.set(w, cd_table);
  ste::S1CDMAX.set(w, s1cdmax);
  ste::S1DSS.set(w, s1dss);
  ste::S1CIR.set(w, 1);  // write-back, read-allocate
  ste::S1COR.set(w, 1);
  ste::S1CSH.set(w, 3);
  const bool stalls = features.stall_model != 0b01;  // not terminate-only
  if (stalls && !master.stall) ste::S1STALLD.set(w, 1);
  ste::EATS.set(w, master.ats ? 1 : 0);
  if (features.attr_types_override && s1dss == kS1dssBypass) ste::SHCFG.set(w, 0b01);
  // E2H: the stream world matches the hypervisor's (EL2); otherwise NS-EL1 with VMID 0.
  ste::STRW.set(w, features.hyp ? 0b10 : 0b00);
  return w;
}

smmu::EntryWords make_s2_domain_ste(const Stage2Context& s2, const DriverFeatures& features,
                                    const MasterTraits& master) {
  smmu::EntryWords w{};
  ste::V.set(w, 1);
  ste::CONFIG.set(w, ste::kConfigStage2);
  ste::EATS.set(w, master.ats ? 1 : 0);
  if (features.attr_types_override) ste::SHCFG.set(w, 0b01);
  ste::S2VMID.set(w, s2.vmid);
  ste::S2T0SZ.set(w, s2.tsz);
  ste::S2SL0.set(w, s2.sl);
  ste::S2IR0.set(w, s2.irgn);
  ste::S2OR0.set(w, s2.orgn);
  ste::S2SH0.set(w, s2.sh);
  ste::S2TG.set(w, s2.tg);
  ste::S2PS.set(w, s2.ps);
  ste::S2AA64.set(w, 1);
  ste::S2PTW.set(w, 1);
  ste::S2S.set(w, master.stall);
  ste::S2R.set(w, 1);
  ste::S2TTB.set(w, s2.ttb);
  return w;
}

smmu::EntryWords make_nested_ste(const smmu::EntryWords& guest_ste, const Stage2Context& s2,
                                 const DriverFeatures& features, const MasterTraits& master) {
  smmu::EntryWords w = make_s2_domain_ste(s2, features, master);
  // The guest's stage-1 fields (its CD table and how to read it) over the parent's stage 2.
  for (const smmu::EntryField& f :
       {ste::S1FMT, ste::S1_CONTEXT_PTR, ste::S1CDMAX, ste::S1DSS, ste::S1CIR, ste::S1COR, ste::S1CSH, ste::S1STALLD}) {
    f.set(w, f.get(guest_ste));
  }
  ste::CONFIG.set(w, ste::kConfigNested);
  ste::MEV.set(w, 1);  // guests' faults may be merged: a guest cannot flood the event queue
  return w;
}

std::optional<std::uint32_t> IdAllocator::allocate() {
  for (std::uint64_t id = first_; id <= last_; ++id) {
    if (used_.insert(static_cast<std::uint32_t>(id)).second) return static_cast<std::uint32_t>(id);
  }
  return std::nullopt;
}

bool IdAllocator::reserve(std::uint32_t id) {
  if (id < first_ || id > last_) return false;
  return used_.insert(id).second;
}

}  // namespace smmuv3tlm::driver
