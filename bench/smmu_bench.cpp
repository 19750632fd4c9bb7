// Host speed of the translation path, measured in one run against the no-SMMU
// baseline: 64-byte DMA reads straight to memory, through the SMMU on IOTLB hits
// (stage 1, 4K), and on IOTLB misses (4-level stage-1 walk, stage 2, nested).
// The approximately-timed mode's speed, in transactions per host second, on a
// third SMMU (smmu.timing=at, a 16-entry TLB) fed by a pipelined DMA master
// with 16 requests in flight: streaming through pages (micro-TLB and TLB
// hits) and a new page on every access (walks).
// DMI: 64-byte reads and writes through windows the SMMU granted against
// windows from memory itself.
// Ends with one line per ratio: `ratio <name>: <value>`, then the AT rates.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/bench/driver_bench.h"
#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/models/pcie/dma_master.h"
#include "smmuv3tlm/platforms/lib/smmu_system.h"
#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"
#include "smmuv3tlm/tlm/junction.h"
#include "smmuv3tlm/models/common/systemc_banner.h"

namespace {

using namespace smmuv3tlm;

constexpr std::uint64_t kTables = 0x40000000;
constexpr std::uint64_t kBuffer = 0x80000000;
constexpr std::uint64_t kIova = 0x100000000000;  // far enough apart to use distinct level-0..2 tables
constexpr std::uint64_t kMissStride = 0x8040201000;  // changes the index at every level of a 4K walk
constexpr unsigned kMissPages = 64;
constexpr std::uint32_t kSidS1 = 1, kSidS2 = 2, kSidNested = 3;
// The DMI scaling benchmark: up to kScaleMax bytes at kScaleIova, mapped page
// by page (every 4 KiB page its own DMI grant) onto kScaleBuffer.
constexpr std::uint64_t kScaleIova = 0x200000000000;
constexpr std::uint64_t kScaleBuffer = 0x100000000;
constexpr std::uint64_t kScaleMax = 128ull << 20;

// Two SMMU systems with the same tables: `hit` with a large IOTLB, `miss` with
// a one-entry IOTLB so that alternating pages always walk. Each SMMU has ports
// for the S1, S2 and nested streams; `direct` reaches the hit system's memory
// through its junction without an SMMU.
class BenchPlatform : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(BenchPlatform);
  platform::SmmuSystem hit{"hit", config(1024)};
  platform::SmmuSystem miss{"miss", config(1)};
  platform::SmmuSystem at{"at", at_config()};
  pcie::DmaMaster at_master{"at_master"};
  pcie::DmaMaster scale_master{"scale_master", scale_master_config()};
  tlm_utils::simple_initiator_socket<BenchPlatform> direct{"direct"};
  // One bare interconnect hop (a Junction) in front of the same path: what
  // any component between master and memory costs with standard sockets.
  tlm_ext::Junction hop{"hop"};
  tlm_utils::simple_initiator_socket<BenchPlatform> through_hop{"through_hop"};
  std::array<std::unique_ptr<tlm_utils::simple_initiator_socket<BenchPlatform>>, 6> dev;
  platform::SmmuSetup setup;
  std::string error;

  explicit BenchPlatform(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
    for (unsigned i = 0; i < dev.size(); ++i) {
      dev[i] = std::make_unique<tlm_utils::simple_initiator_socket<BenchPlatform>>(fmt::format("dev{}", i).c_str());
      dev[i]->bind((i < 3 ? hit : miss).smmu.upstream(i % 3));
    }
    direct.bind(hit.junction.in);
    through_hop.bind(hop.in);
    hop.out.bind(hit.junction.in);
    at_master.socket.bind(at.smmu.upstream(0));
    scale_master.socket.bind(hit.smmu.upstream(3));
    build_tables(hit.memory);
    build_tables(miss.memory);
    build_tables(at.memory);
    SC_THREAD(program);
    SC_THREAD(serve_at_batches);
    SC_THREAD(serve_scaling);
  }

