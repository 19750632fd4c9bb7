// Command queue entries (IHI 0070 §4): opcodes and the decoded 16-byte command.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"

namespace smmuv3tlm::smmu {

enum class CommandOpcode : std::uint8_t {
  PREFETCH_CONFIG = 0x01,
  PREFETCH_ADDR = 0x02,
  CFGI_STE = 0x03,
  CFGI_STE_RANGE = 0x04,  // CFGI_ALL is CFGI_STE_RANGE with Range = 31
  CFGI_CD = 0x05,
  CFGI_CD_ALL = 0x06,
  TLBI_NH_ALL = 0x10,
  TLBI_NH_ASID = 0x11,
  TLBI_NH_VA = 0x12,
  TLBI_NH_VAA = 0x13,
  TLBI_EL3_ALL = 0x18,
  TLBI_EL3_VA = 0x1A,
  TLBI_EL2_ALL = 0x20,
  TLBI_EL2_ASID = 0x21,
  TLBI_EL2_VA = 0x22,
  TLBI_EL2_VAA = 0x23,
  TLBI_S12_VMALL = 0x28,
  TLBI_S2_IPA = 0x2A,
  TLBI_NSNH_ALL = 0x30,
  ATC_INV = 0x40,
  PRI_RESP = 0x41,
  RESUME = 0x44,
  STALL_TERM = 0x45,
  CMD_SYNC = 0x46,
};

const char* to_string(CommandOpcode opcode);

constexpr std::uint32_t kCommandBytes = 16;

// CMD_SYNC completion signal (CS field).
enum class SyncSignal : std::uint8_t { None = 0, Irq = 1, Sev = 2 };

// A decoded command. Only the fields that the opcode defines are meaningful;
// the rest stay zero.
struct Command {
  CommandOpcode opcode = CommandOpcode::CMD_SYNC;
  std::array<std::uint64_t, 2> raw{};
  bool ssec = false;
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  bool leaf = false;            // CFGI_CD, TLBI_*_VA(A), TLBI_S2_IPA
  std::uint8_t range = 0;       // CFGI_STE_RANGE: invalidates 2^(range+1) StreamIDs
  std::uint16_t asid = 0;
  std::uint16_t vmid = 0;
  std::uint64_t address = 0;    // VA / IPA / prefetch / ATC address (bits 63:12 or 51:12)
  std::uint8_t num = 0;         // range invalidation: NUM
  std::uint8_t scale = 0;       // range invalidation: SCALE
  std::uint8_t tg = 0;          // range invalidation: translation granule (0 = no range)
  std::uint8_t ttl = 0;         // level hint
  SyncSignal sync_signal = SyncSignal::None;
  std::uint8_t msh = 0;
  std::uint8_t msi_attr = 0;
  std::uint32_t msi_data = 0;
  std::uint64_t msi_address = 0;  // bits 51:2
  bool global = false;          // ATC_INV G
  std::uint8_t size = 0;        // ATC_INV / PREFETCH_ADDR size
  std::uint16_t stag = 0;       // RESUME
  std::uint8_t response = 0;    // RESUME / PRI_RESP
  std::uint16_t group_id = 0;   // PRI_RESP
  std::uint8_t stride = 0;      // PREFETCH_ADDR Stride
};

// Every opcode of the enumeration above, in numeric order.
constexpr std::array<CommandOpcode, 24> kAllCommandOpcodes = {
    CommandOpcode::PREFETCH_CONFIG, CommandOpcode::PREFETCH_ADDR,  CommandOpcode::CFGI_STE,
    CommandOpcode::CFGI_STE_RANGE,  CommandOpcode::CFGI_CD,        CommandOpcode::CFGI_CD_ALL,
    CommandOpcode::TLBI_NH_ALL,     CommandOpcode::TLBI_NH_ASID,   CommandOpcode::TLBI_NH_VA,
    CommandOpcode::TLBI_NH_VAA,     CommandOpcode::TLBI_EL3_ALL,   CommandOpcode::TLBI_EL3_VA,
    CommandOpcode::TLBI_EL2_ALL,    CommandOpcode::TLBI_EL2_ASID,  CommandOpcode::TLBI_EL2_VA,
    CommandOpcode::TLBI_EL2_VAA,    CommandOpcode::TLBI_S12_VMALL, CommandOpcode::TLBI_S2_IPA,
    CommandOpcode::TLBI_NSNH_ALL,   CommandOpcode::ATC_INV,        CommandOpcode::PRI_RESP,
    CommandOpcode::RESUME,          CommandOpcode::STALL_TERM,     CommandOpcode::CMD_SYNC,
};

// True when `opcode` names a command of this enumeration (every other value is
// Reserved or a Secure/ECMDQ/later-version command the model does not implement).
bool is_command_opcode(std::uint8_t opcode);
// The opcode's name (CMD_SYNC, ...), or "opcode 0xNN" for one the model does not implement.
std::string opcode_name(std::uint8_t opcode);

// The bits of each dword that the opcode's layout defines (including the opcode
// field). Everything else is RES0.
std::array<std::uint64_t, 2> command_defined_bits(CommandOpcode opcode);

// Decodes and validates one command as read from the Non-secure Command queue
// (IHI 0070 §4). Returns nullopt for a command the SMMU must reject with
// CERROR_ILL and explains why in `why_illegal`.
std::optional<Command> decode_command(const std::array<std::uint64_t, 2>& words,
                                      const Capabilities& caps, std::string& why_illegal);

// Encodes the fields the opcode defines (ignores `raw`). decode_command of the
// result gives back the same fields.
std::array<std::uint64_t, 2> encode_command(const Command& command);

// What a driver issues to drop every cached structure (Linux
// arm_smmu_device_reset): CFGI_ALL (CFGI_STE_RANGE, Range 31), TLBI_NSNH_ALL, CMD_SYNC.
std::array<Command, 3> invalidate_all_commands();

}  // namespace smmuv3tlm::smmu
