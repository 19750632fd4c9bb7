// Map and unmap through the driver model (a benchmark, not a timed test):
// 1 GiB mapped in 4 KiB pages and in 2 MiB blocks, one iommu_map call per page
// or block, then unmapped the same way (each unmap with its TLB invalidation
// and CMD_SYNC), on the reference platform's CPU through TLM. Reports host
// time and simulated time per page or block as counters.
#include "smmuv3tlm/bench/driver_bench.h"

#include <chrono>

#include <benchmark/benchmark.h>
#include <systemc>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::bench {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kIova = 0x40'0000'0000;
constexpr std::uint64_t kPa = 0x80'0000'0000;

// The CPU thread waits for a job, runs it, and reports how long it took in
// simulated time.
struct DriverJobs {
  std::function<void(platform::ReferencePlatform&)> job;
  sc_core::sc_event start;
  bool done = true;
  std::string error;
  sc_core::sc_time simulated;
};

DriverJobs* jobs = nullptr;
platform::ReferencePlatform* bench_platform = nullptr;

void map_unmap(benchmark::State& state, std::uint64_t chunk) {
  const std::uint64_t count = kGiB / chunk;
  double map_sim_ns = 0, unmap_sim_ns = 0, map_host_ns = 0, unmap_host_ns = 0;
  for (auto _ : state) {
    driver::Domain* domain = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    run_on_cpu(
        [&](platform::ReferencePlatform& p) {
          domain = &p.domains().create(driver::DomainType::Stage1);
          for (std::uint64_t i = 0; i < count; ++i) domain->map(kIova + i * chunk, kPa + i * chunk, chunk);
        },
        state, &map_sim_ns);
    auto t1 = std::chrono::steady_clock::now();
    run_on_cpu(
        [&](platform::ReferencePlatform& p) {
          for (std::uint64_t i = 0; i < count; ++i) domain->unmap(kIova + i * chunk, chunk);
          p.domains().destroy(*domain);
        },
        state, &unmap_sim_ns);
    auto t2 = std::chrono::steady_clock::now();
    map_host_ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    unmap_host_ns = std::chrono::duration<double, std::nano>(t2 - t1).count();
  }
  const double n = static_cast<double>(count);
  state.counters["pages"] = n;
  state.counters["map_host_ns_per_page"] = map_host_ns / n;
  state.counters["map_sim_ns_per_page"] = map_sim_ns / n;
  state.counters["unmap_host_ns_per_page"] = unmap_host_ns / n;
  state.counters["unmap_sim_ns_per_page"] = unmap_sim_ns / n;
}

void BM_DriverMapUnmap1GiB_4K(benchmark::State& state) { map_unmap(state, 4096); }
void BM_DriverMapUnmap1GiB_2M(benchmark::State& state) { map_unmap(state, 2ull << 20); }
BENCHMARK(BM_DriverMapUnmap1GiB_4K)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DriverMapUnmap1GiB_2M)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

void run_on_cpu(std::function<void(platform::ReferencePlatform&)> job, benchmark::State& state, double* simulated_ns) {
  jobs->job = std::move(job);
  jobs->done = false;
  jobs->error.clear();
  jobs->start.notify(sc_core::SC_ZERO_TIME);
  while (!jobs->done) sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_MS));
  if (!jobs->error.empty()) state.SkipWithError(jobs->error.c_str());
  *simulated_ns = jobs->simulated.to_seconds() * 1e9;
}

void create_driver_bench_platform() {
  static DriverJobs job_queue;
  jobs = &job_queue;
  platform::ReferencePlatformConfig config;
  config.devices = {{driver::DomainType::Identity, 0}};
  config.fault_after_unmap = false;
  config.trace_port = true;  // the trace player's benchmark (trace_bench.cpp) plays here too
  config.driver_memory.size = 0x4000'0000;  // room for 1 GiB of 4 KiB-page tables and more
  config.crash_kernel_memory.base = 0x8000'0000;  // past the enlarged kernel memory
  // Never destroyed: it lives as long as the simulation context does.
  auto* p = new platform::ReferencePlatform("driver_bench", config, [](platform::ReferencePlatform& platform) {
    while (true) {
      sc_core::wait(jobs->start);
      platform.cpu().synchronize();
      const sc_core::sc_time start = sc_core::sc_time_stamp();
      try {
        jobs->job(platform);
      } catch (const std::exception& e) {
        jobs->error = e.what();
      }
      platform.cpu().synchronize();
      jobs->simulated = sc_core::sc_time_stamp() - start;
      jobs->done = true;
    }
  });
  bench_platform = p;
}

}  // namespace smmuv3tlm::bench
