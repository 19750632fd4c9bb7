// SparseMemory as a TLM-2.0 target: storage, byte enables, streaming, regions,
// DMI with invalidation, poison, debug transport and the backdoor. The memory
// never waits, so after elaboration the tests call its socket straight from the
// test body.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/tests/integration/report_capture.h"

namespace smmuv3tlm::memory {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// An initiator driven from the test body; records DMI invalidations.
class ProbeInitiator : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<ProbeInitiator> socket;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> invalidations;

  explicit ProbeInitiator(const sc_core::sc_module_name& name) : sc_core::sc_module(name), socket("socket") {
    socket.register_invalidate_direct_mem_ptr(this, &ProbeInitiator::invalidate);
  }

  struct Access {
    tlm::tlm_command command = tlm::TLM_READ_COMMAND;
    std::uint64_t address = 0;
    std::uint8_t* data = nullptr;
    unsigned length = 0;
    const std::uint8_t* byte_enables = nullptr;
    unsigned byte_enable_length = 0;
    unsigned streaming_width = 0;  // 0: same as length
  };

  struct Outcome {
    tlm::tlm_response_status status;
    sc_time delay;
    bool dmi_hint;
  };

  Outcome access(const Access& request) {
    tlm::tlm_generic_payload trans;
    trans.set_command(request.command);
    trans.set_address(request.address);
    trans.set_data_ptr(request.data);
    trans.set_data_length(request.length);
    trans.set_byte_enable_ptr(const_cast<std::uint8_t*>(request.byte_enables));
    trans.set_byte_enable_length(request.byte_enable_length);
    trans.set_streaming_width(request.streaming_width == 0 ? request.length : request.streaming_width);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(trans, delay);
    return Outcome{trans.get_response_status(), delay, trans.is_dmi_allowed()};
  }

  tlm::tlm_response_status read(std::uint64_t address, std::uint8_t* data, unsigned length) {
    return access({tlm::TLM_READ_COMMAND, address, data, length, nullptr, 0, 0}).status;
  }
  tlm::tlm_response_status write(std::uint64_t address, std::uint8_t* data, unsigned length) {
    return access({tlm::TLM_WRITE_COMMAND, address, data, length, nullptr, 0, 0}).status;
  }

  unsigned debug(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data, unsigned length) {
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(length);
    return socket->transport_dbg(trans);
  }

  bool request_dmi(std::uint64_t address, tlm::tlm_dmi& dmi) {
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_READ_COMMAND);
    trans.set_address(address);
    return socket->get_direct_mem_ptr(trans, dmi);
  }

 private:
  void invalidate(sc_dt::uint64 start, sc_dt::uint64 end) { invalidations.emplace_back(start, end); }
};

struct Bench {
  SparseMemory memory;
  ProbeInitiator cpu;

  explicit Bench(const SparseMemoryConfig& config = SparseMemoryConfig())
      : memory("memory", config), cpu("cpu") {
    cpu.socket.bind(memory.socket);
  }
  // Completes elaboration so the sockets can be called.
  void elaborate() { sc_core::sc_start(sc_core::SC_ZERO_TIME); }
};

// The harness pattern: every aligned 64-bit word holds its own address.
void address_fill(std::uint64_t pa, std::uint8_t* data, std::size_t len) {
  for (std::size_t i = 0; i < len; ++i) {
    const std::uint64_t byte_pa = pa + i;
    data[i] = static_cast<std::uint8_t>((byte_pa & ~std::uint64_t{7}) >> (8 * (byte_pa & 7)));
  }
}

std::uint64_t little_endian64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

