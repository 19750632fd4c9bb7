// What the translation side takes from the programming interface's registers.
#pragma once

#include <cstdint>

namespace smmuv3tlm::smmu {

// The register state translation depends on (pushed by the register file owner
// whenever it changes).
struct TranslationControl {
  bool smmu_enabled = false;         // CR0ACK.SMMUEN
  std::uint32_t gbpa = 0;            // GBPA (ABORT bit 20 and attribute overrides)
  std::uint64_t strtab_base = 0;
  std::uint32_t strtab_base_cfg = 0;
  std::uint32_t cr2 = 0;             // E2H, RECINVSID, PTM

  bool operator==(const TranslationControl& other) const {
    return smmu_enabled == other.smmu_enabled && gbpa == other.gbpa && strtab_base == other.strtab_base &&
           strtab_base_cfg == other.strtab_base_cfg && cr2 == other.cr2;
  }
  bool operator!=(const TranslationControl& other) const { return !(*this == other); }
};

}  // namespace smmuv3tlm::smmu
