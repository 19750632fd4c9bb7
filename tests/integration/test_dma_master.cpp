// DmaMaster against SparseMemory: splitting (4 KiB and max payload), side-band
// tagging, error counting, read verification, timing with the quantum keeper,
// DMI with invalidation, and rejection of malformed use.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/models/pcie/dma_master.h"
#include "smmuv3tlm/tests/integration/report_capture.h"
#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::pcie {
namespace {

using memory::SparseMemory;
using memory::SparseMemoryConfig;
using sc_core::SC_NS;
using sc_core::sc_time;

// One transport call as the memory saw it.
struct Landing {
  tlm::tlm_command command;
  std::uint64_t address;
  unsigned length;
  tlm::tlm_response_status status;
  bool tagged;
  tlm_ext::SidebandExtension sideband;
};

struct Bench {
  SparseMemory memory;
  DmaMaster dma;
  std::vector<Landing> landings;

  explicit Bench(const DmaMasterConfig& dma_config = DmaMasterConfig(),
                 const SparseMemoryConfig& memory_config = SparseMemoryConfig())
      : memory("memory", memory_config), dma("dma", dma_config) {
    dma.socket.bind(memory.socket);
    memory.set_access_observer([this](const tlm::tlm_generic_payload& trans) {
      const auto* sideband = trans.get_extension<tlm_ext::SidebandExtension>();
      landings.push_back({trans.get_command(), trans.get_address(), trans.get_data_length(),
                          trans.get_response_status(), sideband != nullptr,
                          sideband != nullptr ? *sideband : tlm_ext::SidebandExtension()});
    });
  }
};

// Runs a test body as an SC_THREAD, so it may call blocking DmaMaster::transfer.
class TestThread : public sc_core::sc_module {
 public:
  TestThread(const sc_core::sc_module_name& name, std::function<void()> body)
      : sc_core::sc_module(name), body_(std::move(body)) {
    SC_HAS_PROCESS(TestThread);
    SC_THREAD(run);
  }

 private:
  void run() { body_(); }
  std::function<void()> body_;
};

// Every aligned 64-bit word of untouched memory holds its own address.
void address_fill(std::uint64_t pa, std::uint8_t* data, std::size_t len) {
  for (std::size_t i = 0; i < len; ++i) {
    const std::uint64_t byte_pa = pa + i;
    data[i] = static_cast<std::uint8_t>((byte_pa & ~std::uint64_t{7}) >> (8 * (byte_pa & 7)));
  }
}

std::vector<std::uint8_t> address_pattern(std::uint64_t pa, std::size_t len) {
  std::vector<std::uint8_t> bytes(len);
  address_fill(pa, bytes.data(), len);
  return bytes;
}

std::vector<std::pair<std::uint64_t, unsigned>> addresses_and_lengths(const std::vector<Landing>& landings) {
  std::vector<std::pair<std::uint64_t, unsigned>> result;
  for (const Landing& landing : landings) result.emplace_back(landing.address, landing.length);
  return result;
}

TEST(DmaMaster, SplitsAtFourKiBBoundaries) {
  DmaMasterConfig config;
  config.max_payload = 4096;
  Bench bench(config);
  std::vector<std::uint8_t> data(0x2020);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 3);
  bench.dma.program_write(0x1FF0, data);
  sc_core::sc_start();

  EXPECT_EQ(addresses_and_lengths(bench.landings),
            (std::vector<std::pair<std::uint64_t, unsigned>>{
                {0x1FF0, 0x10}, {0x2000, 0x1000}, {0x3000, 0x1000}, {0x4000, 0x10}}));
  std::vector<std::uint8_t> stored(data.size());
  ASSERT_TRUE(bench.memory.backdoor_read(0x1FF0, stored.data(), stored.size()));
  EXPECT_EQ(stored, data);
  const auto& stats = bench.dma.statistics();
  EXPECT_EQ(stats.transactions_issued, 4u);
  EXPECT_EQ(stats.completions_ok, 4u);
  EXPECT_EQ(stats.bytes_written, 0x2020u);
  EXPECT_EQ(stats.programs_completed, 1u);
  EXPECT_EQ(bench.dma.pending_programs(), 0u);
}