  // An AT batch: `requests` through the pipelined master, run by the thread
  // below while the benchmark calls sc_start.
  std::vector<pcie::PipelinedRequest> at_requests;
  sc_core::sc_event at_start;
  bool at_done = true;

  // A DMI scaling run: write then read `scale_bytes` through the SMMU's DMI
  // grants, starting with none (the master forgets its windows).
  std::uint64_t scale_bytes = 0;
  std::vector<std::uint8_t> scale_data = std::vector<std::uint8_t>(kScaleMax);
  sc_core::sc_event scale_start;
  bool scale_done = true;

 private:
  static smmu::Smmuv3Config config(unsigned tlb_entries) {
    smmu::Smmuv3Config c;
    c.capabilities = *smmu::Capabilities::preset("mmu-700");
    c.translation.tlb.entries = tlb_entries;
    c.translation.tlb.ways = tlb_entries == 1 ? 1 : 4;
    // The miss benchmarks measure full walks: no walk cache behind the one-entry TLB.
    if (tlb_entries == 1) c.translation.walk_cache.disable();
    // The hit system has a fourth port for the DMI scaling master.
    c.ports = tlb_entries != 1 ? 4 : 3;
    c.default_stream_ids = {kSidS1, kSidS2, kSidNested, kSidS1};
    c.dmi = tlb_entries != 1;  // the hit system grants DMI (the DMI benchmarks); the b_transport path ignores it
    return c;
  }

  static smmu::Smmuv3Config at_config() {
    smmu::Smmuv3Config c = config(16);
    c.timing.mode = smmu::TimingMode::ApproximatelyTimed;
    c.ports = 1;
    c.default_stream_ids = {kSidS1};
    return c;
  }

  static pcie::DmaMasterConfig scale_master_config() {
    pcie::DmaMasterConfig c;
    c.stream_id = kSidS1;
    c.use_dmi = true;
    c.address_bits = 64;
    return c;
  }

  void serve_scaling() {
    for (;;) {
      sc_core::wait(scale_start);
      scale_master.forget_dmi_windows();
      const pcie::DmaResult written =
          scale_master.transfer(tlm::TLM_WRITE_COMMAND, kScaleIova, scale_data.data(), scale_bytes);
      const pcie::DmaResult read = scale_master.transfer(tlm::TLM_READ_COMMAND, kScaleIova, scale_data.data(), scale_bytes);
      if (!written.ok() || !read.ok()) error = "the DMI scaling transfer failed";
      scale_done = true;
    }
  }

  void serve_at_batches() {
    for (;;) {
      sc_core::wait(at_start);
      if (!at_master.transfer_pipelined(at_requests, 16)) error = "the AT batch was refused";
      at_done = true;
    }
  }

