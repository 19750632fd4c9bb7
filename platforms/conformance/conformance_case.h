// Reader for conformance case files in format `smmuv3-conformance/1`
// (tests/conformance/cases/qemu-s1/README.md defines it). Plain C++17, no
// SystemC: the runner replays a loaded case through the model, and unit tests
// check every way a case file can be malformed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/command.h"

namespace smmuv3tlm::conformance {

// The only format string this reader accepts.
inline constexpr std::string_view kCaseFormat = "smmuv3-conformance/1";

// ID registers of the SMMU a case was made for (`smmu_id`).
struct SmmuIds {
  std::uint32_t idr0 = 0;
  std::uint32_t idr1 = 0;
  std::uint32_t idr3 = 0;
  std::uint32_t idr5 = 0;
  std::uint32_t aidr = 0;
};

// A physical range that holds memory; everything outside every range is a bus error.
struct RamRange {
  std::uint64_t base = 0;
  std::uint64_t size = 0;  // non-zero, and base + size does not pass 2^64
};

// [lo, hi): each 8-byte word at physical address p in the window holds p.
struct FillWindow {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

// The byte at `address` under the fill rule (zero outside the window).
inline std::uint8_t fill_byte(const FillWindow& fill, std::uint64_t address) {
  const std::uint64_t word = address & ~std::uint64_t{7};
  return word >= fill.lo && word < fill.hi ? static_cast<std::uint8_t>(word >> (8 * (address & 7))) : 0;
}

// Consecutive little-endian 64-bit words starting at pa (8-byte aligned).
struct MemoryRun {
  std::uint64_t pa = 0;
  std::vector<std::uint64_t> qwords;
};

// Register values the replay writes (`smmu`).
struct SmmuRegisters {
  std::uint64_t cr1 = 0;
  std::uint64_t cr2 = 0;
  std::uint64_t strtab_base = 0;
  std::uint64_t strtab_base_cfg = 0;
  std::uint64_t cmdq_base = 0;
  std::uint64_t eventq_base = 0;
  std::optional<std::uint64_t> gbpa;  // written through the GBPA update protocol when given
};

enum class ProbeOp { Read, Write };
enum class ExpectedResult { Ok, Fault };

// The outcome a probe must have. Optional fields that are empty are not judged.
// A fault with no event (`"event": null`) may still carry the fault's fields; no
// record is written, so there is nothing to compare them with.
struct Expectation {
  ExpectedResult result = ExpectedResult::Ok;
  std::optional<std::uint64_t> pa;     // set exactly when result is Ok
  std::optional<std::uint8_t> event;   // event ID; empty for Ok and for `"event": null`
  std::optional<std::uint64_t> input_addr;
  std::optional<bool> rnw;
  std::optional<bool> ssv;
  std::optional<std::uint32_t> stream_id;  // the record's StreamID (the probe's when not named)
  std::optional<std::uint32_t> ssid;       // the record's SubstreamID field
  std::optional<std::uint64_t> fetch_addr;
  std::optional<bool> s2;
  std::optional<std::uint8_t> event_class;  // `class`: 0 = CD, 1 = TT, 2 = IN
  std::optional<std::uint64_t> ipa;
};

// A step run before a probe (`before`): CPU stores, one 8-byte store per word,
// in order, coherent with the SMMU...
struct CpuStores {
  MemoryRun words;
};
// ...or 16-byte commands submitted in order (ending with a CMD_SYNC), waited
// for until the command queue has consumed them.
struct CommandBatch {
  std::vector<std::array<std::uint64_t, 2>> commands;
};
using ProbeStep = std::variant<CpuStores, CommandBatch>;

// SubstreamIDs are at most 20 bits (IDR1.SSIDSIZE <= 20).
inline constexpr std::uint32_t kMaxSubstreamId = (1u << 20) - 1;

// One 8-byte DMA of a case.
struct Probe {
  std::uint32_t index = 0;  // `i`: strictly increasing within a case, not always contiguous
  ProbeOp op = ProbeOp::Read;
  std::uint64_t iova = 0;   // the 8 bytes [iova, iova + 7] do not wrap
  std::uint32_t stream_id = 0;               // the probe's, or the case's
  std::optional<std::uint32_t> substream_id;  // SSV=1 with this SubstreamID
  bool privileged = false;
  bool instruction = false;
  bool invalidate_before = false;
  std::vector<ProbeStep> before;  // after invalidate_before, before the DMA
  std::string why;
  // `expect` (one entry) or `expect_any` (any one of them agrees).
  std::vector<Expectation> outcomes;
};

struct ConformanceCase {
  std::string name;
  std::string source_path;  // the file the case was loaded from
  std::uint32_t stream_id = 0;
  std::optional<SmmuIds> smmu_ids;  // empty: the runner uses its default SMMU
  std::vector<RamRange> ram;
  FillWindow fill;
  std::vector<MemoryRun> memory;
  SmmuRegisters registers;
  bool smmuen = true;
  std::vector<Probe> probes;
};

// Why a case file could not be loaded. key is a JSON path such as
// `probes[3].expect.pa` or `smmu.STRTAB_BASE`; empty when the whole file is at fault.
struct CaseError {
  std::string file;
  std::string key;
  std::string message;

  // "file: key: message", or "file: message" when key is empty.
  std::string to_string() const;
};

// Either a loaded case or the first error found in the file.
class LoadResult {
 public:
  static LoadResult success(ConformanceCase loaded_case);
  static LoadResult failure(CaseError error);

  bool ok() const;
  const ConformanceCase& value() const;  // only when ok()
  ConformanceCase& value();              // only when ok()
  const CaseError& error() const;        // only when !ok()

 private:
  explicit LoadResult(std::variant<ConformanceCase, CaseError> outcome);
  std::variant<ConformanceCase, CaseError> outcome_;
};

// Reads and checks one case file. Never throws: every problem becomes a CaseError.
LoadResult load_case(const std::string& path);

// Each path is a case file (taken as it is) or a directory (every *.json below it,
// recursively, sorted by path). Paths keep their argument order. A path that does
// not exist, or a directory without case files, adds a message to errors.
std::vector<std::string> expand_case_paths(const std::vector<std::string>& paths,
                                           std::vector<std::string>& errors);

// Text made safe for a report: bytes that are not valid UTF-8 become `\xNN`
// (case files and error messages may hold anything; JSON output needs UTF-8).
std::string printable_text(std::string_view text);

// The commands the replay publishes at once: the reset's and invalidate_before's
// CFGI_ALL + TLBI_NSNH_ALL + CMD_SYNC, and each `commands` step.
inline constexpr std::size_t kInvalidateAllCommands =
    std::tuple_size<decltype(smmu::invalidate_all_commands())>::value;

// Why a loaded case cannot be replayed on an SMMU with `caps` and a memory
// model of `memory_bytes` of physical address space, naming its key (`ram[0]`,
// `smmu.CMDQ_BASE`, `smmu_id.IDR1`, `probes[3].before[0].commands`); none when
// it can. The runner checks it before it builds the case's platform.
std::optional<CaseError> replay_problem(const ConformanceCase& c, const smmu::Capabilities& caps,
                                        std::uint64_t memory_bytes);

// The single hex-number parser for case files: "0x" followed by 1 or more hex
// digits (leading zeros allowed), at most 64 bits of value.
struct HexParseResult {
  std::optional<std::uint64_t> value;
  std::string problem;  // why the text is not a hex number, when value is empty
};
HexParseResult parse_hex(std::string_view text);

}  // namespace smmuv3tlm::conformance
