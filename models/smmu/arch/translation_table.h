// VMSAv8-64 translation table formats (Arm ARM D8): granules, levels, and the
// AArch64 table/block/page descriptor. No LPA/LPA2: output addresses are at most
// 48 bits.
#pragma once

#include <cstdint>

namespace smmuv3tlm::smmu {

// TCR-style encodings. TG0 and S2TG: 0b00 4K, 0b01 64K, 0b10 16K. TG1: 0b01 16K,
// 0b10 4K, 0b11 64K. Return 0 for a reserved encoding.
unsigned granule_from_tg0(unsigned tg0);
unsigned granule_from_tg1(unsigned tg1);
// IPS / S2PS / OAS encodings: 0 32, 1 36, 2 40, 3 42, 4 44, 5 48, 6 52 bits;
// reserved encodings behave as the largest size.
unsigned ips_to_bits(unsigned encoding);

// Stage-1 start level for an input size (Arm ARM: the first level that resolves
// the top bits; at most `stride` bits resolved there).
int stage1_start_level(unsigned input_bits, unsigned granule_log2);

// Lowest level at which a block descriptor is permitted (no LPA2/52-bit OA):
// 4K: level 1, 16K and 64K: level 2.
int first_block_level(unsigned granule_log2);

// log2 of the entries in one contiguous run of leaf descriptors (Arm ARM D8.6.1,
// the Contiguous bit): 4K 16; 16K 128 pages or 32 blocks; 64K 32.
unsigned contiguous_run_log2(int level, unsigned granule_log2);

// Number of input bits resolved by one lookup at `level`, and the lowest input
// bit it resolves.
inline unsigned level_shift(int level, unsigned granule_log2) {
  return granule_log2 + static_cast<unsigned>(3 - level) * (granule_log2 - 3);
}

enum class DescriptorKind : std::uint8_t { Invalid, Table, Block, Page };

struct Descriptor {
  DescriptorKind kind = DescriptorKind::Invalid;
  std::uint64_t raw = 0;
  std::uint64_t output_address = 0;  // next-level table or output address, unmasked by size
  // Lower/upper attributes (interpretation depends on the stage).
  bool af = false;          // bit 10
  bool ng = false;          // bit 11 (stage 1)
  bool contiguous = false;  // bit 52
  bool dbm = false;         // bit 51
  unsigned ap = 0;          // bits 7:6: stage 1 AP[2:1]; stage 2 S2AP
  bool xn0 = false;         // bit 53: PXN (stage 1) / XN[0] (stage 2)
  bool xn1 = false;         // bit 54: UXN/XN (stage 1) / XN[1] (stage 2)
  // Table descriptor hierarchical controls (stage 1 only).
  bool pxn_table = false;   // bit 59
  bool uxn_table = false;   // bit 60
  unsigned ap_table = 0;    // bits 62:61
};

// Decodes the descriptor read at `level` of a walk with `granule_log2`.
Descriptor decode_descriptor(std::uint64_t raw, int level, unsigned granule_log2);

}  // namespace smmuv3tlm::smmu
