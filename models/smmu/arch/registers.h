// The Non-secure programming interface (IHI 0070 §6): register offsets in the
// 128 KiB register space (page 0 at 0x0, page 1 at 0x10000) and the fields of
// every register the model implements. Offsets and bit positions only; the
// behaviour lives in core/programming_interface.
#pragma once

#include <cstdint>

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::smmu {

// A register field [hi:lo].
struct RegisterField {
  unsigned hi;
  unsigned lo;

  constexpr std::uint64_t mask() const { return mask_bits(hi, lo); }
  constexpr std::uint64_t get(std::uint64_t value) const { return extract(value, hi, lo); }
  constexpr std::uint64_t set(std::uint64_t value, std::uint64_t field) const {
    return deposit(value, hi, lo, field);
  }
};

namespace reg {

constexpr std::uint64_t kPageBytes = 0x10000;
constexpr std::uint64_t kPage1 = 0x10000;
constexpr std::uint64_t kRegisterSpaceBytes = 0x20000;  // page 0 + page 1

// ---- Page 0 -----------------------------------------------------------------
constexpr std::uint64_t IDR0 = 0x0000;
constexpr std::uint64_t IDR1 = 0x0004;
constexpr std::uint64_t IDR2 = 0x0008;
constexpr std::uint64_t IDR3 = 0x000C;
constexpr std::uint64_t IDR4 = 0x0010;
constexpr std::uint64_t IDR5 = 0x0014;
constexpr std::uint64_t IIDR = 0x0018;
constexpr std::uint64_t AIDR = 0x001C;
constexpr std::uint64_t CR0 = 0x0020;
constexpr std::uint64_t CR0ACK = 0x0024;
constexpr std::uint64_t CR1 = 0x0028;
constexpr std::uint64_t CR2 = 0x002C;
constexpr std::uint64_t STATUSR = 0x0040;
constexpr std::uint64_t GBPA = 0x0044;
constexpr std::uint64_t AGBPA = 0x0048;  // IMPLEMENTATION DEFINED; RES0 here
constexpr std::uint64_t IRQ_CTRL = 0x0050;
constexpr std::uint64_t IRQ_CTRLACK = 0x0054;
constexpr std::uint64_t GERROR = 0x0060;
constexpr std::uint64_t GERRORN = 0x0064;
constexpr std::uint64_t GERROR_IRQ_CFG0 = 0x0068;  // 64-bit
constexpr std::uint64_t GERROR_IRQ_CFG1 = 0x0070;
constexpr std::uint64_t GERROR_IRQ_CFG2 = 0x0074;
constexpr std::uint64_t STRTAB_BASE = 0x0080;  // 64-bit
constexpr std::uint64_t STRTAB_BASE_CFG = 0x0088;
constexpr std::uint64_t CMDQ_BASE = 0x0090;  // 64-bit
constexpr std::uint64_t CMDQ_PROD = 0x0098;
constexpr std::uint64_t CMDQ_CONS = 0x009C;
constexpr std::uint64_t EVENTQ_BASE = 0x00A0;      // 64-bit
constexpr std::uint64_t EVENTQ_IRQ_CFG0 = 0x00B0;  // 64-bit
constexpr std::uint64_t EVENTQ_IRQ_CFG1 = 0x00B8;
constexpr std::uint64_t EVENTQ_IRQ_CFG2 = 0x00BC;
constexpr std::uint64_t PRIQ_BASE = 0x00C0;      // 64-bit
constexpr std::uint64_t PRIQ_IRQ_CFG0 = 0x00D0;  // 64-bit
constexpr std::uint64_t PRIQ_IRQ_CFG1 = 0x00D8;
constexpr std::uint64_t PRIQ_IRQ_CFG2 = 0x00DC;
// ATOS registers (IDR0.ATOS, chapter 9); VATOS (IDR0.VATOS) is not implemented.
constexpr std::uint64_t GATOS_CTRL = 0x0100;
constexpr std::uint64_t GATOS_SID = 0x0108;   // 64-bit
constexpr std::uint64_t GATOS_ADDR = 0x0110;  // 64-bit
constexpr std::uint64_t GATOS_PAR = 0x0118;   // 64-bit
constexpr std::uint64_t VATOS_SEL = 0x0180;
// IMPLEMENTATION DEFINED identification block (PIDR4-7, PIDR0-3, CIDR0-3).
constexpr std::uint64_t ID_REGS_FIRST = 0x0FD0;
constexpr std::uint64_t ID_REGS_LAST = 0x0FFC;
// Secure programming interface (SMMU_S_*), page 0 offsets 0x8000-0x8FFF: no
// Secure state is modelled, Non-secure accesses read as zero.
constexpr std::uint64_t SECURE_FIRST = 0x8000;
constexpr std::uint64_t SECURE_LAST = 0x8FFF;

// ---- Page 1 -----------------------------------------------------------------
constexpr std::uint64_t EVENTQ_PROD = kPage1 + 0x00A8;
constexpr std::uint64_t EVENTQ_CONS = kPage1 + 0x00AC;
constexpr std::uint64_t PRIQ_PROD = kPage1 + 0x00C8;
constexpr std::uint64_t PRIQ_CONS = kPage1 + 0x00CC;

// ---- ID registers -------------------------------------------------------------
namespace idr0 {
constexpr RegisterField S2P{0, 0};
constexpr RegisterField S1P{1, 1};
constexpr RegisterField TTF{3, 2};  // bit 0 AArch32 (LPAE), bit 1 AArch64
constexpr RegisterField COHACC{4, 4};
constexpr RegisterField BTM{5, 5};
constexpr RegisterField HTTU{7, 6};
constexpr RegisterField DORMHINT{8, 8};
constexpr RegisterField HYP{9, 9};
constexpr RegisterField ATS{10, 10};
constexpr RegisterField NS1ATS{11, 11};
constexpr RegisterField ASID16{12, 12};
constexpr RegisterField MSI{13, 13};
constexpr RegisterField SEV{14, 14};
constexpr RegisterField ATOS{15, 15};
constexpr RegisterField PRI{16, 16};
constexpr RegisterField VMW{17, 17};
constexpr RegisterField VMID16{18, 18};
constexpr RegisterField CD2L{19, 19};
constexpr RegisterField VATOS{20, 20};
constexpr RegisterField TTENDIAN{22, 21};
constexpr RegisterField ATSRECERR{23, 23};
constexpr RegisterField STALL_MODEL{25, 24};
constexpr RegisterField TERM_MODEL{26, 26};
constexpr RegisterField ST_LEVEL{28, 27};
constexpr RegisterField RME_IMPL{30, 30};
}  // namespace idr0

namespace idr1 {
constexpr RegisterField SIDSIZE{5, 0};
constexpr RegisterField SSIDSIZE{10, 6};
constexpr RegisterField PRIQS{15, 11};
constexpr RegisterField EVENTQS{20, 16};
constexpr RegisterField CMDQS{25, 21};
constexpr RegisterField ATTR_PERMS_OVR{26, 26};
constexpr RegisterField ATTR_TYPES_OVR{27, 27};
constexpr RegisterField REL{28, 28};
constexpr RegisterField QUEUES_PRESET{29, 29};
constexpr RegisterField TABLES_PRESET{30, 30};
constexpr RegisterField ECMDQ{31, 31};
}  // namespace idr1

namespace idr3 {
constexpr RegisterField HAD{2, 2};
constexpr RegisterField PBHA{3, 3};
constexpr RegisterField XNX{4, 4};
constexpr RegisterField PPS{5, 5};
constexpr RegisterField MPAM{7, 7};
constexpr RegisterField FWB{8, 8};
constexpr RegisterField STT{9, 9};
constexpr RegisterField RIL{10, 10};
constexpr RegisterField BBML{12, 11};
constexpr RegisterField E0PD{13, 13};
constexpr RegisterField PTWNNC{14, 14};
constexpr RegisterField DPT{15, 15};
}  // namespace idr3

namespace idr5 {
constexpr RegisterField OAS{2, 0};
constexpr RegisterField GRAN4K{4, 4};
constexpr RegisterField GRAN16K{5, 5};
constexpr RegisterField GRAN64K{6, 6};
constexpr RegisterField VAX{11, 10};
constexpr RegisterField STALL_MAX{31, 16};
}  // namespace idr5

namespace aidr {
constexpr RegisterField ArchMinorRev{3, 0};
constexpr RegisterField ArchMajorRev{7, 4};  // 0 = SMMUv3
}  // namespace aidr

namespace iidr {
constexpr RegisterField Implementer{11, 0};
constexpr RegisterField Revision{15, 12};
constexpr RegisterField Variant{19, 16};
constexpr RegisterField ProductID{31, 20};
}  // namespace iidr

// ---- Control ------------------------------------------------------------------
namespace cr0 {
constexpr std::uint32_t SMMUEN = 1u << 0;
constexpr std::uint32_t PRIQEN = 1u << 1;
constexpr std::uint32_t EVENTQEN = 1u << 2;
constexpr std::uint32_t CMDQEN = 1u << 3;
constexpr std::uint32_t ATSCHK = 1u << 4;
constexpr RegisterField VMW{8, 6};
constexpr std::uint32_t kQueueEnables = PRIQEN | EVENTQEN | CMDQEN;
}  // namespace cr0

namespace cr1 {
constexpr RegisterField QUEUE_IC{1, 0};
constexpr RegisterField QUEUE_OC{3, 2};
constexpr RegisterField QUEUE_SH{5, 4};
constexpr RegisterField TABLE_IC{7, 6};
constexpr RegisterField TABLE_OC{9, 8};
constexpr RegisterField TABLE_SH{11, 10};
constexpr std::uint32_t kDefinedBits = 0xFFF;
}  // namespace cr1

namespace cr2 {
constexpr std::uint32_t E2H = 1u << 0;
constexpr std::uint32_t RECINVSID = 1u << 1;
constexpr std::uint32_t PTM = 1u << 2;
}  // namespace cr2

namespace statusr {
constexpr std::uint32_t DORMANT = 1u << 0;
}  // namespace statusr

// Global bypass attributes, used while SMMUEN == 0.
namespace gbpa {
constexpr RegisterField MEMATTR{3, 0};
constexpr std::uint32_t MTCFG = 1u << 4;
constexpr RegisterField ALLOCCFG{11, 8};
constexpr RegisterField SHCFG{13, 12};
constexpr RegisterField PRIVCFG{17, 16};
constexpr RegisterField INSTCFG{19, 18};
constexpr std::uint32_t ABORT = 1u << 20;
constexpr std::uint32_t UPDATE = 1u << 31;
// Every field but UPDATE.
constexpr std::uint32_t kAttributeBits =
    static_cast<std::uint32_t>(MEMATTR.mask() | MTCFG | ALLOCCFG.mask() | SHCFG.mask() |
                               PRIVCFG.mask() | INSTCFG.mask() | ABORT);
constexpr std::uint32_t kShcfgUseIncoming = 0b01;
}  // namespace gbpa

// Address translation operations (§6.3.37-40, chapter 9).
namespace gatos {
constexpr std::uint32_t RUN = 1u << 0;  // GATOS_CTRL
// GATOS_SID
constexpr RegisterField STREAMID{31, 0};
constexpr RegisterField SUBSTREAMID{51, 32};
constexpr std::uint64_t SSID_VALID = 1ull << 52;
// GATOS_ADDR
constexpr RegisterField ADDR{63, 12};
constexpr RegisterField TYPE{11, 10};  // 0b01 stage 1, 0b10 stage 2, 0b11 both; 0b00 reserved
constexpr std::uint64_t PNU = 1ull << 9;
constexpr std::uint64_t RNW = 1ull << 8;
constexpr std::uint64_t IND = 1ull << 7;
constexpr std::uint64_t HTTUI = 1ull << 6;
// GATOS_PAR
constexpr std::uint64_t FAULT = 1ull << 0;
constexpr RegisterField PAR_ATTR{63, 56};   // FAULT == 0: MAIR-format attributes
constexpr RegisterField PAR_ADDR{55, 12};   // FAULT == 0: output address; FAULT == 1: FADDR
constexpr std::uint64_t PAR_SIZE = 1ull << 11;  // the lowest set ADDR bit N gives 2^(N+1) bytes
constexpr RegisterField PAR_SH{9, 8};
constexpr RegisterField FAULTCODE{11, 4};
constexpr RegisterField REASON{2, 1};
// FAULTCODE values of ATOS's own errors (§9.1.5); the others are event numbers.
constexpr unsigned kInvReq = 0xff;
constexpr unsigned kInvStage = 0xfe;
constexpr unsigned kInternalError = 0xfd;
}  // namespace gatos

namespace irq_ctrl {
constexpr std::uint32_t GERROR_IRQEN = 1u << 0;
constexpr std::uint32_t PRIQ_IRQEN = 1u << 1;
constexpr std::uint32_t EVENTQ_IRQEN = 1u << 2;
}  // namespace irq_ctrl

// An error is active while its GERROR bit differs from its GERRORN bit.
namespace gerror {
constexpr std::uint32_t CMDQ_ERR = 1u << 0;
constexpr std::uint32_t EVTQ_ABT_ERR = 1u << 2;
constexpr std::uint32_t PRIQ_ABT_ERR = 1u << 3;
constexpr std::uint32_t MSI_CMDQ_ABT_ERR = 1u << 4;
constexpr std::uint32_t MSI_EVTQ_ABT_ERR = 1u << 5;
constexpr std::uint32_t MSI_PRIQ_ABT_ERR = 1u << 6;
constexpr std::uint32_t MSI_GERROR_ABT_ERR = 1u << 7;
constexpr std::uint32_t SFM_ERR = 1u << 8;
constexpr std::uint32_t kDefinedBits = 0x1FD;
// The architecture's name of one GERROR bit ("CMDQ_ERR", ...), or nullptr.
constexpr const char* name(std::uint32_t bit) {
  switch (bit) {
    case CMDQ_ERR: return "CMDQ_ERR";
    case EVTQ_ABT_ERR: return "EVTQ_ABT_ERR";
    case PRIQ_ABT_ERR: return "PRIQ_ABT_ERR";
    case MSI_CMDQ_ABT_ERR: return "MSI_CMDQ_ABT_ERR";
    case MSI_EVTQ_ABT_ERR: return "MSI_EVTQ_ABT_ERR";
    case MSI_PRIQ_ABT_ERR: return "MSI_PRIQ_ABT_ERR";
    case MSI_GERROR_ABT_ERR: return "MSI_GERROR_ABT_ERR";
    case SFM_ERR: return "SFM_ERR";
    default: return nullptr;
  }
}
}  // namespace gerror

// *_IRQ_CFG0/1/2: MSI address, payload and attributes (present when IDR0.MSI).
namespace irq_cfg {
constexpr RegisterField ADDR{51, 2};    // CFG0
constexpr RegisterField DATA{31, 0};    // CFG1
constexpr RegisterField MEMATTR{3, 0};  // CFG2
constexpr RegisterField SH{5, 4};       // CFG2
constexpr std::uint32_t kCfg2DefinedBits = 0x3F;
}  // namespace irq_cfg

namespace strtab_base {
constexpr std::uint64_t RA = std::uint64_t{1} << 62;
constexpr RegisterField ADDR{51, 6};
}  // namespace strtab_base

namespace strtab_base_cfg {
constexpr RegisterField LOG2SIZE{5, 0};
constexpr RegisterField SPLIT{10, 6};
constexpr RegisterField FMT{17, 16};
constexpr std::uint32_t kFmtLinear = 0;
constexpr std::uint32_t kFmt2Level = 1;
constexpr std::uint32_t kDefinedBits = 0x3'07FF;
}  // namespace strtab_base_cfg

// CMDQ_BASE / EVENTQ_BASE / PRIQ_BASE.
namespace queue_base {
constexpr std::uint64_t RA_WA = std::uint64_t{1} << 62;  // RA (command queue), WA (others)
constexpr RegisterField ADDR{51, 5};
constexpr RegisterField LOG2SIZE{4, 0};
}  // namespace queue_base

// *_PROD / *_CONS: an index of LOG2SIZE bits with the wrap bit just above it.
// The widest queue (2^19 entries) uses bits [19:0].
namespace queue_pointer {
constexpr RegisterField WRAP_AND_INDEX{19, 0};
constexpr RegisterField CMDQ_CONS_ERR{30, 24};
constexpr std::uint32_t OVFLG = 1u << 31;     // EVENTQ_PROD, PRIQ_PROD
constexpr std::uint32_t OVACKFLG = 1u << 31;  // EVENTQ_CONS, PRIQ_CONS
constexpr unsigned kMaxLog2Entries = 19;
}  // namespace queue_pointer

// A queue's size and location as the SMMU uses them, from its *_BASE value and
// the IDR1 maximum (CMDQS, EVENTQS, PRIQS). The model and the host software
// both take the geometry from here.
struct QueueGeometry {
  std::uint64_t base_address = 0;
  unsigned log2_entries = 0;
  std::uint32_t pointer_mask = 0;  // wrap bit and index
  std::uint32_t index_mask = 0;
  std::uint32_t entry_bytes = 0;

  std::uint64_t entry_address(std::uint32_t pointer) const {
    return base_address + std::uint64_t{pointer & index_mask} * entry_bytes;
  }
  std::uint64_t size_bytes() const { return (std::uint64_t{1} << log2_entries) * entry_bytes; }
  std::uint32_t entries() const { return index_mask + 1; }
  bool empty(std::uint32_t prod, std::uint32_t cons) const { return ((prod ^ cons) & pointer_mask) == 0; }
  bool full(std::uint32_t prod, std::uint32_t cons) const {
    return ((prod ^ cons) & pointer_mask) == (index_mask + 1);
  }
  std::uint32_t next(std::uint32_t pointer) const { return (pointer + 1) & pointer_mask; }
  // At most a queue length between CONS and PROD (IHI 0070 §3.5.1); anything
  // else is an incoherent state.
  bool coherent(std::uint32_t prod, std::uint32_t cons) const { return occupancy(prod, cons) <= index_mask + 1; }
  // Entries between CONS and PROD (the wrap bit makes a full queue distinct from an empty one).
  std::uint32_t occupancy(std::uint32_t prod, std::uint32_t cons) const {
    return ((prod & pointer_mask) - (cons & pointer_mask)) & pointer_mask;
  }
};

inline QueueGeometry queue_geometry(std::uint64_t base_register, unsigned max_log2, std::uint32_t entry_bytes) {
  QueueGeometry g;
  // *_BASE.LOG2SIZE above the IDR1 maximum behaves as the maximum.
  const auto requested = static_cast<unsigned>(queue_base::LOG2SIZE.get(base_register));
  const unsigned limit = max_log2 < queue_pointer::kMaxLog2Entries ? max_log2 : queue_pointer::kMaxLog2Entries;
  g.log2_entries = requested < limit ? requested : limit;
  g.index_mask = (std::uint32_t{1} << g.log2_entries) - 1;
  g.pointer_mask = (std::uint32_t{1} << (g.log2_entries + 1)) - 1;
  g.entry_bytes = entry_bytes;
  // The base is aligned to the queue size (at least 32 bytes): address bits
  // below that alignment are IGNORED.
  std::uint64_t queue_bytes = g.size_bytes();
  if (queue_bytes < 32) queue_bytes = 32;
  g.base_address = (base_register & queue_base::ADDR.mask()) & ~(queue_bytes - 1);
  return g;
}

}  // namespace reg

// CMDQ_CONS.ERR: why the command queue stopped (IHI 0070 §7.1).
enum class CommandError : std::uint8_t {
  None = 0,
  Illegal = 1,     // CERROR_ILL
  Abort = 2,       // CERROR_ABT: external abort on the command fetch
  AtcInvSync = 3,  // CERROR_ATC_INV_SYNC
};

// ---- The register table ---------------------------------------------------------
// Every register of the Non-secure programming interface, once: its name,
// offset, width, when it exists and its reset value. Decode (which offsets are
// registers, and how wide), names in diagnostics and dumps, and reset all come
// from here; the behaviour of each register is in core/programming_interface.

// When a register exists (otherwise its offsets are reserved: RAZ/WI).
enum class RegisterPresence : std::uint8_t {
  Always,
  Msi,     // IDR0.MSI == 1
  Pri,     // IDR0.PRI == 1
  PriMsi,  // IDR0.PRI == 1 and IDR0.MSI == 1
  Atos,    // IDR0.ATOS == 1
  Never,   // a feature the model does not implement (VATOS, AGBPA): reserved
};

constexpr bool register_present(RegisterPresence presence, bool msi, bool pri, bool atos) {
  switch (presence) {
    case RegisterPresence::Atos: return atos;
    case RegisterPresence::Always: return true;
    case RegisterPresence::Msi: return msi;
    case RegisterPresence::Pri: return pri;
    case RegisterPresence::PriMsi: return pri && msi;
    case RegisterPresence::Never: return false;
  }
  return false;
}

struct RegisterLayout {
  const char* name;
  std::uint64_t offset;
  unsigned bytes;  // 4 or 8
  RegisterPresence presence;
  std::uint64_t reset_value;

  constexpr bool contains(std::uint64_t address) const { return address >= offset && address < offset + bytes; }
};

namespace reg {
// GBPA resets with SHCFG = use incoming; ABORT is IMPLEMENTATION DEFINED
// (ProgrammingInterfaceConfig::gbpa_abort_at_reset).
constexpr std::uint64_t kGbpaResetValue = gbpa::SHCFG.set(0, gbpa::kShcfgUseIncoming);

using P = RegisterPresence;
inline constexpr RegisterLayout kRegisters[] = {
    {"IDR0", IDR0, 4, P::Always, 0},
    {"IDR1", IDR1, 4, P::Always, 0},
    {"IDR2", IDR2, 4, P::Always, 0},
    {"IDR3", IDR3, 4, P::Always, 0},
    {"IDR4", IDR4, 4, P::Always, 0},
    {"IDR5", IDR5, 4, P::Always, 0},
    {"IIDR", IIDR, 4, P::Always, 0},
    {"AIDR", AIDR, 4, P::Always, 0},
    {"CR0", CR0, 4, P::Always, 0},
    {"CR0ACK", CR0ACK, 4, P::Always, 0},
    {"CR1", CR1, 4, P::Always, 0},
    {"CR2", CR2, 4, P::Always, 0},
    {"STATUSR", STATUSR, 4, P::Always, 0},
    {"GBPA", GBPA, 4, P::Always, kGbpaResetValue},
    {"AGBPA", AGBPA, 4, P::Never, 0},
    {"IRQ_CTRL", IRQ_CTRL, 4, P::Always, 0},
    {"IRQ_CTRLACK", IRQ_CTRLACK, 4, P::Always, 0},
    {"GERROR", GERROR, 4, P::Always, 0},
    {"GERRORN", GERRORN, 4, P::Always, 0},
    {"GERROR_IRQ_CFG0", GERROR_IRQ_CFG0, 8, P::Msi, 0},
    {"GERROR_IRQ_CFG1", GERROR_IRQ_CFG1, 4, P::Msi, 0},
    {"GERROR_IRQ_CFG2", GERROR_IRQ_CFG2, 4, P::Msi, 0},
    {"STRTAB_BASE", STRTAB_BASE, 8, P::Always, 0},
    {"STRTAB_BASE_CFG", STRTAB_BASE_CFG, 4, P::Always, 0},
    {"CMDQ_BASE", CMDQ_BASE, 8, P::Always, 0},
    {"CMDQ_PROD", CMDQ_PROD, 4, P::Always, 0},
    {"CMDQ_CONS", CMDQ_CONS, 4, P::Always, 0},
    {"EVENTQ_BASE", EVENTQ_BASE, 8, P::Always, 0},
    {"EVENTQ_IRQ_CFG0", EVENTQ_IRQ_CFG0, 8, P::Msi, 0},
    {"EVENTQ_IRQ_CFG1", EVENTQ_IRQ_CFG1, 4, P::Msi, 0},
    {"EVENTQ_IRQ_CFG2", EVENTQ_IRQ_CFG2, 4, P::Msi, 0},
    {"PRIQ_BASE", PRIQ_BASE, 8, P::Pri, 0},
    {"PRIQ_IRQ_CFG0", PRIQ_IRQ_CFG0, 8, P::PriMsi, 0},
    {"PRIQ_IRQ_CFG1", PRIQ_IRQ_CFG1, 4, P::PriMsi, 0},
    {"PRIQ_IRQ_CFG2", PRIQ_IRQ_CFG2, 4, P::PriMsi, 0},
    {"GATOS_CTRL", GATOS_CTRL, 4, P::Atos, 0},
    {"GATOS_SID", GATOS_SID, 8, P::Atos, 0},
    {"GATOS_ADDR", GATOS_ADDR, 8, P::Atos, 0},
    {"GATOS_PAR", GATOS_PAR, 8, P::Atos, 0},
    {"VATOS_SEL", VATOS_SEL, 4, P::Never, 0},
    {"EVENTQ_PROD", EVENTQ_PROD, 4, P::Always, 0},
    {"EVENTQ_CONS", EVENTQ_CONS, 4, P::Always, 0},
    {"PRIQ_PROD", PRIQ_PROD, 4, P::Pri, 0},
    {"PRIQ_CONS", PRIQ_CONS, 4, P::Pri, 0},
};
inline constexpr std::size_t kRegisterCount = sizeof(kRegisters) / sizeof(kRegisters[0]);
}  // namespace reg

// The register that `offset` falls in (either half of a 64-bit register), or
// nullptr for an offset that is no register's.
constexpr const RegisterLayout* find_register(std::uint64_t offset) {
  for (const RegisterLayout& r : reg::kRegisters) {
    if (r.contains(offset)) return &r;
  }
  return nullptr;
}

// The architectural name of the register at `offset` (either half of a 64-bit
// register), or nullptr for a reserved offset.
constexpr const char* register_name(std::uint64_t offset) {
  const RegisterLayout* r = find_register(offset & ~std::uint64_t{0x3});
  return r != nullptr ? r->name : nullptr;
}

}  // namespace smmuv3tlm::smmu
