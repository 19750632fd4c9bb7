// Fuzz target: any sequence of register accesses (every register and any
// aligned offset, 4 or 8 bytes, reads and writes of any value), stores into
// the queues' memory and acknowledgements, applied to the programming
// interface. Nothing may crash or hang, and after every step the registers
// keep the architecture's invariants: GERROR holds only defined bits, the
// queue pointers stay within their wrap-and-index fields, and an access
// outside the register space is refused.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../unit/programming_interface_harness.h"

namespace {

using namespace smmuv3tlm::smmu;
using Harness = test::ProgrammingInterfaceHarness;

std::uint64_t take(const std::uint8_t*& data, std::size_t& size, unsigned bytes) {
  std::uint64_t value = 0;
  for (unsigned i = 0; i < bytes && size > 0; ++i, --size) value |= std::uint64_t{*data++} << (8 * i);
  return value;
}

void check_invariants(Harness& h) {
  if ((h.read32(reg::GERROR) & ~reg::gerror::kDefinedBits) != 0) std::abort();
  const std::uint32_t cmdq_cons = h.read32(reg::CMDQ_CONS);
  if ((cmdq_cons & ~(reg::queue_pointer::WRAP_AND_INDEX.mask() | reg::queue_pointer::CMDQ_CONS_ERR.mask())) != 0) {
    std::abort();
  }
  if ((h.read32(reg::EVENTQ_PROD) & ~(reg::queue_pointer::WRAP_AND_INDEX.mask() | reg::queue_pointer::OVFLG)) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const Capabilities kPresets[] = {*Capabilities::preset("mmu-700"), *Capabilities::preset("qemu-virt")};
  ProgrammingInterfaceConfig config;
  config.defer_acks = (data[0] & 2) != 0;
  Harness h(kPresets[data[0] & 1], config);
  ++data;
  --size;
  // Steps: 1 byte of kind, then its operands.
  for (unsigned steps = 0; size > 0 && steps < 512; ++steps) {
    const unsigned kind = static_cast<unsigned>(take(data, size, 1)) % 6;
    const unsigned which = static_cast<unsigned>(take(data, size, 1));
    const std::uint64_t value = take(data, size, 8);
    const RegisterLayout& r = reg::kRegisters[which % reg::kRegisterCount];
    switch (kind) {
      case 0:  // a register, its own width
        h.pi->write(r.offset, value, r.bytes);
        break;
      case 1:  // a register, read at either width (a 64-bit read of a 32-bit register included)
        (void)h.pi->read(r.offset, (which & 0x80) != 0 ? 8 : 4);
        break;
      case 2:  // any aligned offset in the register space, either width
        h.pi->write((value >> 40) & (reg::kRegisterSpaceBytes - 8), value, (which & 1) != 0 ? 8 : 4);
        break;
      case 3:  // a command (or anything) in the command queue's memory
        h.memory.poke64(Harness::kCmdqBase + (which % 64) * 8, value);
        break;
      case 4:
        if (h.pi->has_pending_acks()) h.pi->complete_pending_acks();
        break;
      case 5:  // the queues, programmed the way a driver does, then enabled
        h.setup_command_queue(static_cast<unsigned>(value % 8));
        h.enable(reg::cr0::CMDQEN | ((which & 1) != 0 ? reg::cr0::EVENTQEN : 0u));
        break;
    }
    check_invariants(h);
  }
  return 0;
}