TEST(DmaMaster, SplitsAtMaxPayloadAndTagsEveryTransaction) {
  DmaMasterConfig config;
  config.max_payload = 256;
  config.stream_id = 0x42;
  config.pasid = 0x1234;
  config.privileged = true;
  Bench bench(config);
  bench.memory.set_untouched_fill(address_fill);
  std::vector<std::uint8_t> buffer(0x300);
  DmaResult result;
  TestThread thread("thread", [&] {
    result = bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x10F80, buffer.data(), buffer.size());
  });
  sc_core::sc_start();

  EXPECT_EQ(addresses_and_lengths(bench.landings),
            (std::vector<std::pair<std::uint64_t, unsigned>>{
                {0x10F80, 0x80}, {0x11000, 0x100}, {0x11100, 0x100}, {0x11200, 0x80}}));
  for (const Landing& landing : bench.landings) {
    EXPECT_EQ(landing.command, tlm::TLM_READ_COMMAND);
    ASSERT_TRUE(landing.tagged);
    EXPECT_EQ(landing.sideband.stream_id, 0x42u);
    EXPECT_TRUE(landing.sideband.substream_valid);
    EXPECT_EQ(landing.sideband.substream_id, 0x1234u);
    EXPECT_TRUE(landing.sideband.privileged);
    EXPECT_FALSE(landing.sideband.secure);
    EXPECT_EQ(landing.sideband.ats, tlm_ext::AtsType::Untranslated);
  }
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.transactions, 4u);
  EXPECT_EQ(result.bytes_ok, 0x300u);
  EXPECT_EQ(buffer, address_pattern(0x10F80, 0x300));
  EXPECT_EQ(bench.dma.statistics().bytes_read, 0x300u);
}

TEST(DmaMaster, WithoutPasidTransactionsCarryNoSubstream) {
  DmaMasterConfig config;
  config.stream_id = 9;
  Bench bench(config);
  bench.dma.program_write(0x800, std::vector<std::uint8_t>(4, 0xAB));
  sc_core::sc_start();
  ASSERT_EQ(bench.landings.size(), 1u);
  EXPECT_EQ(bench.landings[0].sideband.stream_id, 9u);
  EXPECT_FALSE(bench.landings[0].sideband.substream_valid);
  EXPECT_FALSE(bench.landings[0].sideband.privileged);
}

