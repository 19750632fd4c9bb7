// The host CPU's view of table memory: the table builder writes STEs, CDs and
// page tables straight into the sparse memory (zero-time stores, as a CPU with
// coherent caches would).
#pragma once

#include <cstdint>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"

namespace smmuv3tlm::platform {

class MemoryTableSpace final : public tables::TableSpace {
 public:
  explicit MemoryTableSpace(memory::SparseMemory& memory) : memory_(memory) {}
  void write64(std::uint64_t address, std::uint64_t value) override { memory_.write64(address, value); }
  std::uint64_t read64(std::uint64_t address) override { return memory_.read64(address); }

 private:
  memory::SparseMemory& memory_;
};

}  // namespace smmuv3tlm::platform
