#include "smmuv3tlm/models/smmu/arch/event.h"

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::smmu {

const char* to_string(EventId id) {
  switch (id) {
    case EventId::F_UUT: return "F_UUT";
    case EventId::C_BAD_STREAMID: return "C_BAD_STREAMID";
    case EventId::F_STE_FETCH: return "F_STE_FETCH";
    case EventId::C_BAD_STE: return "C_BAD_STE";
    case EventId::F_BAD_ATS_TREQ: return "F_BAD_ATS_TREQ";
    case EventId::F_STREAM_DISABLED: return "F_STREAM_DISABLED";
    case EventId::F_TRANSL_FORBIDDEN: return "F_TRANSL_FORBIDDEN";
    case EventId::C_BAD_SUBSTREAMID: return "C_BAD_SUBSTREAMID";
    case EventId::F_CD_FETCH: return "F_CD_FETCH";
    case EventId::C_BAD_CD: return "C_BAD_CD";
    case EventId::F_WALK_EABT: return "F_WALK_EABT";
    case EventId::F_TRANSLATION: return "F_TRANSLATION";
    case EventId::F_ADDR_SIZE: return "F_ADDR_SIZE";
    case EventId::F_ACCESS: return "F_ACCESS";
    case EventId::F_PERMISSION: return "F_PERMISSION";
    case EventId::F_TLB_CONFLICT: return "F_TLB_CONFLICT";
    case EventId::F_CFG_CONFLICT: return "F_CFG_CONFLICT";
    case EventId::E_PAGE_REQUEST: return "E_PAGE_REQUEST";
    case EventId::F_VMS_FETCH: return "F_VMS_FETCH";
  }
  return "UNKNOWN";
}

bool EventRecord::carries_fetch_addr() const {
  return id == EventId::F_STE_FETCH || id == EventId::F_CD_FETCH ||
         id == EventId::F_WALK_EABT || id == EventId::F_VMS_FETCH;
}

std::array<std::uint64_t, 4> EventRecord::encode() const {
  std::array<std::uint64_t, 4> w{};
  w[0] = deposit(w[0], 7, 0, static_cast<std::uint8_t>(id));
  w[0] = deposit(w[0], 11, 11, ssv);
  w[0] = deposit(w[0], 31, 12, ssv ? substream_id : 0);
  w[0] = deposit(w[0], 63, 32, stream_id);
  w[1] = deposit(w[1], 15, 0, stag);
  w[1] = deposit(w[1], 31, 31, stall);
  w[1] = deposit(w[1], 33, 33, pnu);
  w[1] = deposit(w[1], 34, 34, ind);
  w[1] = deposit(w[1], 35, 35, rnw);
  w[1] = deposit(w[1], 39, 39, s2);
  w[1] = deposit(w[1], 41, 40, static_cast<std::uint8_t>(fault_class));
  w[1] = deposit(w[1], 42, 42, nsipa);
  w[1] = deposit(w[1], 44, 44, ttrnw);
  w[2] = input_addr;
  if (carries_fetch_addr()) {
    w[3] = fetch_addr & mask_bits(51, 3);
  } else {
    w[3] = ipa & mask_bits(51, 12);
  }
  return w;
}

EventRecord EventRecord::decode(const std::array<std::uint64_t, 4>& w) {
  EventRecord r;
  r.id = static_cast<EventId>(extract(w[0], 7, 0));
  r.ssv = bit(w[0], 11);
  r.substream_id = static_cast<std::uint32_t>(extract(w[0], 31, 12));
  r.stream_id = static_cast<std::uint32_t>(extract(w[0], 63, 32));
  r.stag = static_cast<std::uint16_t>(extract(w[1], 15, 0));
  r.stall = bit(w[1], 31);
  r.pnu = bit(w[1], 33);
  r.ind = bit(w[1], 34);
  r.rnw = bit(w[1], 35);
  r.s2 = bit(w[1], 39);
  r.fault_class = static_cast<FaultClass>(extract(w[1], 41, 40));
  r.nsipa = bit(w[1], 42);
  r.ttrnw = bit(w[1], 44);
  r.input_addr = w[2];
  if (r.carries_fetch_addr()) {
    r.fetch_addr = w[3] & mask_bits(51, 3);
  } else {
    r.ipa = w[3] & mask_bits(51, 12);
  }
  return r;
}

}  // namespace smmuv3tlm::smmu