TEST(DmaMaster, CountsErrorResponsesAgainstAHole) {
  DmaMasterConfig config;
  config.max_payload = 1024;
  Bench bench(config);
  bench.memory.add_region(0x0, 0x2000);
  bench.memory.add_region(0x3000, 0x2000);
  std::vector<std::uint8_t> data(0x2000, 0x5C);
  DmaResult result;
  TestThread thread("thread", [&] {
    result = bench.dma.transfer(tlm::TLM_WRITE_COMMAND, 0x1800, data.data(), data.size());
  });
  sc_core::sc_start();

  ASSERT_EQ(bench.landings.size(), 8u);
  for (std::size_t i = 0; i < bench.landings.size(); ++i) {
    const Landing& landing = bench.landings[i];
    EXPECT_EQ(landing.address, 0x1800u + 0x400u * i);
    EXPECT_EQ(landing.length, 0x400u);
    const bool in_hole = landing.address >= 0x2000 && landing.address < 0x3000;
    EXPECT_EQ(landing.status, in_hole ? tlm::TLM_ADDRESS_ERROR_RESPONSE : tlm::TLM_OK_RESPONSE)
        << "transaction at " << std::hex << landing.address;
  }
  EXPECT_TRUE(result.accepted);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(result.transactions, 8u);
  EXPECT_EQ(result.bytes_ok, 0x1000u);

  const auto& stats = bench.dma.statistics();
  EXPECT_EQ(stats.transactions_issued, 8u);
  EXPECT_EQ(stats.completions_ok, 4u);
  EXPECT_EQ(stats.error_responses[2], 4u);  // -TLM_ADDRESS_ERROR_RESPONSE
  EXPECT_EQ(stats.error_responses_total(), 4u);
  EXPECT_EQ(stats.bytes_written, 0x1000u);
  EXPECT_EQ(bench.memory.statistics().error_responses, 4u);
  EXPECT_EQ(bench.memory.read64(0x3400), 0x5C5C'5C5C'5C5C'5C5Cu);

  const std::string summary = bench.dma.summary();
  EXPECT_NE(summary.find("8 transactions issued"), std::string::npos) << summary;
  EXPECT_NE(summary.find("address-error 4"), std::string::npos) << summary;
  EXPECT_NE(summary.find("wrote 4096 B"), std::string::npos) << summary;
}

TEST(DmaMaster, VerifiesReadDataAgainstExpectations) {
  testing::ReportCapture capture;
  Bench bench;
  bench.memory.set_untouched_fill(address_fill);
  bench.dma.program_read(0x4000, 64, address_pattern(0x4000, 64));
  std::vector<std::uint8_t> wrong = address_pattern(0x8000, 16);
  wrong[3] ^= 0xFF;
  wrong[12] ^= 0x01;
  bench.dma.program_read(0x8000, 16, wrong);
  bench.dma.program_read(0x9000, 8);  // no expectation: never a mismatch
  sc_core::sc_start();

  const auto& stats = bench.dma.statistics();
  EXPECT_EQ(stats.programs_completed, 3u);
  EXPECT_EQ(stats.verify_failures, 1u);
  EXPECT_EQ(stats.verify_mismatched_bytes, 2u);
  EXPECT_EQ(capture.count(sc_core::SC_WARNING, "smmu/pcie"), 1u);
  ASSERT_EQ(capture.reports().size(), 1u);
  EXPECT_NE(capture.reports()[0].message.find("0x8003"), std::string::npos) << capture.reports()[0].message;
  EXPECT_EQ(bench.dma.last_read_data(), address_pattern(0x9000, 8));
}

TEST(DmaMaster, BytesOfFailedTransactionsAreNotVerified) {
  DmaMasterConfig config;
  config.max_payload = 64;
  Bench bench(config);
  bench.memory.add_region(0x0, 0x1040);
  bench.memory.set_untouched_fill(address_fill);
  // [0x1000, 0x1040) is memory, [0x1040, 0x1080) a hole.
  bench.dma.program_read(0x1000, 0x80, address_pattern(0x1000, 0x80));
  sc_core::sc_start();
  EXPECT_EQ(bench.dma.statistics().verify_failures, 0u);
  EXPECT_EQ(bench.dma.statistics().error_responses[2], 1u);
  EXPECT_EQ(bench.dma.statistics().bytes_read, 0x40u);
}

TEST(DmaMaster, ProgramQueueRunsInOrderAndSynchronisesTime) {
  DmaMasterConfig config;
  config.max_payload = 256;
  SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_time(10, SC_NS);
  memory_config.write_latency = sc_time(30, SC_NS);
  memory_config.bus_width_bytes = 256;  // one beat per transaction
  Bench bench(config, memory_config);
  std::vector<std::uint8_t> data(512);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i ^ 0x5A);
  bench.dma.program_write(0x6000, data);
  bench.dma.program_read(0x6000, 512, data);
  sc_core::sc_start();

  EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(2 * 30 + 2 * 10, SC_NS));
  ASSERT_EQ(bench.landings.size(), 4u);
  EXPECT_EQ(bench.landings[0].command, tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(bench.landings[1].command, tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(bench.landings[2].command, tlm::TLM_READ_COMMAND);
  EXPECT_EQ(bench.landings[3].address, 0x6100u);
  EXPECT_EQ(bench.dma.statistics().verify_failures, 0u);
  EXPECT_EQ(bench.dma.local_time(), sc_core::SC_ZERO_TIME);

  // The queue accepts more work between runs.
  bench.dma.program_write(0x7000, std::vector<std::uint8_t>(8, 0x33));
  sc_core::sc_start();
  EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(110, SC_NS));
  EXPECT_EQ(bench.memory.read64(0x7000), 0x3333'3333'3333'3333u);
  EXPECT_EQ(bench.dma.statistics().programs_completed, 3u);
}

TEST(DmaMaster, QuantumLetsTheMasterRunAheadOfSimulationTime) {
  DmaMasterConfig config;
  config.max_payload = 64;
  config.quantum = sc_time(1, sc_core::SC_US);
  SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_time(10, SC_NS);
  memory_config.bus_width_bytes = 64;
  Bench bench(config, memory_config);
  std::vector<std::uint8_t> buffer(640);
  sc_time after_transfer;
  sc_time local_after_transfer;
  TestThread thread("thread", [&] {
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x0, buffer.data(), buffer.size());
    after_transfer = sc_core::sc_time_stamp();
    local_after_transfer = bench.dma.local_time();
    bench.dma.synchronize();
  });
  sc_core::sc_start();

  ASSERT_EQ(bench.landings.size(), 10u);
  EXPECT_EQ(after_transfer, sc_core::SC_ZERO_TIME);  // decoupled: no wait inside the quantum
  EXPECT_EQ(local_after_transfer, sc_time(100, SC_NS));
  EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(100, SC_NS));
  EXPECT_EQ(bench.dma.local_time(), sc_core::SC_ZERO_TIME);
}

