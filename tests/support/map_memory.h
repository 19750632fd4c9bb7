// A sparse, byte-addressed memory for unit tests: a MemoryPort over a map of
// 4 KiB pages. Unwritten bytes read as zero. Address ranges can be made to
// abort (external abort on read, write or both), and every access through the
// MemoryPort interface is logged with its purpose. Backdoor accessors (poke/peek)
// bypass aborts and the log, for setting up and checking memory in tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/memory_port.h"

namespace smmuv3tlm::test_support {

class MapMemory : public smmu::MemoryPort {
 public:
  enum class AbortOn : std::uint8_t { Read, Write, ReadAndWrite };

  struct Access {
    std::uint64_t pa = 0;
    std::uint32_t size = 0;
    bool is_write = false;
    smmu::AccessPurpose purpose = smmu::AccessPurpose::CommandQueue;
    bool aborted = false;
    std::vector<std::uint8_t> data;  // bytes written, or returned by a read (empty when aborted)
  };

  // MemoryPort: false (and nothing written) when any byte lies in an abort range.
  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
            smmu::AccessPurpose purpose) override;
  bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size,
             smmu::AccessPurpose purpose) override;

  // Abort ranges: [base, base + size).
  void add_abort_range(std::uint64_t base, std::uint64_t size, AbortOn on = AbortOn::ReadAndWrite);
  void clear_abort_ranges() { aborts_.clear(); }
  bool aborts(std::uint64_t pa, std::uint64_t size, bool is_write) const;

  // Backdoor: no abort, no log.
  void poke(std::uint64_t pa, const void* data, std::size_t size);
  void peek(std::uint64_t pa, void* data, std::size_t size) const;
  void poke32(std::uint64_t pa, std::uint32_t value);
  void poke64(std::uint64_t pa, std::uint64_t value);
  std::uint32_t peek32(std::uint64_t pa) const;
  std::uint64_t peek64(std::uint64_t pa) const;
  void clear() { pages_.clear(); }
  std::size_t pages_allocated() const { return pages_.size(); }

  // Access log.
  void set_logging(bool enabled) { logging_ = enabled; }
  const std::vector<Access>& accesses() const { return log_; }
  void clear_accesses() { log_.clear(); }
  std::size_t count(smmu::AccessPurpose purpose) const;
  std::size_t count(smmu::AccessPurpose purpose, bool is_write) const;

 private:
  static constexpr std::uint64_t kPageBytes = 4096;
  using Page = std::array<std::uint8_t, kPageBytes>;
  struct AbortRange {
    std::uint64_t base;
    std::uint64_t size;
    AbortOn on;
  };

  void log(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, bool is_write,
           smmu::AccessPurpose purpose, bool aborted);

  std::unordered_map<std::uint64_t, Page> pages_;  // key: page number
  std::vector<AbortRange> aborts_;
  std::vector<Access> log_;
  bool logging_ = true;
};

}  // namespace smmuv3tlm::test_support
