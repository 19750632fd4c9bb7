#include "smmuv3tlm/platforms/conformance/conformance_case.h"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::conformance {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

// Thrown only inside this file; load_case turns it into a CaseError, so that the
// readers below can stop at the first problem without threading errors through.
class CaseFormatError : public std::runtime_error {
 public:
  CaseFormatError(std::string key, const std::string& message)
      : std::runtime_error(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

[[noreturn]] void fail(const std::string& key, const std::string& message) {
  throw CaseFormatError(key, message);
}

// A key as an error names it: cut short (a file may hold a huge key) and printable.
std::string key_for_message(std::string_view key) {
  constexpr std::size_t kLongest = 40;
  if (key.size() > kLongest) {
    return printable_text(key.substr(0, kLongest)) + "...";
  }
  return printable_text(key);
}

std::string member_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? key_for_message(key) : fmt::format("{}.{}", parent, key_for_message(key));
}

std::string element_path(const std::string& parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

// Quotes text for a message, cut short so a huge bad value cannot flood the report.
std::string quote_for_message(std::string_view text) {
  constexpr std::size_t kLongest = 40;
  if (text.size() > kLongest) {
    return fmt::format("\"{}...\"", printable_text(text.substr(0, kLongest)));
  }
  return fmt::format("\"{}\"", printable_text(text));
}

// "string \"32\"", "number -1", "null": what was found instead of what was wanted.
std::string describe(const json& value) {
  if (value.is_null()) {
    return "null";
  }
  if (value.is_object() || value.is_array()) {
    return std::string("an ") + value.type_name();
  }
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return fmt::format("{} {}", value.type_name(), text.size() > 40 ? text.substr(0, 40) + "..." : text);
}

std::string printable_char(char character) {
  const auto byte = static_cast<unsigned char>(character);
  if (byte >= 0x20 && byte < 0x7f) {
    return fmt::format("'{}'", character);
  }
  return fmt::format("byte 0x{:02x}", byte);
}

int hex_digit_value(char character) {
  if (character >= '0' && character <= '9') {
    return character - '0';
  }
  if (character >= 'a' && character <= 'f') {
    return character - 'a' + 10;
  }
  if (character >= 'A' && character <= 'F') {
    return character - 'A' + 10;
  }
  return -1;
}

const json* find_member(const json& object, std::string_view key) {
  const auto found = object.find(std::string(key));
  return found == object.end() ? nullptr : &*found;
}

const json& require_member(const json& object, std::string_view key, const std::string& object_path) {
  const json* member = find_member(object, key);
  if (member == nullptr) {
    fail(member_path(object_path, key), "missing required key");
  }
  return *member;
}

void require_object(const json& value, const std::string& path) {
  if (!value.is_object()) {
    fail(path, fmt::format("expected an object, found {}", describe(value)));
  }
}

void require_array(const json& value, const std::string& path) {
  if (!value.is_array()) {
    fail(path, fmt::format("expected an array, found {}", describe(value)));
  }
}

// Information-only keys (qemu_7_2, qemu_10_0, qemu_agrees, and whatever later QEMU
// comparisons add) share this prefix; the reader tolerates and ignores them.
bool is_information_key(std::string_view key) {
  return key.substr(0, 5) == "qemu_";
}

// A misspelt optional key would silently change what is replayed or judged, so
// every key must be one the format defines.
void reject_unknown_keys(const json& object, const std::string& path,
                         std::initializer_list<std::string_view> known_keys,
                         bool allow_information_keys) {
  for (const auto& member : object.items()) {
    const std::string& key = member.key();
    const bool known = std::find(known_keys.begin(), known_keys.end(), key) != known_keys.end();
    if (!known && !(allow_information_keys && is_information_key(key))) {
      fail(member_path(path, key), "unknown key");
    }
  }
}

std::string read_string(const json& value, const std::string& path) {
  if (!value.is_string()) {
    fail(path, fmt::format("expected a string, found {}", describe(value)));
  }
  return value.get<std::string>();
}

// A hex string whose value must fit in `bits` bits.
std::uint64_t read_hex(const json& value, const std::string& path, unsigned bits = 64) {
  if (!value.is_string()) {
    fail(path, fmt::format("expected a hex string such as \"0x1f\", found {}", describe(value)));
  }
  const std::string& text = value.get_ref<const std::string&>();
  const HexParseResult parsed = parse_hex(text);
  if (!parsed.value) {
    fail(path, parsed.problem);
  }
  if (bits < 64 && (*parsed.value >> bits) != 0) {
    fail(path, fmt::format("{} does not fit in {} bits", quote_for_message(text), bits));
  }
  return *parsed.value;
}

// A JSON integer in [0, max] (stream IDs, probe indices, CLASS).
std::uint64_t read_unsigned(const json& value, const std::string& path, std::uint64_t max) {
  if (!value.is_number_integer()) {
    fail(path, fmt::format("expected a non-negative integer, found {}", describe(value)));
  }
  if (!value.is_number_unsigned()) {
    fail(path, fmt::format("{} is negative", value.dump()));
  }
  const auto number = value.get<std::uint64_t>();
  if (number > max) {
    fail(path, fmt::format("{} is larger than {}", number, max));
  }
  return number;
}

// The files write `invalidate_before` and `smmuen` as booleans and the event-record
// bits (rnw, ssv, s2) as 0/1: accept both spellings, and nothing else.
bool read_flag(const json& value, const std::string& path) {
  if (value.is_boolean()) {
    return value.get<bool>();
  }
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() <= 1) {
      return value.get<std::uint64_t>() == 1;
    }
    fail(path, fmt::format("expected true/false or 0/1, found {}", value.dump()));
  }
  fail(path, fmt::format("expected a boolean (true/false or 0/1), found {}", describe(value)));
}

