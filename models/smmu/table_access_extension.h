// What an SMMU access on its table-walk socket is for: an ignorable TLM-2.0
// extension the TCU attaches to every transaction it makes there (stream and
// CD table fetches, walks, queue accesses, MSIs, HTTU updates), so that
// interconnect models, monitors and fault injectors downstream can tell the
// SMMU's traffic apart without decoding addresses. Attached for the call only
// (never owned by the payload), so a target must copy it if it keeps it.
#pragma once

#include <cstdint>

#include <tlm>

#include "smmuv3tlm/models/smmu/arch/memory_port.h"

namespace smmuv3tlm::smmu {

class TableAccessExtension : public tlm::tlm_extension<TableAccessExtension> {
 public:
  AccessPurpose purpose = AccessPurpose::StreamTableEntry;
  std::uint32_t stream_id = AccessContext::kNoStream;  // on whose behalf, when one stream's

  tlm::tlm_extension_base* clone() const override { return new TableAccessExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const TableAccessExtension&>(other);
  }
};

}  // namespace smmuv3tlm::smmu
