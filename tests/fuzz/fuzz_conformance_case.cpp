// Fuzz target: arbitrary bytes as a conformance case file, through the
// runner's checks and then the probes: the reader loads a case or returns an
// error naming the file, never crashing or throwing; a loaded case gets the
// SMMU its smmu_id describes (or a reason), and then either a replay problem
// naming a key of the file or a platform the replay fits: queues inside `ram`
// and large enough for every batch the replay publishes. A replayable case is
// then replayed on the plain-C++ core (the programming interface and the
// translation engine over the case's memory, no simulation), set up as the
// runner's driver does, each probe with its `before` steps, its translation
// (twice: the second answered by the caches must agree with the walk), the
// data access, and an ATOS request for the same address (which must leave the
// TLB as it was).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include <array>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/core/programming_interface.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/platforms/conformance/conformance_case.h"

namespace {

using namespace smmuv3tlm;

constexpr std::uint64_t kMemoryBytes = std::uint64_t{1} << 52;  // the sparse memory's default space

bool inside_some_ram(const conformance::ConformanceCase& c, std::uint64_t pa, std::uint64_t bytes) {
  for (const conformance::RamRange& r : c.ram) {
    if (pa >= r.base && pa - r.base + bytes <= r.size) return true;
  }
  return false;
}

// The case's memory: `ram` ranges (a bus error elsewhere), the fill rule on
// bytes never written, `memory` runs on top.
class CaseMemory : public smmu::MemoryPort {
 public:
  explicit CaseMemory(const conformance::ConformanceCase& c) : case_(c) {}

  bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size, smmu::AccessPurpose) override {
    if (!inside_some_ram(case_, pa, size)) return false;
    for (std::uint32_t i = 0; i < size; ++i) data[i] = byte_at(pa + i);
    return true;
  }
  bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size, smmu::AccessPurpose) override {
    if (!inside_some_ram(case_, pa, size)) return false;
    for (std::uint32_t i = 0; i < size; ++i) page(pa + i)[(pa + i) & 4095] = data[i];
    return true;
  }
  void store64(std::uint64_t pa, std::uint64_t value) {
    std::uint8_t bytes[8];
    for (unsigned i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
    write(pa, bytes, 8, smmu::AccessPurpose::CommandQueue);
  }

 private:
  std::uint8_t filled(std::uint64_t a) const { return conformance::fill_byte(case_.fill, a); }
  std::uint8_t byte_at(std::uint64_t a) const {
    const auto it = pages_.find(a >> 12);
    return it != pages_.end() ? it->second[a & 4095] : filled(a);
  }
  std::array<std::uint8_t, 4096>& page(std::uint64_t a) {
    auto [it, created] = pages_.try_emplace(a >> 12);
    if (created) {
      for (std::uint64_t i = 0; i < 4096; ++i) it->second[i] = filled((a & ~std::uint64_t{4095}) + i);
    }
    return it->second;
  }

  const conformance::ConformanceCase& case_;
  std::unordered_map<std::uint64_t, std::array<std::uint8_t, 4096>> pages_;
};