  // The same layout in either memory (the allocator starts afresh): `setup` is the same.
  void build_tables(memory::SparseMemory& memory) {
    platform::MemoryTableSpace space(memory);
    tables::PageAllocator alloc(kTables, kTables + 0x10000000);
    tables::StreamTableBuilder st({smmu::StreamTableFormat::Linear, 4, 8}, alloc, space);
    setup.strtab_base = st.strtab_base();
    setup.strtab_base_cfg = st.strtab_base_cfg();
    setup.cmdq_base = alloc.allocate(4096, 4096) | 8;
    setup.eventq_base = alloc.allocate(8192, 4096) | 8;
    const unsigned oas = hit.smmu.config().capabilities.oas_bits;
    auto map_pages = [&](tables::PageTableBuilder& t, std::uint64_t out) {
      for (unsigned p = 0; p < kMissPages; ++p) t.map(kIova + p * kMissStride, out + p * 0x1000, 0x1000);
    };
    // Stage 1, 48-bit VA, 4K: a 4-level walk.
    tables::PageTableBuilder s1(tables::TableGeometry::stage1(12, 48), alloc, space);
    map_pages(s1, kBuffer);
    for (std::uint64_t offset = 0; offset < kScaleMax; offset += 0x1000) {
      s1.map(kScaleIova + offset, kScaleBuffer + offset, 0x1000);
    }
    tables::CdTableBuilder cds(tables::CdTableGeometry{}, alloc, space);
    tables::CdFields cd;
    tables::attach_ttb0(cd, s1);
    cd.asid = 1;
    cd.ips = tables::ps_encoding(oas);
    cds.write_cd(0, cd);
    tables::SteFields ste1;
    ste1.config = 0b101;
    tables::attach_cd_table(ste1, cds);
    st.write_ste(kSidS1, ste1);
    // Stage 2, 48-bit IPA, 4K, starting at level 0: a 4-level walk.
    tables::PageTableBuilder s2(tables::TableGeometry::stage2(12, 48, 2, oas), alloc, space);
    map_pages(s2, kBuffer);
    tables::SteFields ste2;
    ste2.config = 0b110;
    ste2.s2vmid = 2;
    ste2.s2ps = tables::ps_encoding(oas);
    tables::attach_stage2(ste2, s2);
    st.write_ste(kSidS2, ste2);
    // Nested: stage 1 as above (tables in IPA space mapped 1:1), outputs through stage 2.
    tables::PageTableBuilder n2(tables::TableGeometry::stage2(12, 48, 2, oas), alloc, space);
    n2.map(kTables, kTables, 0x10000000);
    n2.map(kBuffer, kBuffer, kMissPages * 0x1000);
    tables::SteFields ste3 = ste1;
    ste3.config = 0b111;
    ste3.s2vmid = 3;
    ste3.s2ps = tables::ps_encoding(oas);
    tables::attach_stage2(ste3, n2);
    st.write_ste(kSidNested, ste3);
  }