TEST(SparseMemory, UntouchedReadsReturnFillByteWithoutAllocating) {
  SparseMemoryConfig config;
  config.fill_byte = 0xA5;
  Bench bench(config);
  bench.elaborate();

  std::array<std::uint8_t, 64> data{};
  ASSERT_EQ(bench.cpu.read(0x1234'5678'9000, data.data(), 64), tlm::TLM_OK_RESPONSE);
  for (std::uint8_t byte : data) EXPECT_EQ(byte, 0xA5);
  EXPECT_EQ(bench.memory.allocated_pages(), 0u);
  EXPECT_EQ(bench.memory.statistics().reads, 1u);
  EXPECT_EQ(bench.memory.statistics().bytes_read, 64u);
  EXPECT_EQ(bench.memory.statistics().error_responses, 0u);
  // The last byte of the 52-bit space is memory by default.
  std::uint8_t last = 0;
  EXPECT_EQ(bench.cpu.read((std::uint64_t{1} << 52) - 1, &last, 1), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(last, 0xA5);
}

TEST(SparseMemory, CustomUntouchedFillGivesEveryWordItsAddress) {
  Bench bench;
  bench.memory.set_untouched_fill(address_fill);
  bench.elaborate();

  std::array<std::uint8_t, 8> word{};
  for (std::uint64_t pa : {std::uint64_t{0x10}, std::uint64_t{0x7FF8}, std::uint64_t{0xABCD'E000'0008}}) {
    ASSERT_EQ(bench.cpu.read(pa, word.data(), 8), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(little_endian64(word.data()), pa);
  }
  // A partial write materialises the page; the rest keeps the fill function's values.
  std::array<std::uint8_t, 4> stamp = {0x11, 0x22, 0x33, 0x44};
  ASSERT_EQ(bench.cpu.write(0x2004, stamp.data(), 4), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.memory.allocated_pages(), 1u);
  EXPECT_EQ(bench.memory.read64(0x2000), 0x4433'2211'0000'2000u);
  EXPECT_EQ(bench.memory.read64(0x2008), 0x2008u);
  EXPECT_EQ(bench.memory.read64(0x2FF8), 0x2FF8u);
}

TEST(SparseMemory, WriteThenReadRoundTripsAcrossAPageBoundary) {
  Bench bench;
  bench.elaborate();

  std::array<std::uint8_t, 32> written{};
  for (std::size_t i = 0; i < written.size(); ++i) written[i] = static_cast<std::uint8_t>(0x40 + i);
  const auto write = bench.cpu.access({tlm::TLM_WRITE_COMMAND, 0x1FF0, written.data(), 32, nullptr, 0, 0});
  ASSERT_EQ(write.status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.memory.allocated_pages(), 2u);

  std::array<std::uint8_t, 32> read{};
  ASSERT_EQ(bench.cpu.read(0x1FF0, read.data(), 32), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(read, written);

  const auto& stats = bench.memory.statistics();
  EXPECT_EQ(stats.writes, 1u);
  EXPECT_EQ(stats.reads, 1u);
  EXPECT_EQ(stats.bytes_written, 32u);
  EXPECT_EQ(stats.bytes_read, 32u);
  std::array<std::uint8_t, 16> backdoor{};
  ASSERT_TRUE(bench.memory.backdoor_read(0x1FF8, backdoor.data(), 16));
  EXPECT_EQ(backdoor[0], 0x48);
  EXPECT_EQ(backdoor[15], 0x57);
}

TEST(SparseMemory, LatencyIsFirstBeatPlusOneBeatPeriodPerFurtherBeat) {
  SparseMemoryConfig config;
  config.read_latency = sc_time(10, SC_NS);
  config.write_latency = sc_time(20, SC_NS);
  config.beat_period = sc_time(1, SC_NS);
  config.bus_width_bytes = 16;
  config.size = 0x10000;
  Bench bench(config);
  bench.elaborate();

  std::array<std::uint8_t, 64> data{};
  EXPECT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x0, data.data(), 64, nullptr, 0, 0}).delay,
            sc_time(13, SC_NS));  // 4 beats
  EXPECT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x0, data.data(), 17, nullptr, 0, 0}).delay,
            sc_time(11, SC_NS));  // 2 beats
  EXPECT_EQ(bench.cpu.access({tlm::TLM_WRITE_COMMAND, 0x0, data.data(), 1, nullptr, 0, 0}).delay,
            sc_time(20, SC_NS));
  // An address error answers at once.
  EXPECT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x10000, data.data(), 8, nullptr, 0, 0}).delay,
            sc_core::SC_ZERO_TIME);
}

