#include "smmuv3tlm/tests/support/map_memory.h"

#include <algorithm>
#include <utility>

namespace smmuv3tlm::test_support {

bool MapMemory::read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
                     smmu::AccessPurpose purpose) {
  if (aborts(pa, size, false)) {
    std::fill(data, data + size, std::uint8_t{0});
    log(pa, nullptr, size, false, purpose, true);
    return false;
  }
  peek(pa, data, size);
  log(pa, data, size, false, purpose, false);
  return true;
}

bool MapMemory::write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size,
                      smmu::AccessPurpose purpose) {
  if (aborts(pa, size, true)) {
    log(pa, nullptr, size, true, purpose, true);
    return false;
  }
  poke(pa, data, size);
  log(pa, data, size, true, purpose, false);
  return true;
}

void MapMemory::add_abort_range(std::uint64_t base, std::uint64_t size, AbortOn on) {
  aborts_.push_back(AbortRange{base, size, on});
}

bool MapMemory::aborts(std::uint64_t pa, std::uint64_t size, bool is_write) const {
  for (const AbortRange& range : aborts_) {
    const bool applies = range.on == AbortOn::ReadAndWrite ||
                         (is_write ? range.on == AbortOn::Write : range.on == AbortOn::Read);
    const bool overlaps = pa < range.base + range.size && range.base < pa + size;
    if (applies && overlaps) return true;
  }
  return false;
}

void MapMemory::poke(std::uint64_t pa, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint64_t address = pa + i;
    pages_[address / kPageBytes][address % kPageBytes] = bytes[i];
  }
}

void MapMemory::peek(std::uint64_t pa, void* data, std::size_t size) const {
  auto* bytes = static_cast<std::uint8_t*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint64_t address = pa + i;
    const auto page = pages_.find(address / kPageBytes);
    bytes[i] = page == pages_.end() ? 0 : page->second[address % kPageBytes];
  }
}

void MapMemory::poke32(std::uint64_t pa, std::uint32_t value) {
  std::uint8_t bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  poke(pa, bytes, 4);
}

void MapMemory::poke64(std::uint64_t pa, std::uint64_t value) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  poke(pa, bytes, 8);
}

std::uint32_t MapMemory::peek32(std::uint64_t pa) const {
  std::uint8_t bytes[4];
  peek(pa, bytes, 4);
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::uint64_t MapMemory::peek64(std::uint64_t pa) const {
  std::uint8_t bytes[8];
  peek(pa, bytes, 8);
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::size_t MapMemory::count(smmu::AccessPurpose purpose) const {
  return static_cast<std::size_t>(std::count_if(
      log_.begin(), log_.end(), [&](const Access& a) { return a.purpose == purpose; }));
}

std::size_t MapMemory::count(smmu::AccessPurpose purpose, bool is_write) const {
  return static_cast<std::size_t>(std::count_if(log_.begin(), log_.end(), [&](const Access& a) {
    return a.purpose == purpose && a.is_write == is_write;
  }));
}

void MapMemory::log(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, bool is_write,
                    smmu::AccessPurpose purpose, bool aborted) {
  if (!logging_) return;
  Access access;
  access.pa = pa;
  access.size = size;
  access.is_write = is_write;
  access.purpose = purpose;
  access.aborted = aborted;
  if (data != nullptr) access.data.assign(data, data + size);
  log_.push_back(std::move(access));
}

}  // namespace smmuv3tlm::test_support
