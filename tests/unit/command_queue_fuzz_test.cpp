// Random commands through the command queue: the engine must agree with
// decode_command on every entry (legal ones execute in order, illegal ones stop
// the queue with CERROR_ILL at exactly that entry), never hang, and recover each
// time software skips the bad entry the way Linux does.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "smmuv3tlm/tests/unit/programming_interface_harness.h"

namespace smmuv3tlm::smmu {
namespace {

using test::ProgrammingInterfaceHarness;
using Harness = ProgrammingInterfaceHarness;

class CommandGenerator {
 public:
  explicit CommandGenerator(std::uint64_t seed) : rng_(seed) {}

  std::array<std::uint64_t, 2> next() {
    const unsigned mode = static_cast<unsigned>(rng_() % 10);
    if (mode == 0) return {rng_(), rng_()};  // anything at all
    const CommandOpcode op = kAllCommandOpcodes[rng_() % kAllCommandOpcodes.size()];
    std::array<std::uint64_t, 2> words = {rng_(), rng_()};
    if (mode >= 3) {
      // Mostly well-formed: only the bits the layout defines.
      const auto defined = command_defined_bits(op);
      words[0] &= defined[0];
      words[1] &= defined[1];
      if (rng_() % 10 != 0) words[0] &= ~(std::uint64_t{1} << 10);  // SSec = 0
    }
    words[0] = (words[0] & ~std::uint64_t{0xFF}) | static_cast<std::uint8_t>(op);
    if (op == CommandOpcode::CMD_SYNC) {
      // Keep MSIs away from the queue: a doorbell page, 4-byte aligned.
      words[1] = (words[1] & ~mask_bits(51, 2)) |
                 ((Harness::kMsiDoorbell & ~std::uint64_t{0xFFF}) + ((rng_() % 1024) * 4));
    }
    return words;
  }

  std::uint32_t batch_size(std::uint32_t max) {
    return 1 + static_cast<std::uint32_t>(rng_() % max);
  }

 private:
  std::mt19937_64 rng_;
};

bool completes_without_caches(CommandOpcode op) {
  return op == CommandOpcode::CMD_SYNC || op == CommandOpcode::PRI_RESP ||
         op == CommandOpcode::RESUME || op == CommandOpcode::STALL_TERM;
}

struct FuzzTotals {
  std::uint64_t legal = 0;
  std::uint64_t illegal = 0;
};

FuzzTotals run_fuzz(const Capabilities& caps, std::uint64_t seed, std::uint32_t total_commands) {
  Harness h(caps);
  h.memory.set_logging(false);
  std::uint64_t diagnostics = 0;
  h.pi->set_diagnostics_callback([&](Severity, const std::string&) { ++diagnostics; });
  constexpr unsigned kLog2 = 8;  // 256 entries
  h.setup_command_queue(kLog2);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.enable(reg::cr0::CMDQEN);

  CommandGenerator generator(seed);
  FuzzTotals totals;
  std::uint64_t skips = 0;
  std::uint32_t sent = 0;
  while (sent < total_commands) {
    const std::uint32_t batch =
        std::min(generator.batch_size((1u << kLog2) - 1), total_commands - sent);
    std::vector<std::array<std::uint64_t, 2>> expected_in_caches;
    std::vector<std::uint32_t> illegal_pointers;
    std::uint64_t expected_local = 0;
    for (std::uint32_t i = 0; i < batch; ++i) {
      const auto words = generator.next();
      std::string why;
      const auto decoded = decode_command(words, caps, why);
      if (!decoded) {
        illegal_pointers.push_back(h.software_prod);
        ++totals.illegal;
      } else if (completes_without_caches(decoded->opcode)) {
        ++expected_local;
        ++totals.legal;
      } else {
        expected_in_caches.push_back(words);
        ++totals.legal;
      }
      h.stage(words);
    }
    sent += batch;

    const std::size_t caches_before = h.caches.executed.size();
    const std::uint64_t executed_before = h.pi->statistics().commands_executed;
    h.publish();
    const std::uint32_t mask = h.pointer_mask(kLog2);
    std::size_t next_illegal = 0;
    std::uint32_t guard = 0;
    while ((h.read32(reg::CMDQ_CONS) & mask) != h.software_prod) {
      // The queue only stops early on an error, at the next illegal entry.
      if (!h.cmdq_error_active()) {
        ADD_FAILURE() << "queue stopped without an error at CONS " << h.read32(reg::CMDQ_CONS);
        return totals;
      }
      const std::uint32_t cons = h.read32(reg::CMDQ_CONS);
      if (h.cmdq_cons_error() != 1u || next_illegal >= illegal_pointers.size() ||
          (cons & mask) != illegal_pointers[next_illegal]) {
        ADD_FAILURE() << "unexpected stop: CONS " << std::hex << cons << " expected illegal at "
                      << (next_illegal < illegal_pointers.size() ? illegal_pointers[next_illegal]
                                                                 : ~0u);
        return totals;
      }
      ++next_illegal;
      h.skip_illegal_command_like_linux();
      ++skips;
      if (++guard > batch) {
        ADD_FAILURE() << "no progress";
        return totals;
      }
    }
    if (next_illegal != illegal_pointers.size() || h.cmdq_error_active()) {
      ADD_FAILURE() << "illegal commands not all reported: " << next_illegal << " of "
                    << illegal_pointers.size();
      return totals;
    }
    // Legal maintenance commands reached the caches, in order; the rest completed.
    const std::size_t new_in_caches = h.caches.executed.size() - caches_before;
    if (new_in_caches != expected_in_caches.size()) {
      ADD_FAILURE() << "caches got " << new_in_caches << " commands, expected "
                    << expected_in_caches.size();
      return totals;
    }
    for (std::size_t i = 0; i < new_in_caches; ++i) {
      if (h.caches.executed[caches_before + i].raw != expected_in_caches[i]) {
        ADD_FAILURE() << "command " << i << " of the batch reached the caches out of order";
        return totals;
      }
    }
    const std::uint64_t executed = h.pi->statistics().commands_executed - executed_before;
    // Each skipped entry executes as the CMD_SYNC that replaced it.
    EXPECT_EQ(executed, expected_in_caches.size() + expected_local + illegal_pointers.size());
  }
  EXPECT_EQ(h.pi->statistics().commands_illegal, totals.illegal);
  EXPECT_EQ(skips, totals.illegal);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
  EXPECT_GE(diagnostics, totals.illegal);
  return totals;
}

TEST(CommandQueueFuzz, HundredThousandRandomCommands) {
  const FuzzTotals totals = run_fuzz(Capabilities{}, 0x5EED'0001, 100'000);
  EXPECT_EQ(totals.legal + totals.illegal, 100'000u);
  // The generator produces plenty of both.
  EXPECT_GT(totals.legal, 30'000u);
  EXPECT_GT(totals.illegal, 20'000u);
}

TEST(CommandQueueFuzz, QemuVirtCapabilities) {
  const FuzzTotals totals = run_fuzz(*Capabilities::preset("qemu-virt"), 0x5EED'0002, 20'000);
  EXPECT_EQ(totals.legal + totals.illegal, 20'000u);
  EXPECT_GT(totals.legal, 3'000u);
}

}  // namespace
}  // namespace smmuv3tlm::smmu
