// Shared helpers for the translation unit tests (test_translation_*.cpp): a
// small sparse memory with injectable bus errors, and a rig that owns a stream
// table, the table builders and a TranslationEngine.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"

namespace smmuv3tlm::translation_test {
namespace {

using smmu::AccessPurpose;
using smmu::Capabilities;
using smmu::Command;
using smmu::CommandOpcode;
using smmu::EventId;
using smmu::EventRecord;
using smmu::FaultClass;
using smmu::TranslationControl;
using smmu::TranslationEngine;
using smmu::TranslationOutcome;
using smmu::TranslationRequest;
using smmu::TranslationResult;
using tables::CdFields;
using tables::CdTableBuilder;
using tables::CdTableFormat;
using tables::CdTableGeometry;
using tables::MapOptions;
using tables::PageAllocator;
using tables::PageAttributes;
using tables::PageTableBuilder;
using tables::SteFields;
using tables::StreamTableGeometry;
using tables::TableAttributes;
using tables::TableGeometry;
using tables::TableSpace;
using tables::TranslatedSpace;

constexpr std::uint32_t kCr2E2h = 1u << 0;
constexpr std::uint32_t kCr2RecInvSid = 1u << 1;
constexpr std::uint32_t kGbpaAbort = 1u << 20;

constexpr unsigned kConfigAbort = 0b000;
constexpr unsigned kConfigBypass = 0b100;
constexpr unsigned kConfigS1 = 0b101;
constexpr unsigned kConfigS2 = 0b110;
constexpr unsigned kConfigNested = 0b111;

constexpr std::uint64_t k4K = 1ull << 12;
constexpr std::uint64_t k16K = 1ull << 14;
constexpr std::uint64_t k64K = 1ull << 16;
constexpr std::uint64_t k2M = 1ull << 21;
constexpr std::uint64_t k1G = 1ull << 30;

// Sparse little-endian memory (4 KiB pages, zero when never written) whose
// reads can be made to abort over chosen ranges.
class TestMemory final : public smmu::MemoryPort {
 public:
  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    ++reads_[static_cast<unsigned>(purpose)];
    if (aborts(pa, size)) return false;
    for (std::uint32_t done = 0; done < size;) {
      const std::uint64_t address = pa + done;
      const std::uint64_t offset = address & kPageMask;
      const std::uint32_t chunk = static_cast<std::uint32_t>(std::min<std::uint64_t>(size - done, kPageSize - offset));
      auto it = pages_.find(address >> kPageBits);
      if (it == pages_.end()) {
        std::memset(data + done, 0, chunk);
      } else {
        std::memcpy(data + done, it->second.data() + offset, chunk);
      }
      done += chunk;
    }
    return true;
  }
  bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, AccessPurpose purpose) override {
    ++writes_[static_cast<unsigned>(purpose)];
    if (aborts(pa, size)) return false;
    for (std::uint32_t done = 0; done < size;) {
      const std::uint64_t address = pa + done;
      const std::uint64_t offset = address & kPageMask;
      const std::uint32_t chunk = static_cast<std::uint32_t>(std::min<std::uint64_t>(size - done, kPageSize - offset));
      auto& page = pages_[address >> kPageBits];
      if (page.empty()) page.assign(kPageSize, 0);
      std::memcpy(page.data() + offset, data + done, chunk);
      done += chunk;
    }
    return true;
  }
  // Reads overlapping [base, base + size) end in an external abort.
  void abort_reads(std::uint64_t base, std::uint64_t size) { aborts_.emplace_back(base, size); }
  void clear_aborts() { aborts_.clear(); }
  std::uint64_t reads(AccessPurpose purpose) const { return reads_[static_cast<unsigned>(purpose)]; }

 private:
  static constexpr unsigned kPageBits = 12;
  static constexpr std::uint64_t kPageSize = 1ull << kPageBits;
  static constexpr std::uint64_t kPageMask = kPageSize - 1;
  bool aborts(std::uint64_t pa, std::uint32_t size) const {
    for (const auto& [base, length] : aborts_) {
      if (pa < base + length && base < pa + size) return true;
    }
    return false;
  }
  std::unordered_map<std::uint64_t, std::vector<std::uint8_t>> pages_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> aborts_;
  std::array<std::uint64_t, 16> reads_{};
  std::array<std::uint64_t, 16> writes_{};
};

// Capabilities the translation tests run with unless a test says otherwise:
// the defaults plus a 48-bit OAS and 20-bit SubstreamIDs.
inline Capabilities test_caps() {
  Capabilities caps;
  caps.oas_bits = 48;
  caps.ssid_bits = 20;
  return caps;
}

// An IPA window: stage-1 tables and CDs of a nested stream are allocated here
// and written through the stage-2 reference map.
struct IpaWindow {
  IpaWindow(std::uint64_t base, std::uint64_t size, TableSpace& target, const PageTableBuilder& s2)
      : allocator(base, base + size),
        space(target, [&s2](std::uint64_t ipa) { return s2.translate(ipa); }) {}
  PageAllocator allocator;
  TranslatedSpace space;
};

// An engine configuration without a walk cache, for tests that count the
// descriptor reads of complete walks.
inline smmu::TranslationConfig full_walks() {
  smmu::TranslationConfig config;
  config.walk_cache.disable();
  return config;
}