TEST(DmaMaster, OwnQuantumForcesASyncAtEachQuantumBoundary) {
  DmaMasterConfig config;
  config.max_payload = 64;
  config.quantum = sc_time(25, SC_NS);
  SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_time(10, SC_NS);
  memory_config.bus_width_bytes = 64;
  Bench bench(config, memory_config);
  std::vector<std::uint8_t> buffer(640);
  std::vector<sc_time> times;
  bench.memory.set_access_observer(
      [&times](const tlm::tlm_generic_payload&) { times.push_back(sc_core::sc_time_stamp()); });
  bench.dma.program_read(0x0, buffer.size());
  sc_core::sc_start();
  // Transactions start at local 0, 10, 20 | sync at 30 | 30, 40 | sync at 50 ...
  ASSERT_EQ(times.size(), 10u);
  EXPECT_EQ(times[0], sc_core::SC_ZERO_TIME);
  EXPECT_EQ(times[2], sc_core::SC_ZERO_TIME);
  EXPECT_EQ(times[3], sc_time(30, SC_NS));
  EXPECT_EQ(times[5], sc_time(50, SC_NS));
  EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(100, SC_NS));
}

TEST(DmaMaster, WithoutAQuantumEveryTransactionSynchronises) {
  DmaMasterConfig config;
  config.max_payload = 64;
  SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_time(10, SC_NS);
  memory_config.bus_width_bytes = 64;
  Bench bench(config, memory_config);
  std::vector<std::uint8_t> buffer(640);
  sc_time after_transfer;
  TestThread thread("thread", [&] {
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x0, buffer.data(), buffer.size());
    after_transfer = sc_core::sc_time_stamp();
  });
  sc_core::sc_start();
  EXPECT_EQ(after_transfer, sc_time(100, SC_NS));
  EXPECT_EQ(bench.dma.local_time(), sc_core::SC_ZERO_TIME);
}

