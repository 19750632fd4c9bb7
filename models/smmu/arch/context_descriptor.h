// Context descriptors (IHI 0070 §5.4): the 64-byte CD, the level-1 CD
// descriptor, and the CD's ILLEGAL conditions (each one raises C_BAD_CD).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"

namespace smmuv3tlm::smmu {

constexpr std::uint32_t kCdBytes = 64;
constexpr std::uint32_t kL1CdBytes = 8;

struct L1ContextDescriptor {
  bool valid = false;
  std::uint64_t l2_table = 0;  // L2Ptr, bits 51:12
  static L1ContextDescriptor decode(std::uint64_t word);
};

// One of the two stage-1 translation table ranges (TTB0 for the low range,
// TTB1 for the high range).
struct Stage1Range {
  bool disabled = true;      // EPDx
  unsigned tsz = 0;          // TxSZ
  unsigned granule_log2 = 0;
  std::uint64_t ttb = 0;
  bool had = false;          // hierarchical attribute disable (HADx, when IDR3.HAD)
  bool tbi = false;          // top byte ignore for this range
  unsigned input_bits() const { return 64 - tsz; }
};

struct ContextDescriptor {
  std::array<std::uint64_t, 8> raw{};
  Stage1Range range[2];
  unsigned output_bits = 0;  // effective IPS: min(IPS, OAS)
  bool affd = false;
  bool wxn = false;
  bool uwxn = false;
  bool pan = false;
  bool aa64 = true;
  bool big_endian = false;
  bool hd = false;
  bool ha = false;
  bool stall = false;          // S
  bool record_faults = false;  // R
  bool abort = true;           // A
  bool aset = false;
  std::uint16_t asid = 0;
  std::uint64_t mair = 0;
};

// Decodes a CD and applies every ILLEGAL check; false (with `why`) means C_BAD_CD.
bool decode_cd(const std::array<std::uint64_t, 8>& words, const Capabilities& caps,
               ContextDescriptor& cd, std::string& why);

}  // namespace smmuv3tlm::smmu
