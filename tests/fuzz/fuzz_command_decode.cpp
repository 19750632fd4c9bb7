// Fuzz target: any 16 bytes given to the command decoder. A legal command must
// encode back to exactly the same words; nothing may crash.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/command.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 17) return 0;
  std::array<std::uint64_t, 2> words{};
  std::memcpy(words.data(), data, 16);
  using smmuv3tlm::smmu::Capabilities;
  static const Capabilities kPresets[] = {*Capabilities::preset("mmu-700"), *Capabilities::preset("qemu-virt")};
  const Capabilities& caps = kPresets[data[16] & 1];
  std::string why;
  const auto command = smmuv3tlm::smmu::decode_command(words, caps, why);
  if (command && smmuv3tlm::smmu::encode_command(*command) != words) std::abort();
  if (!command && why.empty()) std::abort();  // an illegal command always says why
  return 0;
}
