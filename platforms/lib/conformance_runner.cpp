#include "platforms/lib/conformance_runner.h"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>

#include <fmt/format.h>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/memory/sparse_memory.h"
#include "models/pcie/dma_master.h"
#include "models/smmu/arch/bits.h"
#include "models/smmu/arch/command.h"
#include "models/smmu/arch/event.h"
#include "models/smmu/arch/registers.h"
#include "models/smmu/smmuv3.h"
#include "tlm/junction.h"

namespace smmuv3tlm::conformance {

std::size_t CaseVerdict::agreeing() const {
  return static_cast<std::size_t>(
      std::count_if(probes.begin(), probes.end(), [](const ProbeVerdict& p) { return p.agrees; }));
}

namespace {

using smmu::EventRecord;
using smmu::mask_bits;
namespace reg = smmu::reg;

constexpr std::uint64_t kCr0CmdqEn = 1u << 3;
constexpr std::uint64_t kCr0EventqEn = 1u << 2;
constexpr std::uint64_t kCr0SmmuEn = 1u << 0;
constexpr std::uint64_t kGbpaUpdate = 1ull << 31;
constexpr int kPollLimit = 10000;
const sc_core::sc_time kPollPeriod(10, sc_core::SC_NS);

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

// A queue's geometry from its *_BASE register: entries at ADDR, 2^LOG2SIZE of them.
struct QueueGeometry {
  std::uint64_t base = 0;
  unsigned log2size = 0;
  explicit QueueGeometry(std::uint64_t base_register) {
    log2size = static_cast<unsigned>(base_register & 0x1f);
    base = base_register & mask_bits(51, 5);
  }
  std::uint64_t index_mask() const { return (1ull << log2size) - 1; }
  std::uint64_t pointer_mask() const { return (2ull << log2size) - 1; }  // index + wrap bit
};

std::string describe_record(const EventRecord& r) {
  return fmt::format("event {:#04x} {} sid={:#x} ssv={} input_addr={:#x} rnw={} s2={} class={} ipa={:#x} fetch_addr={:#x}",
                     static_cast<unsigned>(r.id), smmu::to_string(r.id), r.stream_id, r.ssv ? 1 : 0, r.input_addr,
                     r.rnw ? 1 : 0, r.s2 ? 1 : 0, static_cast<unsigned>(r.fault_class), r.ipa, r.fetch_addr);
}

std::string describe_expectation(const Expectation& e) {
  if (e.result == ExpectedResult::Ok) return "ok pa=" + hex(e.pa.value_or(0));
  std::string s = e.event ? fmt::format("fault event {:#04x}", *e.event) : std::string("fault, no event");
  if (e.input_addr) s += " input_addr=" + hex(*e.input_addr);
  if (e.rnw) s += fmt::format(" rnw={}", *e.rnw ? 1 : 0);
  if (e.ssv) s += fmt::format(" ssv={}", *e.ssv ? 1 : 0);
  if (e.s2) s += fmt::format(" s2={}", *e.s2 ? 1 : 0);
  if (e.event_class) s += fmt::format(" class={}", *e.event_class);
  if (e.ipa) s += " ipa=" + hex(*e.ipa);
  if (e.fetch_addr) s += " fetch_addr=" + hex(*e.fetch_addr);
  return s;
}

// Which named fields of the expectation the record fails; empty when it matches.
std::string record_mismatches(const Expectation& e, const EventRecord& r, std::uint32_t stream_id) {
  std::string bad;
  if (e.event && static_cast<std::uint8_t>(r.id) != *e.event) bad += " event";
  if (r.stream_id != e.stream_id.value_or(stream_id)) bad += " stream_id";
  if (e.input_addr && r.input_addr != *e.input_addr) bad += " input_addr";
  if (e.rnw && r.rnw != *e.rnw) bad += " rnw";
  if (e.ssv && r.ssv != *e.ssv) bad += " ssv";
  if (e.s2 && r.s2 != *e.s2) bad += " s2";
  if (e.event_class && static_cast<unsigned>(r.fault_class) != *e.event_class) bad += " class";
  // The IPA field holds bits 51:12; FetchAddr bits 51:3.
  if (e.ipa && r.ipa != (*e.ipa & mask_bits(51, 12))) bad += " ipa";
  if (e.fetch_addr && r.fetch_addr != (*e.fetch_addr & mask_bits(51, 3))) bad += " fetch_addr";
  return bad;
}

class CasePlatform : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CasePlatform);