TEST(SparseMemory, ByteEnablesRepeatAndLeaveDisabledBytesAlone) {
  Bench bench;
  bench.elaborate();

  std::array<std::uint8_t, 16> initial{};
  for (std::size_t i = 0; i < initial.size(); ++i) initial[i] = static_cast<std::uint8_t>(i);
  ASSERT_TRUE(bench.memory.backdoor_write(0x3000, initial.data(), initial.size()));

  // Pattern of 4 repeated over 16 bytes: bytes 0 and 2 of every 4 are written.
  std::array<std::uint8_t, 16> update{};
  update.fill(0xF0);
  const std::array<std::uint8_t, 4> even_bytes = {0xFF, 0x00, 0xFF, 0x00};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_WRITE_COMMAND, 0x3000, update.data(), 16, even_bytes.data(), 4, 0}).status,
            tlm::TLM_OK_RESPONSE);
  std::array<std::uint8_t, 16> stored{};
  ASSERT_TRUE(bench.memory.backdoor_read(0x3000, stored.data(), stored.size()));
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i], i % 2 == 0 ? 0xF0 : i) << "byte " << i;
  }
  EXPECT_EQ(bench.memory.statistics().bytes_written, 8u);

  // A read leaves the data array untouched where bytes are disabled.
  std::array<std::uint8_t, 16> read{};
  read.fill(0xEE);
  const std::array<std::uint8_t, 2> odd_bytes = {0x00, 0xFF};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x3000, read.data(), 16, odd_bytes.data(), 2, 0}).status,
            tlm::TLM_OK_RESPONSE);
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i], i % 2 == 0 ? 0xEE : i) << "byte " << i;
  }
  EXPECT_EQ(bench.memory.statistics().bytes_read, 8u);
}

TEST(SparseMemory, StreamingWidthRepeatsTheAddressWindow) {
  SparseMemoryConfig config;
  config.size = 0x10000;
  Bench bench(config);
  bench.elaborate();

  std::array<std::uint8_t, 12> stream = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_WRITE_COMMAND, 0x3000, stream.data(), 12, nullptr, 0, 4}).status,
            tlm::TLM_OK_RESPONSE);
  std::array<std::uint8_t, 8> stored{};
  ASSERT_TRUE(bench.memory.backdoor_read(0x3000, stored.data(), 8));
  EXPECT_EQ(stored, (std::array<std::uint8_t, 8>{9, 10, 11, 12, 0, 0, 0, 0}));

  std::array<std::uint8_t, 8> read{};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x3000, read.data(), 8, nullptr, 0, 4}).status,
            tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(read, (std::array<std::uint8_t, 8>{9, 10, 11, 12, 9, 10, 11, 12}));

  // Only the streaming window must be memory: 16 bytes through a 4-byte window
  // at the last word fit, a plain 16-byte burst there does not.
  std::array<std::uint8_t, 16> fifo{};
  EXPECT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0xFFFC, fifo.data(), 16, nullptr, 0, 4}).status,
            tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0xFFFC, fifo.data(), 16, nullptr, 0, 16}).status,
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

TEST(SparseMemory, MalformedTransactionsGetGenericErrorAndAReport) {
  testing::ReportCapture capture;
  Bench bench;
  bench.elaborate();

  std::array<std::uint8_t, 8> data{};
  tlm::tlm_generic_payload trans;
  sc_time delay = sc_core::SC_ZERO_TIME;

  // Streaming width 0 is "not properly initialised" (LRM 14.15), not a burst the
  // target declines, so TLM_GENERIC_ERROR_RESPONSE rather than a burst error.
  trans.set_command(tlm::TLM_READ_COMMAND);
  trans.set_address(0x100);
  trans.set_data_ptr(data.data());
  trans.set_data_length(8);
  trans.set_streaming_width(0);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  bench.cpu.socket->b_transport(trans, delay);
  EXPECT_EQ(trans.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);

  trans.set_streaming_width(8);
  trans.set_data_length(0);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  bench.cpu.socket->b_transport(trans, delay);
  EXPECT_EQ(trans.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);

  std::uint8_t enable = 0xFF;
  trans.set_data_length(8);
  trans.set_byte_enable_ptr(&enable);
  trans.set_byte_enable_length(0);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  bench.cpu.socket->b_transport(trans, delay);
  EXPECT_EQ(trans.get_response_status(), tlm::TLM_GENERIC_ERROR_RESPONSE);

  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/memory"), 3u);
  EXPECT_EQ(bench.memory.statistics().error_responses, 3u);
  EXPECT_EQ(delay, sc_core::SC_ZERO_TIME);
  EXPECT_EQ(bench.memory.allocated_pages(), 0u);
}

