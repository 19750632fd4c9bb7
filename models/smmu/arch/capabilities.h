// What this SMMU implements. One value of this type is the single source of the
// ID registers (IDR0-5, IIDR, AIDR) and of every "is this advertised?" decision
// in the model: whatever is advertised is honoured, whatever is not is refused the
// way the architecture says.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace smmuv3tlm::smmu {

enum class HttuSupport : std::uint8_t { None = 0, AccessFlag = 1, AccessAndDirty = 2 };
enum class TtEndian : std::uint8_t { Mixed = 0, LittleOnly = 2, BigOnly = 3 };
// IDR0.STALL_MODEL: 0 stall and terminate, 1 terminate only, 2 stall forced.
enum class StallModel : std::uint8_t { StallAndTerminate = 0, TerminateOnly = 1, StallForced = 2 };

struct Capabilities {
  // IDR0
  bool stage1 = true;               // S1P
  bool stage2 = true;               // S2P
  bool aarch64_tables = true;       // TTF bit 1
  bool aarch32_tables = false;      // TTF bit 0 (not implemented: must stay false)
  bool coherent_access = true;      // COHACC
  bool broadcast_tlb = false;       // BTM
  HttuSupport httu = HttuSupport::None;
  bool hyp = false;                 // HYP: EL2/E2H translation regimes
  bool ats = false;
  bool atos = false;                // ATOS: SMMU_GATOS_* translation requests (chapter 9)
  bool asid16 = true;
  bool msi = true;
  bool sev = true;
  bool pri = false;
  bool vmid16 = true;
  bool vmid_wildcard = false;       // VMW
  bool cd2l = true;                 // 2-level CD tables
  TtEndian tt_endian = TtEndian::LittleOnly;
  StallModel stall_model = StallModel::TerminateOnly;
  bool term_model = true;           // TERM_MODEL: 1 = terminate aborts, no RAZ/WI
  bool two_level_stream_table = true;  // ST_LEVEL = 0b01
  // IDR1
  unsigned sid_bits = 16;           // SIDSIZE
  unsigned ssid_bits = 0;           // SSIDSIZE
  unsigned cmdq_log2 = 19;          // CMDQS (maximum log2 entries)
  unsigned eventq_log2 = 19;        // EVENTQS
  unsigned priq_log2 = 19;          // PRIQS
  bool attr_types_override = false;  // ATTR_TYPES_OVR
  bool attr_perms_override = false;  // ATTR_PERMS_OVR
  // IDR3
  bool had = true;                  // hierarchical attribute disable
  bool xnx = false;                 // stage-2 EL0/EL1 execute-never split
  bool ril = true;                  // range invalidation
  unsigned bbml = 2;                // break-before-make level
  // IDR5
  unsigned oas_bits = 44;           // 32, 36, 40, 42, 44, 48 (52 needs LPA: unsupported)
  bool granule_4k = true;
  bool granule_16k = true;
  bool granule_64k = true;
  // AIDR: architecture minor revision (SMMUv3.x)
  unsigned arch_minor = 1;
  // IIDR
  std::uint32_t iidr = 0;

  // Whether IDR5 advertises the translation granule of 2^granule_log2 bytes.
  bool supports_granule(unsigned granule_log2) const {
    return (granule_log2 == 12 && granule_4k) || (granule_log2 == 14 && granule_16k) ||
           (granule_log2 == 16 && granule_64k);
  }

  std::uint32_t idr0() const;
  std::uint32_t idr1() const;
  std::uint32_t idr2() const;
  std::uint32_t idr3() const;
  std::uint32_t idr4() const;
  std::uint32_t idr5() const;
  std::uint32_t aidr() const;

  // Builds the capabilities that advertise exactly these ID register values, or
  // explains (in `error`) which field the model cannot implement.
  static std::optional<Capabilities> from_idrs(std::uint32_t idr0, std::uint32_t idr1,
                                               std::uint32_t idr3, std::uint32_t idr5,
                                               std::uint32_t aidr, std::string& error);
  // Named presets: "mmu-600", "mmu-700", "qemu-virt".
  static std::optional<Capabilities> preset(const std::string& name);
  // Encoded IDR5.OAS (0..6) for this OAS, and the inverse.
  static unsigned oas_encoding(unsigned bits);
  static unsigned oas_from_encoding(unsigned encoding);  // 0 for a reserved encoding

  // Empty when the model implements these capabilities exactly (every value is
  // architecturally valid, encodes into the ID registers and is honoured by the
  // model); otherwise the reason, naming the ID register field.
  std::string unsupported_reason() const;
};

bool operator==(const Capabilities& a, const Capabilities& b);
bool operator!=(const Capabilities& a, const Capabilities& b);

// JSON with one named key per member ("stage1", "sid_bits", "httu": "none" ...).
// from_json starts from the preset named by an optional "preset" key (else the
// defaults), applies the other keys, and throws std::invalid_argument naming an
// unknown key, a value of the wrong type, or a combination the model cannot
// implement.
void to_json(nlohmann::json& json, const Capabilities& caps);
void from_json(const nlohmann::json& json, Capabilities& caps);

const char* to_string(HttuSupport value);
const char* to_string(TtEndian value);
const char* to_string(StallModel value);

}  // namespace smmuv3tlm::smmu
