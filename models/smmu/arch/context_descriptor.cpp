#include "models/smmu/arch/context_descriptor.h"

#include <algorithm>

#include "models/smmu/arch/bits.h"
#include "models/smmu/arch/translation_table.h"

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
  if (!bit(w[0], 31)) {
    why = "CD.V=0";
    return false;
  }
  cd.output_bits = std::min(ips_to_bits(static_cast<unsigned>(extract(w[0], 34, 32))), caps.oas_bits);
  cd.affd = bit(w[0], 35);
  cd.wxn = bit(w[0], 36);
  cd.uwxn = bit(w[0], 37);
  const unsigned tbi = static_cast<unsigned>(extract(w[0], 39, 38));
  cd.pan = bit(w[0], 40);
  cd.aa64 = bit(w[0], 41);
  cd.hd = bit(w[0], 42);
  cd.ha = bit(w[0], 43);
  cd.stall = bit(w[0], 44);
  cd.record_faults = bit(w[0], 45);
  cd.abort = bit(w[0], 46);
  cd.aset = bit(w[0], 47);
  cd.asid = static_cast<std::uint16_t>(extract(w[0], 63, 48));
  cd.big_endian = bit(w[0], 15);
  cd.mair = w[3];

  if (!cd.aa64 && !caps.aarch32_tables) {
    why = "CD.AA64=0 but AArch32 tables are not supported (IDR0.TTF)";
    return false;
  }
  const bool both_ranges_disabled = bit(w[0], 14) && bit(w[0], 30);
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
  for (int i = 0; i < 2; ++i) {
    Stage1Range& r = cd.range[i];
    r.disabled = bit(w[0], i == 0 ? 14 : 30);
    r.tsz = static_cast<unsigned>(i == 0 ? extract(w[0], 5, 0) : extract(w[0], 21, 16));
    const unsigned tg = static_cast<unsigned>(i == 0 ? extract(w[0], 7, 6) : extract(w[0], 23, 22));
    r.granule_log2 = i == 0 ? granule_from_tg0(tg) : granule_from_tg1(tg);
    r.ttb = w[1 + i] & mask_bits(51, 4);
    r.had = caps.had && bit(w[1 + i], 1);
    r.tbi = (tbi >> i) & 1;
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