TEST(SparseMemory, IgnoreCommandProbesTheAddressWithoutAccess) {
  SparseMemoryConfig config;
  config.size = 0x10000;
  Bench bench(config);
  std::vector<tlm::tlm_command> observed;
  bench.memory.set_access_observer(
      [&observed](const tlm::tlm_generic_payload& trans) { observed.push_back(trans.get_command()); });
  bench.elaborate();

  std::array<std::uint8_t, 8> data{};
  data.fill(0x77);
  EXPECT_EQ(bench.cpu.access({tlm::TLM_IGNORE_COMMAND, 0x100, data.data(), 8, nullptr, 0, 0}).status,
            tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.cpu.access({tlm::TLM_IGNORE_COMMAND, 0x10000, data.data(), 8, nullptr, 0, 0}).status,
            tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.memory.allocated_pages(), 0u);
  EXPECT_EQ(bench.memory.read64(0x100), 0u);
  EXPECT_EQ(bench.memory.statistics().ignores, 2u);
  EXPECT_EQ(bench.memory.statistics().reads + bench.memory.statistics().writes, 0u);
  EXPECT_EQ(observed, (std::vector<tlm::tlm_command>{tlm::TLM_IGNORE_COMMAND, tlm::TLM_IGNORE_COMMAND}));
}

