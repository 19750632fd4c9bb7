#include "smmuv3tlm/models/smmu/arch/memory_port.h"

namespace smmuv3tlm::smmu {

const char* to_string(AccessPurpose purpose) {
  switch (purpose) {
    case AccessPurpose::StreamTableL1: return "stream-table-l1";
    case AccessPurpose::StreamTableEntry: return "ste";
    case AccessPurpose::ContextDescL1: return "cd-l1";
    case AccessPurpose::ContextDesc: return "cd";
    case AccessPurpose::Stage1Walk: return "s1-walk";
    case AccessPurpose::Stage2Walk: return "s2-walk";
    case AccessPurpose::CommandQueue: return "cmdq";
    case AccessPurpose::EventQueue: return "eventq";
    case AccessPurpose::PriQueue: return "priq";
    case AccessPurpose::Msi: return "msi";
    case AccessPurpose::HardwareUpdate: return "httu";
  }
  return "unknown";
}

bool MemoryPort::read64(std::uint64_t pa, std::uint64_t& value, AccessPurpose purpose,
                        const AccessContext& context) {
  std::uint8_t bytes[8];
  if (!read_for(context, pa, bytes, 8, purpose)) return false;
  value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return true;
}

bool MemoryPort::write64(std::uint64_t pa, std::uint64_t value, AccessPurpose purpose,
                         const AccessContext& context) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  return write_for(context, pa, bytes, 8, purpose);
}

}  // namespace smmuv3tlm::smmu
