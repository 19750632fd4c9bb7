// The driver model's map/unmap benchmark needs its platform elaborated before
// the benchmark binary's first sc_start(): sc_main calls this first.
#pragma once

namespace smmuv3tlm::bench {
void create_driver_bench_platform();
}