TEST(SparseMemory, OutOfRangeAndCrossingTheEndAreAddressErrors) {
  SparseMemoryConfig config;
  config.size = 0x10000;
  Bench bench(config);
  bench.elaborate();

  std::array<std::uint8_t, 16> data{};
  EXPECT_EQ(bench.cpu.read(0xFFF8, data.data(), 8), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.cpu.read(0xFFF8, data.data(), 16), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.write(0x10000, data.data(), 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.read(std::uint64_t{1} << 63, data.data(), 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.read(~std::uint64_t{0} - 3, data.data(), 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.memory.statistics().error_responses, 4u);
  EXPECT_EQ(bench.memory.statistics().reads, 4u);
  EXPECT_EQ(bench.memory.statistics().writes, 1u);
  EXPECT_EQ(bench.memory.statistics().bytes_read, 8u);
  EXPECT_EQ(bench.memory.allocated_pages(), 0u);
}

TEST(SparseMemory, RegionsTurnEveryOtherAddressIntoAHole) {
  Bench bench;
  bench.memory.add_region(0x1000, 0x2000);
  bench.memory.add_region(0x3000, 0x1000);  // adjacent: merges into [0x1000, 0x4000)
  bench.memory.add_region(0x10000, 0x1000);
  bench.elaborate();

  EXPECT_TRUE(bench.memory.is_backed(0x1000, 0x3000));
  EXPECT_FALSE(bench.memory.is_backed(0x0FFF, 2));
  EXPECT_FALSE(bench.memory.is_backed(0x3FFF, 2));
  EXPECT_TRUE(bench.memory.is_backed(0x10FFF, 1));

  std::array<std::uint8_t, 16> data{};
  EXPECT_EQ(bench.cpu.read(0x2FF8, data.data(), 16), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.cpu.read(0x3FF8, data.data(), 16), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.write(0x5000, data.data(), 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.read(0x0, data.data(), 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(bench.cpu.write(0x10000, data.data(), 16), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.memory.statistics().error_responses, 3u);

  // DMI into a hole is refused the LRM way: whole range, no access.
  tlm::tlm_dmi dmi;
  EXPECT_FALSE(bench.cpu.request_dmi(0x5000, dmi));
  EXPECT_EQ(dmi.get_start_address(), 0u);
  EXPECT_EQ(dmi.get_end_address(), ~sc_dt::uint64{0});
  EXPECT_FALSE(dmi.is_read_allowed());
  EXPECT_FALSE(dmi.is_write_allowed());
}

TEST(SparseMemory, DeclaringRegionsWronglyIsReportedAndIgnored) {
  testing::ReportCapture capture;
  SparseMemoryConfig config;
  config.size = 0x100000;
  Bench bench(config);
  bench.memory.add_region(0x1000, 0);
  bench.memory.add_region(0xFF000, 0x2000);
  bench.memory.add_region(0x200000, 0x1000);
  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/memory"), 3u);
  bench.elaborate();
  // No region was declared, so everything is still memory.
  EXPECT_TRUE(bench.memory.is_backed(0, 0x100000));
}

TEST(SparseMemory, DmiGrantsThePageAndSharesItsStorage) {
  Bench bench;
  bench.elaborate();

  tlm::tlm_dmi dmi;
  ASSERT_TRUE(bench.cpu.request_dmi(0x12345, dmi));
  EXPECT_EQ(dmi.get_start_address(), 0x12000u);
  EXPECT_EQ(dmi.get_end_address(), 0x12FFFu);
  EXPECT_TRUE(dmi.is_read_write_allowed());
  EXPECT_EQ(dmi.get_read_latency(), sc_time(10, SC_NS));
  EXPECT_EQ(dmi.get_write_latency(), sc_time(10, SC_NS));
  EXPECT_EQ(bench.memory.allocated_pages(), 1u);  // allocated on request

  // Stores through the pointer are what transport reads, and vice versa.
  dmi.get_dmi_ptr()[0x345] = 0x5A;
  std::uint8_t byte = 0;
  ASSERT_EQ(bench.cpu.read(0x12345, &byte, 1), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(byte, 0x5A);
  std::uint8_t value = 0xC3;
  ASSERT_EQ(bench.cpu.write(0x12FFF, &value, 1), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(dmi.get_dmi_ptr()[0xFFF], 0xC3);

  // Later allocations never move a granted page.
  std::vector<std::uint8_t> bulk(0x40000, 0x99);
  ASSERT_TRUE(bench.memory.backdoor_write(0x100000, bulk.data(), bulk.size()));
  EXPECT_EQ(bench.memory.allocated_pages(), 1u + 0x40u);
  EXPECT_EQ(dmi.get_dmi_ptr()[0x345], 0x5A);
  EXPECT_TRUE(bench.cpu.invalidations.empty());

  // Transport responses carry the hint.
  EXPECT_TRUE(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x12000, &byte, 1, nullptr, 0, 0}).dmi_hint);
  EXPECT_EQ(bench.memory.statistics().dmi_grants, 1u);
}

TEST(SparseMemory, DmiWindowIsClippedToItsRegion) {
  Bench bench;
  bench.memory.add_region(0x20100, 0x700);
  bench.elaborate();

  tlm::tlm_dmi dmi;
  ASSERT_TRUE(bench.cpu.request_dmi(0x20200, dmi));
  EXPECT_EQ(dmi.get_start_address(), 0x20100u);
  EXPECT_EQ(dmi.get_end_address(), 0x207FFu);
  dmi.get_dmi_ptr()[0] = 0x42;  // the pointer maps the window's start address
  EXPECT_EQ(bench.memory.read64(0x20100) & 0xFF, 0x42u);
}

TEST(SparseMemory, DmiIsInvalidatedWhenPoisonLandsOnAGrantedPage) {
  Bench bench;
  bench.elaborate();

  tlm::tlm_dmi first;
  tlm::tlm_dmi second;
  ASSERT_TRUE(bench.cpu.request_dmi(0x1000, first));
  ASSERT_TRUE(bench.cpu.request_dmi(0x5800, second));

  bench.memory.poison(0x9000, 0x100);  // no granted page there
  EXPECT_TRUE(bench.cpu.invalidations.empty());

  bench.memory.poison(0x5010, 8);
  ASSERT_EQ(bench.cpu.invalidations.size(), 1u);
  EXPECT_EQ(bench.cpu.invalidations[0], (std::pair<std::uint64_t, std::uint64_t>{0x5000, 0x5FFF}));
  EXPECT_EQ(bench.memory.statistics().dmi_invalidations, 1u);

  // The poisoned page stays on the transport path; the other keeps DMI.
  tlm::tlm_dmi again;
  EXPECT_FALSE(bench.cpu.request_dmi(0x5000, again));
  EXPECT_EQ(again.get_start_address(), 0u);
  EXPECT_EQ(again.get_end_address(), ~sc_dt::uint64{0});
  std::uint8_t byte = 0;
  EXPECT_FALSE(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x5000, &byte, 1, nullptr, 0, 0}).dmi_hint);
  EXPECT_TRUE(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x1000, &byte, 1, nullptr, 0, 0}).dmi_hint);

  // Poison across both granted pages' range invalidates only what is still granted.
  bench.memory.poison(0x0, 0x10000);
  ASSERT_EQ(bench.cpu.invalidations.size(), 2u);
  EXPECT_EQ(bench.cpu.invalidations[1], (std::pair<std::uint64_t, std::uint64_t>{0x1000, 0x1FFF}));
}

TEST(SparseMemory, FirstRegionInvalidatesEarlierDmi) {
  Bench bench;
  bench.elaborate();
  tlm::tlm_dmi dmi;
  ASSERT_TRUE(bench.cpu.request_dmi(0x7000, dmi));
  bench.memory.add_region(0x0, 0x4000);
  ASSERT_EQ(bench.cpu.invalidations.size(), 1u);
  EXPECT_EQ(bench.cpu.invalidations[0].first, 0u);
  EXPECT_EQ(bench.cpu.invalidations[0].second, ~std::uint64_t{0});
  EXPECT_FALSE(bench.cpu.request_dmi(0x7000, dmi));
}

TEST(SparseMemory, DmiDisabledByConfigurationIsRefused) {
  SparseMemoryConfig config;
  config.dmi_allowed = false;
  Bench bench(config);
  bench.elaborate();
  tlm::tlm_dmi dmi;
  EXPECT_FALSE(bench.cpu.request_dmi(0x1000, dmi));
  std::uint8_t byte = 0;
  EXPECT_FALSE(bench.cpu.access({tlm::TLM_READ_COMMAND, 0x1000, &byte, 1, nullptr, 0, 0}).dmi_hint);
  EXPECT_EQ(bench.memory.allocated_pages(), 0u);
  EXPECT_EQ(bench.memory.statistics().dmi_refusals, 1u);
}

TEST(SparseMemory, PoisonedReadsReturnThePatternAndAreRecorded) {
  Bench bench;
  std::vector<PoisonedRead> observed;
  bench.memory.set_poison_observer(
      [&observed](std::uint64_t pa, std::size_t len) { observed.push_back({pa, len}); });
  bench.elaborate();

  std::array<std::uint8_t, 32> data{};
  data.fill(0x11);
  ASSERT_EQ(bench.cpu.write(0x8000, data.data(), 32), tlm::TLM_OK_RESPONSE);
  bench.memory.poison(0x8006, 5);

  // Reads that miss the poisoned bytes are not poison reads.
  ASSERT_EQ(bench.cpu.read(0x8000, data.data(), 6), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(bench.memory.poison_reads(), 0u);

  data.fill(0);
  ASSERT_EQ(bench.cpu.read(0x8000, data.data(), 32), tlm::TLM_OK_RESPONSE);
  const std::array<std::uint8_t, 5> pattern = {0xAD, 0xDE, 0xEF, 0xBE, 0xAD};  // 0x8006..0x800A
  for (std::size_t i = 0; i < data.size(); ++i) {
    const bool poisoned = i >= 6 && i < 11;
    EXPECT_EQ(data[i], poisoned ? pattern[i - 6] : 0x11) << "byte " << i;
  }
  EXPECT_EQ(bench.memory.poison_reads(), 1u);
  ASSERT_EQ(bench.memory.poisoned_reads().size(), 1u);
  EXPECT_EQ(bench.memory.poisoned_reads()[0].pa, 0x8006u);
  EXPECT_EQ(bench.memory.poisoned_reads()[0].length, 5u);
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0].pa, 0x8006u);
  EXPECT_EQ(observed[0].length, 5u);

  // A whole aligned word of scrubbed memory reads as 0xDEADBEEFDEADBEEF.
  bench.memory.poison(0x9000, 8);
  std::array<std::uint8_t, 8> word{};
  ASSERT_EQ(bench.cpu.read(0x9000, word.data(), 8), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(little_endian64(word.data()), 0xDEADBEEF'DEADBEEFu);
  EXPECT_EQ(bench.memory.poison_reads(), 2u);
  // The backdoor shows the same bytes without counting.
  EXPECT_EQ(bench.memory.read64(0x9000), 0xDEADBEEF'DEADBEEFu);
  EXPECT_EQ(bench.memory.poison_reads(), 2u);
}

TEST(SparseMemory, WritesClearPoisonOnlyForTheBytesTheyWrite) {
  Bench bench;
  bench.elaborate();
  bench.memory.poison(0xA000, 16);

  std::array<std::uint8_t, 4> word = {1, 2, 3, 4};
  ASSERT_EQ(bench.cpu.write(0xA004, word.data(), 4), tlm::TLM_OK_RESPONSE);
  EXPECT_TRUE(bench.memory.is_poisoned(0xA000, 4));
  EXPECT_FALSE(bench.memory.is_poisoned(0xA004, 4));
  EXPECT_TRUE(bench.memory.is_poisoned(0xA008, 8));

  // Byte enables: only the enabled (even) bytes of [0xA008, 0xA010) are written.
  std::array<std::uint8_t, 8> update{};
  update.fill(0x66);
  const std::array<std::uint8_t, 2> even = {0xFF, 0x00};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_WRITE_COMMAND, 0xA008, update.data(), 8, even.data(), 2, 0}).status,
            tlm::TLM_OK_RESPONSE);
  EXPECT_FALSE(bench.memory.is_poisoned(0xA008, 1));
  EXPECT_TRUE(bench.memory.is_poisoned(0xA009, 1));
  EXPECT_FALSE(bench.memory.is_poisoned(0xA00E, 1));
  EXPECT_TRUE(bench.memory.is_poisoned(0xA00F, 1));

  std::array<std::uint8_t, 16> data{};
  ASSERT_EQ(bench.cpu.read(0xA000, data.data(), 16), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(data[4], 1);
  EXPECT_EQ(data[8], 0x66);
  EXPECT_EQ(data[9], SparseMemory::poison_byte(0xA009));
  EXPECT_EQ(bench.memory.poison_reads(), 1u);
  const auto& runs = bench.memory.poisoned_reads();
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[0].pa, 0xA000u);
  EXPECT_EQ(runs[0].length, 4u);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].pa, 0xA009u + 2 * (i - 1));
    EXPECT_EQ(runs[i].length, 1u);
  }

  bench.memory.unpoison(0xA000, 16);
  EXPECT_FALSE(bench.memory.is_poisoned(0xA000, 16));
  ASSERT_EQ(bench.cpu.read(0xA000, data.data(), 16), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(data[9], 0);  // the stored byte shows again
  EXPECT_EQ(bench.memory.poison_reads(), 1u);
}

