#include "platforms/lib/reference_platform.h"

#include <stdexcept>

#include <fmt/format.h>

#include "models/smmu/arch/registers.h"
#include "models/smmu/smmuv3_parameters.h"
#include "platforms/lib/memory_table_space.h"
#include "platforms/tables/table_builder.h"

namespace smmuv3tlm::platform {

namespace {

constexpr std::uint64_t kTableArea = 0x40000000;       // tables, queues (PA, and IPA when nested)
constexpr std::uint64_t kTableAreaSize = 0x10000000;
constexpr std::uint64_t kBufferBase = 0x100000000;     // device buffers (PA)
constexpr std::uint64_t kIovaBase = 0x1000000000;      // device IOVAs
constexpr std::uint64_t kNestedIpaBase = 0x2000000000; // nested: stage-1 outputs (IPA)
constexpr std::uint64_t kDeviceStride = 0x10000000;
constexpr std::uint32_t kFirstStreamId = 0x10;
constexpr unsigned kStage2InputBits = 40;

template <typename T>
Parameter number(const char* key, const char* help, T ReferencePlatformConfig::*field, double min, double max) {
  return config::number<ReferencePlatformConfig>(key, help, field, min, max);
}

}  // namespace

bool parse_translation_mode(const std::string& text, TranslationMode& mode) {
  if (text == "bypass") mode = TranslationMode::Bypass;
  else if (text == "s1") mode = TranslationMode::Stage1;
  else if (text == "s2") mode = TranslationMode::Stage2;
  else if (text == "nested") mode = TranslationMode::Nested;
  else return false;
  return true;
}

const char* to_string(TranslationMode mode) {
  switch (mode) {
    case TranslationMode::Bypass: return "bypass";
    case TranslationMode::Stage1: return "s1";
    case TranslationMode::Stage2: return "s2";
    case TranslationMode::Nested: return "nested";
  }
  return "unknown";
}

ReferencePlatformConfig::ReferencePlatformConfig() {
  smmu.capabilities = smmu::Capabilities::preset("mmu-700").value_or(smmu::Capabilities{});
  smmu.timing.ack_delay = sc_core::sc_time(10, sc_core::SC_NS);
}

const std::vector<Parameter>& parameters() {
  static const std::vector<Parameter> table = [] {
    std::vector<Parameter> t;
    config::append_prefixed(t, kSmmuInstance, smmu::smmu_parameters(), &ReferencePlatformConfig::smmu);
    const std::vector<Parameter> own = {
      number("platform.devices", "PCIe DMA masters (StreamIDs 0x10, 0x11, ...)", &ReferencePlatformConfig::devices, 1,
             64),
      Parameter{"platform.mode", "translation for every device: bypass, s1, s2 or nested",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  if (!v.is_string() || !parse_translation_mode(v.get<std::string>(), c.mode)) {
                    throw std::invalid_argument("must be bypass, s1, s2 or nested, got " + v.dump());
                  }
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(to_string(c.mode)); }},
      Parameter{"platform.granule", "translation granule in bytes: 4096, 16384 or 65536",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  const std::uint64_t g = v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
                  if (g != 4096 && g != 16384 && g != 65536) {
                    throw std::invalid_argument("must be 4096, 16384 or 65536, got " + v.dump());
                  }
                  c.granule_log2 = g == 4096 ? 12 : g == 16384 ? 14 : 16;
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(1u << c.granule_log2); }},
      number("platform.bytes_per_device", "bytes each device writes then reads back",
             &ReferencePlatformConfig::bytes_per_device, 1, 1ull << 32),
      number("platform.max_payload", "PCIe max payload (bytes per transaction)", &ReferencePlatformConfig::max_payload,
             1, 4096),
      number("memory.read_latency_ns", "memory read latency", &ReferencePlatformConfig::memory_read_latency_ns, 0, 1e9),
      number("memory.write_latency_ns", "memory write latency", &ReferencePlatformConfig::memory_write_latency_ns,
             0, 1e9),
    };
    t.insert(t.end(), own.begin(), own.end());
    return t;
  }();
  return table;
}

void apply_parameters(ReferencePlatformConfig& config, const nlohmann::json& settings) {
  try {
    config::apply(config, parameters(), settings);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(e.what()) + " (smmu-sim --list-parameters)");
  }
}

void apply_parameter_assignment(ReferencePlatformConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("expected key=value, got '" + assignment + "'");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;
  apply_parameters(config, nlohmann::json{{key, value}});
}

ReferencePlatform::ReferencePlatform(const sc_core::sc_module_name& name, const ReferencePlatformConfig& config)
    : sc_core::sc_module(name), config_(config) {
  if (config_.devices == 0 || config_.devices > 64) {
    SC_REPORT_ERROR("smmu/platform", "platform.devices must be 1..64; using 1");
    config_.devices = 1;
  }
  memory::SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_core::sc_time(config_.memory_read_latency_ns, sc_core::SC_NS);
  memory_config.write_latency = sc_core::sc_time(config_.memory_write_latency_ns, sc_core::SC_NS);
  smmu::Smmuv3Config smmu_config = config_.smmu;
  smmu_config.ports = config_.devices;
  smmu_config.default_stream_ids.clear();
  for (unsigned i = 0; i < config_.devices; ++i) smmu_config.default_stream_ids.push_back(kFirstStreamId + i);
  system_ = std::make_unique<SmmuSystem>("system", smmu_config, memory_config);

  for (unsigned i = 0; i < config_.devices; ++i) {
    pcie::DmaMasterConfig dc;
    dc.stream_id = kFirstStreamId + i;
    dc.max_payload = config_.max_payload;
    dc.address_bits = 64;
    dc.use_dmi = config_.smmu.dmi;
    devices_.push_back(std::make_unique<pcie::DmaMaster>(fmt::format("device_{}", i).c_str(), dc));
    devices_.back()->socket.bind(system_->smmu.upstream(i));
  }
  build_translation();
  SC_THREAD(host);
}

