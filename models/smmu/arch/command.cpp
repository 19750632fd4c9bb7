#include "smmuv3tlm/models/smmu/arch/command.h"

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::smmu {

namespace {

// Command fields (IHI 0070 §4.2-§4.7; cross-checked with Linux arm-smmu-v3.h
// CMDQ_* and QEMU smmuv3-internal.h CMD_*).
namespace d0 {
constexpr RegisterField OPCODE{7, 0};
constexpr RegisterField ATC_GLOBAL{9, 9};  // CMD_ATC_INV G
constexpr RegisterField SSEC{10, 10};
constexpr RegisterField SSV{11, 11};
constexpr RegisterField SUBSTREAM_ID{31, 12};
constexpr RegisterField STREAM_ID{63, 32};
constexpr RegisterField NUM{16, 12};    // range TLBI
constexpr RegisterField SCALE{24, 20};  // range TLBI
constexpr RegisterField VMID{47, 32};
constexpr RegisterField ASID{63, 48};
constexpr RegisterField RESUME_RESPONSE{13, 12};  // Ac (bit 12), Ab (bit 13)
constexpr RegisterField SYNC_CS{13, 12};
constexpr RegisterField SYNC_MSH{23, 22};
constexpr RegisterField SYNC_MSIATTR{27, 24};
constexpr RegisterField SYNC_MSIDATA{63, 32};
}  // namespace d0

namespace d1 {
constexpr RegisterField LEAF{0, 0};
constexpr RegisterField RANGE{4, 0};          // CMD_CFGI_STE_RANGE
constexpr RegisterField PREFETCH_SIZE{4, 0};  // CMD_PREFETCH_ADDR
constexpr RegisterField PREFETCH_STRIDE{9, 5};
constexpr RegisterField TTL{9, 8};
constexpr RegisterField TG{11, 10};
constexpr RegisterField ADDRESS{63, 12};  // VA, prefetch and ATC addresses
constexpr RegisterField IPA{51, 12};      // CMD_TLBI_S2_IPA
constexpr RegisterField ATC_SIZE{5, 0};
constexpr RegisterField PRI_GROUP_ID{8, 0};
constexpr RegisterField PRI_RESPONSE{13, 12};
constexpr RegisterField STAG{15, 0};
constexpr RegisterField MSI_ADDRESS{51, 2};
}  // namespace d1

constexpr std::uint64_t kStream = d0::STREAM_ID.mask();
constexpr std::uint64_t kSubstream = d0::SSV.mask() | d0::SUBSTREAM_ID.mask();
constexpr std::uint64_t kRange = d0::NUM.mask() | d0::SCALE.mask();
constexpr std::uint64_t kVaDword1 =
    d1::LEAF.mask() | d1::TTL.mask() | d1::TG.mask() | d1::ADDRESS.mask();

constexpr std::array<std::uint64_t, 2> defined_bits(CommandOpcode opcode) {
  const std::uint64_t op = d0::OPCODE.mask();
  const std::uint64_t ssec = d0::SSEC.mask();
  switch (opcode) {
    case CommandOpcode::PREFETCH_CONFIG:
      return {op | ssec | kSubstream | kStream, 0};
    case CommandOpcode::PREFETCH_ADDR:
      return {op | ssec | kSubstream | kStream,
              d1::PREFETCH_SIZE.mask() | d1::PREFETCH_STRIDE.mask() | d1::ADDRESS.mask()};
    case CommandOpcode::CFGI_STE:
      return {op | ssec | kStream, d1::LEAF.mask()};
    case CommandOpcode::CFGI_STE_RANGE:
      return {op | ssec | kStream, d1::RANGE.mask()};
    case CommandOpcode::CFGI_CD:
      return {op | ssec | d0::SUBSTREAM_ID.mask() | kStream, d1::LEAF.mask()};
    case CommandOpcode::CFGI_CD_ALL:
      return {op | ssec | kStream, 0};
    case CommandOpcode::TLBI_NH_ALL:
      return {op | d0::VMID.mask(), 0};
    case CommandOpcode::TLBI_NH_ASID:
      return {op | d0::VMID.mask() | d0::ASID.mask(), 0};
    case CommandOpcode::TLBI_NH_VA:
      return {op | kRange | d0::VMID.mask() | d0::ASID.mask(), kVaDword1};
    case CommandOpcode::TLBI_NH_VAA:
      return {op | kRange | d0::VMID.mask(), kVaDword1};
    case CommandOpcode::TLBI_EL3_ALL:
      return {op, 0};
    case CommandOpcode::TLBI_EL3_VA:
      return {op | kRange, kVaDword1};
    case CommandOpcode::TLBI_EL2_ALL:
      return {op, 0};
    case CommandOpcode::TLBI_EL2_ASID:
      return {op | d0::ASID.mask(), 0};
    case CommandOpcode::TLBI_EL2_VA:
      return {op | kRange | d0::ASID.mask(), kVaDword1};
    case CommandOpcode::TLBI_EL2_VAA:
      return {op | kRange, kVaDword1};
    case CommandOpcode::TLBI_S12_VMALL:
      return {op | d0::VMID.mask(), 0};
    case CommandOpcode::TLBI_S2_IPA:
      return {op | kRange | d0::VMID.mask(),
              d1::LEAF.mask() | d1::TTL.mask() | d1::TG.mask() | d1::IPA.mask()};
    case CommandOpcode::TLBI_NSNH_ALL:
      return {op, 0};
    case CommandOpcode::ATC_INV:
      return {op | d0::ATC_GLOBAL.mask() | kSubstream | kStream,
              d1::ATC_SIZE.mask() | d1::ADDRESS.mask()};
    case CommandOpcode::PRI_RESP:
      return {op | kSubstream | kStream, d1::PRI_GROUP_ID.mask() | d1::PRI_RESPONSE.mask()};
    case CommandOpcode::RESUME:
      return {op | ssec | d0::RESUME_RESPONSE.mask() | kStream, d1::STAG.mask()};
    case CommandOpcode::STALL_TERM:
      return {op | ssec | kStream, 0};
    case CommandOpcode::CMD_SYNC:
      return {op | d0::SYNC_CS.mask() | d0::SYNC_MSH.mask() | d0::SYNC_MSIATTR.mask() |
                  d0::SYNC_MSIDATA.mask(),
              d1::MSI_ADDRESS.mask()};
  }
  return {0, 0};
}

bool has_ssec(CommandOpcode opcode) {
  switch (opcode) {
    case CommandOpcode::PREFETCH_CONFIG:
    case CommandOpcode::PREFETCH_ADDR:
    case CommandOpcode::CFGI_STE:
    case CommandOpcode::CFGI_STE_RANGE:
    case CommandOpcode::CFGI_CD:
    case CommandOpcode::CFGI_CD_ALL:
    case CommandOpcode::RESUME:
    case CommandOpcode::STALL_TERM:
      return true;
    default:
      return false;
  }
}

bool is_range_tlbi(CommandOpcode opcode) {
  switch (opcode) {
    case CommandOpcode::TLBI_NH_VA:
    case CommandOpcode::TLBI_NH_VAA:
    case CommandOpcode::TLBI_EL3_VA:
    case CommandOpcode::TLBI_EL2_VA:
    case CommandOpcode::TLBI_EL2_VAA:
    case CommandOpcode::TLBI_S2_IPA:
      return true;
    default:
      return false;
  }
}

bool has_asid(CommandOpcode opcode) {
  return opcode == CommandOpcode::TLBI_NH_ASID || opcode == CommandOpcode::TLBI_NH_VA ||
         opcode == CommandOpcode::TLBI_EL2_ASID || opcode == CommandOpcode::TLBI_EL2_VA;
}

bool has_vmid(CommandOpcode opcode) {
  return opcode == CommandOpcode::TLBI_NH_ALL || opcode == CommandOpcode::TLBI_NH_ASID ||
         opcode == CommandOpcode::TLBI_NH_VA || opcode == CommandOpcode::TLBI_NH_VAA ||
         opcode == CommandOpcode::TLBI_S12_VMALL || opcode == CommandOpcode::TLBI_S2_IPA;
}

// The capability a command needs, or nullptr when it is always available
// (IHI 0070 §4.4: TLBI commands of a translation regime the SMMU does not
// implement are CERROR_ILL; §4.5 ATC_INV needs ATS, §4.6 PRI_RESP needs PRI).
const char* missing_capability(CommandOpcode opcode, const Capabilities& caps) {
  switch (opcode) {
    case CommandOpcode::TLBI_NH_ALL:
    case CommandOpcode::TLBI_NH_ASID:
    case CommandOpcode::TLBI_NH_VA:
    case CommandOpcode::TLBI_NH_VAA:
      return caps.stage1 ? nullptr : "stage 1 is not implemented (IDR0.S1P == 0)";
    case CommandOpcode::TLBI_S12_VMALL:
    case CommandOpcode::TLBI_S2_IPA:
      return caps.stage2 ? nullptr : "stage 2 is not implemented (IDR0.S2P == 0)";
    case CommandOpcode::TLBI_EL2_ALL:
    case CommandOpcode::TLBI_EL2_ASID:
    case CommandOpcode::TLBI_EL2_VA:
    case CommandOpcode::TLBI_EL2_VAA:
      return caps.hyp ? nullptr : "the EL2 translation regime is not implemented (IDR0.HYP == 0)";
    case CommandOpcode::TLBI_EL3_ALL:
    case CommandOpcode::TLBI_EL3_VA:
      return "EL3 invalidation is only accepted on the Secure Command queue";
    case CommandOpcode::ATC_INV:
      return caps.ats ? nullptr : "ATS is not implemented (IDR0.ATS == 0)";
    case CommandOpcode::PRI_RESP:
      return caps.pri ? nullptr : "PRI is not implemented (IDR0.PRI == 0)";
    default:
      return nullptr;
  }
}

}  // namespace

const char* to_string(CommandOpcode opcode) {
  switch (opcode) {
    case CommandOpcode::PREFETCH_CONFIG:
      return "CMD_PREFETCH_CONFIG";
    case CommandOpcode::PREFETCH_ADDR:
      return "CMD_PREFETCH_ADDR";
    case CommandOpcode::CFGI_STE:
      return "CMD_CFGI_STE";
    case CommandOpcode::CFGI_STE_RANGE:
      return "CMD_CFGI_STE_RANGE";
    case CommandOpcode::CFGI_CD:
      return "CMD_CFGI_CD";
    case CommandOpcode::CFGI_CD_ALL:
      return "CMD_CFGI_CD_ALL";
    case CommandOpcode::TLBI_NH_ALL:
      return "CMD_TLBI_NH_ALL";
    case CommandOpcode::TLBI_NH_ASID:
      return "CMD_TLBI_NH_ASID";
    case CommandOpcode::TLBI_NH_VA:
      return "CMD_TLBI_NH_VA";
    case CommandOpcode::TLBI_NH_VAA:
      return "CMD_TLBI_NH_VAA";
    case CommandOpcode::TLBI_EL3_ALL:
      return "CMD_TLBI_EL3_ALL";
    case CommandOpcode::TLBI_EL3_VA:
      return "CMD_TLBI_EL3_VA";
    case CommandOpcode::TLBI_EL2_ALL:
      return "CMD_TLBI_EL2_ALL";
    case CommandOpcode::TLBI_EL2_ASID:
      return "CMD_TLBI_EL2_ASID";
    case CommandOpcode::TLBI_EL2_VA:
      return "CMD_TLBI_EL2_VA";
    case CommandOpcode::TLBI_EL2_VAA:
      return "CMD_TLBI_EL2_VAA";
    case CommandOpcode::TLBI_S12_VMALL:
      return "CMD_TLBI_S12_VMALL";
    case CommandOpcode::TLBI_S2_IPA:
      return "CMD_TLBI_S2_IPA";
    case CommandOpcode::TLBI_NSNH_ALL:
      return "CMD_TLBI_NSNH_ALL";
    case CommandOpcode::ATC_INV:
      return "CMD_ATC_INV";
    case CommandOpcode::PRI_RESP:
      return "CMD_PRI_RESP";
    case CommandOpcode::RESUME:
      return "CMD_RESUME";
    case CommandOpcode::STALL_TERM:
      return "CMD_STALL_TERM";
    case CommandOpcode::CMD_SYNC:
      return "CMD_SYNC";
  }
  return "CMD_UNKNOWN";
}

std::string opcode_name(std::uint8_t opcode) {
  if (is_command_opcode(opcode)) return to_string(static_cast<CommandOpcode>(opcode));
  return fmt::format("opcode {:#04x}", opcode);
}

bool is_command_opcode(std::uint8_t opcode) {
  for (CommandOpcode known : kAllCommandOpcodes) {
    if (static_cast<std::uint8_t>(known) == opcode) return true;
  }
  return false;
}

std::array<std::uint64_t, 2> command_defined_bits(CommandOpcode opcode) {
  return defined_bits(opcode);
}

std::optional<Command> decode_command(const std::array<std::uint64_t, 2>& words,
                                      const Capabilities& caps, std::string& why_illegal) {
  const std::uint64_t w0 = words[0];
  const std::uint64_t w1 = words[1];
  const auto opcode_value = static_cast<std::uint8_t>(d0::OPCODE.get(w0));
  // §4.1.1: an opcode that is not a command is Reserved -> CERROR_ILL.
  if (!is_command_opcode(opcode_value)) {
    why_illegal = fmt::format("opcode {:#04x} is Reserved or not implemented", opcode_value);
    return std::nullopt;
  }
  const auto opcode = static_cast<CommandOpcode>(opcode_value);
  const char* name = to_string(opcode);

  // SSec selects Secure stream state; on the Non-secure queue it must be 0.
  if (has_ssec(opcode) && d0::SSEC.get(w0) != 0) {
    why_illegal = fmt::format("{}: SSec = 1 on the Non-secure Command queue", name);
    return std::nullopt;
  }
  // A command with a non-zero RES0 field is CERROR_ILL (IHI 0070 §4.1, §7.1).
  const auto defined = defined_bits(opcode);
  if (const std::uint64_t stray = w0 & ~defined[0]; stray != 0) {
    why_illegal = fmt::format("{}: RES0 bits {:#018x} set in dword 0", name, stray);
    return std::nullopt;
  }
  if (const std::uint64_t stray = w1 & ~defined[1]; stray != 0) {
    why_illegal = fmt::format("{}: RES0 bits {:#018x} set in dword 1", name, stray);
    return std::nullopt;
  }
  if (const char* missing = missing_capability(opcode, caps)) {
    why_illegal = fmt::format("{}: {}", name, missing);
    return std::nullopt;
  }

  Command c;
  c.opcode = opcode;
  c.raw = words;
  switch (opcode) {
    case CommandOpcode::PREFETCH_CONFIG:
    case CommandOpcode::PREFETCH_ADDR:
      c.ssv = d0::SSV.get(w0) != 0;
      c.substream_id = static_cast<std::uint32_t>(d0::SUBSTREAM_ID.get(w0));
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      if (opcode == CommandOpcode::PREFETCH_ADDR) {
        c.size = static_cast<std::uint8_t>(d1::PREFETCH_SIZE.get(w1));
        c.stride = static_cast<std::uint8_t>(d1::PREFETCH_STRIDE.get(w1));
        c.address = w1 & d1::ADDRESS.mask();
      }
      break;
    case CommandOpcode::CFGI_STE:
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.leaf = d1::LEAF.get(w1) != 0;
      break;
    case CommandOpcode::CFGI_STE_RANGE:
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.range = static_cast<std::uint8_t>(d1::RANGE.get(w1));
      break;
    case CommandOpcode::CFGI_CD:
      c.substream_id = static_cast<std::uint32_t>(d0::SUBSTREAM_ID.get(w0));
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.leaf = d1::LEAF.get(w1) != 0;
      break;
    case CommandOpcode::CFGI_CD_ALL:
    case CommandOpcode::STALL_TERM:
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      break;
    case CommandOpcode::TLBI_NH_ALL:
    case CommandOpcode::TLBI_NH_ASID:
    case CommandOpcode::TLBI_NH_VA:
    case CommandOpcode::TLBI_NH_VAA:
    case CommandOpcode::TLBI_EL3_ALL:
    case CommandOpcode::TLBI_EL3_VA:
    case CommandOpcode::TLBI_EL2_ALL:
    case CommandOpcode::TLBI_EL2_ASID:
    case CommandOpcode::TLBI_EL2_VA:
    case CommandOpcode::TLBI_EL2_VAA:
    case CommandOpcode::TLBI_S12_VMALL:
    case CommandOpcode::TLBI_S2_IPA:
    case CommandOpcode::TLBI_NSNH_ALL:
      if (has_asid(opcode)) c.asid = static_cast<std::uint16_t>(d0::ASID.get(w0));
      if (has_vmid(opcode)) c.vmid = static_cast<std::uint16_t>(d0::VMID.get(w0));
      if (is_range_tlbi(opcode)) {
        c.num = static_cast<std::uint8_t>(d0::NUM.get(w0));
        c.scale = static_cast<std::uint8_t>(d0::SCALE.get(w0));
        c.leaf = d1::LEAF.get(w1) != 0;
        c.ttl = static_cast<std::uint8_t>(d1::TTL.get(w1));
        c.tg = static_cast<std::uint8_t>(d1::TG.get(w1));
        c.address =
            w1 & (opcode == CommandOpcode::TLBI_S2_IPA ? d1::IPA.mask() : d1::ADDRESS.mask());
      }
      break;
    case CommandOpcode::ATC_INV:
      c.global = d0::ATC_GLOBAL.get(w0) != 0;
      c.ssv = d0::SSV.get(w0) != 0;
      c.substream_id = static_cast<std::uint32_t>(d0::SUBSTREAM_ID.get(w0));
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.size = static_cast<std::uint8_t>(d1::ATC_SIZE.get(w1));
      c.address = w1 & d1::ADDRESS.mask();
      break;
    case CommandOpcode::PRI_RESP:
      c.ssv = d0::SSV.get(w0) != 0;
      c.substream_id = static_cast<std::uint32_t>(d0::SUBSTREAM_ID.get(w0));
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.group_id = static_cast<std::uint16_t>(d1::PRI_GROUP_ID.get(w1));
      c.response = static_cast<std::uint8_t>(d1::PRI_RESPONSE.get(w1));
      break;
    case CommandOpcode::RESUME:
      c.response = static_cast<std::uint8_t>(d0::RESUME_RESPONSE.get(w0));
      c.stream_id = static_cast<std::uint32_t>(d0::STREAM_ID.get(w0));
      c.stag = static_cast<std::uint16_t>(d1::STAG.get(w1));
      break;
    case CommandOpcode::CMD_SYNC:
      c.sync_signal = static_cast<SyncSignal>(d0::SYNC_CS.get(w0));
      c.msh = static_cast<std::uint8_t>(d0::SYNC_MSH.get(w0));
      c.msi_attr = static_cast<std::uint8_t>(d0::SYNC_MSIATTR.get(w0));
      c.msi_data = static_cast<std::uint32_t>(d0::SYNC_MSIDATA.get(w0));
      c.msi_address = w1 & d1::MSI_ADDRESS.mask();
      break;
  }

  // Field values the architecture reserves or this SMMU does not support.
  if (opcode == CommandOpcode::CMD_SYNC && d0::SYNC_CS.get(w0) == 0b11) {
    why_illegal = "CMD_SYNC: CS = 0b11 is Reserved";
    return std::nullopt;
  }
  if (opcode == CommandOpcode::PRI_RESP && c.response == 0b11) {
    why_illegal = "CMD_PRI_RESP: Resp = 0b11 is Reserved";
    return std::nullopt;
  }
  if (is_range_tlbi(opcode) && !caps.ril) {
    // Range invalidation (TG != 0, NUM, SCALE) needs IDR3.RIL; without it the
    // fields are RES0.
    if (c.tg != 0 || c.num != 0 || c.scale != 0) {
      why_illegal = fmt::format("{}: range invalidation (TG={}, NUM={}, SCALE={}) needs IDR3.RIL",
                                name, c.tg, c.num, c.scale);
      return std::nullopt;
    }
  }
  // With 8-bit ASIDs/VMIDs the upper halves of the fields are RES0.
  if (has_asid(opcode) && !caps.asid16 && c.asid > 0xFF) {
    why_illegal = fmt::format("{}: ASID {:#x} needs 16-bit ASIDs (IDR0.ASID16 == 0)", name, c.asid);
    return std::nullopt;
  }
  if (has_vmid(opcode) && !caps.vmid16 && c.vmid > 0xFF) {
    why_illegal = fmt::format("{}: VMID {:#x} needs 16-bit VMIDs (IDR0.VMID16 == 0)", name, c.vmid);
    return std::nullopt;
  }
  return c;
}

std::array<std::uint64_t, 2> encode_command(const Command& c) {
  std::uint64_t w0 = d0::OPCODE.set(0, static_cast<std::uint8_t>(c.opcode));
  std::uint64_t w1 = 0;
  const CommandOpcode opcode = c.opcode;
  if (has_ssec(opcode)) w0 = d0::SSEC.set(w0, c.ssec);
  switch (opcode) {
    case CommandOpcode::PREFETCH_CONFIG:
    case CommandOpcode::PREFETCH_ADDR:
      w0 = d0::SSV.set(w0, c.ssv);
      w0 = d0::SUBSTREAM_ID.set(w0, c.substream_id);
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      if (opcode == CommandOpcode::PREFETCH_ADDR) {
        w1 = d1::PREFETCH_SIZE.set(w1, c.size);
        w1 = d1::PREFETCH_STRIDE.set(w1, c.stride);
        w1 |= c.address & d1::ADDRESS.mask();
      }
      break;
    case CommandOpcode::CFGI_STE:
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::LEAF.set(w1, c.leaf);
      break;
    case CommandOpcode::CFGI_STE_RANGE:
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::RANGE.set(w1, c.range);
      break;
    case CommandOpcode::CFGI_CD:
      w0 = d0::SUBSTREAM_ID.set(w0, c.substream_id);
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::LEAF.set(w1, c.leaf);
      break;
    case CommandOpcode::CFGI_CD_ALL:
    case CommandOpcode::STALL_TERM:
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      break;
    case CommandOpcode::TLBI_NH_ALL:
    case CommandOpcode::TLBI_NH_ASID:
    case CommandOpcode::TLBI_NH_VA:
    case CommandOpcode::TLBI_NH_VAA:
    case CommandOpcode::TLBI_EL3_ALL:
    case CommandOpcode::TLBI_EL3_VA:
    case CommandOpcode::TLBI_EL2_ALL:
    case CommandOpcode::TLBI_EL2_ASID:
    case CommandOpcode::TLBI_EL2_VA:
    case CommandOpcode::TLBI_EL2_VAA:
    case CommandOpcode::TLBI_S12_VMALL:
    case CommandOpcode::TLBI_S2_IPA:
    case CommandOpcode::TLBI_NSNH_ALL:
      if (has_asid(opcode)) w0 = d0::ASID.set(w0, c.asid);
      if (has_vmid(opcode)) w0 = d0::VMID.set(w0, c.vmid);
      if (is_range_tlbi(opcode)) {
        w0 = d0::NUM.set(w0, c.num);
        w0 = d0::SCALE.set(w0, c.scale);
        w1 = d1::LEAF.set(w1, c.leaf);
        w1 = d1::TTL.set(w1, c.ttl);
        w1 = d1::TG.set(w1, c.tg);
        w1 |= c.address &
              (opcode == CommandOpcode::TLBI_S2_IPA ? d1::IPA.mask() : d1::ADDRESS.mask());
      }
      break;
    case CommandOpcode::ATC_INV:
      w0 = d0::ATC_GLOBAL.set(w0, c.global);
      w0 = d0::SSV.set(w0, c.ssv);
      w0 = d0::SUBSTREAM_ID.set(w0, c.substream_id);
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::ATC_SIZE.set(w1, c.size);
      w1 |= c.address & d1::ADDRESS.mask();
      break;
    case CommandOpcode::PRI_RESP:
      w0 = d0::SSV.set(w0, c.ssv);
      w0 = d0::SUBSTREAM_ID.set(w0, c.substream_id);
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::PRI_GROUP_ID.set(w1, c.group_id);
      w1 = d1::PRI_RESPONSE.set(w1, c.response);
      break;
    case CommandOpcode::RESUME:
      w0 = d0::RESUME_RESPONSE.set(w0, c.response);
      w0 = d0::STREAM_ID.set(w0, c.stream_id);
      w1 = d1::STAG.set(w1, c.stag);
      break;
    case CommandOpcode::CMD_SYNC:
      w0 = d0::SYNC_CS.set(w0, static_cast<std::uint8_t>(c.sync_signal));
      w0 = d0::SYNC_MSH.set(w0, c.msh);
      w0 = d0::SYNC_MSIATTR.set(w0, c.msi_attr);
      w0 = d0::SYNC_MSIDATA.set(w0, c.msi_data);
      w1 = c.msi_address & d1::MSI_ADDRESS.mask();
      break;
  }
  return {w0, w1};
}

std::array<Command, 3> invalidate_all_commands() {
  std::array<Command, 3> commands;
  commands[0].opcode = CommandOpcode::CFGI_STE_RANGE;
  commands[0].range = 31;
  commands[1].opcode = CommandOpcode::TLBI_NSNH_ALL;
  commands[2].opcode = CommandOpcode::CMD_SYNC;
  return commands;
}

}  // namespace smmuv3tlm::smmu