TEST(SparseMemory, StreamingReadOfPoisonCountsOnlyTheWindow) {
  Bench bench;
  bench.elaborate();
  bench.memory.poison(0xB002, 1);
  std::array<std::uint8_t, 12> data{};
  ASSERT_EQ(bench.cpu.access({tlm::TLM_READ_COMMAND, 0xB000, data.data(), 12, nullptr, 0, 4}).status,
            tlm::TLM_OK_RESPONSE);
  for (std::size_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(data[i], i % 4 == 2 ? SparseMemory::poison_byte(0xB002) : 0) << "byte " << i;
  }
  EXPECT_EQ(bench.memory.poison_reads(), 1u);
  ASSERT_EQ(bench.memory.poisoned_reads().size(), 1u);
  EXPECT_EQ(bench.memory.poisoned_reads()[0].pa, 0xB002u);
  EXPECT_EQ(bench.memory.poisoned_reads()[0].length, 1u);
}

TEST(SparseMemory, TransportDbgTransfersWhatFitsWithoutSideEffects) {
  SparseMemoryConfig config;
  config.size = 0x10000;
  Bench bench(config);
  std::size_t observed = 0;
  bench.memory.set_access_observer([&observed](const tlm::tlm_generic_payload&) { ++observed; });
  bench.elaborate();

  std::array<std::uint8_t, 16> data{};
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0xA0 + i);
  EXPECT_EQ(bench.cpu.debug(tlm::TLM_WRITE_COMMAND, 0x100, data.data(), 16), 16u);
  EXPECT_EQ(bench.memory.read64(0x108), 0xAFAE'ADAC'ABAA'A9A8u);

  bench.memory.backdoor_write(0xFFF8, data.data(), 8);
  std::array<std::uint8_t, 16> read{};
  EXPECT_EQ(bench.cpu.debug(tlm::TLM_READ_COMMAND, 0xFFF8, read.data(), 16), 8u);
  EXPECT_EQ(read[0], 0xA0);
  EXPECT_EQ(read[7], 0xA7);
  EXPECT_EQ(bench.cpu.debug(tlm::TLM_READ_COMMAND, 0x10000, read.data(), 4), 0u);

  bench.memory.poison(0x200, 4);
  EXPECT_EQ(bench.cpu.debug(tlm::TLM_READ_COMMAND, 0x200, read.data(), 4), 4u);
  EXPECT_EQ(read[0], 0xEF);
  EXPECT_EQ(read[3], 0xDE);
  EXPECT_EQ(bench.memory.poison_reads(), 0u);
  // A debug write is a write: it clears poison.
  EXPECT_EQ(bench.cpu.debug(tlm::TLM_WRITE_COMMAND, 0x200, data.data(), 2), 2u);
  EXPECT_FALSE(bench.memory.is_poisoned(0x200, 2));
  EXPECT_TRUE(bench.memory.is_poisoned(0x202, 2));

  EXPECT_EQ(observed, 0u);
  EXPECT_EQ(bench.memory.statistics().reads + bench.memory.statistics().writes, 0u);
}

