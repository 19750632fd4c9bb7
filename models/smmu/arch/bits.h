// Bit-field helpers for the architecture's register and descriptor layouts.
#pragma once

#include <cstdint>

namespace smmuv3tlm::smmu {

// Bits hi..lo set; empty when lo > hi (e.g. the bits above a 64-bit range).
constexpr std::uint64_t mask_bits(unsigned hi, unsigned lo) {
  if (lo > hi || lo >= 64) return 0;
  return (hi - lo + 1 >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (hi - lo + 1)) - 1)) << lo;
}
constexpr std::uint64_t extract(std::uint64_t value, unsigned hi, unsigned lo) {
  return (value & mask_bits(hi, lo)) >> lo;
}
constexpr bool bit(std::uint64_t value, unsigned pos) { return (value >> pos) & 1u; }
constexpr std::uint64_t deposit(std::uint64_t value, unsigned hi, unsigned lo, std::uint64_t field) {
  return (value & ~mask_bits(hi, lo)) | ((field << lo) & mask_bits(hi, lo));
}

}  // namespace smmuv3tlm::smmu
