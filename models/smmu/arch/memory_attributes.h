// Memory attributes of a transaction as it passes through the SMMU (IHI 0070
// chapter 13): the incoming attributes, the STE or GBPA overrides, stage 1's
// attributes (CD.MAIR[AttrIndx], descriptor SH) and stage 2's combine, then the
// consistency rules of §13.1.7.
//
// An attribute set travels as a MAIR-format byte (memory type, cacheability,
// allocation and transient hints of both cache levels: Arm ARM MAIR_ELx) plus a
// shareability. It is the format SMMU_GATOS_PAR.ATTR reports, and one byte is
// cheap to carry on the hit path and the side-band.
#pragma once

#include <cstdint>

namespace smmuv3tlm::smmu {

// The SH encoding of descriptors and SMMU_GATOS_PAR (0b01 is reserved).
enum class Shareability : std::uint8_t { NonShareable = 0, OuterShareable = 2, InnerShareable = 3 };

const char* to_string(Shareability sh);

// An SH field (descriptor, STE.SHCFG, side-band). 0b01 is reserved in
// descriptors: taken as outer shareable, the strongest.
inline Shareability shareability_from_sh(unsigned sh) {
  return (sh & 3) == 0b01 ? Shareability::OuterShareable : static_cast<Shareability>(sh & 3);
}

struct MemoryAttributes {
  // §13.1.3 defaults for what the interconnect does not supply: Normal
  // iWB-oWB, read- and write-allocate, non-transient, non-shareable.
  static constexpr std::uint8_t kDefaultType = 0xff;

  std::uint8_t type = kDefaultType;  // MAIR format
  Shareability shareability = Shareability::NonShareable;

  bool operator==(const MemoryAttributes& other) const {
    return type == other.type && shareability == other.shareability;
  }
  bool operator!=(const MemoryAttributes& other) const { return !(*this == other); }
};

// True for a Device type (MAIR Attr[7:4] == 0).
inline bool is_device(std::uint8_t mair_type) { return (mair_type & 0xf0) == 0; }

// The override fields of an STE (MTCFG, MemAttr, ALLOCCFG, SHCFG) or of
// SMMU_GBPA, same encodings; inert unless IDR1.ATTR_TYPES_OVR is 1.
struct AttributeOverrides {
  bool mtcfg = false;       // 1: replace the type with `memattr`
  unsigned memattr = 0;     // stage-2 MemAttr encoding (0b0100/0b1000/0b1100: Device-nGnRnE)
  unsigned alloccfg = 0;    // 0b1RWT: replace RA, WA, TR; 0b0xxx: use incoming
  unsigned shcfg = 0b01;    // 0b00 NSH, 0b01 use incoming, 0b10 OSH, 0b11 ISH

  bool any() const { return mtcfg || (alloccfg & 0b1000) != 0 || shcfg != 0b01; }
};

// A stage-2 MemAttr[3:0] (FWB disabled) as a MAIR type, with stage 2's implicit
// hints (RA, WA, non-transient: stage-2 descriptors carry none, §13.4.3).
std::uint8_t mair_type_from_stage2(unsigned memattr);

// §13.1.4: the overrides replace the incoming attributes.
MemoryAttributes apply_overrides(const MemoryAttributes& incoming, const AttributeOverrides& overrides);

// §13.4.2: stage 1 replaces type and shareability; a cacheable input keeps
// its hints combined with stage 1's, any other input takes stage 1's.
MemoryAttributes stage1_attributes(const MemoryAttributes& input, std::uint8_t mair_type, Shareability sh);

// §13.4.3 / §13.1.5: stage 2's MemAttr and SH combined with its input (the
// stronger of each); allocation and transient hints pass unchanged.
MemoryAttributes combine_stage2(const MemoryAttributes& input, unsigned s2_memattr, Shareability s2_sh);

// §13.1.7: Device and Normal iNC-oNC are Outer Shareable, a non-cacheable level
// has no hints, a no-allocate level is non-transient.
MemoryAttributes consistent(const MemoryAttributes& attributes);

}  // namespace smmuv3tlm::smmu