// The probes on the plain-C++ core, set up as the runner's driver does
// (HostDriver::reset): commands are consumed within the CMDQ_PROD write.
void replay(const conformance::ConformanceCase& c, const smmu::Capabilities& caps) {
  namespace reg = smmu::reg;
  CaseMemory memory(c);
  for (const conformance::MemoryRun& run : c.memory) {
    for (std::size_t i = 0; i < run.qwords.size(); ++i) memory.store64(run.pa + 8 * i, run.qwords[i]);
  }
  smmu::TranslationEngine engine(caps, memory);
  smmu::ProgrammingInterface pi(caps, memory, engine);
  pi.set_control_changed_callback([&] { engine.set_control(pi.translation_control()); });
  const auto cmdq = reg::queue_geometry(c.registers.cmdq_base, caps.cmdq_log2, smmu::kCommandBytes);
  std::uint32_t prod = 0;
  auto submit = [&](const std::vector<std::array<std::uint64_t, 2>>& commands) {
    for (const auto& command : commands) {
      memory.store64(cmdq.entry_address(prod), command[0]);
      memory.store64(cmdq.entry_address(prod) + 8, command[1]);
      prod = cmdq.next(prod);
    }
    pi.write(reg::CMDQ_PROD, prod, 4);
    // A stopped queue (CERROR) ends the replay, as it ends the runner's.
    return reg::queue_pointer::CMDQ_CONS_ERR.get(pi.read(reg::CMDQ_CONS, 4)) == 0;
  };
  auto invalidate_all = [&] {
    std::vector<std::array<std::uint64_t, 2>> words;
    for (const smmu::Command& command : smmu::invalidate_all_commands()) words.push_back(smmu::encode_command(command));
    return submit(words);
  };
  pi.write(reg::CR1, c.registers.cr1, 4);
  pi.write(reg::CR2, c.registers.cr2, 4);
  pi.write(reg::STRTAB_BASE, c.registers.strtab_base, 8);
  pi.write(reg::STRTAB_BASE_CFG, c.registers.strtab_base_cfg, 4);
  pi.write(reg::CMDQ_BASE, c.registers.cmdq_base, 8);
  pi.write(reg::CR0, reg::cr0::CMDQEN, 4);
  if (!invalidate_all()) return;
  pi.write(reg::EVENTQ_BASE, c.registers.eventq_base, 8);
  pi.write(reg::CR0, reg::cr0::CMDQEN | reg::cr0::EVENTQEN, 4);
  if (c.registers.gbpa) pi.write(reg::GBPA, *c.registers.gbpa | reg::gbpa::UPDATE, 4);
  if (c.smmuen) pi.write(reg::CR0, reg::cr0::CMDQEN | reg::cr0::EVENTQEN | reg::cr0::SMMUEN, 4);

  for (const conformance::Probe& probe : c.probes) {
    if (probe.invalidate_before && !invalidate_all()) return;
    for (const conformance::ProbeStep& step : probe.before) {
      if (const auto* stores = std::get_if<conformance::CpuStores>(&step)) {
        for (std::size_t i = 0; i < stores->words.qwords.size(); ++i) {
          memory.store64(stores->words.pa + 8 * i, stores->words.qwords[i]);
        }
      } else if (!submit(std::get<conformance::CommandBatch>(step).commands)) {
        return;
      }
    }
    smmu::TranslationRequest request;
    request.stream_id = probe.stream_id;
    request.ssv = probe.substream_id.has_value();
    request.substream_id = probe.substream_id.value_or(0);
    request.address = probe.iova;
    request.read = probe.op == conformance::ProbeOp::Read;
    request.privileged = probe.privileged;
    request.instruction = probe.instruction;
    const std::uint64_t updates = engine.statistics().hardware_updates;
    const smmu::TranslationResult first = engine.translate(request);
    // What the caches answer agrees with the walk that filled them (before the
    // event record or the data access can change memory; a walk that wrote a
    // descriptor (HTTU) may have changed what the next one reads).
    const smmu::TranslationResult second = engine.translate(request);
    if (engine.statistics().hardware_updates == updates &&
        (second.outcome != first.outcome || second.fault != first.fault ||
         (first.ok() && second.output_address != first.output_address))) {
      std::abort();
    }
    if (first.event) pi.record_event(*first.event);
    if (first.ok()) {
      if (first.size < 4096 || (first.size & (first.size - 1)) != 0) std::abort();
      std::uint8_t data[8] = {};
      if (request.read) {
        memory.read(first.output_address, data, 8, smmu::AccessPurpose::CommandQueue);
      } else {
        memory.write(first.output_address, data, 8, smmu::AccessPurpose::CommandQueue);
      }
    }
    // ATOS reads the tables without touching the TLB.
    const std::size_t entries = engine.tlb().valid_entries();
    smmu::AtosRequest atos;
    atos.stream_id = request.stream_id;
    atos.ssv = request.ssv;
    atos.substream_id = request.substream_id;
    atos.address = request.address & ~std::uint64_t{0xfff};
    atos.read = request.read;
    atos.privileged = request.privileged;
    atos.instruction = request.instruction && request.read;
    atos.stages = static_cast<smmu::AtosStages>(1 + probe.index % 3);
    const smmu::AtosResult result = engine.translate_atos(atos);
    if (engine.tlb().valid_entries() != entries) std::abort();
    // GATOS_PAR says what the result says: FAULT, and for a translation its
    // size by the lowest set ADDR bit (Size = 1) and its page.
    const std::uint64_t par = result.par();
    if (((par & reg::gatos::FAULT) != 0) != result.fault) std::abort();
    if (!result.fault) {
      const std::uint64_t address = par & reg::gatos::PAR_ADDR.mask();
      const bool sized = (par & reg::gatos::PAR_SIZE) != 0;
      if (sized != (result.size_log2 > 12)) std::abort();
      if (sized && static_cast<unsigned>(__builtin_ctzll(address)) + 1 != result.size_log2) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/smmu-fuzz-case-" + std::to_string(getpid()) + ".json";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  const auto result = conformance::load_case(path);
  if (!result.ok()) {
    if (result.error().file != path) std::abort();
    return 0;
  }
  const conformance::ConformanceCase& c = result.value();
  std::string why;
  const std::optional<smmu::Capabilities> caps =
      c.smmu_ids ? smmu::Capabilities::from_idrs(c.smmu_ids->idr0, c.smmu_ids->idr1, c.smmu_ids->idr3, c.smmu_ids->idr5,
                                                 c.smmu_ids->aidr, why)
                 : smmu::Capabilities::preset("qemu-virt");
  if (!caps) {
    if (why.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (const auto problem = conformance::replay_problem(c, *caps, kMemoryBytes)) {
    if (problem->file != path || problem->key.empty() || problem->message.empty()) std::abort();
    return 0;
  }
  // Replayable: what the runner relies on holds.
  const auto cmdq = smmu::reg::queue_geometry(c.registers.cmdq_base, caps->cmdq_log2, smmu::kCommandBytes);
  const auto eventq = smmu::reg::queue_geometry(c.registers.eventq_base, caps->eventq_log2, smmu::kEventRecordBytes);
  if (!inside_some_ram(c, cmdq.base_address, cmdq.size_bytes())) std::abort();
  if (!inside_some_ram(c, eventq.base_address, eventq.size_bytes())) std::abort();
  if (cmdq.entries() < conformance::kInvalidateAllCommands) std::abort();
  for (const conformance::Probe& probe : c.probes) {
    if (probe.iova > ~std::uint64_t{0} - 7 || probe.outcomes.empty()) std::abort();
    for (const conformance::ProbeStep& step : probe.before) {
      if (const auto* batch = std::get_if<conformance::CommandBatch>(&step)) {
        if (batch->commands.size() > cmdq.entries()) std::abort();
      }
    }
  }
  for (const conformance::RamRange& r : c.ram) {
    if (r.base >= kMemoryBytes || r.size > kMemoryBytes - r.base) std::abort();
  }
  replay(c, *caps);
  return 0;
}
