// The reference platform: PCIe DMA masters behind the SMMU, sparse memory behind
// it, and a host that builds the translation tables in memory and programs the
// SMMU through its registers (HostDriver). Each device streams writes then
// verified reads through its own translation (bypass, stage 1, stage 2 or nested).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "models/memory/sparse_memory.h"
#include "models/pcie/dma_master.h"
#include "models/smmu/smmuv3.h"
#include "platforms/lib/host_driver.h"
#include "tlm/junction.h"

namespace smmuv3tlm::platform {

enum class TranslationMode { Bypass, Stage1, Stage2, Nested };
bool parse_translation_mode(const std::string& text, TranslationMode& mode);
const char* to_string(TranslationMode mode);

struct ReferencePlatformConfig {
  std::string smmu_preset = "mmu-700";
  unsigned tlb_entries = 1024;
  unsigned tlb_ways = 4;
  std::string tlb_replacement = "lru";
  unsigned walk_cache_entries = 256;
  unsigned walk_cache_ways = 4;
  unsigned config_cache_entries = 4096;
  double tlb_hit_latency_ns = 1.0;
  double ack_delay_ns = 10.0;
  bool dmi = true;
  unsigned devices = 4;
  TranslationMode mode = TranslationMode::Stage1;
  unsigned granule_log2 = 12;
  std::uint64_t bytes_per_device = 1 << 20;
  unsigned max_payload = 256;
  double memory_read_latency_ns = 10.0;
  double memory_write_latency_ns = 10.0;
};

// One configuration key: its name, default, meaning, and how to set it from JSON.
struct Parameter {
  std::string key;
  std::string help;
  std::function<void(ReferencePlatformConfig&, const nlohmann::json&)> set;
  std::function<nlohmann::json(const ReferencePlatformConfig&)> get;
};
// Every user-settable key, in one table (also rendered into docs/configuration.md).
const std::vector<Parameter>& parameters();
// Applies {"key": value, ...}; throws std::invalid_argument naming a bad key or value.
void apply_parameters(ReferencePlatformConfig& config, const nlohmann::json& settings);
// "key=value" from the command line (value parsed as JSON, else taken as a string).
void apply_parameter_assignment(ReferencePlatformConfig& config, const std::string& assignment);

struct DeviceReport {
  std::uint32_t stream_id;
  pcie::DmaMasterStatistics stats;
};

class ReferencePlatform : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ReferencePlatform);
  ReferencePlatform(const sc_core::sc_module_name& name, const ReferencePlatformConfig& config);
  ~ReferencePlatform() override;

  const ReferencePlatformConfig& config() const { return config_; }
  bool finished() const { return finished_; }
  const std::string& error() const { return error_; }
  std::vector<DeviceReport> device_reports() const;
  smmu::Smmuv3& smmu() { return *smmu_; }
  memory::SparseMemory& memory() { return *memory_; }
  std::vector<smmu::EventRecord> events() const { return events_; }

 private:
  void host();
  void build_translation();

  ReferencePlatformConfig config_;
  std::unique_ptr<memory::SparseMemory> memory_;
  std::unique_ptr<tlm_ext::Junction> junction_;
  std::unique_ptr<smmu::Smmuv3> smmu_;
  std::vector<std::unique_ptr<pcie::DmaMaster>> devices_;
  std::unique_ptr<tlm_utils::simple_initiator_socket<ReferencePlatform>> cpu_;
  std::unique_ptr<HostDriver> driver_;
  std::array<sc_core::sc_signal<bool>, 4> irq_;
  std::vector<std::uint64_t> device_iova_;
  SmmuSetup setup_;
  bool finished_ = false;
  std::string error_;
  std::vector<smmu::EventRecord> events_;
};

}  // namespace smmuv3tlm::platform