SmmuIds read_smmu_ids(const json& object, const std::string& path) {
  require_object(object, path);
  reject_unknown_keys(object, path, {"IDR0", "IDR1", "IDR3", "IDR5", "AIDR"}, false);
  const auto id_register = [&](std::string_view key) {
    return static_cast<std::uint32_t>(read_hex(require_member(object, key, path), member_path(path, key), 32));
  };
  SmmuIds ids;
  ids.idr0 = id_register("IDR0");
  ids.idr1 = id_register("IDR1");
  ids.idr3 = id_register("IDR3");
  ids.idr5 = id_register("IDR5");
  ids.aidr = id_register("AIDR");
  return ids;
}

std::vector<RamRange> read_ram(const json& array, const std::string& path) {
  require_array(array, path);
  if (array.empty()) {
    fail(path, "no RAM ranges: every access would be a bus error");
  }
  std::vector<RamRange> ranges;
  for (std::size_t index = 0; index < array.size(); ++index) {
    const std::string range_path = element_path(path, index);
    const json& object = array[index];
    require_object(object, range_path);
    reject_unknown_keys(object, range_path, {"base", "size"}, false);
    RamRange range;
    range.base = read_hex(require_member(object, "base", range_path), member_path(range_path, "base"));
    const std::string size_path = member_path(range_path, "size");
    range.size = read_hex(require_member(object, "size", range_path), size_path);
    if (range.size == 0) {
      fail(size_path, "size is zero");
    }
    // The last byte, base + size - 1, must still be a 64-bit address.
    if (range.size - 1 > kMaxU64 - range.base) {
      fail(size_path, fmt::format("range 0x{:x} + 0x{:x} runs past the 64-bit address space", range.base,
                                  range.size));
    }
    ranges.push_back(range);
  }
  return ranges;
}

FillWindow read_fill(const json& object, const std::string& path) {
  require_object(object, path);
  reject_unknown_keys(object, path, {"lo", "hi"}, false);
  FillWindow fill;
  fill.lo = read_hex(require_member(object, "lo", path), member_path(path, "lo"));
  fill.hi = read_hex(require_member(object, "hi", path), member_path(path, "hi"));
  // The fill rule is per 8-byte word.
  if (fill.lo % 8 != 0) {
    fail(member_path(path, "lo"), fmt::format("0x{:x} is not 8-byte aligned", fill.lo));
  }
  if (fill.hi % 8 != 0) {
    fail(member_path(path, "hi"), fmt::format("0x{:x} is not 8-byte aligned", fill.hi));
  }
  if (fill.hi < fill.lo) {
    fail(member_path(path, "hi"), fmt::format("hi 0x{:x} is below lo 0x{:x}", fill.hi, fill.lo));
  }
  return fill;
}

