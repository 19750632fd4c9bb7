// The field layouts of the 64-byte configuration structures, declared once:
// the stream table entry (IHI 0070 §5.2) and the context descriptor (§5.4).
// The SMMU's decoders, the table builder's encoders, the hitless entry writer's
// used-bits masks and the entry dumps all read their bit positions from here.
#pragma once

#include <array>
#include <cstdint>

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::smmu {

// Eight 64-bit words: an STE or a CD as it lies in memory.
using EntryWords = std::array<std::uint64_t, 8>;

// One field: its architectural name, the 64-bit word it lives in and its bits.
// An address field keeps its bit positions (S1ContextPtr, S2TTB, TTBx hold an
// address whose low bits are implied zero); every other field is a number.
struct EntryField {
  const char* name;
  unsigned qword;
  unsigned hi;
  unsigned lo;
  bool address = false;

  constexpr std::uint64_t mask() const { return mask_bits(hi, lo); }
  constexpr std::uint64_t get(const EntryWords& words) const {
    return address ? (words[qword] & mask()) : extract(words[qword], hi, lo);
  }
  constexpr bool is_set(const EntryWords& words) const { return (words[qword] & mask()) != 0; }
  constexpr void set(EntryWords& words, std::uint64_t value) const {
    words[qword] = address ? ((words[qword] & ~mask()) | (value & mask())) : deposit(words[qword], hi, lo, value);
  }
  // Marks the field's bits in a mask of the same shape as an entry.
  constexpr void mark(EntryWords& mask_words) const { mask_words[qword] |= mask(); }
};

namespace ste {
// Word 0.
inline constexpr EntryField V{"V", 0, 0, 0};
inline constexpr EntryField CONFIG{"Config", 0, 3, 1};
inline constexpr EntryField S1FMT{"S1Fmt", 0, 5, 4};
inline constexpr EntryField S1_CONTEXT_PTR{"S1ContextPtr", 0, 51, 6, true};
inline constexpr EntryField S1CDMAX{"S1CDMax", 0, 63, 59};
// Word 1.
inline constexpr EntryField S1DSS{"S1DSS", 1, 1, 0};
inline constexpr EntryField S1CIR{"S1CIR", 1, 3, 2};
inline constexpr EntryField S1COR{"S1COR", 1, 5, 4};
inline constexpr EntryField S1CSH{"S1CSH", 1, 7, 6};
inline constexpr EntryField MEV{"MEV", 1, 19, 19};
inline constexpr EntryField S2FWB{"S2FWB", 1, 25, 25};
inline constexpr EntryField S1STALLD{"S1STALLD", 1, 27, 27};
inline constexpr EntryField EATS{"EATS", 1, 29, 28};
inline constexpr EntryField STRW{"STRW", 1, 31, 30};
inline constexpr EntryField MEMATTR{"MemAttr", 1, 35, 32};
inline constexpr EntryField MTCFG{"MTCFG", 1, 36, 36};
inline constexpr EntryField ALLOCCFG{"ALLOCCFG", 1, 40, 37};
inline constexpr EntryField SHCFG{"SHCFG", 1, 45, 44};
inline constexpr EntryField NSCFG{"NSCFG", 1, 47, 46};
inline constexpr EntryField PRIVCFG{"PRIVCFG", 1, 49, 48};
inline constexpr EntryField INSTCFG{"INSTCFG", 1, 51, 50};
// Word 2.
inline constexpr EntryField S2VMID{"S2VMID", 2, 15, 0};
inline constexpr EntryField S2T0SZ{"S2T0SZ", 2, 37, 32};
inline constexpr EntryField S2SL0{"S2SL0", 2, 39, 38};
inline constexpr EntryField S2IR0{"S2IR0", 2, 41, 40};
inline constexpr EntryField S2OR0{"S2OR0", 2, 43, 42};
inline constexpr EntryField S2SH0{"S2SH0", 2, 45, 44};
inline constexpr EntryField S2TG{"S2TG", 2, 47, 46};
inline constexpr EntryField S2PS{"S2PS", 2, 50, 48};
inline constexpr EntryField S2AA64{"S2AA64", 2, 51, 51};
inline constexpr EntryField S2ENDI{"S2ENDI", 2, 52, 52};
inline constexpr EntryField S2AFFD{"S2AFFD", 2, 53, 53};
inline constexpr EntryField S2PTW{"S2PTW", 2, 54, 54};
inline constexpr EntryField S2HD{"S2HD", 2, 55, 55};
inline constexpr EntryField S2HA{"S2HA", 2, 56, 56};
inline constexpr EntryField S2S{"S2S", 2, 57, 57};
inline constexpr EntryField S2R{"S2R", 2, 58, 58};
// Word 3.
inline constexpr EntryField S2TTB{"S2TTB", 3, 51, 4, true};

inline constexpr std::array<EntryField, 38> kFields = {
    V,       CONFIG,  S1FMT,   S1_CONTEXT_PTR, S1CDMAX, S1DSS,  S1CIR,  S1COR,    S1CSH,  MEV,
    S2FWB,   S1STALLD, EATS,   STRW,           MEMATTR, MTCFG,  ALLOCCFG, SHCFG,  NSCFG,  PRIVCFG,
    INSTCFG, S2VMID,  S2T0SZ,  S2SL0,          S2IR0,   S2OR0,  S2SH0,  S2TG,     S2PS,   S2AA64,
    S2ENDI,  S2AFFD,  S2PTW,   S2HD,           S2HA,    S2S,    S2R,    S2TTB};

// STE.Config values (bit 0 of Config: stage 1 translates; bit 1: stage 2).
inline constexpr unsigned kConfigAbort = 0b000;
inline constexpr unsigned kConfigBypass = 0b100;
inline constexpr unsigned kConfigStage1 = 0b101;
inline constexpr unsigned kConfigStage2 = 0b110;
inline constexpr unsigned kConfigNested = 0b111;

// The bits of `entry` in use in its current configuration, by the rule of
// Linux's arm_smmu_get_ste_used(), which its hitless entry writer and KUnit
// tests rely on: a bit outside the mask may change without V=0 first. The rule
// covers the fields Linux writes; S2AFFD, S2HA, S2HD and the attribute
// overrides, which the SMMU also reads, are outside it (Linux never sets them).
EntryWords used_bits(const EntryWords& entry);
// Bits that may change in place even while in use (Linux's
// arm_smmu_get_ste_update_safe): MEV always (it only merges fault records),
// and EATS' TRANS bit unless either entry has EATS=S1CHK or S2S set.
EntryWords update_safe_bits(const EntryWords& current, const EntryWords& target);
// Whether the SMMU reading `state` during an update from `from` to `to` sees
// one of the two configurations: on the bits `state` uses (less the
// update-safe bits) it equals `from` or `to`. An invalid state (V=0) is
// consistent: the stream aborts, nothing is torn.
bool consistent_state(const EntryWords& state, const EntryWords& from, const EntryWords& to);
}  // namespace ste

namespace cd {
// Word 0.
inline constexpr EntryField T0SZ{"T0SZ", 0, 5, 0};
inline constexpr EntryField TG0{"TG0", 0, 7, 6};
inline constexpr EntryField IR0{"IR0", 0, 9, 8};
inline constexpr EntryField OR0{"OR0", 0, 11, 10};
inline constexpr EntryField SH0{"SH0", 0, 13, 12};
inline constexpr EntryField EPD0{"EPD0", 0, 14, 14};
inline constexpr EntryField ENDI{"ENDI", 0, 15, 15};
inline constexpr EntryField T1SZ{"T1SZ", 0, 21, 16};
inline constexpr EntryField TG1{"TG1", 0, 23, 22};
inline constexpr EntryField IR1{"IR1", 0, 25, 24};
inline constexpr EntryField OR1{"OR1", 0, 27, 26};
inline constexpr EntryField SH1{"SH1", 0, 29, 28};
inline constexpr EntryField EPD1{"EPD1", 0, 30, 30};
inline constexpr EntryField V{"V", 0, 31, 31};
inline constexpr EntryField IPS{"IPS", 0, 34, 32};
inline constexpr EntryField AFFD{"AFFD", 0, 35, 35};
inline constexpr EntryField WXN{"WXN", 0, 36, 36};
inline constexpr EntryField UWXN{"UWXN", 0, 37, 37};
inline constexpr EntryField TBI0{"TBI0", 0, 38, 38};
inline constexpr EntryField TBI1{"TBI1", 0, 39, 39};
inline constexpr EntryField PAN{"PAN", 0, 40, 40};
inline constexpr EntryField AA64{"AA64", 0, 41, 41};
inline constexpr EntryField HD{"HD", 0, 42, 42};
inline constexpr EntryField HA{"HA", 0, 43, 43};
inline constexpr EntryField S{"S", 0, 44, 44};
inline constexpr EntryField R{"R", 0, 45, 45};
inline constexpr EntryField A{"A", 0, 46, 46};
inline constexpr EntryField ASET{"ASET", 0, 47, 47};
inline constexpr EntryField ASID{"ASID", 0, 63, 48};
// Words 1 and 2: the two translation table ranges.
inline constexpr EntryField NSCFG0{"NSCFG0", 1, 0, 0};
inline constexpr EntryField HAD0{"HAD0", 1, 1, 1};
inline constexpr EntryField TTB0{"TTB0", 1, 51, 4, true};
inline constexpr EntryField NSCFG1{"NSCFG1", 2, 0, 0};
inline constexpr EntryField HAD1{"HAD1", 2, 1, 1};
inline constexpr EntryField TTB1{"TTB1", 2, 51, 4, true};
// Words 3 and 4.
inline constexpr EntryField MAIR{"MAIR", 3, 63, 0};
inline constexpr EntryField AMAIR{"AMAIR", 4, 63, 0};

inline constexpr std::array<EntryField, 37> kFields = {
    T0SZ, TG0,  IR0,  OR0,  SH0, EPD0, ENDI,   T1SZ, TG1,  IR1,   OR1,  SH1, EPD1,
    V,    IPS,  AFFD, WXN,  UWXN, TBI0, TBI1,  PAN,  AA64, HD,    HA,   S,   R,
    A,    ASET, ASID, NSCFG0, HAD0, TTB0, NSCFG1, HAD1, TTB1, MAIR, AMAIR};

// The bits of `entry` the SMMU reads (Linux's arm_smmu_get_cd_used(): every bit
// of a valid CD, less the TTB0 range's fields while EPD0 disables it).
EntryWords used_bits(const EntryWords& entry);
// As ste::consistent_state (no CD bit is update-safe).
bool consistent_state(const EntryWords& state, const EntryWords& from, const EntryWords& to);
}  // namespace cd

}  // namespace smmuv3tlm::smmu