  CasePlatform(const sc_core::sc_module_name& name, const ConformanceCase& c, const smmu::Smmuv3Config& smmu_config,
               CaseVerdict& verdict)
      : sc_core::sc_module(name),
        memory_("memory"),
        junction_("junction"),
        smmu_("smmu", smmu_config),
        master_("master", master_config(c)),
        cpu_("cpu"),
        case_(c),
        verdict_(verdict) {
    for (const RamRange& r : c.ram) memory_.add_region(r.base, r.size);
    const FillWindow fill = c.fill;
    memory_.set_untouched_fill([fill](std::uint64_t pa, std::uint8_t* data, std::size_t len) {
      for (std::size_t i = 0; i < len; ++i) {
        const std::uint64_t a = pa + i;
        const std::uint64_t word = a & ~7ull;
        data[i] = (word >= fill.lo && word < fill.hi) ? static_cast<std::uint8_t>(word >> (8 * (a & 7))) : 0;
      }
    });
    for (const MemoryRun& run : c.memory) {
      for (std::size_t i = 0; i < run.qwords.size(); ++i) memory_.write64(run.pa + 8 * i, run.qwords[i]);
    }
    master_.socket.bind(smmu_.upstream(0));
    smmu_.downstream.bind(junction_.in);   // junction initiator 0: translated traffic
    smmu_.table_walk.bind(junction_.in);   // junction initiator 1: walks, queues, MSI
    junction_.out.bind(memory_.socket);
    cpu_.bind(smmu_.registers);
    smmu_.irq_eventq.bind(irq_[0]);
    smmu_.irq_gerror.bind(irq_[1]);
    smmu_.irq_priq.bind(irq_[2]);
    smmu_.irq_cmd_sync.bind(irq_[3]);
    junction_.set_observer([this](int initiator, const tlm::tlm_generic_payload& trans) {
      if (initiator == 0) downstream_addresses_.push_back(trans.get_address());
    });
    SC_THREAD(run);
  }

 private:
  static pcie::DmaMasterConfig master_config(const ConformanceCase& c) {
    pcie::DmaMasterConfig config;
    config.stream_id = c.stream_id;
    config.address_bits = 64;  // IOVAs use the whole 64-bit space
    return config;
  }

