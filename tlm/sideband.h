// The side-band attributes of a transaction arriving at the SMMU, in the
// architecture's words. An ignorable TLM-2.0 extension: targets that do not know
// it simply never look for it.
//
// Default when a transaction carries none: the SMMU port's default StreamID, no
// SubstreamID, unprivileged, data (not instruction), non-secure, untranslated,
// Normal write-back read/write-allocate non-transient, non-shareable (IHI 0070
// §13.1.3). Downstream of the SMMU the memory attributes are the translation's
// (chapter 13): STE/GBPA overrides, stage 1's MAIR type and SH, stage 2's combine.
#pragma once

#include <cstdint>

#include <tlm>

namespace smmuv3tlm::tlm_ext {

enum class AtsType : std::uint8_t {
  Untranslated,        // an ordinary DMA with an IOVA
  TranslationRequest,  // PCIe ATS translation request
  Translated,          // PCIe ATS pre-translated access (AT = translated)
};

const char* to_string(AtsType type);

class SidebandExtension : public tlm::tlm_extension<SidebandExtension> {
 public:
  static constexpr std::uint32_t kSubstreamIdMask = (1u << 20) - 1;

  std::uint32_t stream_id = 0;
  bool substream_valid = false;
  std::uint32_t substream_id = 0;  // 20 bits; meaningful only when substream_valid
  bool privileged = false;
  bool instruction = false;
  bool secure = false;
  AtsType ats = AtsType::Untranslated;
  // Memory type, cacheability and allocation/transient hints in the MAIR format
  // (Arm ARM MAIR_ELx: 0x00 Device-nGnRnE, 0x44 Normal non-cacheable, 0xff
  // Normal write-back read/write-allocate), and the shareability in the SH
  // encoding (0b00 non-, 0b10 outer, 0b11 inner shareable).
  std::uint8_t memory_type = 0xff;
  std::uint8_t shareability = 0b00;

  tlm::tlm_extension_base* clone() const override;
  void copy_from(const tlm::tlm_extension_base& other) override;
};

}  // namespace smmuv3tlm::tlm_ext