MemoryRun read_run(const json& object, const std::string& run_path);

std::vector<MemoryRun> read_memory(const json& array, const std::string& path) {
  require_array(array, path);
  std::vector<MemoryRun> runs;
  runs.reserve(array.size());
  for (std::size_t index = 0; index < array.size(); ++index) {
    runs.push_back(read_run(array[index], element_path(path, index)));
  }
  return runs;
}

SmmuRegisters read_registers(const json& object, const std::string& path) {
  require_object(object, path);
  reject_unknown_keys(object, path,
                      {"CR1", "CR2", "STRTAB_BASE", "STRTAB_BASE_CFG", "CMDQ_BASE", "EVENTQ_BASE", "GBPA"},
                      false);
  // CR1, CR2, STRTAB_BASE_CFG and GBPA are 32-bit registers; the bases are 64-bit.
  const auto register_value = [&](std::string_view key, unsigned bits) {
    return read_hex(require_member(object, key, path), member_path(path, key), bits);
  };
  SmmuRegisters registers;
  registers.cr1 = register_value("CR1", 32);
  registers.cr2 = register_value("CR2", 32);
  registers.strtab_base = register_value("STRTAB_BASE", 64);
  registers.strtab_base_cfg = register_value("STRTAB_BASE_CFG", 32);
  registers.cmdq_base = register_value("CMDQ_BASE", 64);
  registers.eventq_base = register_value("EVENTQ_BASE", 64);
  if (const json* gbpa = find_member(object, "GBPA")) {
    registers.gbpa = read_hex(*gbpa, member_path(path, "GBPA"), 32);
  }
  return registers;
}

Expectation read_expectation(const json& object, const std::string& path) {
  require_object(object, path);
  reject_unknown_keys(object, path,
                      {"result", "pa", "event", "input_addr", "rnw", "ssv", "stream_id", "ssid", "fetch_addr",
                       "s2", "class", "ipa"},
                      false);
  Expectation expectation;
  const std::string result_path = member_path(path, "result");
  const std::string result = read_string(require_member(object, "result", path), result_path);
  if (result == "ok") {
    expectation.result = ExpectedResult::Ok;
    // A translated access records no event, so nothing else can be judged.
    for (const auto& member : object.items()) {
      if (member.key() != "result" && member.key() != "pa") {
        fail(member_path(path, member.key()), "not allowed when result is \"ok\"");
      }
    }
    expectation.pa = read_hex(require_member(object, "pa", path), member_path(path, "pa"));
    return expectation;
  }
  if (result != "fault") {
    fail(result_path, fmt::format("{} is neither \"ok\" nor \"fault\"", quote_for_message(result)));
  }
  expectation.result = ExpectedResult::Fault;
  if (find_member(object, "pa") != nullptr) {
    fail(member_path(path, "pa"), "not allowed when result is \"fault\"");
  }
  // `"event": null`: terminated with no record. Such expectations may still name the
  // fault's fields (the files do, for suppressed stage-2 records); they are read alike.
  const std::string event_path = member_path(path, "event");
  const json& event = require_member(object, "event", path);
  if (!event.is_null()) {
    expectation.event = static_cast<std::uint8_t>(read_hex(event, event_path, 8));
  }

  const auto optional_hex = [&](std::string_view key) -> std::optional<std::uint64_t> {
    const json* member = find_member(object, key);
    return member ? std::optional<std::uint64_t>(read_hex(*member, member_path(path, key))) : std::nullopt;
  };
  const auto optional_flag = [&](std::string_view key) -> std::optional<bool> {
    const json* member = find_member(object, key);
    return member ? std::optional<bool>(read_flag(*member, member_path(path, key))) : std::nullopt;
  };
  expectation.input_addr = optional_hex("input_addr");
  expectation.rnw = optional_flag("rnw");
  expectation.ssv = optional_flag("ssv");
  if (const json* stream_id = find_member(object, "stream_id")) {
    expectation.stream_id =
        static_cast<std::uint32_t>(read_unsigned(*stream_id, member_path(path, "stream_id"), kMaxU32));
  }
  if (const json* ssid = find_member(object, "ssid")) {
    expectation.ssid = static_cast<std::uint32_t>(read_unsigned(*ssid, member_path(path, "ssid"), kMaxSubstreamId));
  }
  expectation.fetch_addr = optional_hex("fetch_addr");
  expectation.s2 = optional_flag("s2");
  if (const json* event_class = find_member(object, "class")) {
    // CLASS: 0 = CD fetch, 1 = translation-table walk, 2 = input address.
    expectation.event_class = static_cast<std::uint8_t>(read_unsigned(*event_class, member_path(path, "class"), 2));
  }
  expectation.ipa = optional_hex("ipa");
  return expectation;
}

