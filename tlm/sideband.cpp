#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::tlm_ext {

const char* to_string(AtsType type) {
  switch (type) {
    case AtsType::Untranslated: return "untranslated";
    case AtsType::TranslationRequest: return "translation-request";
    case AtsType::Translated: return "translated";
  }
  return "unknown";
}

tlm::tlm_extension_base* SidebandExtension::clone() const { return new SidebandExtension(*this); }

void SidebandExtension::copy_from(const tlm::tlm_extension_base& other) {
  *this = static_cast<const SidebandExtension&>(other);
}

}  // namespace smmuv3tlm::tlm_ext