  std::uint64_t reg_access(tlm::tlm_command command, std::uint64_t offset, std::uint64_t value, unsigned size) {
    std::array<std::uint8_t, 8> bytes{};
    for (unsigned i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(offset);
    trans.set_data_ptr(bytes.data());
    trans.set_data_length(size);
    trans.set_streaming_width(size);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    cpu_->b_transport(trans, delay);
    wait(delay);
    if (!trans.is_response_ok()) throw std::runtime_error("register access at " + hex(offset) + " failed");
    std::uint64_t result = 0;
    for (unsigned i = size; i-- > 0;) result = (result << 8) | bytes[i];
    return result;
  }
  std::uint64_t read_reg(std::uint64_t offset, unsigned size = 4) {
    return reg_access(tlm::TLM_READ_COMMAND, offset, 0, size);
  }
  void write_reg(std::uint64_t offset, std::uint64_t value, unsigned size = 4) {
    reg_access(tlm::TLM_WRITE_COMMAND, offset, value, size);
  }
  void poll(const char* what, const std::function<bool()>& done) {
    for (int i = 0; i < kPollLimit; ++i) {
      if (done()) return;
      wait(kPollPeriod);
    }
    throw std::runtime_error(std::string("timed out waiting for ") + what);
  }
  void write_cr0(std::uint64_t value) {
    write_reg(reg::CR0, value);
    poll("CR0ACK", [&] { return read_reg(reg::CR0ACK) == value; });
  }

  // Writes commands at CMDQ_PROD, publishes them and waits until CONS catches up.
  void submit(const std::vector<std::array<std::uint64_t, 2>>& commands) {
    const QueueGeometry q(case_.registers.cmdq_base);
    for (const auto& command : commands) {
      const std::uint64_t slot = q.base + (cmdq_prod_ & q.index_mask()) * smmu::kCommandBytes;
      memory_.write64(slot, command[0]);
      memory_.write64(slot + 8, command[1]);
      cmdq_prod_ = (cmdq_prod_ + 1) & q.pointer_mask();
    }
    write_reg(reg::CMDQ_PROD, cmdq_prod_);
    poll("CMDQ_CONS to reach CMDQ_PROD", [&] {
      const std::uint64_t cons = read_reg(reg::CMDQ_CONS);
      if (smmu::extract(cons, 30, 24) != 0) throw std::runtime_error("command queue error " + hex(cons));
      return (cons & q.pointer_mask()) == cmdq_prod_;
    });
  }
  void invalidate_all() {
    smmu::Command cfgi_all;
    cfgi_all.opcode = smmu::CommandOpcode::CFGI_STE_RANGE;
    cfgi_all.range = 31;
    smmu::Command tlbi;
    tlbi.opcode = smmu::CommandOpcode::TLBI_NSNH_ALL;
    smmu::Command sync;
    sync.opcode = smmu::CommandOpcode::CMD_SYNC;
    submit({smmu::encode_command(cfgi_all), smmu::encode_command(tlbi), smmu::encode_command(sync)});
  }

  void program_smmu() {
    const SmmuRegisters& r = case_.registers;
    write_cr0(0);
    write_reg(reg::CR1, r.cr1);
    write_reg(reg::CR2, r.cr2);
    write_reg(reg::STRTAB_BASE, r.strtab_base, 8);
    write_reg(reg::STRTAB_BASE_CFG, r.strtab_base_cfg);
    write_reg(reg::CMDQ_BASE, r.cmdq_base, 8);
    write_reg(reg::CMDQ_PROD, 0);
    write_reg(reg::CMDQ_CONS, 0);
    std::uint64_t cr0 = kCr0CmdqEn;
    write_cr0(cr0);
    invalidate_all();
    write_reg(reg::EVENTQ_BASE, r.eventq_base, 8);
    write_reg(reg::EVENTQ_PROD, 0);
    write_reg(reg::EVENTQ_CONS, 0);
    cr0 |= kCr0EventqEn;
    write_cr0(cr0);
    if (r.gbpa) {
      write_reg(reg::GBPA, (*r.gbpa & ~kGbpaUpdate) | kGbpaUpdate);
      poll("GBPA.UPDATE to clear", [&] { return (read_reg(reg::GBPA) & kGbpaUpdate) == 0; });
    }
    if (case_.smmuen) write_cr0(cr0 | kCr0SmmuEn);
  }

  std::vector<EventRecord> drain_events() {
    const QueueGeometry q(case_.registers.eventq_base);
    std::vector<EventRecord> records;
    const std::uint64_t prod = read_reg(reg::EVENTQ_PROD);
    std::uint64_t cons = read_reg(reg::EVENTQ_CONS) & q.pointer_mask();
    for (int guard = 0; (cons & q.pointer_mask()) != (prod & q.pointer_mask()) && guard < (1 << 20); ++guard) {
      const std::uint64_t slot = q.base + (cons & q.index_mask()) * smmu::kEventRecordBytes;
      std::array<std::uint64_t, 4> words{};
      for (unsigned i = 0; i < 4; ++i) words[i] = memory_.read64(slot + 8 * i);
      records.push_back(EventRecord::decode(words));
      cons = (cons + 1) & q.pointer_mask();
    }
    // Acknowledge: CONS catches up, OVACKFLG follows OVFLG (bit 31).
    write_reg(reg::EVENTQ_CONS, cons | (prod & (1ull << 31)));
    return records;
  }

  void run_probe(const Probe& probe) {
    ProbeVerdict v;
    v.index = probe.index;
    v.read = probe.op == ProbeOp::Read;
    v.iova = probe.iova;
    v.why = probe.why;
    v.expected = describe_expectation(probe.expect);
    if (probe.invalidate_before) invalidate_all();
    downstream_addresses_.clear();
    std::array<std::uint8_t, 8> data{};
    const std::uint64_t written = ~probe.iova ^ 0x5a5a5a5a5a5a5a5aull;
    if (!v.read) {
      for (unsigned i = 0; i < 8; ++i) data[i] = static_cast<std::uint8_t>(written >> (8 * i));
    }
    const pcie::DmaResult dma =
        master_.transfer(v.read ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND, probe.iova, data.data(), 8);
    std::uint64_t value = 0;
    for (unsigned i = 8; i-- > 0;) value = (value << 8) | data[i];
    const std::vector<EventRecord> records = drain_events();

    std::string observed;
    if (dma.ok()) {
      observed = downstream_addresses_.size() == 1 ? "ok pa=" + hex(downstream_addresses_[0])
                                                   : fmt::format("ok with {} downstream accesses",
                                                                 downstream_addresses_.size());
      if (v.read) observed += " data=" + hex(value);
    } else {
      observed = dma.accepted ? fmt::format("error response {}", static_cast<int>(dma.status)) : "DMA rejected";
    }
    for (const EventRecord& r : records) observed += "; " + describe_record(r);

    const Expectation& e = probe.expect;
    if (e.result == ExpectedResult::Ok) {
      const std::uint64_t pa = e.pa.value_or(0);
      bool agrees = dma.ok() && records.empty() && downstream_addresses_.size() == 1 &&
                    downstream_addresses_[0] == pa;
      if (agrees && v.read) agrees = value == memory_.read64(pa);
      if (agrees && !v.read) agrees = memory_.read64(pa) == written;
      v.agrees = agrees;
    } else {
      bool agrees = dma.accepted && !dma.ok() && downstream_addresses_.empty();
      if (e.event) {
        agrees = agrees && records.size() == 1;
        if (agrees) {
          const std::string bad = record_mismatches(e, records[0], case_.stream_id);
          if (!bad.empty()) {
            agrees = false;
            observed += " (differs in:" + bad + ")";
          }
        }
      } else {
        agrees = agrees && records.empty();
      }
      v.agrees = agrees;
    }
    v.observed = observed;
    verdict_.probes.push_back(std::move(v));
  }

  void run() {
    try {
      program_smmu();
      for (const Probe& probe : case_.probes) run_probe(probe);
    } catch (const std::exception& error) {
      verdict_.error = error.what();
    }
  }

  memory::SparseMemory memory_;
  tlm_ext::Junction junction_;
  smmu::Smmuv3 smmu_;
  pcie::DmaMaster master_;
  tlm_utils::simple_initiator_socket<CasePlatform> cpu_;
  std::array<sc_core::sc_signal<bool>, 4> irq_;
  const ConformanceCase& case_;
  CaseVerdict& verdict_;
  std::uint64_t cmdq_prod_ = 0;
  std::vector<std::uint64_t> downstream_addresses_;
};

}  // namespace

std::vector<CaseVerdict> run_cases(const std::vector<ConformanceCase>& cases) {
  std::vector<CaseVerdict> verdicts(cases.size());
  std::vector<std::unique_ptr<CasePlatform>> platforms;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const ConformanceCase& c = cases[i];
    verdicts[i].name = c.name;
    verdicts[i].file = c.source_path;
    std::string why;
    std::optional<smmu::Capabilities> caps =
        c.smmu_ids ? smmu::Capabilities::from_idrs(c.smmu_ids->idr0, c.smmu_ids->idr1, c.smmu_ids->idr3,
                                                   c.smmu_ids->idr5, c.smmu_ids->aidr, why)
                   : smmu::Capabilities::preset("qemu-virt");
    if (!caps) {
      verdicts[i].error = "the model cannot advertise smmu_id: " + why;
      continue;
    }
    smmu::Smmuv3Config config;
    config.capabilities = *caps;
    config.default_stream_ids = {c.stream_id};
    platforms.push_back(std::make_unique<CasePlatform>(fmt::format("case_{}", i).c_str(), c, config,
                                                       verdicts[i]));
  }
  if (!platforms.empty()) sc_core::sc_start();
  return verdicts;
}

}  // namespace smmuv3tlm::conformance
