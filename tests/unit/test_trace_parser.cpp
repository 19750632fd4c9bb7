// Trace format v1's parser: every statement of traces/README.md parses into
// what it says; malformed traces are refused with file:line:column and a
// message naming what is wrong.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "smmuv3tlm/platforms/trace/trace.h"

namespace smmuv3tlm::trace {
namespace {

Trace parse_text(const std::string& text) {
  std::istringstream in(text);
  return parse(in, "t.trace");
}

TEST(TraceParser, NumbersSizesAndTimes) {
  EXPECT_EQ(parse_number("4096"), 4096u);
  EXPECT_EQ(parse_number("0x1_0000_0000"), 0x1'0000'0000u);
  EXPECT_EQ(parse_number("64K"), 65536u);
  EXPECT_EQ(parse_number("2M"), 2u << 20);
  EXPECT_EQ(parse_number("1G"), 1u << 30);
  EXPECT_FALSE(parse_number("0x"));
  EXPECT_FALSE(parse_number("12a"));
  EXPECT_FALSE(parse_number("_1"));
  EXPECT_FALSE(parse_number("1_"));
  EXPECT_FALSE(parse_number("99999999999999999999"));
  EXPECT_FALSE(parse_number("0xffffffffffffffffK"));
  EXPECT_EQ(parse_time_ps("10ns"), 10'000u);
  EXPECT_EQ(parse_time_ps("2us"), 2'000'000u);
  EXPECT_EQ(parse_time_ps("1s"), 1'000'000'000'000u);
  EXPECT_FALSE(parse_time_ps("10"));
  EXPECT_FALSE(parse_time_ps("ns"));
}

TEST(TraceParser, EveryStatementOfTheReadme) {
  const Trace t = parse_text(R"(# a comment
smmu-trace 1
set platform.granule 4096
set smmu.capabilities "mmu-700"
option disable_bypass=true
let BUF = 0x1_0000_0000
let ALIAS = $BUF
domain D1 s1 granule=4K
domain P s2 nest_parent=true
domain G nested parent=P guest=0x6000_0000 guest_size=16M asid=1
domain B identity
attach D1 sid=0x10 ssid=3   # trailing comment
detach sid=0x10
map D1 iova=0x10_0000 pa=$ALIAS size=64K prot=rw
unmap D1 iova=0x10_0000 size=64K
invalidate all
mmio read 0x20 expect=0x1 mask=0x1
mmio write 0x20 0x1
mem write 0x4000 0x1122334455667788
mem fill 0x4000 size=4K byte=0xaa
@10us dma sid=0x10 iova=0x10_0000 size=64 read expect=ok
+250ns dma sid=0x10 ssid=1 iova=0x2000 size=8 write data=0x55 count=16 stride=4K
dma sid=0x10 iova=0x9000 size=8 read expect=fault event=F_TRANSLATION input=0x9000
preserve 0x10 0x11
shutdown
kexec
adopt
finish
)");
  EXPECT_EQ(t.version, 1u);
  ASSERT_EQ(t.settings.size(), 2u);
  EXPECT_EQ(t.settings[1].key.text, "smmu.capabilities");
  EXPECT_EQ(t.settings[1].value.text, "mmu-700");
  ASSERT_EQ(t.statements.size(), 22u);
  const Statement& map = t.statements[7];
  EXPECT_EQ(map.verb, "map");
  EXPECT_EQ(map.number("pa"), 0x1'0000'0000u) << "$ALIAS resolved through $BUF";
  EXPECT_EQ(map.number("size"), 65536u);
  EXPECT_EQ(map.where.line, 14u);
  const Statement& first_dma = t.statements[14];
  EXPECT_EQ(first_dma.verb, "dma");
  EXPECT_EQ(first_dma.time_ps, 10'000'000u);
  EXPECT_FALSE(first_dma.relative_time);
  const Statement& burst = t.statements[15];
  EXPECT_TRUE(burst.relative_time);
  EXPECT_EQ(burst.number("count"), 16u);
  EXPECT_EQ(burst.words[0].text, "write");
  EXPECT_EQ(t.statements[16].text("event"), "F_TRANSLATION");
  EXPECT_EQ(t.statements[17].words.size(), 2u);
}

struct Malformed {
  const char* name;
  std::string text;
  unsigned line;
  unsigned column;
  const char* message;
};

class TraceParserRefuses : public ::testing::TestWithParam<Malformed> {};

TEST_P(TraceParserRefuses, WithFileLineColumnAndTheReason) {
  const Malformed& m = GetParam();
  try {
    (void)parse_text(m.text);
    FAIL() << "accepted: " << m.name;
  } catch (const TraceError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.where().line, m.line) << what;
    EXPECT_EQ(e.where().column, m.column) << what;
    EXPECT_EQ(what.rfind(fmt::format("t.trace:{}:{}: ", m.line, m.column), 0), 0u) << what;
    EXPECT_NE(what.find(m.message), std::string::npos) << what;
  }
}

const std::string H = "smmu-trace 1\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, TraceParserRefuses,
    ::testing::Values(
        Malformed{"empty", "", 1, 1, "no 'smmu-trace 1' header"},
        Malformed{"comments only", "# nothing\n\n", 3, 1, "no 'smmu-trace 1' header"},
        Malformed{"no header", "dma sid=1 iova=0 size=8 read\n", 1, 1, "first statement must be the header"},
        Malformed{"wrong version", "smmu-trace 2\n", 1, 12, "format version 1"},
        Malformed{"unknown statement", H + "frobnicate 3\n", 2, 1, "unknown statement 'frobnicate'"},
        Malformed{"bad number", H + "mmio write 0x2g 1\n", 2, 12, "argument 2 must be a number"},
        Malformed{"bad key number", H + "dma sid=0x1z iova=0 size=8 read\n", 2, 5, "sid= must be a number"},
        Malformed{"missing key", H + "dma sid=1 size=8 read\n", 2, 1, "needs iova="},
        Malformed{"unknown key", H + "dma sid=1 iova=0 size=8 colour=red read\n", 2, 25, "takes no key 'colour'"},
        Malformed{"duplicate key", H + "dma sid=1 sid=2 iova=0 size=8 read\n", 2, 11, "sid= given twice"},
        Malformed{"missing direction", H + "dma sid=1 iova=0 size=8\n", 2, 1, "takes 1 argument(s), got 0"},
        Malformed{"bad direction", H + "dma sid=1 iova=0 size=8 sideways\n", 2, 25, "must be one of read, write"},
        Malformed{"bad expectation", H + "dma sid=1 iova=0 size=8 read expect=maybe\n", 2, 30, "expect= must be one of"},
        Malformed{"too many words", H + "attach D1 D2 sid=1\n", 2, 11, "takes 1 argument(s), got 2"},
        Malformed{"unknown domain type", H + "domain D1 s3\n", 2, 11, "must be one of"},
        Malformed{"bad name", H + "domain 1D s1\n", 2, 8, "must be a name"},
        Malformed{"bad bool", H + "domain P s2 nest_parent=yes\n", 2, 13, "must be true or false"},
        Malformed{"unknown $name", H + "map D1 iova=$NOPE pa=0 size=4K\n", 2, 8, "unknown name '$NOPE'"},
        Malformed{"bad let", H + "let X 5\n", 2, 1, "expected 'let NAME = VALUE'"},
        Malformed{"let bad name", H + "let 9X = 5\n", 2, 5, "is not a name"},
        Malformed{"bad time", H + "@10 dma sid=1 iova=0 size=8 read\n", 2, 1, "is not a time"},
        Malformed{"time alone", H + "+5ns\n", 2, 1, "a time with no statement"},
        Malformed{"set after action", H + "shutdown\nset platform.granule 4096\n", 3, 1, "before the first action"},
        Malformed{"option after action", H + "kexec\noption disable_s1=true\n", 3, 1, "before the first action"},
        Malformed{"unterminated string", H + "set smmu.capabilities \"mmu-700\n", 2, 23, "unterminated string"},
        Malformed{"binary garbage", H + "dma \x01\x02\x03\n", 2, 5, "not printable ASCII"},
        Malformed{"high byte", H + "# caf\xc3\xa9\n", 2, 6, "not printable ASCII"},
        Malformed{"huge line", H + "# " + std::string(10 << 20, 'x') + "\n", 2, 4097, "longer than 4096 bytes"},
        Malformed{"key without value", H + "dma sid= iova=0 size=8 read\n", 2, 5, "is not key=value"},
        Malformed{"truncated statement", H + "map D1 iova=0x1000 pa=0x2000", 2, 1, "needs size="},
        Malformed{"preserve nothing", H + "preserve\n", 2, 1, "takes 1 to 65536 arguments, got 0"},
        Malformed{"mmio bad op", H + "mmio poke 0x20\n", 2, 6, "must be one of read, write"}),
    [](const ::testing::TestParamInfo<Malformed>& param) {
      std::string n = param.param.name;
      for (char& c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

}  // namespace
}  // namespace smmuv3tlm::trace