// A run of 64-bit words ({pa, qwords}), 8-byte aligned, not wrapping.
MemoryRun read_run(const json& object, const std::string& run_path) {
  require_object(object, run_path);
  reject_unknown_keys(object, run_path, {"pa", "qwords"}, false);
  MemoryRun run;
  const std::string pa_path = member_path(run_path, "pa");
  run.pa = read_hex(require_member(object, "pa", run_path), pa_path);
  if (run.pa % 8 != 0) {
    fail(pa_path, fmt::format("0x{:x} is not 8-byte aligned", run.pa));
  }
  const std::string qwords_path = member_path(run_path, "qwords");
  const json& qwords = require_member(object, "qwords", run_path);
  require_array(qwords, qwords_path);
  // The last word starts at pa + 8 * (count - 1) and must not wrap.
  if (!qwords.empty() && qwords.size() - 1 > (kMaxU64 - run.pa) / 8) {
    fail(qwords_path, fmt::format("{} words from 0x{:x} run past the 64-bit address space", qwords.size(),
                                  run.pa));
  }
  run.qwords.reserve(qwords.size());
  for (std::size_t word = 0; word < qwords.size(); ++word) {
    run.qwords.push_back(read_hex(qwords[word], element_path(qwords_path, word)));
  }
  return run;
}

// `before`: CPU stores and command batches.
std::vector<ProbeStep> read_steps(const json& array, const std::string& path) {
  require_array(array, path);
  std::vector<ProbeStep> steps;
  for (std::size_t index = 0; index < array.size(); ++index) {
    const std::string step_path = element_path(path, index);
    const json& step = array[index];
    require_object(step, step_path);
    if (step.size() != 1) {
      fail(step_path, "a step is one of {\"write\": ...} or {\"commands\": [...]}");
    }
    if (const json* write = find_member(step, "write")) {
      steps.push_back(CpuStores{read_run(*write, member_path(step_path, "write"))});
      continue;
    }
    const json* commands = find_member(step, "commands");
    if (commands == nullptr) {
      fail(member_path(step_path, step.begin().key()), "unknown step: expected \"write\" or \"commands\"");
    }
    const std::string commands_path = member_path(step_path, "commands");
    require_array(*commands, commands_path);
    if (commands->empty()) {
      fail(commands_path, "no commands");
    }
    CommandBatch batch;
    for (std::size_t c = 0; c < commands->size(); ++c) {
      const std::string command_path = element_path(commands_path, c);
      const json& command = (*commands)[c];
      require_array(command, command_path);
      if (command.size() != 2) {
        fail(command_path, fmt::format("a command is two 64-bit words, found {}", command.size()));
      }
      batch.commands.push_back({read_hex(command[0], element_path(command_path, 0)),
                                read_hex(command[1], element_path(command_path, 1))});
    }
    steps.push_back(std::move(batch));
  }
  return steps;
}

