#include "models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::smmu {

namespace ste {

EntryWords used_bits(const EntryWords& entry) {
  EntryWords used{};
  V.mark(used);
  if (!V.is_set(entry)) return used;  // an invalid STE: only V is read
  CONFIG.mark(used);
  const auto config = static_cast<unsigned>(CONFIG.get(entry));
  if ((config & 0b001) != 0) {  // stage 1 translates
    for (const EntryField& f : {S1FMT, S1_CONTEXT_PTR, S1CDMAX, S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, STRW, EATS,
                                MEV, S2VMID}) {
      f.mark(used);
    }
    // With S1DSS=bypass, traffic without a SubstreamID uses SHCFG (§13.5).
    if (S1DSS.get(entry) == 0b01) SHCFG.mark(used);
  }
  if ((config & 0b010) != 0) {  // stage 2 translates
    for (const EntryField& f : {S2FWB, EATS, SHCFG, MEV, S2VMID, S2T0SZ, S2SL0, S2IR0, S2OR0, S2SH0, S2TG, S2PS,
                                S2AA64, S2ENDI, S2PTW, S2S, S2R, S2TTB}) {
      f.mark(used);
    }
  }
  if (config == kConfigBypass) SHCFG.mark(used);
  return used;
}

}  // namespace ste

namespace cd {

EntryWords used_bits(const EntryWords& entry) {
  EntryWords used{};
  V.mark(used);
  if (!V.is_set(entry)) return used;
  used.fill(~std::uint64_t{0});
  if (EPD0.is_set(entry)) {
    // EPD0: the TTB0 range's walk fields are IGNORED.
    for (const EntryField& f : {T0SZ, TG0, IR0, OR0, SH0, TTB0}) used[f.qword] &= ~f.mask();
  }
  return used;
}

}  // namespace cd

}  // namespace smmuv3tlm::smmu
