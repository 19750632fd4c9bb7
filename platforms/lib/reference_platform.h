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

#include "models/common/parameter.h"
#include "models/pcie/dma_master.h"
#include "platforms/lib/smmu_system.h"

namespace smmuv3tlm::platform {

enum class TranslationMode { Bypass, Stage1, Stage2, Nested };
bool parse_translation_mode(const std::string& text, TranslationMode& mode);
const char* to_string(TranslationMode mode);

// The SMMU module's name: its keys are "smmu.<key>" (smmuv3_parameters.h).
inline constexpr const char* kSmmuInstance = "smmu";

struct ReferencePlatformConfig {
  ReferencePlatformConfig();
  smmu::Smmuv3Config smmu;  // MMU-700 capabilities, 10 ns acknowledge delay
  unsigned devices = 4;
  TranslationMode mode = TranslationMode::Stage1;
  unsigned granule_log2 = 12;
  std::uint64_t bytes_per_device = 1 << 20;
  unsigned max_payload = 256;
  double memory_read_latency_ns = 10.0;
  double memory_write_latency_ns = 10.0;
};

using Parameter = config::Parameter<ReferencePlatformConfig>;
// Every user-settable key, in one table (also rendered into docs/configuration.md):
// the platform's own keys and the SMMU's under "smmu.".
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
  smmu::Smmuv3& smmu() { return system_->smmu; }
  memory::SparseMemory& memory() { return system_->memory; }
  std::vector<smmu::EventRecord> events() const { return events_; }

 private:
  void host();
  void build_translation();

  ReferencePlatformConfig config_;
  std::unique_ptr<SmmuSystem> system_;
  std::vector<std::unique_ptr<pcie::DmaMaster>> devices_;
  std::vector<std::uint64_t> device_iova_;
  SmmuSetup setup_;
  bool finished_ = false;
  std::string error_;
  std::vector<smmu::EventRecord> events_;
};

}  // namespace smmuv3tlm::platform