Probe read_probe(const json& object, const std::string& path, std::uint32_t case_stream_id) {
  require_object(object, path);
  reject_unknown_keys(object, path,
                      {"i", "op", "iova", "stream_id", "substream_id", "privileged", "instruction", "before",
                       "invalidate_before", "expect", "expect_any", "why"},
                      true);
  Probe probe;
  probe.index = static_cast<std::uint32_t>(read_unsigned(require_member(object, "i", path), member_path(path, "i"),
                                                         kMaxU32));
  const std::string op_path = member_path(path, "op");
  const std::string op = read_string(require_member(object, "op", path), op_path);
  if (op == "R") {
    probe.op = ProbeOp::Read;
  } else if (op == "W") {
    probe.op = ProbeOp::Write;
  } else {
    fail(op_path, fmt::format("{} is neither \"R\" nor \"W\"", quote_for_message(op)));
  }
  const std::string iova_path = member_path(path, "iova");
  probe.iova = read_hex(require_member(object, "iova", path), iova_path);
  // The probe is an 8-byte access: its last byte must still be an address.
  if (probe.iova > kMaxU64 - 7) {
    fail(iova_path, fmt::format("the 8-byte access at 0x{:x} wraps past 2^64", probe.iova));
  }
  probe.stream_id = case_stream_id;
  if (const json* stream_id = find_member(object, "stream_id")) {
    probe.stream_id = static_cast<std::uint32_t>(read_unsigned(*stream_id, member_path(path, "stream_id"), kMaxU32));
  }
  if (const json* substream_id = find_member(object, "substream_id")) {
    probe.substream_id = static_cast<std::uint32_t>(
        read_unsigned(*substream_id, member_path(path, "substream_id"), kMaxSubstreamId));
  }
  if (const json* privileged = find_member(object, "privileged")) {
    probe.privileged = read_flag(*privileged, member_path(path, "privileged"));
  }
  if (const json* instruction = find_member(object, "instruction")) {
    probe.instruction = read_flag(*instruction, member_path(path, "instruction"));
  }
  probe.invalidate_before =
      read_flag(require_member(object, "invalidate_before", path), member_path(path, "invalidate_before"));
  if (const json* before = find_member(object, "before")) {
    probe.before = read_steps(*before, member_path(path, "before"));
  }
  probe.why = read_string(require_member(object, "why", path), member_path(path, "why"));
  const json* expect = find_member(object, "expect");
  const json* expect_any = find_member(object, "expect_any");
  if (expect != nullptr && expect_any != nullptr) {
    fail(member_path(path, "expect_any"), "a probe has either \"expect\" or \"expect_any\", not both");
  }
  if (expect_any != nullptr) {
    const std::string any_path = member_path(path, "expect_any");
    require_array(*expect_any, any_path);
    if (expect_any->empty()) {
      fail(any_path, "no outcomes: nothing could agree");
    }
    for (std::size_t index = 0; index < expect_any->size(); ++index) {
      probe.outcomes.push_back(read_expectation((*expect_any)[index], element_path(any_path, index)));
    }
  } else {
    probe.outcomes.push_back(read_expectation(require_member(object, "expect", path), member_path(path, "expect")));
  }
  return probe;
}

std::vector<Probe> read_probes(const json& array, const std::string& path, std::uint32_t case_stream_id) {
  require_array(array, path);
  if (array.empty()) {
    fail(path, "no probes: the case would check nothing");
  }
  std::vector<Probe> probes;
  probes.reserve(array.size());
  for (std::size_t index = 0; index < array.size(); ++index) {
    const std::string probe_path = element_path(path, index);
    Probe probe = read_probe(array[index], probe_path, case_stream_id);
    // Reports name probes by `i`, so it must identify one probe.
    if (!probes.empty() && probe.index <= probes.back().index) {
      fail(member_path(probe_path, "i"),
           fmt::format("{} does not follow {}: probe indices must increase", probe.index, probes.back().index));
    }
    probes.push_back(std::move(probe));
  }
  return probes;
}

// Memory a case writes (its `memory` runs, the CPU stores of `before` steps)
// must be RAM: a store elsewhere could not be made, and the replay would differ.
bool inside_ram(const std::vector<RamRange>& ram, std::uint64_t pa, std::uint64_t bytes) {
  return std::any_of(ram.begin(), ram.end(), [&](const RamRange& range) {
    return pa >= range.base && pa - range.base <= range.size - 1 && bytes - 1 <= range.size - 1 - (pa - range.base);
  });
}

void check_run_inside_ram(const std::vector<RamRange>& ram, const MemoryRun& run, const std::string& path) {
  for (std::size_t word = 0; word < run.qwords.size(); ++word) {
    const std::uint64_t pa = run.pa + 8 * word;
    if (!inside_ram(ram, pa, 8)) {
      fail(word == 0 ? member_path(path, "pa") : element_path(member_path(path, "qwords"), word),
           fmt::format("0x{:x} is outside every `ram` range", pa));
    }
  }
}