TEST(DmaMaster, UsesDmiWhenOfferedAndDropsItOnInvalidation) {
  DmaMasterConfig config;
  config.use_dmi = true;
  Bench bench(config);
  bench.memory.set_untouched_fill(address_fill);
  std::vector<std::uint8_t> first(64);
  std::vector<std::uint8_t> second(64);
  std::vector<std::uint8_t> third(16);
  std::vector<std::uint8_t> stamp(8, 0xC7);
  std::size_t landings_after_dmi_write = 0;
  TestThread thread("thread", [&] {
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x1000, first.data(), first.size());   // transport
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x1040, second.data(), second.size()); // DMI
    bench.dma.transfer(tlm::TLM_WRITE_COMMAND, 0x1100, stamp.data(), stamp.size());  // DMI
    landings_after_dmi_write = bench.landings.size();
    bench.memory.poison(0x1008, 8);  // invalidates the master's window
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x1000, third.data(), third.size());   // transport
  });
  sc_core::sc_start();

  EXPECT_EQ(first, address_pattern(0x1000, 64));
  EXPECT_EQ(second, address_pattern(0x1040, 64));
  EXPECT_EQ(landings_after_dmi_write, 1u);
  EXPECT_EQ(bench.memory.read64(0x1100), 0xC7C7'C7C7'C7C7'C7C7u);
  ASSERT_EQ(bench.landings.size(), 2u);
  EXPECT_EQ(bench.landings[1].address, 0x1000u);
  EXPECT_EQ(bench.memory.poison_reads(), 1u);
  EXPECT_EQ(third[8], SparseMemory::poison_byte(0x1008));
  EXPECT_EQ(bench.dma.statistics().dmi_accesses, 2u);
  EXPECT_EQ(bench.dma.statistics().transactions_issued, 2u);
  EXPECT_EQ(bench.dma.statistics().completions_ok, 4u);
  EXPECT_EQ(bench.memory.statistics().dmi_invalidations, 1u);
}

// The master's DMI windows are kept by address (a scan of every window per
// access made host time quadratic in the bytes moved: bench BM_DmiScaling and
// its `ratio dmi-scaling` line show it linear); one per page, dropped by range.
TEST(DmaMaster, KeepsOneDmiWindowPerPageWhateverItsHistory) {
  DmaMasterConfig config;
  config.use_dmi = true;
  config.max_payload = 4096;
  Bench bench(config);
  constexpr unsigned kPages = 64;
  std::vector<std::uint8_t> buffer(kPages * 0x1000);
  std::size_t after_first_pass = 0;
  std::size_t after_second_pass = 0;
  std::size_t after_invalidation = 0;
  TestThread thread("thread", [&] {
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x10000, buffer.data(), buffer.size());  // a grant per page
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x10000, buffer.data(), buffer.size());  // all DMI
    after_first_pass = bench.dma.dmi_windows();
    bench.memory.poison(0x10000 + 5 * 0x1000 + 8, 8);  // withdraws page 5's window
    bench.memory.unpoison(0x10000 + 5 * 0x1000 + 8, 8);
    after_invalidation = bench.dma.dmi_windows();
    bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x10000, buffer.data(), buffer.size());  // page 5 asks again
    after_second_pass = bench.dma.dmi_windows();
  });
  sc_core::sc_start();
  EXPECT_EQ(after_first_pass, kPages);
  EXPECT_EQ(after_invalidation, kPages - 1);
  EXPECT_EQ(after_second_pass, kPages);
  // 64 transports for the first pass, one for page 5 again, everything else DMI.
  EXPECT_EQ(bench.dma.statistics().transactions_issued, kPages + 1);
  EXPECT_EQ(bench.dma.statistics().dmi_accesses, 2 * kPages - 1);
}

