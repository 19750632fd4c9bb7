// The driver model's map/unmap benchmark needs its platform elaborated before
// the benchmark binary's first sc_start(): sc_main calls this first.
#pragma once

#include <functional>

#include <benchmark/benchmark.h>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::bench {
void create_driver_bench_platform();
// Runs `job` on that platform's CPU thread (the driver's context) and waits
// for it; `simulated_ns` receives the simulated time it took. A job's
// exception skips the benchmark with its message.
void run_on_cpu(std::function<void(platform::ReferencePlatform&)> job, benchmark::State& state, double* simulated_ns);
}
