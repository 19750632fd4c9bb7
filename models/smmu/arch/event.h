// Event queue records (IHI 0070 §7.3): IDs and the 32-byte record layout.
#pragma once

#include <array>
#include <cstdint>

namespace smmuv3tlm::smmu {

enum class EventId : std::uint8_t {
  F_UUT = 0x01,
  C_BAD_STREAMID = 0x02,
  F_STE_FETCH = 0x03,
  C_BAD_STE = 0x04,
  F_BAD_ATS_TREQ = 0x05,
  F_STREAM_DISABLED = 0x06,
  F_TRANSL_FORBIDDEN = 0x07,
  C_BAD_SUBSTREAMID = 0x08,
  F_CD_FETCH = 0x09,
  C_BAD_CD = 0x0A,
  F_WALK_EABT = 0x0B,
  F_TRANSLATION = 0x10,
  F_ADDR_SIZE = 0x11,
  F_ACCESS = 0x12,
  F_PERMISSION = 0x13,
  F_TLB_CONFLICT = 0x20,
  F_CFG_CONFLICT = 0x21,
  E_PAGE_REQUEST = 0x24,
  F_VMS_FETCH = 0x25,
};

const char* to_string(EventId id);

// CLASS field of translation-related records: which part of the walk faulted.
enum class FaultClass : std::uint8_t { CD = 0, TT = 1, IN = 2 };

constexpr std::uint32_t kEventRecordBytes = 32;

struct EventRecord {
  EventId id = EventId::F_UUT;
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  // Translation-fault fields (F_TRANSLATION .. F_PERMISSION, F_WALK_EABT, F_UUT ...).
  bool stall = false;
  std::uint16_t stag = 0;
  bool pnu = false;   // 1 = privileged
  bool ind = false;   // 1 = instruction
  bool rnw = false;   // 1 = read
  bool s2 = false;    // fault arose at stage 2
  FaultClass fault_class = FaultClass::CD;
  bool ttrnw = false;  // for HTTU-related faults: the walk access was a read
  bool nsipa = false;
  std::uint64_t input_addr = 0;
  // Dword 3 holds either the IPA (bits 51:12) or a fetch address (bits 51:3),
  // depending on the event type; `fetch_addr` and `ipa` are kept apart here and
  // encode() picks the one the event type defines.
  std::uint64_t ipa = 0;
  std::uint64_t fetch_addr = 0;
  // C_BAD_STE/C_BAD_CD etc. carry no address; F_STE_FETCH/F_CD_FETCH/F_WALK_EABT/
  // F_VMS_FETCH carry FetchAddr; stage-2 translation faults carry the IPA.

  std::array<std::uint64_t, 4> encode() const;
  static EventRecord decode(const std::array<std::uint64_t, 4>& words);
  bool carries_fetch_addr() const;
};

}  // namespace smmuv3tlm::smmu
