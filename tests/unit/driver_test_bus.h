// Driver buses for unit tests: the driver model's core against the SMMU's
// programming interface without a simulation. PiBus consumes one command per
// poll interval (the driver really waits); TranslatingBus executes commands at
// once on a translation engine that reads the same memory, so the driver's
// tables take effect on translations.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "smmuv3tlm/models/smmu/core/programming_interface.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/platforms/driver/smmu_driver.h"
#include "smmuv3tlm/tests/support/map_memory.h"

namespace smmuv3tlm::driver {

class RecordingCaches : public smmu::CacheMaintenance {
 public:
  void execute(const smmu::Command& command) override { executed.push_back(command.opcode); }
  std::vector<smmu::CommandOpcode> executed;
};

// The SMMU's programming interface as the driver's bus. Asynchronous: the
// SMMU consumes one command per poll interval (relax), so the driver really
// waits for CONS, for the MSI word and for room in a full queue.
class PiBus : public DriverBus {
 public:
  explicit PiBus(const smmu::Capabilities& caps, bool asynchronous = true) {
    smmu::ProgrammingInterfaceConfig config;
    config.consume_commands_on_write = !asynchronous;
    pi = std::make_unique<smmu::ProgrammingInterface>(caps, memory, caches, config);
  }
  std::uint64_t read_register(std::uint64_t offset, unsigned bytes) override { return pi->read(offset, bytes); }
  void write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) override {
    writes.push_back(offset);
    pi->write(offset, value, bytes);
  }
  std::uint64_t load64(std::uint64_t pa) override { return memory.peek64(pa); }
  void store64(std::uint64_t pa, std::uint64_t value) override {
    ++stores;
    memory.poke64(pa, value);
  }
  void zero(std::uint64_t pa, std::uint64_t bytes) override { memory.poke(pa, std::vector<std::uint8_t>(bytes).data(), bytes); }
  void clean_to_poc(std::uint64_t, std::uint64_t) override { ++cleans; }
  void relax() override {
    ++relaxes;
    if (pi->command_ready()) pi->consume_command();
  }

  test_support::MapMemory memory;
  RecordingCaches caches;
  std::unique_ptr<smmu::ProgrammingInterface> pi;
  std::vector<std::uint64_t> writes;
  unsigned stores = 0;
  unsigned cleans = 0;
  unsigned relaxes = 0;
};

// The bus over the programming interface and a translation engine reading the
// same memory, so the driver's tables take effect on translations.
class TranslatingBus : public DriverBus {
 public:
  explicit TranslatingBus(const smmu::Capabilities& caps) : engine(caps, memory) {
    pi = std::make_unique<smmu::ProgrammingInterface>(caps, memory, engine);
    pi->set_control_changed_callback([this] { engine.set_control(pi->translation_control()); });
  }
  std::uint64_t read_register(std::uint64_t offset, unsigned bytes) override { return pi->read(offset, bytes); }
  void write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) override {
    writes.push_back(offset);
    pi->write(offset, value, bytes);
  }
  std::uint64_t load64(std::uint64_t pa) override { return memory.peek64(pa); }
  void store64(std::uint64_t pa, std::uint64_t value) override {
    ++stores;
    if (log_stores) store_log.emplace_back(pa, value);
    memory.poke64(pa, value);
  }
  void zero(std::uint64_t pa, std::uint64_t bytes) override { memory.poke(pa, std::vector<std::uint8_t>(bytes).data(), bytes); }
  void clean_to_poc(std::uint64_t, std::uint64_t) override { ++cleans; }
  void relax() override {}

  smmu::TranslationResult translate(std::uint32_t sid, std::uint64_t address = 0x1000, bool write = false,
                                    std::optional<std::uint32_t> ssid = std::nullopt) {
    smmu::TranslationRequest r;
    r.stream_id = sid;
    r.address = address;
    r.read = !write;
    if (ssid) {
      r.ssv = true;
      r.substream_id = *ssid;
    }
    return engine.translate(r);
  }

  test_support::MapMemory memory;
  smmu::TranslationEngine engine;
  std::unique_ptr<smmu::ProgrammingInterface> pi;
  unsigned cleans = 0;
  unsigned stores = 0;
  bool log_stores = false;
  std::vector<std::uint64_t> writes;  // register offsets written, in order
  std::vector<std::pair<std::uint64_t, std::uint64_t>> store_log;
};

inline smmu::Capabilities mmu700() { return *smmu::Capabilities::preset("mmu-700"); }

}  // namespace smmuv3tlm::driver