TEST(SparseMemory, BackdoorIsLittleEndianAndBoundsChecked) {
  testing::ReportCapture capture;
  SparseMemoryConfig config;
  config.size = 0x100000;
  Bench bench(config);
  bench.memory.add_region(0x0, 0x8000);
  bench.elaborate();

  ASSERT_TRUE(bench.memory.write64(0x40, 0x0102'0304'0506'0708));
  std::array<std::uint8_t, 8> bytes{};
  ASSERT_TRUE(bench.memory.backdoor_read(0x40, bytes.data(), 8));
  EXPECT_EQ(bytes, (std::array<std::uint8_t, 8>{8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(bench.memory.read64(0x40), 0x0102'0304'0506'0708u);
  EXPECT_EQ(capture.count(sc_core::SC_WARNING), 0u);

  EXPECT_FALSE(bench.memory.backdoor_read(0x7FFC, bytes.data(), 8));   // crosses into the hole
  EXPECT_EQ(bench.memory.read64(0x9000), 0u);                          // in the hole
  EXPECT_FALSE(bench.memory.write64(0x200000, 1));                     // beyond size
  EXPECT_FALSE(bench.memory.backdoor_write(0x100, bytes.data(), 0));   // empty
  bench.memory.poison(0xFFFF8, 16);                                    // crosses the end
  bench.memory.unpoison(0x0, 0);                                       // empty
  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/memory"), 6u);
  EXPECT_EQ(bench.memory.allocated_pages(), 1u);
  EXPECT_FALSE(bench.memory.is_poisoned(0xFFFF8, 8));
  // A scrub may span a hole: poison only needs to lie inside [0, size).
  bench.memory.poison(0x7000, 0x4000);
  EXPECT_EQ(capture.count(sc_core::SC_ERROR, "smmu/memory"), 6u);
}

TEST(SparseMemory, AccessObserverSeesEveryTransportCallWithItsResponse) {
  SparseMemoryConfig config;
  config.size = 0x10000;
  Bench bench(config);
  struct Seen {
    tlm::tlm_command command;
    std::uint64_t address;
    unsigned length;
    tlm::tlm_response_status status;
  };
  std::vector<Seen> seen;
  bench.memory.set_access_observer([&seen](const tlm::tlm_generic_payload& trans) {
    seen.push_back({trans.get_command(), trans.get_address(), trans.get_data_length(),
                    trans.get_response_status()});
  });
  bench.elaborate();

  std::array<std::uint8_t, 8> data{};
  bench.cpu.write(0x40, data.data(), 8);
  bench.cpu.read(0x44, data.data(), 4);
  bench.cpu.read(0x20000, data.data(), 2);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].command, tlm::TLM_WRITE_COMMAND);
  EXPECT_EQ(seen[0].address, 0x40u);
  EXPECT_EQ(seen[0].length, 8u);
  EXPECT_EQ(seen[0].status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(seen[1].command, tlm::TLM_READ_COMMAND);
  EXPECT_EQ(seen[1].address, 0x44u);
  EXPECT_EQ(seen[1].length, 4u);
  EXPECT_EQ(seen[2].address, 0x20000u);
  EXPECT_EQ(seen[2].status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

}  // namespace
}  // namespace smmuv3tlm::memory