ReferencePlatform::~ReferencePlatform() = default;

void ReferencePlatform::build_translation() {
  MemoryTableSpace space(system_->memory);
  tables::PageAllocator allocator(kTableArea, kTableArea + kTableAreaSize);
  const smmu::Capabilities& caps = system_->smmu.config().capabilities;
  const std::uint64_t granule = 1ull << config_.granule_log2;
  const std::uint64_t span = (config_.bytes_per_device + granule - 1) & ~(granule - 1);

  tables::StreamTableGeometry st_geometry;
  st_geometry.format = smmu::StreamTableFormat::Linear;
  st_geometry.log2size = 8;
  tables::StreamTableBuilder stream_table(st_geometry, allocator, space);
  setup_.strtab_base = stream_table.strtab_base();
  setup_.strtab_base_cfg = stream_table.strtab_base_cfg();
  setup_.cmdq_base = (allocator.allocate(256 * 16, 4096) & smmu::mask_bits(51, 5)) | 8;
  setup_.eventq_base = (allocator.allocate(256 * 32, 4096) & smmu::mask_bits(51, 5)) | 8;
  setup_.cr1 = 0xd75;  // tables and queues: write-back cacheable, inner shareable
  setup_.cr2 = smmu::reg::cr2::RECINVSID | smmu::reg::cr2::PTM;

  for (unsigned i = 0; i < config_.devices; ++i) {
    const std::uint64_t buffer = kBufferBase + i * kDeviceStride;
    const std::uint64_t iova = kIovaBase + i * kDeviceStride;
    tables::SteFields ste;
    std::uint64_t dma_address = iova;
    std::unique_ptr<tables::PageTableBuilder> stage2;
    if (config_.mode == TranslationMode::Stage2 || config_.mode == TranslationMode::Nested) {
      const unsigned sl0 = tables::TableGeometry::legal_stage2_sl0(config_.granule_log2, kStage2InputBits,
                                                                   caps.oas_bits).front();
      stage2 = std::make_unique<tables::PageTableBuilder>(
          tables::TableGeometry::stage2(config_.granule_log2, kStage2InputBits, sl0, caps.oas_bits), allocator, space);
      tables::attach_stage2(ste, *stage2);
      ste.s2vmid = static_cast<std::uint16_t>(i + 1);
      ste.s2ps = tables::ps_encoding(caps.oas_bits);
    }
    switch (config_.mode) {
      case TranslationMode::Bypass:
        ste.config = 0b100;
        dma_address = buffer;
        break;
      case TranslationMode::Stage2:
        ste.config = 0b110;
        stage2->map(iova, buffer, span);
        break;
      case TranslationMode::Stage1:
      case TranslationMode::Nested: {
        const bool nested = config_.mode == TranslationMode::Nested;
        std::uint64_t s1_output = buffer;
        if (nested) {
          // Stage 2 maps the table area 1:1 (stage-1 tables and CDs live in IPA
          // space) and the device's IPA window onto its buffer.
          s1_output = kNestedIpaBase + i * kDeviceStride;
          stage2->map(kTableArea, kTableArea, kTableAreaSize);
          stage2->map(s1_output, buffer, span);
        }
        tables::PageTableBuilder stage1(tables::TableGeometry::stage1(config_.granule_log2, 48), allocator, space);
        stage1.map(iova, s1_output, span);
        tables::CdTableBuilder cds(tables::CdTableGeometry{}, allocator, space);
        tables::CdFields cd;
        tables::attach_ttb0(cd, stage1);
        cd.asid = static_cast<std::uint16_t>(i + 1);
        cd.ips = tables::ps_encoding(caps.oas_bits);
        cds.write_cd(0, cd);
        tables::attach_cd_table(ste, cds);
        ste.config = nested ? 0b111 : 0b101;
        break;
      }
    }
    stream_table.write_ste(kFirstStreamId + i, ste);
    device_iova_.push_back(dma_address);
  }
}

void ReferencePlatform::host() {
  try {
    system_->driver.reset(setup_);
    for (unsigned i = 0; i < config_.devices; ++i) {
      std::vector<std::uint8_t> pattern(config_.bytes_per_device);
      for (std::size_t b = 0; b < pattern.size(); ++b) pattern[b] = static_cast<std::uint8_t>(b * 7 + i * 13 + (b >> 12));
      devices_[i]->program_write(device_iova_[i], pattern);
      devices_[i]->program_read(device_iova_[i], pattern.size(), pattern);
    }
    for (auto& device : devices_) {
      while (device->pending_programs() > 0) sc_core::wait(device->programs_drained_event());
    }
    events_ = system_->driver.drain_events();
    finished_ = true;
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

std::vector<DeviceReport> ReferencePlatform::device_reports() const {
  std::vector<DeviceReport> reports;
  for (const auto& d : devices_) reports.push_back({d->config().stream_id, d->statistics()});
  return reports;
}

}  // namespace smmuv3tlm::platform
