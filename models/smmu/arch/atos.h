// Address translation operations (IHI 0070 chapter 9): a translation software
// requests through SMMU_GATOS_SID and SMMU_GATOS_ADDR, and its result as
// SMMU_GATOS_PAR reports it. The field layout is reg::gatos.
#pragma once

#include <cstdint>

#include "smmuv3tlm/models/smmu/arch/memory_attributes.h"

namespace smmuv3tlm::smmu {

// GATOS_ADDR.TYPE.
enum class AtosStages : std::uint8_t { Reserved = 0, Stage1 = 1, Stage2 = 2, Both = 3 };

struct AtosRequest {
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  std::uint64_t address = 0;  // ADDR[63:12]: a page address
  AtosStages stages = AtosStages::Both;
  bool privileged = false;     // PnU
  bool read = true;            // RnW
  bool instruction = false;    // InD (writes are data)
  bool inhibit_httu = false;   // HTTUI: no Access flag or dirty-state update is written

  // The request the two registers hold; fields beyond the SMMU's StreamID and
  // SubstreamID sizes are RES0 (masked).
  static AtosRequest from_registers(std::uint64_t gatos_sid, std::uint64_t gatos_addr, unsigned sid_bits,
                                    unsigned ssid_bits);
};

// GATOS_PAR.REASON of a fault (§6.3.40).
enum class AtosFaultReason : std::uint8_t {
  Stage1OrConfiguration = 0b00,  // a stage-1 fault, or any configuration or request error
  Stage2OnCdFetch = 0b01,        // FADDR: the CD's IPA
  Stage2OnTableWalk = 0b10,      // FADDR: the stage-1 descriptor's IPA
  Stage2OnInput = 0b11,          // FADDR: the IPA (zero for a stage-2-only request)
};

struct AtosResult {
  bool fault = false;
  // FAULT == 0
  std::uint64_t output_address = 0;  // the translated page or block
  unsigned size_log2 = 12;           // the translation's size
  MemoryAttributes attributes;
  // FAULT == 1
  unsigned fault_code = 0;  // an event number, or reg::gatos::kInvReq / kInvStage / kInternalError
  AtosFaultReason reason = AtosFaultReason::Stage1OrConfiguration;
  std::uint64_t fault_address = 0;

  static AtosResult error(unsigned code) {
    AtosResult r;
    r.fault = true;
    r.fault_code = code;
    return r;
  }
  // As GATOS_PAR reads: output bits [55:12] with the Size encoding (§6.3.40),
  // ATTR and SH; or FAULTCODE, REASON and FADDR.
  std::uint64_t par() const;
};

}  // namespace smmuv3tlm::smmu
