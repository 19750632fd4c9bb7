#include "smmuv3tlm/models/smmu/arch/atos.h"

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::smmu {

AtosRequest AtosRequest::from_registers(std::uint64_t gatos_sid, std::uint64_t gatos_addr, unsigned sid_bits,
                                        unsigned ssid_bits) {
  namespace g = reg::gatos;
  AtosRequest r;
  r.stream_id = sid_bits == 0 ? 0 : static_cast<std::uint32_t>(g::STREAMID.get(gatos_sid) & mask_bits(sid_bits - 1, 0));
  r.ssv = ssid_bits != 0 && (gatos_sid & g::SSID_VALID) != 0;
  r.substream_id = r.ssv ? static_cast<std::uint32_t>(g::SUBSTREAMID.get(gatos_sid) & mask_bits(ssid_bits - 1, 0)) : 0;
  r.address = gatos_addr & g::ADDR.mask();
  r.stages = static_cast<AtosStages>(g::TYPE.get(gatos_addr));
  r.privileged = (gatos_addr & g::PNU) != 0;
  r.read = (gatos_addr & g::RNW) != 0;
  r.instruction = r.read && (gatos_addr & g::IND) != 0;  // InD is ignored for writes
  r.inhibit_httu = (gatos_addr & g::HTTUI) != 0;
  return r;
}

std::uint64_t AtosResult::par() const {
  namespace g = reg::gatos;
  if (fault) {
    std::uint64_t v = g::FAULT;
    v = g::FAULTCODE.set(v, fault_code & 0xff);
    v = g::REASON.set(v, static_cast<unsigned>(reason));
    return v | (fault_address & g::PAR_ADDR.mask());
  }
  std::uint64_t address = output_address & ~mask_bits(size_log2 - 1, 0);
  std::uint64_t v = 0;
  if (size_log2 > 12) {
    // Size == 1: the translation is 2^(N+1) bytes, N the lowest set ADDR bit.
    address |= 1ull << (size_log2 - 1);
    v |= g::PAR_SIZE;
  }
  v |= address & g::PAR_ADDR.mask();
  v = g::PAR_ATTR.set(v, attributes.type);
  return g::PAR_SH.set(v, static_cast<unsigned>(attributes.shareability));
}

}  // namespace smmuv3tlm::smmu
