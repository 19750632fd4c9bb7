// The trace player's cost (a benchmark, not a timed test): 1 000 000 DMAs of
// 64 bytes through a stage-1 domain, played from a trace (parsed, checked and
// played, expectations checked), against the same DMAs issued directly through
// the platform API (the trace port's master, same StreamID and addresses, each
// result checked), in one run on the same platform. The trace comes two ways:
// 1000 lines of `count=1000` bursts, and 1 000 000 lines of one DMA each.
// smmu_bench prints `ratio trace-bursts/direct` and `ratio trace-lines/direct`.
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <systemc>

#include "smmuv3tlm/bench/driver_bench.h"
#include "smmuv3tlm/platforms/trace/player.h"

namespace smmuv3tlm::bench {
namespace {

constexpr std::uint64_t kDmas = 1'000'000;
constexpr std::uint64_t kBurst = 1000;
constexpr std::uint64_t kBytes = 64;
constexpr std::uint64_t kIova = 0x10'0000'0000;
constexpr std::uint64_t kPa = 0x100'0000'0000;
constexpr std::uint64_t kSpan = kBurst * kBytes;  // the bytes one burst covers; every DMA stays inside

std::string setup(std::uint32_t sid) {
  return fmt::format("smmu-trace 1\ndomain d s1\nmap d iova={:#x} pa={:#x} size=64K\nattach d sid={:#x}\n", kIova, kPa,
                     sid);
}

std::string burst_trace(std::uint32_t sid) {
  std::string t = setup(sid);
  for (std::uint64_t i = 0; i < kDmas / kBurst; ++i) {
    t += fmt::format("dma read sid={:#x} iova={:#x} size={} count={} expect=ok\n", sid, kIova, kBytes, kBurst);
  }
  return t;
}

std::string line_trace(std::uint32_t sid) {
  std::string t = setup(sid);
  for (std::uint64_t i = 0; i < kDmas; ++i) {
    t += fmt::format("dma read sid={:#x} iova={:#x} size={} expect=ok\n", sid, kIova + (i % kBurst) * kBytes, kBytes);
  }
  return t;
}

void play(benchmark::State& state, const std::string& text) {
  double simulated_ns = 0;
  std::uint64_t failed = 0;
  std::uint64_t dmas = 0;
  for (auto _ : state) {
    run_on_cpu(
        [&](platform::ReferencePlatform& p) {
          std::istringstream in(text);
          const trace::Trace parsed = trace::parse(in, "bench.trace");
          trace::check(parsed, p.config());
          trace::Player player(parsed);
          player(p);
          failed = player.outcome().failed;
          dmas = player.outcome().dmas;
        },
        state, &simulated_ns);
  }
  if (failed != 0) state.SkipWithError("the trace's expectations failed");
  state.counters["dmas"] = static_cast<double>(dmas);
  state.counters["sim_ns_per_dma"] = simulated_ns / static_cast<double>(kDmas);
}

void BM_TraceDirect1M(benchmark::State& state) {
  double simulated_ns = 0;
  std::uint64_t failed = 0;
  for (auto _ : state) {
    run_on_cpu(
        [&](platform::ReferencePlatform& p) {
          driver::Domain& domain = p.domains().create(driver::DomainType::Stage1);
          domain.map(kIova, kPa, 64 << 10);
          driver::MasterConfig mc;
          mc.stream_ids = {0x22};
          p.domains().attach(p.domains().add_master(mc), domain);
          pcie::TransferAttributes attributes;
          attributes.stream_id = 0x22;
          std::uint8_t buffer[kBytes];
          for (std::uint64_t i = 0; i < kDmas; ++i) {
            const pcie::DmaResult r = p.trace_master()->transfer(tlm::TLM_READ_COMMAND, kIova + (i % kBurst) * kBytes,
                                                                 buffer, kBytes, attributes);
            failed += r.ok() ? 0 : 1;
          }
          p.trace_master()->synchronize();
        },
        state, &simulated_ns);
  }
  if (failed != 0) state.SkipWithError("direct DMAs failed");
  state.counters["dmas"] = static_cast<double>(kDmas);
  state.counters["sim_ns_per_dma"] = simulated_ns / static_cast<double>(kDmas);
}

void BM_TraceBursts1M(benchmark::State& state) { play(state, burst_trace(0x20)); }
void BM_TraceLines1M(benchmark::State& state) { play(state, line_trace(0x21)); }

BENCHMARK(BM_TraceDirect1M)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TraceBursts1M)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TraceLines1M)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace smmuv3tlm::bench