void check_inside_ram(const ConformanceCase& loaded) {
  for (std::size_t index = 0; index < loaded.memory.size(); ++index) {
    check_run_inside_ram(loaded.ram, loaded.memory[index], element_path("memory", index));
  }
  for (std::size_t p = 0; p < loaded.probes.size(); ++p) {
    const std::vector<ProbeStep>& steps = loaded.probes[p].before;
    for (std::size_t step = 0; step < steps.size(); ++step) {
      if (const auto* stores = std::get_if<CpuStores>(&steps[step])) {
        check_run_inside_ram(loaded.ram, stores->words,
                             member_path(element_path(member_path(element_path("probes", p), "before"), step), "write"));
      }
    }
  }
}

ConformanceCase read_case(const json& document) {
  require_object(document, "");
  // The format string first: a JSON file that is not a case gets one clear message.
  const std::string format = read_string(require_member(document, "format", ""), "format");
  if (format != kCaseFormat) {
    fail("format", fmt::format("unknown format {}; this reader reads \"{}\"", quote_for_message(format), kCaseFormat));
  }
  reject_unknown_keys(document, "",
                      {"format", "name", "stream_id", "smmu_id", "ram", "fill", "memory", "smmu", "smmuen",
                       "about", "probes"},
                      true);
  ConformanceCase loaded;
  loaded.name = read_string(require_member(document, "name", ""), "name");
  loaded.stream_id =
      static_cast<std::uint32_t>(read_unsigned(require_member(document, "stream_id", ""), "stream_id", kMaxU32));
  if (const json* smmu_id = find_member(document, "smmu_id")) {
    loaded.smmu_ids = read_smmu_ids(*smmu_id, "smmu_id");
  }
  loaded.ram = read_ram(require_member(document, "ram", ""), "ram");
  loaded.fill = read_fill(require_member(document, "fill", ""), "fill");
  loaded.memory = read_memory(require_member(document, "memory", ""), "memory");
  loaded.registers = read_registers(require_member(document, "smmu", ""), "smmu");
  if (const json* smmuen = find_member(document, "smmuen")) {
    loaded.smmuen = read_flag(*smmuen, "smmuen");
  }
  // `about` is a summary for people: accepted, never read.
  loaded.probes = read_probes(require_member(document, "probes", ""), "probes", loaded.stream_id);
  check_inside_ram(loaded);
  return loaded;
}

// Fills contents, or returns why the file cannot be read.
std::optional<std::string> read_whole_file(const std::string& path, std::string& contents) {
  std::error_code status_error;
  const fs::file_status status = fs::status(path, status_error);
  if (status_error || !fs::exists(status)) {
    return fmt::format("cannot open: {}",
                       status_error ? status_error.message() : std::string("no such file or directory"));
  }
  if (fs::is_directory(status)) {
    return std::string("is a directory, not a case file");
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return fmt::format("cannot open: {}", std::error_code(errno, std::generic_category()).message());
  }
  std::ostringstream buffer;
  buffer << stream.rdbuf();
  if (stream.bad()) {
    return std::string("cannot read: I/O error");
  }
  contents = buffer.str();
  return std::nullopt;
}

// nlohmann's message already names line and column; drop its "[json.exception...] " tag.
std::string describe_parse_error(const json::parse_error& error) {
  std::string_view detail = error.what();
  const std::size_t tag_end = detail.find("] ");
  if (detail.substr(0, 1) == "[" && tag_end != std::string_view::npos) {
    detail.remove_prefix(tag_end + 2);
  }
  return fmt::format("invalid JSON (byte {}): {}", error.byte, printable_text(detail));
}

// JSON allows a key twice in an object and nlohmann keeps the last; in a case
// file that silently replays something else, so the parser's callback rejects
// it, naming the key by its path.
class DuplicateKeyCheck {
 public:
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        std::string path = next_child_path();
        frames_.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, std::move(path), {}});
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& frame = frames_.back();
        std::string key = parsed.get<std::string>();
        if (!frame.keys.insert(key).second) {
          fail(member_path(frame.path, key), "key given twice in one object");
        }
        frame.key = std::move(key);
        break;
      }
      case json::parse_event_t::value:
        if (!frames_.empty() && frames_.back().array) ++frames_.back().next_index;
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool array = false;
    std::size_t next_index = 0;
    std::set<std::string> keys;
    std::string path;
    std::string key;  // the key whose value is being read (objects)
  };
  std::string next_child_path() {
    if (frames_.empty()) return "";
    Frame& parent = frames_.back();
    return parent.array ? element_path(parent.path, parent.next_index++) : member_path(parent.path, parent.key);
  }
  std::vector<Frame> frames_;
};

}  // namespace

