#include "smmuv3tlm/models/smmu/arch/command.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "smmuv3tlm/tests/unit/programming_interface_harness.h"

namespace smmuv3tlm::smmu {
namespace {

using test::everything_capabilities;

std::optional<Command> decode(std::uint64_t w0, std::uint64_t w1, const Capabilities& caps,
                              std::string* why = nullptr) {
  std::string reason;
  auto c = decode_command({w0, w1}, caps, reason);
  if (why != nullptr) *why = reason;
  return c;
}

TEST(CommandOpcode, NamesAreArchitecturalAndUnique) {
  std::set<std::string> names;
  for (CommandOpcode op : kAllCommandOpcodes) {
    const std::string name = to_string(op);
    EXPECT_EQ(name.rfind("CMD_", 0), 0u) << name;
    names.insert(name);
    EXPECT_TRUE(is_command_opcode(static_cast<std::uint8_t>(op)));
  }
  EXPECT_EQ(names.size(), kAllCommandOpcodes.size());
  EXPECT_STREQ(to_string(CommandOpcode::CFGI_STE_RANGE), "CMD_CFGI_STE_RANGE");
  EXPECT_STREQ(to_string(CommandOpcode::CMD_SYNC), "CMD_SYNC");
  for (unsigned reserved :
       {0x00u, 0x07u, 0x0Au, 0x14u, 0x19u, 0x24u, 0x31u, 0x42u, 0x47u, 0x50u, 0xFFu}) {
    EXPECT_FALSE(is_command_opcode(static_cast<std::uint8_t>(reserved))) << reserved;
  }
}

// Field positions against the Linux driver's CMDQ_* definitions.
TEST(CommandLayout, CfgiFields) {
  const auto caps = everything_capabilities();
  auto c = decode(0x0000'1234'0000'0003ull, 1, caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->opcode, CommandOpcode::CFGI_STE);
  EXPECT_EQ(c->stream_id, 0x1234u);
  EXPECT_TRUE(c->leaf);

  c = decode(0xFFFF'FFFF'0000'0004ull, 31, caps);  // CFGI_ALL
  ASSERT_TRUE(c);
  EXPECT_EQ(c->opcode, CommandOpcode::CFGI_STE_RANGE);
  EXPECT_EQ(c->range, 31);
  EXPECT_EQ(c->stream_id, 0xFFFF'FFFFu);

  c = decode(0x0000'0042'ABCD'E005ull, 1, caps);  // CFGI_CD SSID 31:12
  ASSERT_TRUE(c);
  EXPECT_EQ(c->substream_id, 0xABCDEu);
  EXPECT_EQ(c->stream_id, 0x42u);
  EXPECT_TRUE(c->leaf);
}

TEST(CommandLayout, TlbiFields) {
  const auto caps = everything_capabilities();
  // TLBI_NH_VA: NUM 16:12, SCALE 24:20, VMID 47:32, ASID 63:48; LEAF, TTL 9:8,
  // TG 11:10, ADDR 63:12.
  const std::uint64_t w0 =
      0x12ull | (5ull << 12) | (3ull << 20) | (0x0BEEull << 32) | (0xCAFEull << 48);
  const std::uint64_t w1 = 1ull | (2ull << 8) | (1ull << 10) | 0xFFFF'8000'1234'5000ull;
  auto c = decode(w0, w1, caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->opcode, CommandOpcode::TLBI_NH_VA);
  EXPECT_EQ(c->num, 5);
  EXPECT_EQ(c->scale, 3);
  EXPECT_EQ(c->vmid, 0x0BEE);
  EXPECT_EQ(c->asid, 0xCAFE);
  EXPECT_TRUE(c->leaf);
  EXPECT_EQ(c->ttl, 2);
  EXPECT_EQ(c->tg, 1);
  EXPECT_EQ(c->address, 0xFFFF'8000'1234'5000ull);
  EXPECT_EQ(encode_command(*c), (std::array<std::uint64_t, 2>{w0, w1}));

  // TLBI_S2_IPA: IPA is bits 51:12; bits 63:52 are RES0.
  c = decode(0x2Aull | (7ull << 32), 0x000F'FFFF'FFFF'F000ull, caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address, 0x000F'FFFF'FFFF'F000ull);
  EXPECT_FALSE(decode(0x2Aull, 0x0010'0000'0000'0000ull, caps));
}

TEST(CommandLayout, SyncFields) {
  const auto caps = everything_capabilities();
  const std::uint64_t w0 =
      0x46ull | (1ull << 12) | (3ull << 22) | (0xFull << 24) | (0xDEAD'BEEFull << 32);
  const std::uint64_t w1 = 0x0000'0000'4000'1004ull;
  auto c = decode(w0, w1, caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sync_signal, SyncSignal::Irq);
  EXPECT_EQ(c->msh, 3);
  EXPECT_EQ(c->msi_attr, 0xF);
  EXPECT_EQ(c->msi_data, 0xDEAD'BEEFu);
  EXPECT_EQ(c->msi_address, 0x4000'1004ull);
  EXPECT_FALSE(decode(w0, w1 | 1, caps));  // MSIADDR bits 1:0 are RES0
}

TEST(CommandLayout, LinuxSevSyncIsLegalWithoutMsiOrSev) {
  // Linux builds CMD_SYNC with CS=SEV, MSH=ISH and MSIATTR=OIWB when it cannot
  // poll on an MSI: an SMMU without MSI/SEV must accept it.
  const auto qemu = *Capabilities::preset("qemu-virt");
  const std::uint64_t w0 = 0x46ull | (2ull << 12) | (3ull << 22) | (0xFull << 24);
  EXPECT_TRUE(decode(w0, 0, qemu));
}

TEST(CommandLayout, AtcPriResumeFields) {
  const auto caps = everything_capabilities();
  auto c = decode(0x40ull | (1ull << 9) | (1ull << 11) | (0x12345ull << 12) | (0x77ull << 32),
                  0x12ull | 0x0000'1234'5678'9000ull, caps);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->global);
  EXPECT_TRUE(c->ssv);
  EXPECT_EQ(c->substream_id, 0x12345u);
  EXPECT_EQ(c->stream_id, 0x77u);
  EXPECT_EQ(c->size, 0x12);
  EXPECT_EQ(c->address, 0x0000'1234'5678'9000ull);

  c = decode(0x41ull | (0x9ull << 32), 0x1FFull | (2ull << 12), caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->group_id, 0x1FF);
  EXPECT_EQ(c->response, 2);

  c = decode(0x44ull | (1ull << 12) | (0x5ull << 32), 0xABCD, caps);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->response, 1);
  EXPECT_EQ(c->stag, 0xABCD);
  EXPECT_EQ(c->stream_id, 5u);
}

struct IllegalCase {
  const char* what;
  std::uint64_t w0;
  std::uint64_t w1;
  const char* caps_preset;  // nullptr: everything_capabilities()
  const char* why_mentions;
};

class IllegalCommand : public ::testing::TestWithParam<IllegalCase> {};

Capabilities caps_for(const char* name) {
  if (name == nullptr) return everything_capabilities();
  if (std::string(name) == "8-bit-ids") {
    Capabilities caps = everything_capabilities();
    caps.asid16 = false;
    caps.vmid16 = false;
    return caps;
  }
  return *Capabilities::preset(name);
}

TEST_P(IllegalCommand, IsRejectedWithReason) {
  const IllegalCase& p = GetParam();
  const Capabilities caps = caps_for(p.caps_preset);
  std::string why;
  EXPECT_FALSE(decode(p.w0, p.w1, caps, &why));
  EXPECT_NE(why.find(p.why_mentions), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IllegalCommand,
    ::testing::Values(
        IllegalCase{"opcode_0", 0x00, 0, nullptr, "Reserved"},
        IllegalCase{"opcode_cfgi_vms_pidm", 0x07, 0, nullptr, "0x07"},
        IllegalCase{"opcode_secure_el2", 0x50, 0, nullptr, "0x50"},
        IllegalCase{"opcode_ff", 0xFF, 0, nullptr, "Reserved"},
        IllegalCase{"cfgi_ste_ssec", 0x03 | (1ull << 10), 0, nullptr, "SSec"},
        IllegalCase{"cfgi_all_ssec", 0x04 | (1ull << 10), 31, nullptr, "SSec"},
        IllegalCase{"prefetch_ssec", 0x01 | (1ull << 10), 0, nullptr, "SSec"},
        IllegalCase{"cfgi_ste_res0_dword0", 0x03 | (1ull << 11), 0, nullptr, "RES0"},
        IllegalCase{"cfgi_ste_res0_dword1", 0x03, 2, nullptr, "RES0"},
        IllegalCase{"cfgi_range_res0", 0x04, 1ull << 5, nullptr, "RES0"},
        IllegalCase{"cfgi_cd_ssv", 0x05 | (1ull << 11), 0, nullptr, "RES0"},
        IllegalCase{"nh_all_with_asid", 0x10 | (1ull << 48), 0, nullptr, "RES0"},
        IllegalCase{"nh_vaa_with_asid", 0x13 | (1ull << 48), 0, nullptr, "RES0"},
        IllegalCase{"nsnh_all_dword1", 0x30, 1ull << 63, nullptr, "RES0"},
        IllegalCase{"sync_bit8", 0x46 | (1ull << 8), 0, nullptr, "RES0"},
        IllegalCase{"sync_msiaddr_high", 0x46, 1ull << 52, nullptr, "RES0"},
        IllegalCase{"sync_cs_reserved", 0x46 | (3ull << 12), 0, nullptr, "CS = 0b11"},
        IllegalCase{"pri_resp_reserved", 0x41, 3ull << 12, nullptr, "Resp"},
        IllegalCase{"el3_all", 0x18, 0, nullptr, "Secure"},
        IllegalCase{"el3_va", 0x1A, 0, nullptr, "Secure"},
        IllegalCase{"el2_all_no_hyp", 0x20, 0, "qemu-virt", "HYP"},
        IllegalCase{"el2_vaa_no_hyp", 0x23, 0, "qemu-virt", "HYP"},
        IllegalCase{"atc_inv_no_ats", 0x40, 0, "qemu-virt", "ATS"},
        IllegalCase{"pri_resp_no_pri", 0x41, 0, "qemu-virt", "PRI"},
        IllegalCase{"s2_ipa_no_s2", 0x2A, 0, "qemu-virt", "stage 2"},
        IllegalCase{"s12_vmall_no_s2", 0x28, 0, "qemu-virt", "stage 2"},
        IllegalCase{"range_tg_no_ril", 0x12, 1ull << 10, "mmu-600", "RIL"},
        IllegalCase{"range_num_no_ril", 0x12 | (1ull << 12), 0, "mmu-600", "RIL"},
        IllegalCase{"asid16_not_advertised", 0x11 | (0x100ull << 48), 0, "8-bit-ids", "ASID16"},
        IllegalCase{"vmid16_not_advertised", 0x28 | (0x100ull << 32), 0, "8-bit-ids", "VMID16"}),
    [](const ::testing::TestParamInfo<IllegalCase>& param_info) {
      return std::string(param_info.param.what);
    });

TEST(CommandDecode, EightBitIdsAcceptSmallValues) {
  const Capabilities caps = caps_for("8-bit-ids");
  EXPECT_TRUE(decode(0x11 | (0xFFull << 48) | (0xFFull << 32), 0, caps));
}

// A legal command of every opcode with every field the layout defines set to a
// non-trivial value.
Command sample(CommandOpcode opcode) {
  Command c;
  c.opcode = opcode;
  c.stream_id = 0x8765'4321u;
  c.substream_id = 0xF00Du;
  c.ssv = true;
  c.leaf = true;
  c.range = 17;
  c.asid = 0xA51D;
  c.vmid = 0x0F1D;
  c.address = 0x0000'7FFF'DEAD'B000ull;
  c.num = 9;
  c.scale = 2;
  c.tg = 2;
  c.ttl = 3;
  c.sync_signal = SyncSignal::Irq;
  c.msh = 3;
  c.msi_attr = 0xF;
  c.msi_data = 0x1234'5678u;
  c.msi_address = 0x0000'0000'0800'0040ull;
  c.global = true;
  c.size = 12;
  c.stride = 3;
  c.stag = 0xBEEF;
  c.response = 2;
  c.group_id = 0x155;
  return c;
}

bool always_illegal_on_non_secure_queue(CommandOpcode op) {
  return op == CommandOpcode::TLBI_EL3_ALL || op == CommandOpcode::TLBI_EL3_VA;
}

TEST(CommandDecode, EncodeDecodeRoundTripEveryOpcode) {
  const auto caps = everything_capabilities();
  for (CommandOpcode op : kAllCommandOpcodes) {
    SCOPED_TRACE(to_string(op));
    const auto words = encode_command(sample(op));
    std::string why;
    const auto decoded = decode_command(words, caps, why);
    if (always_illegal_on_non_secure_queue(op)) {
      EXPECT_FALSE(decoded);
      continue;
    }
    ASSERT_TRUE(decoded) << why;
    EXPECT_EQ(decoded->opcode, op);
    EXPECT_EQ(decoded->raw, words);
    EXPECT_EQ(encode_command(*decoded), words);
    // Only defined bits are produced.
    const auto defined = command_defined_bits(op);
    EXPECT_EQ(words[0] & ~defined[0], 0u);
    EXPECT_EQ(words[1] & ~defined[1], 0u);
  }
}

// Every bit outside an opcode's layout makes the command illegal; the layout's
// own bits never trip the reserved-bit check.
TEST(CommandDecode, EveryUndefinedBitIsIllegal) {
  const auto caps = everything_capabilities();
  for (CommandOpcode op : kAllCommandOpcodes) {
    if (always_illegal_on_non_secure_queue(op)) continue;
    SCOPED_TRACE(to_string(op));
    const auto words = encode_command(sample(op));
    const auto defined = command_defined_bits(op);
    for (unsigned dword = 0; dword < 2; ++dword) {
      for (unsigned b = 0; b < 64; ++b) {
        const std::uint64_t mask = std::uint64_t{1} << b;
        if ((defined[dword] & mask) != 0) continue;
        auto flipped = words;
        flipped[dword] ^= mask;
        std::string why;
        EXPECT_FALSE(decode_command(flipped, caps, why)) << "dword " << dword << " bit " << b;
        EXPECT_NE(why.find("RES0"), std::string::npos) << why;
      }
    }
  }
}

TEST(CommandDecode, RandomLegalCommandsRoundTrip) {
  const auto caps = everything_capabilities();
  std::mt19937_64 rng(1234);
  unsigned legal = 0;
  for (int i = 0; i < 20000; ++i) {
    const CommandOpcode op = kAllCommandOpcodes[rng() % kAllCommandOpcodes.size()];
    const auto defined = command_defined_bits(op);
    std::array<std::uint64_t, 2> words = {
        (rng() & defined[0] & ~std::uint64_t{0xFF}) | static_cast<std::uint8_t>(op),
        rng() & defined[1]};
    words[0] &= ~(std::uint64_t{1} << 10);  // SSec must be 0 on the Non-secure queue
    std::string why;
    const auto decoded = decode_command(words, caps, why);
    if (!decoded) continue;
    ++legal;
    EXPECT_EQ(encode_command(*decoded), words) << to_string(op);
  }
  EXPECT_GT(legal, 10000u);
}

}  // namespace
}  // namespace smmuv3tlm::smmu
