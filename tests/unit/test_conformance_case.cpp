// The conformance case reader: every bundled case loads, real values come through,
// and each kind of malformed file is reported with its file and JSON key.
#include "smmuv3tlm/platforms/conformance/conformance_case.h"

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <array>
#include <variant>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace smmuv3tlm::conformance {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path& bundled_cases_dir() {
  static const fs::path directory = fs::path(SMMU_SOURCE_DIR) / "tests" / "conformance" / "cases";
  return directory;
}

std::string bundled_case(const std::string& set, const std::string& name) {
  return (bundled_cases_dir() / set / (name + ".json")).string();
}

std::string read_text(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

ConformanceCase load_ok(const std::string& path) {
  LoadResult result = load_case(path);
  if (!result.ok()) {
    ADD_FAILURE() << result.error().to_string();
    return {};
  }
  return result.value();
}

// --- The bundled cases -------------------------------------------------------

TEST(ConformanceCaseBundle, LoadsEveryCaseWithTheDocumentedTotals) {
  std::vector<std::string> errors;
  const std::vector<std::string> paths = expand_case_paths({bundled_cases_dir().string()}, errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(paths.size(), 75U);

  // Per set, as tests/conformance/cases/README.md lists them: {cases, probes}.
  const std::map<std::string, std::pair<std::size_t, std::size_t>> expected_per_set = {
      {"qemu-s1", {30, 316}}, {"qemu-config", {10, 82}}, {"qemu-s2", {11, 92}}, {"qemu-nested", {12, 108}},
      {"qemu-multi", {12, 102}}};
  std::map<std::string, std::pair<std::size_t, std::size_t>> loaded_per_set;
  std::size_t total_probes = 0;
  for (const std::string& path : paths) {
    const LoadResult result = load_case(path);
    ASSERT_TRUE(result.ok()) << result.error().to_string();
    const ConformanceCase& loaded = result.value();
    EXPECT_EQ(loaded.source_path, path);
    EXPECT_EQ(loaded.name, fs::path(path).stem().string());
    auto& counts = loaded_per_set[fs::path(path).parent_path().filename().string()];
    counts.first += 1;
    counts.second += loaded.probes.size();
    total_probes += loaded.probes.size();
  }
  EXPECT_EQ(total_probes, 700U);
  EXPECT_EQ(loaded_per_set, expected_per_set);
}

TEST(ConformanceCaseBundle, DirectoryExpansionIsSortedAndTakesOnlyJsonFiles) {
  std::vector<std::string> errors;
  const std::vector<std::string> paths = expand_case_paths({bundled_cases_dir().string()}, errors);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  for (const std::string& path : paths) {
    EXPECT_EQ(fs::path(path).extension(), ".json") << path;
  }
}

TEST(ConformanceCaseValues, QemuS1CaseCarriesTheFileValues) {
  const ConformanceCase loaded = load_ok(bundled_case("qemu-s1", "qemu-s1-0001"));
  EXPECT_EQ(loaded.name, "qemu-s1-0001");
  EXPECT_EQ(loaded.stream_id, 32U);
  ASSERT_TRUE(loaded.smmu_ids.has_value());
  EXPECT_EQ(loaded.smmu_ids->idr0, 0x0d40101aU);
  EXPECT_EQ(loaded.smmu_ids->idr1, 0x02730010U);
  EXPECT_EQ(loaded.smmu_ids->idr3, 0x1404U);
  EXPECT_EQ(loaded.smmu_ids->idr5, 0x74U);
  EXPECT_EQ(loaded.smmu_ids->aidr, 0x1U);
  ASSERT_EQ(loaded.ram.size(), 1U);
  EXPECT_EQ(loaded.ram[0].base, 0x40000000U);
  EXPECT_EQ(loaded.ram[0].size, 0x40000000U);
  EXPECT_EQ(loaded.fill.lo, 0x48000000U);
  EXPECT_EQ(loaded.fill.hi, 0x4a000000U);
  EXPECT_EQ(loaded.registers.cr1, 0xd75U);
  EXPECT_EQ(loaded.registers.cr2, 0x6U);
  EXPECT_EQ(loaded.registers.strtab_base, 0x4000000041010000U);
  EXPECT_EQ(loaded.registers.strtab_base_cfg, 0x10188U);
  EXPECT_EQ(loaded.registers.cmdq_base, 0x4000000040400008U);
  EXPECT_EQ(loaded.registers.eventq_base, 0x4000000040410007U);
  EXPECT_FALSE(loaded.registers.gbpa.has_value());
  EXPECT_TRUE(loaded.smmuen);  // the key is absent: default

  ASSERT_EQ(loaded.memory.size(), 56U);
  EXPECT_EQ(loaded.memory[0].pa, 0x41010000U);
  EXPECT_EQ(loaded.memory[0].qwords, std::vector<std::uint64_t>{0x41020007});
  EXPECT_EQ(loaded.memory[1].pa, 0x41020800U);
  EXPECT_EQ(loaded.memory[1].qwords, (std::vector<std::uint64_t>{0x4103000b, 0xd4}));

  ASSERT_EQ(loaded.probes.size(), 10U);
  const Probe& first = loaded.probes[0];
  EXPECT_EQ(first.index, 0U);
  EXPECT_EQ(first.op, ProbeOp::Write);
  EXPECT_EQ(first.iova, 0x3099ab992450U);
  EXPECT_FALSE(first.invalidate_before);
  EXPECT_EQ(first.why, "write-ap2=1");
  EXPECT_EQ(first.outcomes[0].result, ExpectedResult::Fault);
  EXPECT_EQ(first.outcomes[0].event, std::optional<std::uint8_t>(0x13));
  EXPECT_EQ(first.outcomes[0].rnw, std::optional<bool>(false));
  EXPECT_EQ(first.outcomes[0].input_addr, std::optional<std::uint64_t>(0x3099ab992450));
  EXPECT_FALSE(first.outcomes[0].pa.has_value());
  EXPECT_FALSE(first.outcomes[0].s2.has_value());

  const Probe& translated = loaded.probes[2];
  EXPECT_EQ(translated.outcomes[0].result, ExpectedResult::Ok);
  EXPECT_EQ(translated.outcomes[0].pa, std::optional<std::uint64_t>(0x486e86d0));
  EXPECT_FALSE(translated.outcomes[0].event.has_value());

  const Probe& last = loaded.probes[9];
  EXPECT_EQ(last.outcomes[0].event, std::optional<std::uint8_t>(0x0b));
  EXPECT_EQ(last.outcomes[0].fetch_addr, std::optional<std::uint64_t>(0x1000f2060));
}

TEST(ConformanceCaseValues, ConfigCaseWithoutSmmuIdHasGbpaAndStreamFields) {
  const ConformanceCase loaded = load_ok(bundled_case("qemu-config", "qemu-config-7001"));
  EXPECT_FALSE(loaded.smmu_ids.has_value());  // the runner uses its default SMMU
  EXPECT_EQ(loaded.registers.gbpa, std::optional<std::uint64_t>(0));
  EXPECT_TRUE(loaded.smmuen);
  ASSERT_FALSE(loaded.probes.empty());
  const Expectation& bad_streamid = loaded.probes[0].outcomes[0];
  EXPECT_EQ(bad_streamid.event, std::optional<std::uint8_t>(0x02));
  EXPECT_EQ(bad_streamid.stream_id, std::optional<std::uint32_t>(32));
  EXPECT_EQ(bad_streamid.ssv, std::optional<bool>(false));
  EXPECT_FALSE(bad_streamid.input_addr.has_value());
}

TEST(ConformanceCaseValues, NestedCaseHasClassIpaAndNullEvent) {
  const ConformanceCase with_class = load_ok(bundled_case("qemu-nested", "qemu-nested-2000"));
  ASSERT_FALSE(with_class.probes.empty());
  const Expectation& input_fault = with_class.probes[0].outcomes[0];
  EXPECT_EQ(input_fault.event, std::optional<std::uint8_t>(0x10));
  EXPECT_EQ(input_fault.s2, std::optional<bool>(true));
  EXPECT_EQ(input_fault.event_class, std::optional<std::uint8_t>(2));
  EXPECT_EQ(input_fault.ipa, std::optional<std::uint64_t>(0xb6aebdf000));

  const ConformanceCase with_null_event = load_ok(bundled_case("qemu-nested", "qemu-nested-2002"));
  ASSERT_FALSE(with_null_event.probes.empty());
  const Probe& suppressed = with_null_event.probes[0];
  EXPECT_EQ(suppressed.index, 1U);  // indices need not start at 0
  EXPECT_EQ(suppressed.outcomes[0].result, ExpectedResult::Fault);
  EXPECT_FALSE(suppressed.outcomes[0].event.has_value());
  EXPECT_EQ(suppressed.outcomes[0].s2, std::optional<bool>(true));
}

// --- The hex parser ------------------------------------------------------------

TEST(ConformanceHex, AcceptsPrefixedHexUpTo64Bits) {
  EXPECT_EQ(parse_hex("0x0").value, std::optional<std::uint64_t>(0));
  EXPECT_EQ(parse_hex("0x0d40101a").value, std::optional<std::uint64_t>(0x0d40101a));
  EXPECT_EQ(parse_hex("0xABCdef").value, std::optional<std::uint64_t>(0xabcdef));
  EXPECT_EQ(parse_hex("0xffffffffffffffff").value, std::optional<std::uint64_t>(0xffffffffffffffff));
  EXPECT_EQ(parse_hex("0x00000000000000000000001").value, std::optional<std::uint64_t>(1));
}

TEST(ConformanceHex, RejectsMalformedText) {
  for (const char* text : {"", "0x", "12", "0X12", "-0x1", " 0x1", "0x1 ", "0x12g4", "0x1_0"}) {
    const HexParseResult parsed = parse_hex(text);
    EXPECT_FALSE(parsed.value.has_value()) << text;
    EXPECT_FALSE(parsed.problem.empty()) << text;
  }
  const HexParseResult overflow = parse_hex("0x10000000000000000");
  EXPECT_FALSE(overflow.value.has_value());
  EXPECT_NE(overflow.problem.find("64 bits"), std::string::npos) << overflow.problem;
}

// --- Malformed files -------------------------------------------------------------

// Each test starts from a real case (qemu-s1-0001), breaks one thing, writes it to
// a private temporary directory and checks the error names the file and the key.
class MalformedCase : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    directory_ = fs::temp_directory_path() /
                 ("smmu-conformance-case-" + test_name + "-" + std::to_string(::getpid()));
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    std::ifstream stream(bundled_case("qemu-s1", "qemu-s1-0001"));
    valid_ = json::parse(stream);
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }

  std::string write_text(const std::string& text, const std::string& file_name = "case.json") {
    const std::string path = (directory_ / file_name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Loads `document` written to a file; expects an error at `key` whose message
  // contains `message_fragment`.
  void expect_error(const json& document, const std::string& key, const std::string& message_fragment) {
    const std::string path = write_text(document.dump(1));
    expect_error_in_file(path, key, message_fragment);
  }

  static void expect_error_in_file(const std::string& path, const std::string& key,
                                   const std::string& message_fragment) {
    const LoadResult result = load_case(path);
    ASSERT_FALSE(result.ok()) << "loaded, but expected an error at " << key;
    EXPECT_EQ(result.error().file, path);
    EXPECT_EQ(result.error().key, key) << result.error().to_string();
    EXPECT_NE(result.error().message.find(message_fragment), std::string::npos) << result.error().to_string();
  }

  void expect_loads(const json& document) {
    const LoadResult result = load_case(write_text(document.dump(1)));
    EXPECT_TRUE(result.ok()) << result.error().to_string();
  }

  fs::path directory_;
  json valid_;
};

TEST_F(MalformedCase, UnchangedCopyLoads) { expect_loads(valid_); }

TEST_F(MalformedCase, BadHexDigitNamesTheRegister) {
  valid_["smmu"]["STRTAB_BASE"] = "0x40000000410g0000";
  expect_error(valid_, "smmu.STRTAB_BASE", "'g' is not a hex digit");
}

TEST_F(MalformedCase, HexWithoutPrefix) {
  valid_["probes"][2]["iova"] = "7825079236d0";
  expect_error(valid_, "probes[2].iova", "must start with 0x");
}

TEST_F(MalformedCase, HexOverflowingSixtyFourBits) {
  valid_["memory"][1]["qwords"][1] = "0x10000000000000000";
  expect_error(valid_, "memory[1].qwords[1]", "64 bits");
}

TEST_F(MalformedCase, HexWiderThanItsField) {
  valid_["smmu_id"]["IDR0"] = "0x100000000";
  expect_error(valid_, "smmu_id.IDR0", "32 bits");
  valid_["smmu_id"]["IDR0"] = "0x0d40101a";
  valid_["probes"][0]["expect"]["event"] = "0x100";
  expect_error(valid_, "probes[0].expect.event", "8 bits");
}

TEST_F(MalformedCase, MissingKeyOkWithoutPa) {
  valid_["probes"][2]["expect"].erase("pa");
  expect_error(valid_, "probes[2].expect.pa", "missing required key");
}

TEST_F(MalformedCase, MissingTopLevelAndRegisterKeys) {
  json without_smmu = valid_;
  without_smmu.erase("smmu");
  expect_error(without_smmu, "smmu", "missing required key");
  valid_["smmu"].erase("CMDQ_BASE");
  expect_error(valid_, "smmu.CMDQ_BASE", "missing required key");
}

TEST_F(MalformedCase, UnknownFormatString) {
  valid_["format"] = "smmuv3-conformance/2";
  expect_error(valid_, "format", "unknown format");
  valid_.erase("format");
  expect_error(valid_, "format", "missing required key");
}

TEST_F(MalformedCase, TruncatedFileReportsParsePosition) {
  const std::string text = read_text(bundled_case("qemu-s1", "qemu-s1-0001"));
  const std::string path = write_text(text.substr(0, text.size() / 2));
  expect_error_in_file(path, "", "invalid JSON");
  expect_error_in_file(path, "", "line ");
  expect_error_in_file(write_text("", "empty.json"), "", "invalid JSON");
}

TEST_F(MalformedCase, DocumentThatIsNotAnObject) {
  expect_error_in_file(write_text("[1, 2]"), "", "expected an object");
}

TEST_F(MalformedCase, WrongTypes) {
  json document = valid_;
  document["stream_id"] = "32";
  expect_error(document, "stream_id", "expected a non-negative integer");
  document = valid_;
  document["smmu"]["CR1"] = 3445;
  expect_error(document, "smmu.CR1", "expected a hex string");
  document = valid_;
  document["ram"] = json::object();
  expect_error(document, "ram", "expected an array");
  document = valid_;
  document["probes"][4]["why"] = json();
  expect_error(document, "probes[4].why", "expected a string");
}

TEST_F(MalformedCase, FlagsMustBeBooleansOrZeroOne) {
  json document = valid_;
  document["probes"][0]["invalidate_before"] = "yes";
  expect_error(document, "probes[0].invalidate_before", "expected a boolean");
  document = valid_;
  document["probes"][0]["expect"]["rnw"] = "0";
  expect_error(document, "probes[0].expect.rnw", "expected a boolean");
  document = valid_;
  document["probes"][0]["expect"]["rnw"] = 2;
  expect_error(document, "probes[0].expect.rnw", "0/1");
  document = valid_;
  document["smmuen"] = "false";
  expect_error(document, "smmuen", "expected a boolean");
  // Both spellings the files use are accepted wherever a flag goes.
  document = valid_;
  document["probes"][0]["expect"]["rnw"] = false;
  document["probes"][0]["invalidate_before"] = 1;
  document["smmuen"] = false;
  expect_loads(document);
}

TEST_F(MalformedCase, UnknownOp) {
  valid_["probes"][1]["op"] = "X";
  expect_error(valid_, "probes[1].op", "neither \"R\" nor \"W\"");
}

TEST_F(MalformedCase, UnknownResult) {
  valid_["probes"][1]["expect"]["result"] = "error";
  expect_error(valid_, "probes[1].expect.result", "neither \"ok\" nor \"fault\"");
}

TEST_F(MalformedCase, ResultAndFieldsMustAgree) {
  json document = valid_;
  document["probes"][2]["expect"]["event"] = "0x10";
  expect_error(document, "probes[2].expect.event", "not allowed when result is \"ok\"");
  document = valid_;
  document["probes"][0]["expect"]["pa"] = "0x1000";
  expect_error(document, "probes[0].expect.pa", "not allowed when result is \"fault\"");
  document = valid_;
  document["probes"][0]["expect"].erase("event");
  expect_error(document, "probes[0].expect.event", "missing required key");
  document = valid_;
  document["probes"][0]["expect"]["class"] = 3;
  expect_error(document, "probes[0].expect.class", "larger than 2");
}

TEST_F(MalformedCase, NegativeAndOversizedNumbers) {
  json document = valid_;
  document["stream_id"] = -1;
  expect_error(document, "stream_id", "negative");
  document["stream_id"] = 0x100000000;
  expect_error(document, "stream_id", "larger than");
  document = valid_;
  document["ram"][0]["size"] = "-0x10";
  expect_error(document, "ram[0].size", "must start with 0x");
  document["ram"][0]["size"] = "0x0";
  expect_error(document, "ram[0].size", "zero");
}

TEST_F(MalformedCase, RamRangeOverflow) {
  valid_["ram"].push_back(json{{"base", "0xffffffffffff0000"}, {"size", "0x10000"}});  // ends exactly at 2^64: fine
  expect_loads(valid_);
  valid_["ram"][1]["size"] = "0x10001";
  expect_error(valid_, "ram[1].size", "64-bit address space");
}

TEST_F(MalformedCase, MemoryAndFillLayout) {
  json document = valid_;
  document["memory"][0]["pa"] = "0x41010004";
  expect_error(document, "memory[0].pa", "8-byte aligned");
  document = valid_;
  document["memory"][1]["pa"] = "0xfffffffffffffff8";
  expect_error(document, "memory[1].qwords", "64-bit address space");
  document = valid_;
  document["fill"]["hi"] = "0x40000000";
  expect_error(document, "fill.hi", "below lo");
}

TEST_F(MalformedCase, ProbeIndicesMustIncrease) {
  valid_["probes"][1]["i"] = 0;
  expect_error(valid_, "probes[1].i", "must increase");
}

TEST_F(MalformedCase, UnknownKeysRejectedButInformationKeysIgnored) {
  json document = valid_;
  document["probes"][0]["expect"]["inputaddr"] = "0x0";
  expect_error(document, "probes[0].expect.inputaddr", "unknown key");
  document = valid_;
  document["smmu_en"] = false;
  expect_error(document, "smmu_en", "unknown key");
  document = valid_;
  document["probes"][0]["qemu_10_0"] = "pa=0x0";
  document["probes"][0]["qemu_9_1"] = json::array();
  document["probes"][0]["qemu_agrees"] = false;
  document["about"] = "anything";
  expect_loads(document);
}

// --- Optional keys (qemu-s1/README.md "Optional keys") --------------------------

TEST(ConformanceCaseValues, MultiCaseCarriesStreamsSubstreamsStepsAndAlternatives) {
  const ConformanceCase loaded = load_ok(bundled_case("qemu-multi", "multi-0003"));
  ASSERT_EQ(loaded.probes.size(), 9U);
  const Probe& first = loaded.probes[0];
  EXPECT_EQ(first.stream_id, 29U);
  EXPECT_EQ(first.substream_id, std::optional<std::uint32_t>(54));
  EXPECT_FALSE(first.privileged);
  const Probe& bad_ssid = loaded.probes[1];
  EXPECT_EQ(bad_ssid.stream_id, 61U);
  ASSERT_EQ(bad_ssid.outcomes.size(), 1U);
  EXPECT_EQ(bad_ssid.outcomes[0].ssid, std::optional<std::uint32_t>(23623));
  EXPECT_EQ(bad_ssid.outcomes[0].stream_id, std::optional<std::uint32_t>(61));
  // Probe 2: eleven CPU stores, then CFGI_CD, TLBI_NH_ASID, CMD_SYNC.
  const std::vector<ProbeStep>& steps = loaded.probes[2].before;
  ASSERT_EQ(steps.size(), 12U);
  const auto* store = std::get_if<CpuStores>(&steps[0]);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->words.pa, 0x411cc4c0U);
  EXPECT_EQ(store->words.qwords, (std::vector<std::uint64_t>{0x411cd003}));
  const auto* batch = std::get_if<CommandBatch>(&steps[11]);
  ASSERT_NE(batch, nullptr);
  ASSERT_EQ(batch->commands.size(), 3U);
  EXPECT_EQ(batch->commands[2], (std::array<std::uint64_t, 2>{0x46, 0}));
  // Somewhere in the set: a probe with alternatives.
  std::size_t with_alternatives = 0;
  for (const std::string name : {"multi-0001", "multi-0002", "multi-0004", "multi-0005", "multi-0006"}) {
    for (const Probe& probe : load_ok(bundled_case("qemu-multi", name)).probes) {
      if (probe.outcomes.size() > 1) ++with_alternatives;
    }
  }
  EXPECT_GT(with_alternatives, 0U);
}

TEST_F(MalformedCase, OptionalProbeKeysAreReadAndChecked) {
  json document = valid_;
  json& probe = document["probes"][0];
  probe["stream_id"] = 7;
  probe["substream_id"] = 0xfffff;
  probe["privileged"] = true;
  probe["instruction"] = 1;
  probe["before"] = json::array({json{{"write", {{"pa", "0x40000000"}, {"qwords", {"0x1", "0x2"}}}}},
                                 json{{"commands", json::array({json::array({"0x46", "0x0"})})}}});
  const std::string path = write_text(document.dump(1));
  const ConformanceCase loaded = load_ok(path);
  ASSERT_FALSE(loaded.probes.empty());
  EXPECT_EQ(loaded.probes[0].stream_id, 7U);
  EXPECT_EQ(loaded.probes[0].substream_id, std::optional<std::uint32_t>(0xfffff));
  EXPECT_TRUE(loaded.probes[0].privileged);
  EXPECT_TRUE(loaded.probes[0].instruction);
  EXPECT_EQ(loaded.probes[0].before.size(), 2U);
  EXPECT_EQ(loaded.probes[1].stream_id, loaded.stream_id);  // the case's when not given

  json wide = document;
  wide["probes"][0]["substream_id"] = 0x100000;
  expect_error(wide, "probes[0].substream_id", "larger than");
  json outside = document;
  outside["probes"][0]["before"][0]["write"]["pa"] = "0x1000";
  expect_error(outside, "probes[0].before[0].write.pa", "outside every `ram` range");
  json bad_step = document;
  bad_step["probes"][0]["before"][1] = json{{"command", json::array()}};
  expect_error(bad_step, "probes[0].before[1].command", "unknown step");
  json short_command = document;
  short_command["probes"][0]["before"][1]["commands"][0] = json::array({"0x46"});
  expect_error(short_command, "probes[0].before[1].commands[0]", "two 64-bit words");
  json both = document;
  both["probes"][0]["expect_any"] = json::array({both["probes"][0]["expect"]});
  expect_error(both, "probes[0].expect_any", "not both");
  json none = document;
  none["probes"][0].erase("expect");
  none["probes"][0]["expect_any"] = json::array();
  expect_error(none, "probes[0].expect_any", "no outcomes");
}

// --- Findings of the robustness issue: each once mishandled ---------------------

TEST_F(MalformedCase, DuplicateKeysAreErrorsNamingTheKey) {
  std::string text = valid_.dump(1);
  // A second "stream_id" at the top level, and one inside a probe's expectation.
  const std::string top = text.substr(0, 1) + "\n \"stream_id\": 5," + text.substr(1);
  expect_error_in_file(write_text(top), "stream_id", "given twice");
  json document = valid_;
  document["probes"][1]["expect"]["zzz_placeholder"] = "0x1";
  std::string nested = document.dump();
  const std::size_t at = nested.find("\"zzz_placeholder\"");
  ASSERT_NE(at, std::string::npos);
  nested.replace(at, std::string("\"zzz_placeholder\"").size(), "\"result\"");
  expect_error_in_file(write_text(nested, "nested.json"), "probes[1].expect.result", "given twice");
}

TEST_F(MalformedCase, ThirtyTwoBitRegistersRejectWideValues) {
  for (const char* key : {"CR1", "CR2", "STRTAB_BASE_CFG", "GBPA"}) {
    json document = valid_;
    document["smmu"][key] = "0x100000000";
    expect_error(document, std::string("smmu.") + key, "does not fit in 32 bits");
  }
  json document = valid_;
  document["smmu"]["CMDQ_BASE"] = "0x4000000040400008";  // 64-bit registers take 64 bits
  expect_loads(document);
}

TEST_F(MalformedCase, ProbeThatWrapsPastTheAddressSpace) {
  valid_["probes"][3]["iova"] = "0xfffffffffffffff9";
  expect_error(valid_, "probes[3].iova", "wraps past 2^64");
  valid_["probes"][3]["iova"] = "0xfffffffffffffff8";  // the last 8 bytes: fine
  expect_loads(valid_);
}

TEST_F(MalformedCase, MemoryRunOutsideRam) {
  valid_["memory"][0]["pa"] = "0x1000";
  expect_error(valid_, "memory[0].pa", "outside every `ram` range");
}

TEST_F(MalformedCase, LongKeysAreCutInMessages) {
  const std::string long_key(5000, 'k');
  valid_["smmu"][long_key] = "0x0";
  const LoadResult result = load_case(write_text(valid_.dump()));
  ASSERT_FALSE(result.ok());
  EXPECT_LT(result.error().to_string().size(), 400U) << result.error().to_string().substr(0, 400);
  EXPECT_NE(result.error().key.find("smmu.kkkk"), std::string::npos);
}

TEST_F(MalformedCase, BytesThatAreNotUtf8AreEscaped) {
  const std::string path = write_text(std::string("{\"format\": \"smm\xff\xfe\"}"), "bad.json");
  const LoadResult result = load_case(path);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("\\xff"), std::string::npos) << result.error().message;
  // Whatever the message holds, it can go into a JSON report.
  EXPECT_NO_THROW((void)json(result.error().to_string()).dump());
  EXPECT_EQ(printable_text("ok \xc3\xa9 \xe2\x82\xac"), "ok \xc3\xa9 \xe2\x82\xac");  // valid UTF-8 kept
  EXPECT_EQ(printable_text("\xc0\x80"), "\\xc0\\x80");                              // overlong: escaped
  EXPECT_EQ(printable_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");                      // surrogate: escaped
}

TEST_F(MalformedCase, NonexistentFileAndDirectory) {
  const std::string missing = (directory_ / "no-such-case.json").string();
  expect_error_in_file(missing, "", "cannot open");
  expect_error_in_file(directory_.string(), "", "is a directory");
}

// --- Path expansion --------------------------------------------------------------

TEST_F(MalformedCase, ExpandCasePathsWalksDirectoriesSortedAndReportsBadPaths) {
  fs::create_directories(directory_ / "tree" / "b");
  fs::create_directories(directory_ / "tree" / "a" / "deep");
  fs::create_directories(directory_ / "empty");
  const std::string later = write_text("{}", "tree/b/x.json");
  const std::string earlier = write_text("{}", "tree/a/deep/y.json");
  write_text("not a case", "tree/a/notes.txt");
  const std::string explicit_file = write_text("{}", "named.txt");
  const std::string missing = (directory_ / "missing").string();

  std::vector<std::string> errors;
  const std::vector<std::string> paths = expand_case_paths(
      {explicit_file, (directory_ / "tree").string(), missing, (directory_ / "empty").string()}, errors);
  EXPECT_EQ(paths, (std::vector<std::string>{explicit_file, earlier, later}));
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_NE(errors[0].find(missing), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("no *.json case files"), std::string::npos) << errors[1];
}

}  // namespace
}  // namespace smmuv3tlm::conformance