std::string CaseError::to_string() const {
  if (key.empty()) {
    return fmt::format("{}: {}", file, message);
  }
  return fmt::format("{}: {}: {}", file, key, message);
}

LoadResult::LoadResult(std::variant<ConformanceCase, CaseError> outcome) : outcome_(std::move(outcome)) {}

LoadResult LoadResult::success(ConformanceCase loaded_case) {
  return LoadResult(std::variant<ConformanceCase, CaseError>(std::move(loaded_case)));
}

LoadResult LoadResult::failure(CaseError error) {
  return LoadResult(std::variant<ConformanceCase, CaseError>(std::move(error)));
}

bool LoadResult::ok() const { return std::holds_alternative<ConformanceCase>(outcome_); }

const ConformanceCase& LoadResult::value() const { return std::get<ConformanceCase>(outcome_); }

ConformanceCase& LoadResult::value() { return std::get<ConformanceCase>(outcome_); }

const CaseError& LoadResult::error() const { return std::get<CaseError>(outcome_); }

std::string printable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    // The length of a well-formed UTF-8 sequence starting here (RFC 3629), 0 if none.
    std::size_t length = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2, minimum = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3, minimum = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4, minimum = 0x10000;
    }
    bool valid = length != 0 && i + length <= text.size();
    if (valid && length > 1) {
      std::uint32_t code = lead & (0x7f >> length);
      for (std::size_t k = 1; k < length && valid; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        valid = (next & 0xc0) == 0x80;
        code = (code << 6) | (next & 0x3f);
      }
      // No overlong forms, surrogates or code points past U+10FFFF.
      valid = valid && code >= minimum && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += fmt::format("\\x{:02x}", lead);
      ++i;
    }
  }
  return out;
}