// Owns memory, a stream table, table builders and the engine under test.
class Rig {
 public:
  explicit Rig(const Capabilities& capabilities = test_caps(), const StreamTableGeometry& st = {},
               const smmu::TranslationConfig& config = {})
      : caps(capabilities),
        space(memory),
        pa(0x4000'0000, 0x1'0000'0000),
        streams(st, pa, space),
        engine(caps, memory, config) {
    control.smmu_enabled = true;
    control.strtab_base = streams.strtab_base();
    control.strtab_base_cfg = streams.strtab_base_cfg();
    control.cr2 = kCr2RecInvSid;
    apply();
  }

  void apply() { engine.set_control(control); }

  PageTableBuilder& tables(const TableGeometry& geometry, TableSpace* where = nullptr,
                           PageAllocator* allocator = nullptr) {
    builders_.push_back(std::make_unique<PageTableBuilder>(geometry, allocator ? *allocator : pa,
                                                           where ? *where : space));
    return *builders_.back();
  }
  CdTableBuilder& cd_table(const CdTableGeometry& geometry = {}, TableSpace* where = nullptr,
                           PageAllocator* allocator = nullptr) {
    cd_tables_.push_back(std::make_unique<CdTableBuilder>(geometry, allocator ? *allocator : pa,
                                                          where ? *where : space));
    return *cd_tables_.back();
  }
  // Maps [ipa, ipa + size) in `s2` to fresh PAs and returns an allocator and
  // space for tables living in that IPA range.
  IpaWindow& ipa_window(PageTableBuilder& s2, std::uint64_t ipa, std::uint64_t size,
                        const PageAttributes& attributes = {}) {
    const std::uint64_t backing = pa.allocate(size, 1ull << 21);
    s2.map(ipa, backing, size, attributes);
    windows_.push_back(std::make_unique<IpaWindow>(ipa, size, space, s2));
    return *windows_.back();
  }

  TranslationResult access(std::uint32_t sid, std::uint64_t address, bool read = true, bool privileged = false,
                           bool instruction = false) {
    TranslationRequest r;
    r.stream_id = sid;
    r.address = address;
    r.read = read;
    r.privileged = privileged;
    r.instruction = instruction;
    return engine.translate(r);
  }
  TranslationResult access_ssid(std::uint32_t sid, std::uint32_t ssid, std::uint64_t address, bool read = true) {
    TranslationRequest r;
    r.stream_id = sid;
    r.ssv = true;
    r.substream_id = ssid;
    r.address = address;
    r.read = read;
    return engine.translate(r);
  }

  Capabilities caps;
  TestMemory memory;
  tables::MemoryPortSpace space;
  PageAllocator pa;
  tables::StreamTableBuilder streams;
  TranslationEngine engine;
  TranslationControl control;

 private:
  std::vector<std::unique_ptr<PageTableBuilder>> builders_;
  std::vector<std::unique_ptr<CdTableBuilder>> cd_tables_;
  std::vector<std::unique_ptr<IpaWindow>> windows_;
};

// A stage-1 stream: one CD (TTB0 -> tt) and an S1 STE. Returns the CD table.
inline CdTableBuilder& add_s1_stream(Rig& rig, std::uint32_t sid, const PageTableBuilder& tt, CdFields cd = {},
                                     SteFields ste = {}) {
  CdTableBuilder& cds = rig.cd_table();
  tables::attach_ttb0(cd, tt);
  cds.write_cd(0, cd);
  ste.config = kConfigS1;
  tables::attach_cd_table(ste, cds);
  rig.streams.write_ste(sid, ste);
  return cds;
}

// A stage-2-only stream.
inline void add_s2_stream(Rig& rig, std::uint32_t sid, const PageTableBuilder& s2, SteFields ste = {}) {
  ste.config = kConfigS2;
  tables::attach_stage2(ste, s2);
  rig.streams.write_ste(sid, ste);
}

// A nested stream whose CD lives in `window` (IPA space).
inline CdTableBuilder& add_nested_stream(Rig& rig, std::uint32_t sid, const PageTableBuilder& s1,
                                         const PageTableBuilder& s2, IpaWindow& window, CdFields cd = {},
                                         SteFields ste = {}) {
  CdTableBuilder& cds = rig.cd_table({}, &window.space, &window.allocator);
  tables::attach_ttb0(cd, s1);
  cds.write_cd(0, cd);
  ste.config = kConfigNested;
  tables::attach_cd_table(ste, cds);
  tables::attach_stage2(ste, s2);
  rig.streams.write_ste(sid, ste);
  return cds;
}

inline Command command(CommandOpcode opcode) {
  Command c;
  c.opcode = opcode;
  return c;
}

// The record as the event queue would see it (encode -> decode), so masked
// fields (IPA[11:0], FetchAddr[2:0]) compare as software would read them.
inline EventRecord as_queued(const EventRecord& e) { return EventRecord::decode(e.encode()); }

inline std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

inline ::testing::AssertionResult faulted(const TranslationResult& r, EventId id) {
  if (r.outcome != TranslationOutcome::Terminated) {
    return ::testing::AssertionFailure() << "outcome " << static_cast<int>(r.outcome) << " (output "
                                         << hex(r.output_address) << "), expected a fault "
                                         << smmu::to_string(id);
  }
  if (!r.fault) return ::testing::AssertionFailure() << "terminated without a fault";
  if (*r.fault != id) {
    return ::testing::AssertionFailure() << "fault " << smmu::to_string(*r.fault) << ", expected "
                                         << smmu::to_string(id);
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult translated_to(const TranslationResult& r, std::uint64_t expected) {
  if (r.outcome != TranslationOutcome::Translated) {
    return ::testing::AssertionFailure() << "outcome " << static_cast<int>(r.outcome) << " fault "
                                         << (r.fault ? smmu::to_string(*r.fault) : "none") << ", expected "
                                         << hex(expected);
  }
  if (r.output_address != expected) {
    return ::testing::AssertionFailure() << "output " << hex(r.output_address) << ", expected "
                                         << hex(expected);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
