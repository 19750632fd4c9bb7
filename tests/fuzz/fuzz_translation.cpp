// Fuzz target: arbitrary memory contents under a fixed stream table layout, and
// arbitrary requests. The engine must never crash, must end every translation
// with a defined outcome, and must produce a record only with a fault.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"

namespace {

using namespace smmuv3tlm::smmu;

// Memory: the fuzz input, repeated, backs [0, 1 MiB); everything else aborts.
class FuzzMemory : public MemoryPort {
 public:
  FuzzMemory(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool read(std::uint64_t pa, std::uint8_t* out, std::uint32_t n, AccessPurpose) override {
    if (pa >= kSize || n > kSize - pa) return false;
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto it = writes_.find(pa + i);
      out[i] = it != writes_.end() ? it->second : data_[(pa + i) % size_];
    }
    return true;
  }
  bool write(std::uint64_t pa, const std::uint8_t* in, std::uint32_t n, AccessPurpose) override {
    if (pa >= kSize || n > kSize - pa) return false;
    for (std::uint32_t i = 0; i < n; ++i) writes_[pa + i] = in[i];
    return true;
  }

 private:
  static constexpr std::uint64_t kSize = 1 << 20;
  const std::uint8_t* data_;
  std::size_t size_;
  std::map<std::uint64_t, std::uint8_t> writes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 64) return 0;
  Capabilities caps = *Capabilities::preset("mmu-700");
  caps.httu = (data[0] & 1) ? HttuSupport::AccessAndDirty : HttuSupport::None;
  caps.ssid_bits = data[1] % 21;
  FuzzMemory memory(data, size);
  TranslationConfig config;
  config.tlb.entries = 8 << (data[2] & 3);
  config.tlb.ways = 2;
  TranslationEngine engine(caps, memory, config);
  TranslationControl control;
  control.smmu_enabled = true;
  control.strtab_base = 0;
  control.strtab_base_cfg = (data[3] & 1) ? (1u << 16) | (6u << 6) | 10u : 8u;
  engine.set_control(control);
  for (std::size_t i = 4; i + 12 <= size && i < 4 + 12 * 64; i += 12) {
    TranslationRequest request;
    std::uint64_t address = 0;
    std::memcpy(&address, data + i, 8);
    request.address = address;
    request.stream_id = data[i + 8] & 0x3f;
    request.read = data[i + 9] & 1;
    request.privileged = data[i + 9] & 2;
    request.instruction = data[i + 9] & 4;
    request.ssv = data[i + 9] & 8;
    request.substream_id = data[i + 10];
    const TranslationResult result = engine.translate(request);
    if (result.event && !result.fault) std::abort();
    if (result.ok() && result.fault) std::abort();
    if (data[i + 11] == 0xff) {
      Command tlbi;
      tlbi.opcode = CommandOpcode::TLBI_NSNH_ALL;
      engine.execute(tlbi);
    }
  }
  return 0;
}
