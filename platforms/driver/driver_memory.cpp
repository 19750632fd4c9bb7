#include "smmuv3tlm/platforms/driver/driver_memory.h"

#include <iterator>
#include <stdexcept>

#include <fmt/format.h>

namespace smmuv3tlm::driver {

const char* to_string(PageKind kind) {
  switch (kind) {
    case PageKind::IommuPages: return "iommu-pages";
    case PageKind::CoherentDma: return "coherent-dma";
  }
  return "unknown";
}

const char* to_string(PageUse use) {
  switch (use) {
    case PageUse::StreamTableL1: return "stream-table-l1";
    case PageUse::StreamTableL2: return "stream-table-l2";
    case PageUse::CdTableL1: return "cd-table-l1";
    case PageUse::CdTableL2: return "cd-table-l2";
    case PageUse::Stage1Table: return "stage1-table";
    case PageUse::Stage2Table: return "stage2-table";
    case PageUse::CommandQueue: return "command-queue";
    case PageUse::EventQueue: return "event-queue";
    case PageUse::PriQueue: return "pri-queue";
    case PageUse::MsiWord: return "msi-word";
    case PageUse::GuestMemory: return "guest-memory";
  }
  return "unknown";
}

DriverMemory::DriverMemory(const DriverMemoryConfig& config) : config_(config) {
  if (config_.size == 0 || config_.base + config_.size < config_.base) {
    throw std::invalid_argument(fmt::format("driver memory [{:#x}, +{:#x}) is empty or wraps", config_.base,
                                            config_.size));
  }
  free_.emplace(config_.base, config_.base + config_.size);
}

PageKind DriverMemory::kind_of(PageUse use) const {
  const auto it = config_.kind_of.find(use);
  return it != config_.kind_of.end() ? it->second : PageKind::IommuPages;
}

std::uint64_t DriverMemory::allocate(PageUse use, std::uint64_t bytes, std::uint64_t alignment) {
  if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
    throw std::invalid_argument(fmt::format("allocation of {:#x} bytes for {} with alignment {:#x}", bytes,
                                            to_string(use), alignment));
  }
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    const std::uint64_t start = (it->first + alignment - 1) & ~(alignment - 1);
    if (start < it->first || start >= it->second || it->second - start < bytes) continue;
    const std::uint64_t range_start = it->first;
    const std::uint64_t range_end = it->second;
    free_.erase(it);
    if (range_start < start) free_.emplace(range_start, start);
    if (start + bytes < range_end) free_.emplace(start + bytes, range_end);
    used_.emplace(start, DriverPage{start, bytes, kind_of(use), use});
    return start;
  }
  throw std::runtime_error(fmt::format("driver memory exhausted: {:#x} bytes (aligned {:#x}) for {} do not fit in "
                                       "[{:#x}, +{:#x})",
                                       bytes, alignment, to_string(use), config_.base, config_.size));
}

void DriverMemory::free(std::uint64_t pa) {
  const auto it = used_.find(pa);
  if (it == used_.end()) throw std::invalid_argument(fmt::format("no driver allocation starts at {:#x}", pa));
  std::uint64_t start = pa;
  std::uint64_t end = pa + it->second.bytes;
  used_.erase(it);
  // Merge with the free neighbours.
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == end) {
    end = next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    const auto previous = std::prev(next);
    if (previous->second == start) {
      start = previous->first;
      free_.erase(previous);
    }
  }
  free_.emplace(start, end);
}

void DriverMemory::reserve(PageUse use, std::uint64_t pa, std::uint64_t bytes) {
  const std::uint64_t end = pa + bytes;
  if (bytes == 0 || end < pa) throw std::invalid_argument(fmt::format("reserving [{:#x}, +{:#x})", pa, bytes));
  // The free range holding all of it.
  auto it = free_.upper_bound(pa);
  if (it == free_.begin()) {
    throw std::invalid_argument(fmt::format("[{:#x}, +{:#x}) ({}) is not free driver memory", pa, bytes, to_string(use)));
  }
  --it;
  if (pa < it->first || end > it->second) {
    throw std::invalid_argument(fmt::format("[{:#x}, +{:#x}) ({}) is not free driver memory", pa, bytes, to_string(use)));
  }
  const std::uint64_t range_start = it->first;
  const std::uint64_t range_end = it->second;
  free_.erase(it);
  if (range_start < pa) free_.emplace(range_start, pa);
  if (end < range_end) free_.emplace(end, range_end);
  used_.emplace(pa, DriverPage{pa, bytes, kind_of(use), use});
}

const DriverPage* DriverMemory::page_at(std::uint64_t pa) const {
  auto it = used_.upper_bound(pa);
  if (it == used_.begin()) return nullptr;
  --it;
  return pa < it->first + it->second.bytes ? &it->second : nullptr;
}

std::vector<DriverPage> DriverMemory::pages(PageKind kind) const {
  std::vector<DriverPage> out;
  for (const auto& [pa, page] : used_) {
    if (page.kind == kind) out.push_back(page);
  }
  return out;
}

std::uint64_t DriverMemory::bytes_in_use(PageKind kind) const {
  std::uint64_t total = 0;
  for (const auto& [pa, page] : used_) {
    if (page.kind == kind) total += page.bytes;
  }
  return total;
}

}  // namespace smmuv3tlm::driver
