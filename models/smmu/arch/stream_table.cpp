#include "smmuv3tlm/models/smmu/arch/stream_table.h"

#include <algorithm>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/models/smmu/arch/translation_table.h"

namespace smmuv3tlm::smmu {

StreamTableConfig StreamTableConfig::decode(std::uint64_t strtab_base, std::uint32_t strtab_base_cfg,
                                            const Capabilities& caps) {
  StreamTableConfig cfg;
  const unsigned log2size = static_cast<unsigned>(extract(strtab_base_cfg, 5, 0));
  // LOG2SIZE larger than SIDSIZE is treated as SIDSIZE (§6.3.25).
  cfg.log2size = std::min(log2size, caps.sid_bits);
  cfg.split = static_cast<unsigned>(extract(strtab_base_cfg, 10, 6));
  // A reserved SPLIT value behaves as 6.
  if (cfg.split != 6 && cfg.split != 8 && cfg.split != 10) cfg.split = 6;
  cfg.format = extract(strtab_base_cfg, 17, 16) == 1 && caps.two_level_stream_table
                   ? StreamTableFormat::TwoLevel
                   : StreamTableFormat::Linear;
  // §6.3.24: the address bits below the table's size (from the programmed
  // LOG2SIZE) are treated as zero: ADDR[LOG2SIZE+5:0] for a linear table,
  // ADDR[MAX(5, LOG2SIZE-SPLIT+2):0] for a level-1 table.
  const unsigned align_log2 = cfg.format == StreamTableFormat::Linear
                                  ? log2size + 6
                                  : std::max(6u, log2size > cfg.split ? log2size - cfg.split + 3 : 0u);
  cfg.base = strtab_base & mask_bits(51, 6) & ~((std::uint64_t{1} << std::min(align_log2, 52u)) - 1);
  return cfg;
}

L1StreamDescriptor L1StreamDescriptor::decode(std::uint64_t word) {
  L1StreamDescriptor d;
  d.span = static_cast<unsigned>(extract(word, 4, 0));
  if (d.span > 11) d.span = 0;  // Span 12..31 is reserved and behaves as 0 (invalid)
  // L2Ptr[5+Span-1:0] are treated as zero: the table is aligned to its size.
  d.l2_table = word & mask_bits(51, 6) & ~((std::uint64_t{1} << (d.span + 5)) - 1);
  return d;
}

bool derive_stage2_geometry(Stage2Config& s2, const Capabilities& caps, std::string& why) {
  const unsigned granule = s2.granule_log2;
  const unsigned stride = granule - 3;
  // S2SL0 -> start level (VTCR_EL2.SL0, no LPA2/TTST): 4K: 0->L2, 1->L1, 2->L0;
  // 16K/64K: 0->L3, 1->L2, 2->L1. AArch64.S2InvalidSL: 0b11 is reserved, and
  // 0b10 needs a PA size of at least 44 bits (4K, 64K) or 42 bits (16K).
  if (s2.sl0 == 3) {
    why = "S2SL0=0b11 is reserved";
    return false;
  }
  if (s2.sl0 == 2 && caps.oas_bits < (granule == 14 ? 42u : 44u)) {
    why = "S2SL0=0b10 needs a larger PA size than IDR5.OAS (AArch64.S2InvalidSL)";
    return false;
  }
  const int start_level = (granule == 12 ? 2 : 3) - static_cast<int>(s2.sl0);
  // AArch64.S2InconsistentSL: the input size must leave 1..(stride+4) bits to
  // the start level (up to 16 concatenated tables).
  const unsigned levels_below = static_cast<unsigned>(3 - start_level);
  const unsigned min_ia = levels_below * stride + granule + 1;
  const unsigned max_ia = min_ia + (stride - 1) + 4;
  const unsigned ia = 64 - s2.t0sz;
  if (ia < min_ia || ia > max_ia) {
    why = "S2T0SZ is inconsistent with S2SL0 (start level " + std::to_string(start_level) + ")";
    return false;
  }
  s2.start_level = start_level;
  s2.input_bits = ia;
  const unsigned start_bits = ia - (levels_below * stride + granule);
  s2.concatenated_tables = start_bits > stride ? (1u << (start_bits - stride)) : 1u;
  return true;
}

namespace {

bool endianness_supported(bool big_endian, const Capabilities& caps) {
  return caps.tt_endian == TtEndian::Mixed || (big_endian ? caps.tt_endian == TtEndian::BigOnly
                                                          : caps.tt_endian == TtEndian::LittleOnly);
}

bool decode_stage2(const std::array<std::uint64_t, 8>& w, const Capabilities& caps, Stage2Config& s2,
                   std::string& why) {
  s2.vmid = static_cast<std::uint16_t>(ste::S2VMID.get(w));
  s2.t0sz = static_cast<unsigned>(ste::S2T0SZ.get(w));
  s2.sl0 = static_cast<unsigned>(ste::S2SL0.get(w));
  const auto tg = static_cast<unsigned>(ste::S2TG.get(w));
  const auto ps = static_cast<unsigned>(ste::S2PS.get(w));
  s2.aa64 = ste::S2AA64.is_set(w);
  s2.big_endian = ste::S2ENDI.is_set(w);
  s2.affd = ste::S2AFFD.is_set(w);
  s2.ptw = ste::S2PTW.is_set(w);
  s2.hd = ste::S2HD.is_set(w);
  s2.ha = ste::S2HA.is_set(w);
  s2.stall = ste::S2S.is_set(w);
  s2.record_faults = ste::S2R.is_set(w);
  s2.ttb = ste::S2TTB.get(w);

  if (!caps.vmid16 && s2.vmid > 0xff) {
    why = "S2VMID[15:8] is non-zero but IDR0.VMID16=0";
    return false;
  }
  if ((s2.ha && caps.httu == HttuSupport::None) || (s2.hd && caps.httu != HttuSupport::AccessAndDirty)) {
    why = "S2HA/S2HD ask for hardware updates IDR0.HTTU does not advertise";
    return false;
  }
  if (!s2.aa64 && !caps.aarch32_tables) {
    why = "S2AA64=0 but AArch32 tables are not supported (IDR0.TTF)";
    return false;
  }
  if (!endianness_supported(s2.big_endian, caps)) {
    why = "S2ENDI selects an endianness IDR0.TTENDIAN does not support";
    return false;
  }
  if (tg == 3) {
    why = "S2TG=0b11 is reserved";
    return false;
  }
  s2.granule_log2 = granule_from_tg0(tg);
  if (!caps.supports_granule(s2.granule_log2)) {
    why = "S2TG selects a granule IDR5 does not advertise";
    return false;
  }
  // Stage-2 input size: at most the implemented PA size, at least 25 bits
  // (T0SZ <= 39); 4K and 16K granules also cap it at 48 bits (T0SZ >= 16).
  const unsigned min_t0sz = s2.granule_log2 == 16 ? 64 - caps.oas_bits
                                                  : std::max(64u - caps.oas_bits, 16u);
  if (s2.t0sz < min_t0sz || s2.t0sz > 39) {
    why = "S2T0SZ=" + std::to_string(s2.t0sz) + " is outside " + std::to_string(min_t0sz) + "..39";
    return false;
  }
  if (!derive_stage2_geometry(s2, caps, why)) return false;
  s2.output_bits = std::min(ips_to_bits(ps), caps.oas_bits);
  // §3.4: a start table beyond the effective S2PS makes the STE ILLEGAL.
  if ((s2.ttb & ~mask_bits(s2.output_bits - 1, 0)) != 0) {
    why = "S2TTB is outside the effective S2PS";
    return false;
  }
  // {S2HA, S2HD} = {0, 1} is reserved and behaves as both 0.
  if (!s2.ha) s2.hd = false;
  if (s2.stall && caps.stall_model == StallModel::TerminateOnly) {
    why = "S2S=1 but the SMMU does not support stalls (IDR0.STALL_MODEL=0b01)";
    return false;
  }
  if (!s2.stall && caps.stall_model == StallModel::StallForced) {
    why = "S2S=0 but stalls are forced (IDR0.STALL_MODEL=0b10)";
    return false;
  }
  return true;
}

}  // namespace

bool decode_ste(const std::array<std::uint64_t, 8>& w, const Capabilities& caps, StreamTableEntry& ste,
                std::string& why) {
  ste = StreamTableEntry{};
  ste.raw = w;
  ste.valid = ste::V.is_set(w);
  if (!ste.valid) {
    why = "STE.V=0";
    return false;
  }
  const auto config = static_cast<unsigned>(ste::CONFIG.get(w));
  // Config 0b0xx: abort (0b001..0b011 are reserved and behave as 0b000).
  ste.config = config < ste::kConfigBypass ? SteConfig::Abort : static_cast<SteConfig>(config);
  ste.s1_format = static_cast<unsigned>(ste::S1FMT.get(w));
  ste.s1_context_ptr = ste::S1_CONTEXT_PTR.get(w);
  ste.s1_cdmax = static_cast<unsigned>(ste::S1CDMAX.get(w));
  // S1DSS=0b11 is reserved and behaves as 0b00 (terminate).
  const auto s1dss = static_cast<unsigned>(ste::S1DSS.get(w));
  ste.s1dss = s1dss == 3 ? S1DefaultSubstream::Terminate : static_cast<S1DefaultSubstream>(s1dss);
  ste.s1_stall_disable = ste::S1STALLD.is_set(w);
  ste.eats = static_cast<unsigned>(ste::EATS.get(w));
  ste.strw = static_cast<unsigned>(ste::STRW.get(w));
  ste.memattr = static_cast<unsigned>(ste::MEMATTR.get(w));
  ste.mtcfg = ste::MTCFG.is_set(w);
  ste.alloccfg = static_cast<unsigned>(ste::ALLOCCFG.get(w));
  ste.shcfg = static_cast<unsigned>(ste::SHCFG.get(w));
  ste.nscfg = static_cast<unsigned>(ste::NSCFG.get(w));
  ste.privcfg = static_cast<unsigned>(ste::PRIVCFG.get(w));
  ste.instcfg = static_cast<unsigned>(ste::INSTCFG.get(w));

  if (ste.config == SteConfig::Abort || ste.config == SteConfig::Bypass) return true;

  if (ste.stage1_enabled() && !caps.stage1) {
    why = "STE enables stage 1 but IDR0.S1P=0";
    return false;
  }
  if (ste.stage2_enabled() && !caps.stage2) {
    why = "STE enables stage 2 but IDR0.S2P=0";
    return false;
  }
  if (ste.stage1_enabled()) {
    if (caps.ssid_bits == 0) ste.s1_cdmax = 0;  // IGNORED without substream support
    if (ste.s1_cdmax > caps.ssid_bits) {
      why = "S1CDMAX=" + std::to_string(ste.s1_cdmax) + " exceeds IDR1.SSIDSIZE";
      return false;
    }
    if (ste.s1_format == 3) ste.s1_format = 0;  // reserved, behaves as linear
    if (ste.s1_cdmax != 0 && ste.s1_format != 0 && !caps.cd2l) {
      why = "S1FMT selects a 2-level CD table but IDR0.CD2L=0";
      return false;
    }
    // S1STALLD may only be set when the stall model is configurable.
    if (ste.s1_stall_disable && caps.stall_model != StallModel::StallAndTerminate) {
      why = "S1STALLD=1 but IDR0.STALL_MODEL is not 0b00";
      return false;
    }
    if ((ste.s1_context_ptr & ~mask_bits(caps.oas_bits - 1, 0)) != 0) {
      why = "S1ContextPtr is outside the OAS";
      return false;
    }
    // IgnoreSTESTRW: StreamWorld is IGNORED (the stream is NS-EL1) when stage 2
    // translates or the SMMU has no EL2 support; otherwise 0bx1 is ILLEGAL for
    // a Non-secure stream (0b00 NS-EL1, 0b10 EL2).
    if (ste.stage2_enabled() || !caps.hyp) {
      ste.strw = 0;
    } else if (ste.strw & 1) {
      why = "STRW=" + std::to_string(ste.strw) + " is not valid for a Non-secure stream";
      return false;
    }
  }
  // EATS is checked only when ATS is implemented (IGNORED otherwise).
  if (caps.ats && (ste.config != SteConfig::Abort && ste.config != SteConfig::Bypass)) {
    const bool s2_stall = ste.stage2_enabled() && ste::S2S.is_set(w);
    if (ste.eats == 0b11 || (ste.eats == 0b10 && (ste.config != SteConfig::Nested || s2_stall)) ||
        (ste.eats == 0b01 && s2_stall)) {
      why = "EATS=" + std::to_string(ste.eats) + " is not valid for this configuration";
      return false;
    }
  }
  if (ste.stage2_enabled() && !decode_stage2(w, caps, ste.s2, why)) return false;
  if (!ste.stage2_enabled()) {
    // Stage-1-only NS-EL1 entries are still tagged with S2VMID when stage 2 is
    // implemented; its upper byte must then be zero without VMID16.
    const bool vmid_used = caps.stage2 && ste.stage1_enabled() && ste.strw == 0;
    ste.s2.vmid = vmid_used ? static_cast<std::uint16_t>(ste::S2VMID.get(w)) : 0;
    if (vmid_used && !caps.vmid16 && ste.s2.vmid > 0xff) {
      why = "S2VMID[15:8] is non-zero but IDR0.VMID16=0";
      return false;
    }
  }
  return true;
}

}  // namespace smmuv3tlm::smmu
