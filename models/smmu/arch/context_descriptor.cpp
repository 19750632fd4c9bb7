#include "smmuv3tlm/models/smmu/arch/context_descriptor.h"

#include <algorithm>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/models/smmu/arch/translation_table.h"

namespace smmuv3tlm::smmu {

L1ContextDescriptor L1ContextDescriptor::decode(std::uint64_t word) {
  L1ContextDescriptor d;
  d.valid = bit(word, 0);
  d.l2_table = word & mask_bits(51, 12);
  return d;
}

bool decode_cd(const std::array<std::uint64_t, 8>& w, const Capabilities& caps, ContextDescriptor& cd,
               std::string& why) {
  cd = ContextDescriptor{};
  cd.raw = w;
  if (!cd::V.is_set(w)) {
    why = "CD.V=0";
    return false;
  }
  cd.output_bits = std::min(ips_to_bits(static_cast<unsigned>(cd::IPS.get(w))), caps.oas_bits);
  cd.affd = cd::AFFD.is_set(w);
  cd.wxn = cd::WXN.is_set(w);
  cd.uwxn = cd::UWXN.is_set(w);
  cd.pan = cd::PAN.is_set(w);
  cd.aa64 = cd::AA64.is_set(w);
  cd.hd = cd::HD.is_set(w);
  cd.ha = cd::HA.is_set(w);
  cd.stall = cd::S.is_set(w);
  cd.record_faults = cd::R.is_set(w);
  cd.abort = cd::A.is_set(w);
  cd.aset = cd::ASET.is_set(w);
  cd.asid = static_cast<std::uint16_t>(cd::ASID.get(w));
  cd.big_endian = cd::ENDI.is_set(w);
  cd.mair = cd::MAIR.get(w);

  if (!cd.aa64 && !caps.aarch32_tables) {
    why = "CD.AA64=0 but AArch32 tables are not supported (IDR0.TTF)";
    return false;
  }
  const bool both_ranges_disabled = cd::EPD0.is_set(w) && cd::EPD1.is_set(w);
  if (!both_ranges_disabled && caps.tt_endian != TtEndian::Mixed &&
      cd.big_endian != (caps.tt_endian == TtEndian::BigOnly)) {
    why = "CD.ENDI selects an endianness IDR0.TTENDIAN does not support";
    return false;
  }
  if (cd.stall && caps.stall_model == StallModel::TerminateOnly) {
    why = "CD.S=1 but the SMMU does not support stalls (IDR0.STALL_MODEL=0b01)";
    return false;
  }
  if (!cd.stall && caps.stall_model == StallModel::StallForced) {
    why = "CD.S=0 but stalls are forced (IDR0.STALL_MODEL=0b10)";
    return false;
  }
  if (!cd.abort && caps.term_model) {
    why = "CD.A=0 but IDR0.TERM_MODEL=1 (terminated transactions always abort)";
    return false;
  }
  if (!caps.asid16 && cd.asid > 0xff) {
    why = "CD.ASID[15:8] is non-zero but IDR0.ASID16=0";
    return false;
  }
  if ((cd.ha && caps.httu == HttuSupport::None) || (cd.hd && caps.httu != HttuSupport::AccessAndDirty)) {
    why = "CD.HA/HD ask for hardware updates IDR0.HTTU does not advertise";
    return false;
  }
  if (!cd.ha) cd.hd = false;  // {HA, HD} = {0, 1} is reserved and behaves as both 0
  // The two ranges' fields: TTB0 (index 0) and TTB1 (index 1).
  struct RangeFields {
    EntryField epd, tsz, tg, ttb, had, tbi;
  };
  static constexpr RangeFields kRanges[2] = {{cd::EPD0, cd::T0SZ, cd::TG0, cd::TTB0, cd::HAD0, cd::TBI0},
                                             {cd::EPD1, cd::T1SZ, cd::TG1, cd::TTB1, cd::HAD1, cd::TBI1}};
  for (int i = 0; i < 2; ++i) {
    Stage1Range& r = cd.range[i];
    const RangeFields& f = kRanges[i];
    r.disabled = f.epd.is_set(w);
    r.tsz = static_cast<unsigned>(f.tsz.get(w));
    const auto tg = static_cast<unsigned>(f.tg.get(w));
    r.granule_log2 = i == 0 ? granule_from_tg0(tg) : granule_from_tg1(tg);
    r.ttb = f.ttb.get(w);
    r.had = caps.had && f.had.is_set(w);
    r.tbi = f.tbi.is_set(w);
    if (r.disabled) continue;  // an unused range's fields are not checked
    const std::string name = i == 0 ? "0" : "1";
    // TxSZ range without LVA or small translation tables: 16..39.
    if (r.tsz < 16 || r.tsz > 39) {
      why = "CD.T" + name + "SZ=" + std::to_string(r.tsz) + " is outside 16..39";
      return false;
    }
    if (r.granule_log2 == 0 || !caps.supports_granule(r.granule_log2)) {
      why = "CD.TG" + name + " selects a reserved or unsupported granule";
      return false;
    }
    if ((r.ttb & ~mask_bits(cd.output_bits - 1, 0)) != 0) {
      why = "CD.TTB" + name + " is outside the effective IPS";
      return false;
    }
  }
  return true;
}

}  // namespace smmuv3tlm::smmu
