#include "smmuv3tlm/models/smmu/arch/translation_table.h"

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::smmu {

unsigned granule_from_tg0(unsigned tg0) {
  switch (tg0) {
    case 0: return 12;
    case 1: return 16;
    case 2: return 14;
    default: return 0;
  }
}

unsigned granule_from_tg1(unsigned tg1) {
  switch (tg1) {
    case 1: return 14;
    case 2: return 12;
    case 3: return 16;
    default: return 0;
  }
}

unsigned ips_to_bits(unsigned encoding) {
  static constexpr unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52};
  return encoding < 7 ? kBits[encoding] : 52;
}

int stage1_start_level(unsigned input_bits, unsigned granule_log2) {
  const unsigned stride = granule_log2 - 3;
  const unsigned levels = (input_bits - granule_log2 + stride - 1) / stride;
  return 4 - static_cast<int>(levels);
}

int first_block_level(unsigned granule_log2) { return granule_log2 == 12 ? 1 : 2; }

unsigned contiguous_run_log2(int level, unsigned granule_log2) {
  if (granule_log2 == 12) return 4;                  // 16 entries at every level
  if (granule_log2 == 14) return level == 3 ? 7 : 5;  // 128 pages (2M) or 32 blocks (1G)
  return 5;                                           // 64K: 32 pages (2M) or 32 blocks (16G)
}

Descriptor decode_descriptor(std::uint64_t raw, int level, unsigned granule_log2) {
  Descriptor d;
  d.raw = raw;
  const unsigned type = static_cast<unsigned>(raw & 3);
  if (type == 0b11) {
    d.kind = level == 3 ? DescriptorKind::Page : DescriptorKind::Table;
  } else if (type == 0b01 && level < 3 && level >= first_block_level(granule_log2)) {
    d.kind = DescriptorKind::Block;
  } else {
    // 0bx0 is invalid; 0b01 at level 3 is reserved and a block at a level the
    // granule does not allow is a translation fault.
    return d;
  }
  // Output address bits 47:granule (no LPA: bits 51:48 of the address are not
  // part of the descriptor's OA).
  d.output_address = raw & mask_bits(47, granule_log2);
  d.af = bit(raw, 10);
  d.ng = bit(raw, 11);
  d.ap = static_cast<unsigned>(extract(raw, 7, 6));
  d.dbm = bit(raw, 51);
  d.contiguous = bit(raw, 52);
  d.xn0 = bit(raw, 53);
  d.xn1 = bit(raw, 54);
  d.pxn_table = bit(raw, 59);
  d.uxn_table = bit(raw, 60);
  d.ap_table = static_cast<unsigned>(extract(raw, 62, 61));
  return d;
}

}  // namespace smmuv3tlm::smmu
