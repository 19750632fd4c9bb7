// The CPU cache model on its own: write-back keeps stores from memory until a
// clean, reads hit the CPU's own dirty data, invalidate drops lines (and
// their dirty bytes), uncached addresses and write-through mode reach memory
// at once, and kexec writes dirty lines back or loses them.
#include <gtest/gtest.h>

#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/memory/cpu_cache.h"
#include "smmuv3tlm/models/memory/sparse_memory.h"

namespace smmuv3tlm::testing {
namespace {

class CacheBench : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CacheBench);
  tlm_utils::simple_initiator_socket<CacheBench> cpu{"cpu"};
  memory::SparseMemory memory{"memory"};
  memory::CpuCache cache;
  std::function<void(CacheBench&)> body;

  CacheBench(const sc_core::sc_module_name& name, bool write_back, std::function<void(CacheBench&)> run)
      : sc_core::sc_module(name), cache("cache", write_back), body(std::move(run)) {
    cpu.bind(cache.cpu);
    cache.memory_side.bind(memory.socket);
    SC_THREAD(thread);
  }
  void thread() { body(*this); }

  std::uint64_t access(bool write, std::uint64_t pa, std::uint64_t value = 0) {
    tlm::tlm_generic_payload t;
    std::uint64_t data = value;
    t.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    t.set_address(pa);
    t.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
    t.set_data_length(8);
    t.set_streaming_width(8);
    sc_core::sc_time delay;
    cpu->b_transport(t, delay);
    EXPECT_TRUE(t.is_response_ok());
    return data;
  }
};

TEST(CpuCache, WriteBackHoldsStoresUntilCleaned) {
  CacheBench bench("bench", true, [](CacheBench& b) {
    b.cache.set_cacheable([](std::uint64_t pa) { return pa < 0x9000; });
    b.access(true, 0x1008, 0x1122334455667788ull);
    EXPECT_EQ(b.memory.read64(0x1008), 0u) << "still in the cache";
    EXPECT_TRUE(b.cache.dirty(0x1008, 8));
    EXPECT_FALSE(b.cache.dirty(0x1000, 8)) << "dirtiness is per byte, not per line";
    EXPECT_EQ(b.access(false, 0x1008), 0x1122334455667788ull) << "the CPU reads its own store";
    sc_core::sc_time delay;
    b.cache.clean(0x1000, 64, delay);
    EXPECT_EQ(b.memory.read64(0x1008), 0x1122334455667788ull);
    EXPECT_FALSE(b.cache.dirty(0x1008, 8));
    // Uncached (a coherent-dma mapping): straight to memory.
    b.access(true, 0x9000, 7);
    EXPECT_EQ(b.memory.read64(0x9000), 7u);
    // Invalidate drops a dirty line: the store is lost, memory is read again.
    b.access(true, 0x2000, 5);
    b.cache.invalidate(0x2000, 8);
    EXPECT_EQ(b.access(false, 0x2000), 0u);
    EXPECT_EQ(b.cache.statistics().lost_lines, 1u);
    // kexec: written back, or lost.
    b.access(true, 0x3000, 9);
    b.cache.write_back_all();
    EXPECT_EQ(b.memory.read64(0x3000), 9u);
    b.access(true, 0x4000, 11);
    b.cache.discard_all();
    EXPECT_EQ(b.memory.read64(0x4000), 0u);
    EXPECT_EQ(b.cache.dirty_lines(), 0u);
  });
  sc_core::sc_start();
}

TEST(CpuCache, WriteThroughReachesMemoryAtOnce) {
  CacheBench bench("bench", false, [](CacheBench& b) {
    b.access(true, 0x1000, 42);
    EXPECT_EQ(b.memory.read64(0x1000), 42u);
    EXPECT_FALSE(b.cache.dirty(0x1000, 8)) << "a coherent SMMU never misses a clean";
    EXPECT_EQ(b.access(false, 0x1000), 42u);
  });
  sc_core::sc_start();
}

}  // namespace
}  // namespace smmuv3tlm::testing