TEST(DmaMaster, RejectsMalformedRequestsWithoutIssuingThem) {
  testing::ReportCapture capture;
  Bench bench;
  DmaResult null_buffer;
  DmaResult ignore_command;
  DmaResult valid;
  std::vector<std::uint8_t> buffer(8);
  TestThread thread("thread", [&] {
    null_buffer = bench.dma.transfer(tlm::TLM_READ_COMMAND, 0x1000, nullptr, 8);
    ignore_command = bench.dma.transfer(tlm::TLM_IGNORE_COMMAND, 0x1000, buffer.data(), 8);
    valid = bench.dma.transfer(tlm::TLM_WRITE_COMMAND, 0x1000, buffer.data(), 8);
  });
  bench.dma.program_read(0x1000, 0);                                            // empty
  bench.dma.program_write(0x2000, {});                                          // empty
  bench.dma.program_write((std::uint64_t{1} << 52) - 4, std::vector<std::uint8_t>(8));  // leaves 2^52
  bench.dma.program_read(std::numeric_limits<std::uint64_t>::max(), 2);         // wraps
  bench.dma.program_read(0x1000, 4, std::vector<std::uint8_t>(3));              // expected size
  sc_core::sc_start();

  // Called from sc_main, not from a thread.
  const DmaResult outside = bench.dma.transfer(tlm::TLM_WRITE_COMMAND, 0x1000, buffer.data(), 8);

  EXPECT_FALSE(null_buffer.accepted);
  EXPECT_FALSE(ignore_command.accepted);
  EXPECT_FALSE(outside.accepted);
  EXPECT_EQ(outside.transactions, 0u);
  EXPECT_TRUE(valid.ok());
  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/pcie"), 8u);
  EXPECT_EQ(bench.dma.statistics().rejected_requests, 8u);
  EXPECT_EQ(bench.dma.statistics().programs_completed, 0u);
  ASSERT_EQ(bench.landings.size(), 1u);  // only the valid transfer reached memory
  EXPECT_EQ(bench.landings[0].command, tlm::TLM_WRITE_COMMAND);
  for (const auto& report : capture.reports()) {
    EXPECT_NE(report.message.find("rejected"), std::string::npos) << report.message;
  }
}

TEST(DmaMaster, InvalidConfigurationIsReportedAndRejectsEveryRequest) {
  testing::ReportCapture capture;
  DmaMasterConfig zero_payload;
  zero_payload.max_payload = 0;
  DmaMasterConfig odd_payload;
  odd_payload.max_payload = 48;
  DmaMasterConfig wide_pasid;
  wide_pasid.pasid = 1u << 20;
  SparseMemory memory_a("memory_a");
  SparseMemory memory_b("memory_b");
  SparseMemory memory_c("memory_c");
  DmaMaster dma_a("dma_a", zero_payload);
  DmaMaster dma_b("dma_b", odd_payload);
  DmaMaster dma_c("dma_c", wide_pasid);
  dma_a.socket.bind(memory_a.socket);
  dma_b.socket.bind(memory_b.socket);
  dma_c.socket.bind(memory_c.socket);
  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/pcie"), 3u);

  for (DmaMaster* dma : {&dma_a, &dma_b, &dma_c}) {
    dma->program_write(0x1000, std::vector<std::uint8_t>(16, 1));
  }
  sc_core::sc_start();

  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/pcie"), 6u);
  for (const DmaMaster* dma : {&dma_a, &dma_b, &dma_c}) {
    EXPECT_EQ(dma->statistics().rejected_requests, 1u);
    EXPECT_EQ(dma->statistics().transactions_issued, 0u);
  }
  EXPECT_EQ(memory_a.statistics().writes + memory_b.statistics().writes + memory_c.statistics().writes, 0u);
  EXPECT_NE(capture.reports()[0].message.find("max_payload"), std::string::npos);
  EXPECT_NE(capture.reports()[1].message.find("power of two"), std::string::npos);
  EXPECT_NE(capture.reports()[2].message.find("20 bits"), std::string::npos);
}

TEST(DmaMaster, LargestLegalPasidIsAccepted) {
  testing::ReportCapture capture;
  DmaMasterConfig config;
  config.pasid = 0xFFFFF;
  Bench bench(config);
  bench.dma.program_write(0x0, std::vector<std::uint8_t>(4, 1));
  sc_core::sc_start();
  EXPECT_EQ(capture.reports().size(), 0u);
  ASSERT_EQ(bench.landings.size(), 1u);
  EXPECT_EQ(bench.landings[0].sideband.substream_id, 0xFFFFFu);
}

}  // namespace
}  // namespace smmuv3tlm::pcie