HexParseResult parse_hex(std::string_view text) {
  HexParseResult result;
  if (text.substr(0, 2) != "0x") {
    result.problem = fmt::format("{} is not a hex number: it must start with 0x", quote_for_message(text));
    return result;
  }
  const std::string_view digits = text.substr(2);
  if (digits.empty()) {
    result.problem = fmt::format("{} is not a hex number: no digits after 0x", quote_for_message(text));
    return result;
  }
  std::uint64_t value = 0;
  for (const char character : digits) {
    const int digit = hex_digit_value(character);
    if (digit < 0) {
      result.problem =
          fmt::format("{} is not a hex number: {} is not a hex digit", quote_for_message(text), printable_char(character));
      return result;
    }
    // Leading zeros are fine; only the value is limited.
    if (value > (kMaxU64 >> 4)) {
      result.problem = fmt::format("{} does not fit in 64 bits", quote_for_message(text));
      return result;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  result.value = value;
  return result;
}

LoadResult load_case(const std::string& path) {
  try {
    std::string text;
    if (const std::optional<std::string> problem = read_whole_file(path, text)) {
      return LoadResult::failure(CaseError{path, "", *problem});
    }
    json document;
    try {
      document = json::parse(text, DuplicateKeyCheck());
    } catch (const json::parse_error& error) {
      return LoadResult::failure(CaseError{path, "", describe_parse_error(error)});
    }
    ConformanceCase loaded = read_case(document);
    loaded.source_path = path;
    return LoadResult::success(std::move(loaded));
  } catch (const CaseFormatError& error) {
    return LoadResult::failure(CaseError{path, error.key(), error.what()});
  } catch (const std::exception& error) {
    return LoadResult::failure(CaseError{path, "", fmt::format("unexpected error: {}", error.what())});
  } catch (...) {
    return LoadResult::failure(CaseError{path, "", "unexpected error"});
  }
}

std::optional<CaseError> replay_problem(const ConformanceCase& c, const smmu::Capabilities& caps,
                                        std::uint64_t memory_bytes) {
  const auto problem = [&](std::string key, std::string message) {
    return std::optional<CaseError>(CaseError{c.source_path, std::move(key), std::move(message)});
  };
  for (std::size_t i = 0; i < c.ram.size(); ++i) {
    const RamRange& r = c.ram[i];
    if (r.base >= memory_bytes || r.size > memory_bytes - r.base) {
      return problem(fmt::format("ram[{}]", i),
                     fmt::format("[{:#x}, {:#x}] is beyond the memory model's physical address space [0, {:#x})",
                                 r.base, r.base + (r.size - 1), memory_bytes));
    }
  }
  // The queues as the SMMU will use them (LOG2SIZE capped by IDR1, base aligned to the size).
  const smmu::reg::QueueGeometry cmdq =
      smmu::reg::queue_geometry(c.registers.cmdq_base, caps.cmdq_log2, smmu::kCommandBytes);
  const smmu::reg::QueueGeometry eventq =
      smmu::reg::queue_geometry(c.registers.eventq_base, caps.eventq_log2, smmu::kEventRecordBytes);
  if (!inside_ram(c.ram, cmdq.base_address, cmdq.size_bytes())) {
    return problem("smmu.CMDQ_BASE", fmt::format("the command queue [{:#x}, +{:#x}) is not inside one `ram` range",
                                                 cmdq.base_address, cmdq.size_bytes()));
  }
  if (!inside_ram(c.ram, eventq.base_address, eventq.size_bytes())) {
    return problem("smmu.EVENTQ_BASE", fmt::format("the event queue [{:#x}, +{:#x}) is not inside one `ram` range",
                                                   eventq.base_address, eventq.size_bytes()));
  }
  const auto requested_log2 = static_cast<unsigned>(smmu::reg::queue_base::LOG2SIZE.get(c.registers.cmdq_base));
  const std::string size_key = requested_log2 > caps.cmdq_log2 ? "smmu_id.IDR1" : "smmu.CMDQ_BASE";
  const std::string size_why = requested_log2 > caps.cmdq_log2
                                   ? fmt::format("IDR1.CMDQS {} caps the command queue at {} entries", caps.cmdq_log2,
                                                 cmdq.entries())
                                   : fmt::format("CMDQ_BASE.LOG2SIZE {} gives {} entries", requested_log2,
                                                 cmdq.entries());
  if (cmdq.entries() < kInvalidateAllCommands) {
    return problem(size_key, fmt::format("{}: the replay publishes {} commands at once (CFGI_ALL, TLBI_NSNH_ALL, "
                                         "CMD_SYNC)", size_why, kInvalidateAllCommands));
  }
  for (std::size_t p = 0; p < c.probes.size(); ++p) {
    for (std::size_t step = 0; step < c.probes[p].before.size(); ++step) {
      const auto* batch = std::get_if<CommandBatch>(&c.probes[p].before[step]);
      if (batch != nullptr && batch->commands.size() > cmdq.entries()) {
        return problem(fmt::format("probes[{}].before[{}].commands", p, step),
                       fmt::format("{} commands published at once do not fit: {}", batch->commands.size(), size_why));
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> expand_case_paths(const std::vector<std::string>& paths,
                                           std::vector<std::string>& errors) {
  std::vector<std::string> case_paths;
  for (const std::string& path : paths) {
    std::error_code status_error;
    const fs::file_status status = fs::status(path, status_error);
    if (status_error || !fs::exists(status)) {
      errors.push_back(fmt::format("{}: no such file or directory", path));
      continue;
    }
    if (!fs::is_directory(status)) {
      case_paths.push_back(path);  // named explicitly: taken whatever its extension
      continue;
    }
    std::vector<std::string> found;
    std::error_code walk_error;
    fs::recursive_directory_iterator entry(path, fs::directory_options::skip_permission_denied, walk_error);
    for (; !walk_error && entry != fs::recursive_directory_iterator(); entry.increment(walk_error)) {
      std::error_code type_error;
      if (entry->path().extension() == ".json" && entry->is_regular_file(type_error)) {
        found.push_back(entry->path().string());
      }
    }
    if (walk_error) {
      errors.push_back(fmt::format("{}: cannot list: {}", path, walk_error.message()));
    } else if (found.empty()) {
      errors.push_back(fmt::format("{}: no *.json case files", path));
    }
    // Directory order is whatever the file system gives; sorting makes runs repeatable.
    std::sort(found.begin(), found.end());
    case_paths.insert(case_paths.end(), found.begin(), found.end());
  }
  return case_paths;
}

}  // namespace smmuv3tlm::conformance
