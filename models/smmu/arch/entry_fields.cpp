#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::smmu {

namespace {

// Some bit that `used` selects, less `safe`, differs between a and b.
bool differs_in(const EntryWords& a, const EntryWords& b, const EntryWords& used, const EntryWords& safe) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::uint64_t mask = used[i] & ~safe[i];
    if ((a[i] & mask) != (b[i] & mask)) return true;
  }
  return false;
}

}  // namespace

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

EntryWords update_safe_bits(const EntryWords& current, const EntryWords& target) {
  EntryWords safe{};
  constexpr std::uint64_t kEatsS1chk = 0b10;
  constexpr std::uint64_t kEatsTrans = 0b01;
  const bool s1chk = (EATS.get(current) & kEatsS1chk) != 0 || (EATS.get(target) & kEatsS1chk) != 0;
  const bool s2s = S2S.is_set(current) || S2S.is_set(target);
  // EATS=0b01 <-> 0b00 is safe: the attach sequence has ATS off in the device
  // meanwhile. Not with S1CHK (0b11 would be an errant 0b00) or S2S (EATS=1 with
  // S2S=1 is an ILLEGAL STE).
  if (!s1chk && !s2s) safe[EATS.qword] |= kEatsTrans << EATS.lo;
  safe[MEV.qword] |= MEV.mask();
  return safe;
}

bool consistent_state(const EntryWords& state, const EntryWords& from, const EntryWords& to) {
  if (!V.is_set(state)) return true;
  const EntryWords used = used_bits(state);
  return !differs_in(state, from, used, update_safe_bits(state, from)) ||
         !differs_in(state, to, used, update_safe_bits(state, to));
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

bool consistent_state(const EntryWords& state, const EntryWords& from, const EntryWords& to) {
  if (!V.is_set(state)) return true;
  const EntryWords used = used_bits(state);
  const EntryWords none{};
  return !differs_in(state, from, used, none) || !differs_in(state, to, used, none);
}

}  // namespace cd

}  // namespace smmuv3tlm::smmu