  void program() {
    try {
      hit.driver.reset(setup);
      miss.driver.reset(setup);
      at.driver.reset(setup);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
};

BenchPlatform* bench_platform = nullptr;

void read64(benchmark::State& state, tlm_utils::simple_initiator_socket<BenchPlatform>& socket,
            std::uint64_t base, std::uint64_t stride, unsigned pages, bool every_access_new_page) {
  std::uint8_t data[64];
  tlm::tlm_generic_payload trans;
  trans.set_data_ptr(data);
  trans.set_data_length(64);
  trans.set_streaming_width(64);
  unsigned page = 0;
  unsigned offset = 0;
  for (auto _ : state) {
    trans.set_read();
    trans.set_address(base + page * stride + offset);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(trans, delay);
    if (!trans.is_response_ok()) {
      state.SkipWithError("DMA failed");
      break;
    }
    benchmark::DoNotOptimize(data[0]);
    // Streaming DMA: 64-byte beats through a page, then the next page; the miss
    // benchmarks move to another page (another walk) on every access.
    offset = (offset + 64) & 0xfff;
    if ((offset == 0 || every_access_new_page) && ++page == pages) page = 0;
  }
}

void BM_Direct(benchmark::State& s) { read64(s, bench_platform->direct, kBuffer, 0x1000, 8, false); }
void BM_Hop(benchmark::State& s) { read64(s, bench_platform->through_hop, kBuffer, 0x1000, 8, false); }
void BM_S1Hit(benchmark::State& s) { read64(s, *bench_platform->dev[0], kIova, kMissStride, 8, false); }
void BM_S1Miss(benchmark::State& s) { read64(s, *bench_platform->dev[3], kIova, kMissStride, kMissPages, true); }
void BM_S2Miss(benchmark::State& s) { read64(s, *bench_platform->dev[4], kIova, kMissStride, kMissPages, true); }
void BM_NestedMiss(benchmark::State& s) {
  read64(s, *bench_platform->dev[5], kIova, kMissStride, kMissPages, true);
}
// DMI as a master uses it: a window per 4 KiB page (what the SMMU grants for a
// 4K translation), looked up by page, each access checked against its window,
// then a 64-byte read and a 64-byte write through the pointer. Direct: the
// windows come from memory itself; through the SMMU: from the TBU, translated.
void dmi_access(benchmark::State& state, tlm_utils::simple_initiator_socket<BenchPlatform>& socket,
                std::uint64_t base, std::uint64_t stride) {
  constexpr unsigned kPages = 8;
  std::array<tlm::tlm_dmi, kPages> windows;
  for (unsigned page = 0; page < kPages; ++page) {
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(base + page * stride);
    if (!socket->get_direct_mem_ptr(trans, windows[page]) || !windows[page].is_read_write_allowed()) {
      state.SkipWithError("no read-write DMI window");
      return;
    }
  }
  std::uint8_t data[64] = {};
  unsigned page = 0;
  unsigned offset = 0;
  for (auto _ : state) {
    const std::uint64_t address = base + page * stride + offset;
    const tlm::tlm_dmi& w = windows[page];
    if (address < w.get_start_address() || address + 63 > w.get_end_address()) {
      state.SkipWithError("outside the DMI window");
      break;
    }
    std::uint8_t* p = w.get_dmi_ptr() + (address - w.get_start_address());
    std::memcpy(data, p, 64);
    benchmark::DoNotOptimize(data[0]);
    data[1] ^= 1;
    std::memcpy(p, data, 64);
    benchmark::ClobberMemory();
    offset = (offset + 64) & 0xfff;
    if (offset == 0 && ++page == kPages) page = 0;
  }
}
void BM_DirectDmi(benchmark::State& s) { dmi_access(s, bench_platform->direct, kBuffer, 0x1000); }
void BM_SmmuDmi(benchmark::State& s) { dmi_access(s, *bench_platform->dev[0], kIova, kMissStride); }

// Approximately timed: batches of 4096 pipelined 64-byte reads, timed on the
// host around sc_start; the rate counter is transactions per host second.
constexpr unsigned kAtBatch = 4096;
void at_batch(benchmark::State& state, bool every_access_new_page) {
  BenchPlatform& p = *bench_platform;
  std::vector<std::uint8_t> buffer(64);
  p.at_requests.assign(kAtBatch, pcie::PipelinedRequest{});
  unsigned page = 0;
  unsigned offset = 0;
  for (pcie::PipelinedRequest& r : p.at_requests) {
    r.address = kIova + page * kMissStride + offset;
    r.data = buffer.data();
    r.length = 64;
    r.attributes.stream_id = kSidS1;
    offset = (offset + 64) & 0xfff;
    if ((offset == 0 || every_access_new_page) && ++page == (every_access_new_page ? kMissPages : 8)) page = 0;
  }
  std::uint64_t failed = 0;
  for (auto _ : state) {
    p.at_done = false;
    p.at_start.notify(sc_core::SC_ZERO_TIME);
    while (!p.at_done) sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));
    for (const pcie::PipelinedRequest& r : p.at_requests) failed += r.status == tlm::TLM_OK_RESPONSE ? 0 : 1;
  }
  if (failed != 0 || !p.error.empty()) state.SkipWithError("AT DMAs failed");
  state.counters["transactions_per_host_s"] =
      benchmark::Counter(static_cast<double>(kAtBatch) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
// DMI scaling: host time of a write and a read of N MiB through the SMMU's
// per-page DMI grants, from no grants; per byte it must not grow with N.
void BM_DmiScaling(benchmark::State& state) {
  BenchPlatform& p = *bench_platform;
  p.scale_bytes = static_cast<std::uint64_t>(state.range(0)) << 20;
  for (auto _ : state) {
    p.scale_done = false;
    p.scale_start.notify(sc_core::SC_ZERO_TIME);
    while (!p.scale_done) sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));
  }
  if (!p.error.empty()) state.SkipWithError(p.error.c_str());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0) * (2 << 20));
}

void BM_AtStreaming(benchmark::State& s) { at_batch(s, false); }
void BM_AtMisses(benchmark::State& s) { at_batch(s, true); }

