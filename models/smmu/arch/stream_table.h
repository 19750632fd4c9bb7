// Stream table formats (IHI 0070 §5.1-5.2): the STRTAB_BASE_CFG geometry, the
// level-1 stream table descriptor and the 64-byte stream table entry (STE), with
// the STE's ILLEGAL conditions (each one raises C_BAD_STE).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"

namespace smmuv3tlm::smmu {

constexpr std::uint32_t kSteBytes = 64;
constexpr std::uint32_t kL1StdBytes = 8;

enum class StreamTableFormat : std::uint8_t { Linear = 0, TwoLevel = 1 };

struct StreamTableConfig {
  std::uint64_t base = 0;  // STRTAB_BASE.ADDR
  unsigned log2size = 0;   // STRTAB_BASE_CFG.LOG2SIZE, capped at SIDSIZE
  unsigned split = 0;      // STRTAB_BASE_CFG.SPLIT
  StreamTableFormat format = StreamTableFormat::Linear;

  static StreamTableConfig decode(std::uint64_t strtab_base, std::uint32_t strtab_base_cfg,
                                  const Capabilities& caps);
};

// Level-1 stream table descriptor.
struct L1StreamDescriptor {
  unsigned span = 0;           // 0 = invalid; else 2^(span-1) STEs
  std::uint64_t l2_table = 0;  // L2Ptr, bits 51:6

  static L1StreamDescriptor decode(std::uint64_t word);
};

// STE.Config values.
enum class SteConfig : std::uint8_t {
  Abort = 0b000,
  Bypass = 0b100,
  Stage1 = 0b101,
  Stage2 = 0b110,
  Nested = 0b111,
};

// STE.S1DSS: what a transaction without a SubstreamID does when substreams are enabled.
enum class S1DefaultSubstream : std::uint8_t { Terminate = 0, Bypass = 1, Substream0 = 2 };

struct Stage2Config {
  std::uint16_t vmid = 0;
  unsigned t0sz = 0;
  unsigned sl0 = 0;
  unsigned granule_log2 = 12;
  unsigned output_bits = 0;  // effective S2PS: min(S2PS, OAS)
  bool aa64 = true;
  bool big_endian = false;
  bool affd = false;         // S2AFFD: AF=0 does not fault
  bool ptw = false;          // S2PTW: protected table walk
  bool hd = false;
  bool ha = false;
  bool stall = false;        // S2S
  bool record_faults = false;  // S2R
  std::uint64_t ttb = 0;
  // Derived geometry: start level and number of concatenated start tables.
  int start_level = 0;
  unsigned concatenated_tables = 1;
  unsigned input_bits = 0;
};

struct StreamTableEntry {
  std::array<std::uint64_t, 8> raw{};
  bool valid = false;
  SteConfig config = SteConfig::Abort;
  // Stage 1 / CD table
  unsigned s1_format = 0;           // S1FMT
  std::uint64_t s1_context_ptr = 0; // S1ContextPtr (a PA, or an IPA when nested)
  unsigned s1_cdmax = 0;            // S1CDMAX: log2 of the number of CDs
  S1DefaultSubstream s1dss = S1DefaultSubstream::Terminate;
  unsigned strw = 0;                // StreamWorld: 0 = NS-EL1, 2 = EL2
  bool s1_stall_disable = false;    // S1STALLD
  unsigned eats = 0;
  // Attribute overrides carried downstream.
  unsigned memattr = 0;
  bool mtcfg = false;
  unsigned alloccfg = 0;
  unsigned shcfg = 0;
  unsigned nscfg = 0;
  unsigned privcfg = 0;   // 0b00 use incoming, 0b10 unprivileged, 0b11 privileged
  unsigned instcfg = 0;   // 0b00 use incoming, 0b10 data, 0b11 instruction
  Stage2Config s2;

  bool stage1_enabled() const { return config == SteConfig::Stage1 || config == SteConfig::Nested; }
  bool stage2_enabled() const { return config == SteConfig::Stage2 || config == SteConfig::Nested; }
  bool substreams_enabled() const { return s1_cdmax != 0; }
};

// Decodes an STE and applies every ILLEGAL check. Returns false (with a reason in
// `why`) when the STE is ILLEGAL: the caller raises C_BAD_STE.
bool decode_ste(const std::array<std::uint64_t, 8>& words, const Capabilities& caps,
                StreamTableEntry& ste, std::string& why);

// Stage-2 geometry check (AArch64.S2InconsistentSL): fills start_level,
// input_bits and concatenated_tables; false when S2SL0 is reserved or
// inconsistent with S2T0SZ.
bool derive_stage2_geometry(Stage2Config& s2, const Capabilities& caps, std::string& why);

}  // namespace smmuv3tlm::smmu
