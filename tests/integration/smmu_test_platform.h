// A small platform for SMMU integration tests: the platform assembly
// (SmmuSystem: memory, junction, SMMU, "cpu" and its driver), a raw "device"
// initiator on upstream port 0, and signals on the IRQ lines with edge
// counters. Tests run their body as an SC_THREAD.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/lib/smmu_system.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"
#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::testing {

class SmmuTestPlatform : public platform::SmmuSystem {
 public:
  SC_HAS_PROCESS(SmmuTestPlatform);

  tlm_utils::simple_initiator_socket<SmmuTestPlatform> device;
  sc_core::sc_signal<bool> irq_eventq{"irq_eventq_sig"};
  sc_core::sc_signal<bool> irq_gerror{"irq_gerror_sig"};
  sc_core::sc_signal<bool> irq_priq{"irq_priq_sig"};
  sc_core::sc_signal<bool> irq_cmd_sync{"irq_cmd_sync_sig"};
  unsigned cmd_sync_rising_edges = 0;
  unsigned device_dmi_invalidations = 0;
  std::vector<std::uint64_t> downstream_addresses;  // translated traffic seen at memory
  // The side-band each of those accesses carried (empty: none).
  std::vector<std::optional<tlm_ext::SidebandExtension>> downstream_sidebands;

  SmmuTestPlatform(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& config,
                   std::function<void(SmmuTestPlatform&)> body);

  // DMA from the "device": returns the response status.
  tlm::tlm_response_status dma(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                               unsigned length, const tlm_ext::SidebandExtension* sideband = nullptr);

  // Queue set-up through the driver: 2^log2 entries at `base`.
  void setup_command_queue(std::uint64_t base, unsigned log2);
  void setup_event_queue(std::uint64_t base, unsigned log2);

 private:
  void run();
  void count_cmd_sync();
  void device_invalidate(sc_dt::uint64, sc_dt::uint64) { ++device_dmi_invalidations; }

  std::function<void(SmmuTestPlatform&)> body_;
};

// Completes a stage-1 set-up whose page tables `s1` a test has built in
// `allocator`'s pages: CD 0 is `cd` with TTB0 from `s1` and IPS from the
// SMMU's OAS, `stream_id`'s STE (a linear stream table) uses that CD table,
// and the driver resets the SMMU with small queues. Returns the STE's address.
template <typename Platform>
std::uint64_t start_stage1_stream(Platform& p, tables::PageAllocator& allocator, platform::MemoryTableSpace& space,
                                  const tables::PageTableBuilder& s1, std::uint32_t stream_id, tables::CdFields cd) {
  tables::CdTableBuilder cds(tables::CdTableGeometry{}, allocator, space);
  tables::attach_ttb0(cd, s1);
  cd.ips = tables::ps_encoding(p.smmu.config().capabilities.oas_bits);
  cds.write_cd(0, cd);
  tables::SteFields ste;
  ste.config = 0b101;
  tables::attach_cd_table(ste, cds);
  tables::StreamTableBuilder stream_table({smmu::StreamTableFormat::Linear, 4, 8}, allocator, space);
  const std::uint64_t ste_address = stream_table.write_ste(stream_id, ste);
  platform::SmmuSetup setup;
  setup.strtab_base = stream_table.strtab_base();
  setup.strtab_base_cfg = stream_table.strtab_base_cfg();
  setup.cmdq_base = allocator.allocate(16 * 16, 4096) | 4;
  setup.eventq_base = allocator.allocate(16 * 32, 4096) | 4;
  p.driver.reset(setup);
  return ste_address;
}

}  // namespace smmuv3tlm::testing