BENCHMARK(BM_Direct);
BENCHMARK(BM_Hop);
BENCHMARK(BM_S1Hit);
BENCHMARK(BM_S1Miss);
BENCHMARK(BM_S2Miss);
BENCHMARK(BM_NestedMiss);
BENCHMARK(BM_DirectDmi);
BENCHMARK(BM_SmmuDmi);
BENCHMARK(BM_DmiScaling)->Arg(8)->Arg(32)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AtStreaming);
BENCHMARK(BM_AtMisses);

// Keeps each benchmark's time per iteration for the ratio lines.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> ns_per_iteration;
  // With --benchmark_repetitions the median is used; otherwise the single run.
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const std::string name =
          r.run_name.function_name + (r.run_name.args.empty() ? "" : "/" + r.run_name.args);
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") medians_[name] = r.GetAdjustedCPUTime();
      } else if (r.iterations > 0) {
        ns_per_iteration[name] = r.GetAdjustedCPUTime();
      }
    }
    for (const auto& [name, ns] : medians_) ns_per_iteration[name] = ns;
    ConsoleReporter::ReportRuns(runs);
  }

 private:
  std::map<std::string, double> medians_;
};

}  // namespace

// Before SystemC's main() prints its banner (static initialisation).
[[maybe_unused]] const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();

int sc_main(int argc, char* argv[]) {
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  BenchPlatform platform("bench");
  bench_platform = &platform;
  bench::create_driver_bench_platform();
  sc_core::sc_start();
  if (!platform.error.empty()) {
    std::fprintf(stderr, "bench set-up failed: %s\n", platform.error.c_str());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& t = reporter.ns_per_iteration;
  auto ratio = [&](const char* name, const char* a, const char* b) {
    if (t.count(a) && t.count(b) && t[b] > 0) std::printf("ratio %s: %.2f\n", name, t[a] / t[b]);
  };
  // Speeds: hit/direct = time(direct) / time(hit), so 1.0 means "as fast as no SMMU".
  ratio("hit/direct", "BM_Direct", "BM_S1Hit");
  ratio("hop/direct", "BM_Direct", "BM_Hop");  // the floor for any component in the path
  // DMI through the SMMU against DMI straight to memory (goal: at least 0.95).
  ratio("dmi/direct-dmi", "BM_DirectDmi", "BM_SmmuDmi");
  // Slowdowns relative to a hit: time(miss) / time(hit).
  ratio("s1-miss/hit", "BM_S1Miss", "BM_S1Hit");
  ratio("s2-miss/hit", "BM_S2Miss", "BM_S1Hit");
  ratio("nested-miss/hit", "BM_NestedMiss", "BM_S1Hit");
  // The trace player's host time against the same DMAs issued directly (goal: at most 1.5).
  ratio("trace-bursts/direct", "BM_TraceBursts1M", "BM_TraceDirect1M");
  ratio("trace-lines/direct", "BM_TraceLines1M", "BM_TraceDirect1M");
  // DMI through the SMMU from no grants: host time per byte at 128 MiB against
  // 32 MiB, both beyond the host's last-level cache (1.0 = linear; it grew
  // quadratically while the master and the TBU scanned their grants).
  if (t.count("BM_DmiScaling/32") && t.count("BM_DmiScaling/128") && t["BM_DmiScaling/32"] > 0) {
    std::printf("ratio dmi-scaling 128MiB/32MiB per byte: %.2f\n", t["BM_DmiScaling/128"] / 4 / t["BM_DmiScaling/32"]);
  }
  // Approximately timed: transactions per host second (time per batch of kAtBatch).
  for (const char* name : {"BM_AtStreaming", "BM_AtMisses"}) {
    if (t.count(name) && t[name] > 0) std::printf("at %s: %.0f transactions/host s\n", name + 5, kAtBatch / (t[name] * 1e-9));
  }
  return 0;
}
