// The host driver's memory for the SMMU's structures, with the two kinds of
// allocation the live-update discussion is about: `iommu-pages` (pages the
// kernel can preserve across a kexec, each tagged with what it holds) and
// `coherent-dma` (dma_alloc_coherent: queues and MSI words, not preservable).
// Which kind each structure uses is configuration. Plain C++: a first-fit
// allocator over one physical range; the handover controller reads the pages
// of each kind to build its preserved-range list.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace smmuv3tlm::driver {

enum class PageKind : std::uint8_t { IommuPages, CoherentDma };
const char* to_string(PageKind kind);

// What an allocation holds.
enum class PageUse : std::uint8_t {
  StreamTableL1,
  StreamTableL2,
  CdTableL1,
  CdTableL2,
  Stage1Table,
  Stage2Table,
  CommandQueue,
  EventQueue,
  PriQueue,
  MsiWord,
  GuestMemory,  // a VM's RAM (a nested guest's CD table and stage-1 tables), preserved by the VMM
};
const char* to_string(PageUse use);

struct DriverPage {
  std::uint64_t pa = 0;
  std::uint64_t bytes = 0;
  PageKind kind = PageKind::IommuPages;
  PageUse use = PageUse::Stage1Table;
};

struct DriverMemoryConfig {
  std::uint64_t base = 0x4000'0000;
  std::uint64_t size = 0x1000'0000;
  // Linux: tables from iommu-pages, queues and MSI words from coherent DMA.
  std::map<PageUse, PageKind> kind_of = {
      {PageUse::StreamTableL1, PageKind::IommuPages}, {PageUse::StreamTableL2, PageKind::IommuPages},
      {PageUse::CdTableL1, PageKind::IommuPages},     {PageUse::CdTableL2, PageKind::IommuPages},
      {PageUse::Stage1Table, PageKind::IommuPages},   {PageUse::Stage2Table, PageKind::IommuPages},
      {PageUse::CommandQueue, PageKind::CoherentDma}, {PageUse::EventQueue, PageKind::CoherentDma},
      {PageUse::PriQueue, PageKind::CoherentDma},     {PageUse::MsiWord, PageKind::CoherentDma},
  };
};

class DriverMemory {
 public:
  explicit DriverMemory(const DriverMemoryConfig& config = {});

  // `bytes` at an address aligned to `alignment` (a power of two); throws
  // std::runtime_error naming the use and the sizes when the range is exhausted,
  // std::invalid_argument for a zero size or an alignment that is no power of two.
  std::uint64_t allocate(PageUse use, std::uint64_t bytes, std::uint64_t alignment);
  // Frees the allocation that starts at `pa`; throws std::invalid_argument when none does.
  void free(std::uint64_t pa);
  // Takes [pa, pa + bytes) as an allocation of `use` without choosing it: the
  // incoming kernel adopting a page the outgoing one preserved. Throws
  // std::invalid_argument when the range leaves this memory or overlaps a
  // live allocation.
  void reserve(PageUse use, std::uint64_t pa, std::uint64_t bytes);

  // The allocation containing `pa`, or nullptr.
  const DriverPage* page_at(std::uint64_t pa) const;
  // Every live allocation of `kind`, in address order.
  std::vector<DriverPage> pages(PageKind kind) const;
  std::uint64_t bytes_in_use(PageKind kind) const;
  PageKind kind_of(PageUse use) const;
  std::uint64_t base() const { return config_.base; }
  std::uint64_t size() const { return config_.size; }
  bool contains(std::uint64_t pa) const { return pa >= config_.base && pa - config_.base < config_.size; }

 private:
  DriverMemoryConfig config_;
  std::map<std::uint64_t, std::uint64_t> free_;  // start -> end (exclusive)
  std::map<std::uint64_t, DriverPage> used_;     // start -> allocation
};

}  // namespace smmuv3tlm::driver
