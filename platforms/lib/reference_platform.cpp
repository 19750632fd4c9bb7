#include "smmuv3tlm/platforms/lib/reference_platform.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <boost/icl/interval_set.hpp>
#include <fmt/format.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "smmuv3tlm/models/smmu/smmuv3_parameters.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::platform {

namespace {

using driver::DomainType;

constexpr std::uint64_t kBufferBase = 0x1'0000'0000;    // engine buffers (PA)
constexpr std::uint64_t kIovaBase = 0x10'0000'0000;     // engine IOVAs
constexpr std::uint64_t kNestedIpaBase = 0x20'0000'0000; // nested: the guest's IPA window onto its buffer
constexpr std::uint64_t kGuestRamBase = 0x6000'0000;    // nested: guest RAM (IPA = PA) for its CD and tables
constexpr std::uint64_t kGuestRamSize = 0x100'0000;
constexpr std::uint64_t kEngineStride = 0x1000'0000;
constexpr unsigned kMaxDevices = 32;
constexpr unsigned kMaxPasids = 8;
constexpr unsigned kPasidMasterBits = 20;  // a PCIe PASID-capable function

template <typename T>
Parameter number(const char* key, const char* help, T ReferencePlatformConfig::*field, double min, double max) {
  return config::number<ReferencePlatformConfig>(key, help, field, min, max);
}

Parameter driver_flag(const char* key, const char* help, bool driver::DriverOptions::*field) {
  return Parameter{key, help,
                   [field](ReferencePlatformConfig& c, const nlohmann::json& v) {
                     if (!v.is_boolean()) throw std::invalid_argument("must be true or false, got " + v.dump());
                     c.driver.*field = v.get<bool>();
                   },
                   [field](const ReferencePlatformConfig& c) { return nlohmann::json(c.driver.*field); }};
}

Parameter driver_number(const char* key, const char* help, unsigned driver::DriverOptions::*field, unsigned min,
                        unsigned max) {
  return Parameter{key, help,
                   [field, min, max](ReferencePlatformConfig& c, const nlohmann::json& v) {
                     if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
                       throw std::invalid_argument(fmt::format("must be an integer in [{}, {}], got {}", min, max, v.dump()));
                     }
                     c.driver.*field = v.get<unsigned>();
                   },
                   [field](const ReferencePlatformConfig& c) { return nlohmann::json(c.driver.*field); }};
}

Parameter page_kind_key(driver::PageUse use) {
  return Parameter{fmt::format("driver.memory.{}", driver::to_string(use)),
                   fmt::format("allocation kind of the driver's {}: iommu-pages (preservable) or coherent-dma",
                               driver::to_string(use)),
                   [use](ReferencePlatformConfig& c, const nlohmann::json& v) {
                     const std::string text = v.is_string() ? v.get<std::string>() : "";
                     if (text == "iommu-pages") c.driver_memory.kind_of[use] = driver::PageKind::IommuPages;
                     else if (text == "coherent-dma") c.driver_memory.kind_of[use] = driver::PageKind::CoherentDma;
                     else throw std::invalid_argument("must be \"iommu-pages\" or \"coherent-dma\", got " + v.dump());
                   },
                   [use](const ReferencePlatformConfig& c) {
                     auto it = c.driver_memory.kind_of.find(use);
                     return nlohmann::json(driver::to_string(it == c.driver_memory.kind_of.end()
                                                                 ? driver::PageKind::IommuPages
                                                                 : it->second));
                   }};
}

DeviceSpec parse_device(const nlohmann::json& v, std::size_t index) {
  const std::string where = fmt::format("[{}]", index);
  DeviceSpec d;
  nlohmann::json domain = v;
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (key != "domain" && key != "pasids") throw std::invalid_argument(where + ": unknown key '" + key + "'");
    }
    if (!v.contains("domain")) throw std::invalid_argument(where + ": missing key 'domain'");
    domain = v.at("domain");
    if (v.contains("pasids")) {
      const nlohmann::json& p = v.at("pasids");
      if (!p.is_number_integer() || p.get<long long>() < 0 || p.get<long long>() > kMaxPasids) {
        throw std::invalid_argument(fmt::format("{}.pasids: must be an integer in [0, {}], got {}", where, kMaxPasids,
                                                p.dump()));
      }
      d.pasids = p.get<unsigned>();
    }
  }
  if (!domain.is_string() || !driver::parse_domain_type(domain.get<std::string>(), d.domain)) {
    throw std::invalid_argument(where + ": the domain must be bypass, abort, s1, s2 or nested, got " + domain.dump());
  }
  if (d.pasids > 0 && d.domain != DomainType::Stage1) {
    throw std::invalid_argument(where + ": PASIDs need an s1 domain");
  }
  return d;
}

nlohmann::json device_json(const DeviceSpec& d) {
  const char* name = d.domain == DomainType::Identity ? "bypass" : d.domain == DomainType::Blocked ? "abort"
                                                                                                   : driver::to_string(d.domain);
  if (d.pasids == 0) return name;
  return nlohmann::json{{"domain", name}, {"pasids", d.pasids}};
}

}  // namespace

std::string describe(const DeviceSpec& device) {
  const nlohmann::json j = device_json(device);
  return j.is_string() ? j.get<std::string>() : fmt::format("s1+{} PASIDs", device.pasids);
}

bool ScenarioReport::passed() const {
  return unexpected_errors == 0 && verify_failures == 0 && global_errors == 0 &&
         (!fault_checked || (fault_error_response && fault_event_seen));
}

ReferencePlatformConfig::ReferencePlatformConfig() {
  smmu.capabilities = smmu::Capabilities::preset("mmu-700").value_or(smmu::Capabilities{});
  smmu.timing.ack_delay = sc_core::sc_time(10, sc_core::SC_NS);
  devices = {{DomainType::Stage1, 0}, {DomainType::Stage1, 0}, {DomainType::Stage2, 0}, {DomainType::Nested, 0}};
}

namespace {
// A JSON address or size: a number, or a string such as "0x7000_0000" is not
// (underscores are a trace's); "0x70000000" and "4096" are.
std::uint64_t address_value(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    std::size_t used = 0;
    try {
      const std::uint64_t n = std::stoull(text, &used, 0);
      if (used == text.size() && !text.empty() && text[0] != '-') return n;
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument("expected an address (a number or \"0x...\"), got " + v.dump());
}
}  // namespace

const std::vector<Parameter>& parameters() {
  static const std::vector<Parameter> table = [] {
    std::vector<Parameter> t;
    config::append_prefixed(t, kSmmuInstance, smmu::smmu_parameters(), &ReferencePlatformConfig::smmu);
    std::vector<Parameter> own = {
      Parameter{"smmu.coherent_access",
                "IDR0.COHACC: the SMMU's table walks snoop CPU caches (false: the driver cleans every table store "
                "to PoC); applied after smmu.capabilities",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  if (!v.is_boolean()) throw std::invalid_argument("must be true or false, got " + v.dump());
                  c.smmu.capabilities.coherent_access = v.get<bool>();
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(c.smmu.capabilities.coherent_access); }},
      Parameter{"platform.devices",
                "the PCIe devices (StreamIDs 0x10, 0x11, ...), each a domain: \"bypass\", \"abort\", \"s1\", \"s2\", "
                "\"nested\", or {\"domain\": \"s1\", \"pasids\": N} (N more DMA engines, one stage-1 domain each)",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  if (!v.is_array() || v.empty() || v.size() > kMaxDevices) {
                    throw std::invalid_argument(fmt::format("must be an array of 1..{} devices, got {}", kMaxDevices,
                                                            v.dump()));
                  }
                  std::vector<DeviceSpec> devices;
                  for (std::size_t i = 0; i < v.size(); ++i) devices.push_back(parse_device(v[i], i));
                  c.devices = devices;
                },
                [](const ReferencePlatformConfig& c) {
                  nlohmann::json j = nlohmann::json::array();
                  for (const DeviceSpec& d : c.devices) j.push_back(device_json(d));
                  return j;
                }},
      Parameter{"platform.granule", "translation granule of every domain in bytes: 4096, 16384 or 65536",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  const std::uint64_t g = v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
                  if (g != 4096 && g != 16384 && g != 65536) {
                    throw std::invalid_argument("must be 4096, 16384 or 65536, got " + v.dump());
                  }
                  c.granule_log2 = g == 4096 ? 12 : g == 16384 ? 14 : 16;
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(1u << c.granule_log2); }},
      number("platform.bytes_per_device", "bytes each DMA engine writes then reads back",
             &ReferencePlatformConfig::bytes_per_device, 1, kEngineStride),
      Parameter{"platform.max_payload",
                "bytes per transaction: a power of two from 1 to 4096 (PCIe Max_Payload_Size takes 128..4096)",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  const std::uint64_t bytes = v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
                  // The DMA masters split transfers at this size: a power of two (DmaMasterConfig).
                  if (bytes == 0 || bytes > 4096 || (bytes & (bytes - 1)) != 0) {
                    throw std::invalid_argument("must be a power of two in [1, 4096], got " + v.dump());
                  }
                  c.max_payload = static_cast<unsigned>(bytes);
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(c.max_payload); }},
      config::boolean<ReferencePlatformConfig>("platform.fault_after_unmap",
                                               "after unmapping, one deliberate DMA that must fault (F_TRANSLATION)",
                                               &ReferencePlatformConfig::fault_after_unmap),
      config::boolean<ReferencePlatformConfig>(
          "platform.irqs_wired", "the SMMU's event-queue and GERROR lines wake the driver (false: it polls)",
          &ReferencePlatformConfig::irqs_wired),
      number("platform.quantum_ns", "loosely-timed quantum of the driver CPU and DMA masters",
             &ReferencePlatformConfig::quantum_ns, 0, 1e9),
      number("platform.irq_latency_ns",
             "time from an interrupt's rising edge to the driver's handler (a threaded handler being scheduled)",
             &ReferencePlatformConfig::irq_latency_ns, 0, 1e9),
      config::boolean<ReferencePlatformConfig>(
          "platform.monitor_dma", "a DMA continuity monitor per engine (counts per handover phase; turns DMI off)",
          &ReferencePlatformConfig::monitor_dma),
      config::boolean<ReferencePlatformConfig>(
          "platform.monitor_isolation",
          "an isolation monitor on the SMMU's downstream path (every translated access checked against the "
          "mappings the software recorded; turns DMI off)",
          &ReferencePlatformConfig::monitor_isolation),
      Parameter{"handover.smmu_reset", "SMMU reset during a live update's kexec: none, warm or cold",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  if (!v.is_string() || !handover::parse_smmu_reset(v.get<std::string>(), c.handover_smmu_reset)) {
                    throw std::invalid_argument("must be \"none\", \"warm\" or \"cold\", got " + v.dump());
                  }
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(handover::to_string(c.handover_smmu_reset)); }},
      number("handover.kexec_us", "how long the CPU is away between shutdown and adoption",
             &ReferencePlatformConfig::kexec_us, 0, 1e6),
      config::boolean<ReferencePlatformConfig>(
          "handover.kexec_writes_back_dirty_lines",
          "at kexec the CPU cache's dirty lines reach memory (true) or are lost (false)",
          &ReferencePlatformConfig::kexec_writes_back_dirty_lines),
      Parameter{"memory.holes",
                "address ranges that are not memory, [[base, size], ...] (numbers or \"0x...\" strings, 4 KiB "
                "aligned, below 2^52): accesses there get an address error (walks, STE and CD fetches abort)",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  if (!v.is_array()) throw std::invalid_argument("must be an array of [base, size], got " + v.dump());
                  std::vector<std::pair<std::uint64_t, std::uint64_t>> holes;
                  for (const nlohmann::json& h : v) {
                    if (!h.is_array() || h.size() != 2) {
                      throw std::invalid_argument("each hole is [base, size], got " + h.dump());
                    }
                    const std::uint64_t base = address_value(h[0]);
                    const std::uint64_t size = address_value(h[1]);
                    if (base % 0x1000 != 0 || size % 0x1000 != 0 || size == 0 || base >= (std::uint64_t{1} << 52) ||
                        size > (std::uint64_t{1} << 52) - base) {
                      throw std::invalid_argument("a hole must be 4 KiB aligned, non-empty and below 2^52, got " +
                                                  h.dump());
                    }
                    holes.emplace_back(base, size);
                  }
                  c.memory_holes = holes;
                },
                [](const ReferencePlatformConfig& c) {
                  nlohmann::json j = nlohmann::json::array();
                  for (const auto& [base, size] : c.memory_holes) {
                    j.push_back({fmt::format("{:#x}", base), fmt::format("{:#x}", size)});
                  }
                  return j;
                }},
      number("memory.read_latency_ns", "memory read latency", &ReferencePlatformConfig::memory_read_latency_ns, 0, 1e9),
      number("memory.write_latency_ns", "memory write latency", &ReferencePlatformConfig::memory_write_latency_ns,
             0, 1e9),
      Parameter{"driver.memory.base",
                "where the kernel's own allocations (stream table, queues, CD and page tables) start: a multiple "
                "of 64 KiB below 2^48",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  const std::uint64_t b = v.is_number_unsigned() ? v.get<std::uint64_t>() : 1;
                  if (b % 0x10000 != 0 || b >= (std::uint64_t{1} << 48)) {
                    throw std::invalid_argument("must be a multiple of 0x10000 below 2^48, got " + v.dump());
                  }
                  c.driver_memory.base = b;
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(c.driver_memory.base); }},
      Parameter{"driver.memory.size", "bytes of the kernel's own allocations: 16 MiB to 4 GiB, a multiple of 64 KiB",
                [](ReferencePlatformConfig& c, const nlohmann::json& v) {
                  const std::uint64_t n = v.is_number_unsigned() ? v.get<std::uint64_t>() : 0;
                  if (n % 0x10000 != 0 || n < (std::uint64_t{16} << 20) || n > (std::uint64_t{4} << 30)) {
                    throw std::invalid_argument("must be a multiple of 0x10000 in [16 MiB, 4 GiB], got " + v.dump());
                  }
                  c.driver_memory.size = n;
                },
                [](const ReferencePlatformConfig& c) { return nlohmann::json(c.driver_memory.size); }},
      driver_flag("driver.disable_s1", "hide IDR0.S1P from the driver: every DMA domain is stage 2",
                  &driver::DriverOptions::disable_s1),
      driver_flag("driver.disable_msipolling", "CMD_SYNC completion by CONS polling instead of MSI polling",
                  &driver::DriverOptions::disable_msipolling),
      driver_flag("driver.disable_bypass", "unattached streams abort instead of bypassing (Linux's default)",
                  &driver::DriverOptions::disable_bypass),
      driver_flag("driver.force_non_coherent", "clean every table store to PoC even if IDR0.COHACC",
                  &driver::DriverOptions::force_non_coherent),
      driver_flag("driver.skip_pte_clean",
                  "a planted bug: page-table stores are not cleaned to PoC on a non-coherent SMMU",
                  &driver::DriverOptions::skip_pte_clean),
      driver_number("driver.cmdq_log2", "log2 of the command queue entries (capped by IDR1.CMDQS)",
                    &driver::DriverOptions::cmdq_log2, 1, 19),
      driver_number("driver.eventq_log2", "log2 of the event queue entries (capped by IDR1.EVENTQS)",
                    &driver::DriverOptions::eventq_log2, 1, 19),
      driver_number("driver.poll_limit", "poll intervals before the driver declares a wait stuck",
                    &driver::DriverOptions::poll_limit, 1, 100000000),
    };
    for (driver::PageUse use :
         {driver::PageUse::StreamTableL1, driver::PageUse::StreamTableL2, driver::PageUse::CdTableL1,
          driver::PageUse::CdTableL2, driver::PageUse::Stage1Table, driver::PageUse::Stage2Table,
          driver::PageUse::CommandQueue, driver::PageUse::EventQueue, driver::PageUse::MsiWord}) {
      own.push_back(page_kind_key(use));
    }
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

void validate(const ReferencePlatformConfig& config) {
  if (std::string problem = smmu::cache_geometry_problem(config.smmu, kSmmuInstance); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
  const smmu::Capabilities& caps = config.smmu.capabilities;
  const driver::DriverMemoryConfig& kernel = config.driver_memory;
  const driver::DriverMemoryConfig& crash = config.crash_kernel_memory;
  if (kernel.base + kernel.size > (std::uint64_t{1} << 48)) {
    throw std::invalid_argument("driver.memory.base + driver.memory.size: the kernel's memory ends beyond 2^48");
  }
  for (const auto& [base, size] : config.memory_holes) {
    if (base < kernel.base + kernel.size && kernel.base < base + size) {
      throw std::invalid_argument(fmt::format("memory.holes: [{:#x}, +{:#x}) overlaps the kernel's memory (driver.memory.base)",
                                              base, size));
    }
  }
  if (kernel.base < crash.base + crash.size && crash.base < kernel.base + kernel.size) {
    throw std::invalid_argument(fmt::format("driver.memory.base/size: [{:#x}, +{:#x}) overlaps the crash kernel's "
                                            "memory [{:#x}, +{:#x})", kernel.base, kernel.size, crash.base,
                                            crash.size));
  }
  const bool stage1 = caps.stage1 && !config.driver.disable_s1;
  if (!caps.supports_granule(config.granule_log2)) {
    throw std::invalid_argument(fmt::format("platform.granule: the SMMU (smmu.capabilities) has no {} KiB granule",
                                            (1u << config.granule_log2) / 1024));
  }
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const DeviceSpec& d = config.devices[i];
    const std::string where = fmt::format("platform.devices[{}] ({})", i, describe(d));
    if (d.domain == DomainType::Nested && !(stage1 && caps.stage2)) {
      throw std::invalid_argument(where + ": nesting needs both stages (smmu.capabilities S1P and S2P, "
                                          "driver.disable_s1 false)");
    }
    if ((d.domain == DomainType::Stage1 || d.domain == DomainType::Stage2) && !caps.stage1 && !caps.stage2) {
      throw std::invalid_argument(where + ": the SMMU translates at no stage");
    }
    if (d.pasids > 0 && (!stage1 || caps.ssid_bits == 0)) {
      throw std::invalid_argument(where + ": PASIDs need stage 1 and SubstreamIDs (smmu.capabilities SSIDSIZE > 0, "
                                          "driver.disable_s1 false)");
    }
  }
}

// ---------------------------------------------------------------------------

ReferencePlatform::ReferencePlatform(const sc_core::sc_module_name& name, const ReferencePlatformConfig& config,
                                     Scenario scenario)
    : sc_core::sc_module(name),
      config_(config),
      scenario_(std::move(scenario)),
      driver_memory_(std::make_unique<driver::DriverMemory>(config.driver_memory)),
      scrubbed_([this](std::uint64_t pa, std::uint64_t bytes) { return system_->memory.is_poisoned(pa, bytes); }),
      missing_clean_([this](std::uint64_t pa, std::uint64_t bytes) { return cache_ && cache_->dirty(pa, bytes); }) {
  if ((config_.devices.empty() && !config_.trace_port) || config_.devices.size() > kMaxDevices) {
    throw std::invalid_argument(fmt::format("platform.devices: 1..{} devices", kMaxDevices));
  }
  validate(config_);
  // Engines: each device's main function, then one per PASID.
  for (unsigned d = 0; d < config_.devices.size(); ++d) {
    for (unsigned p = 0; p <= config_.devices[d].pasids; ++p) {
      Engine e;
      e.device = d;
      e.stream_id = kFirstStreamId + d;
      e.pasid = p;
      engines_.push_back(std::move(e));
    }
  }
  memory::SparseMemoryConfig memory_config;
  memory_config.read_latency = sc_core::sc_time(config_.memory_read_latency_ns, sc_core::SC_NS);
  memory_config.write_latency = sc_core::sc_time(config_.memory_write_latency_ns, sc_core::SC_NS);
  smmu::Smmuv3Config smmu_config = config_.smmu;
  smmu_config.ports = static_cast<unsigned>(engines_.size()) + (config_.trace_port ? 1 : 0);
  smmu_config.default_stream_ids.clear();
  for (const Engine& e : engines_) smmu_config.default_stream_ids.push_back(e.stream_id);
  if (config_.trace_port) smmu_config.default_stream_ids.push_back(0);
  system_ = std::make_unique<SmmuSystem>("system", smmu_config, memory_config, "smmu", nlohmann::json::object(),
                                         config_.monitor_isolation);
  if (!config_.memory_holes.empty()) {
    // Memory is what the holes leave of the address space.
    boost::icl::interval_set<std::uint64_t> memory;
    memory += boost::icl::interval<std::uint64_t>::right_open(0, memory_config.size);
    for (const auto& [base, size] : config_.memory_holes) {
      memory -= boost::icl::interval<std::uint64_t>::right_open(base, base + size);
    }
    for (const auto& range : memory) system_->memory.add_region(range.lower(), range.upper() - range.lower());
  }
  tlm_utils::tlm_quantumkeeper::set_global_quantum(sc_core::sc_time(config_.quantum_ns, sc_core::SC_NS));

  cpu_ = std::make_unique<driver::DriverCpu>("cpu", system_->cpu, [this](driver::DriverCpu& c) { cpu_main(c); });
  // The CPU's cache: write-back when the SMMU is not coherent. Coherent-dma
  // memory (queues, MSI words) is mapped non-cacheable and bypasses it.
  cache_ = std::make_unique<memory::CpuCache>("cpu_cache", !config_.smmu.capabilities.coherent_access);
  cache_->set_cacheable([this](std::uint64_t pa) {
    const driver::DriverPage* page = driver_memory_->page_at(pa);
    return page == nullptr || page->kind != driver::PageKind::CoherentDma;
  });
  cpu_->memory.bind(cache_->cpu);
  cache_->memory_side.bind(system_->junction.in);
  cpu_->set_clean_hook([this](std::uint64_t pa, std::uint64_t bytes, sc_core::sc_time& delay) {
    cache_->clean(pa, bytes, delay);
  });
  if (config_.irqs_wired) {
    system_->smmu.irq_eventq.bind(eventq_irq_);
    system_->smmu.irq_gerror.bind(gerror_irq_);
    cpu_->set_irq_latency(sc_core::sc_time(config_.irq_latency_ns, sc_core::SC_NS));
    cpu_->eventq_irq.bind(eventq_irq_);
    cpu_->gerror_irq.bind(gerror_irq_);
  }
  driver_ = std::make_unique<driver::SmmuDriver>(*cpu_, *driver_memory_, config_.driver);
  attach_checkers();
  handover::HandoverConfig hc;
  hc.smmu_reset = config_.handover_smmu_reset;
  hc.kexec_time = sc_core::sc_time(config_.kexec_us, sc_core::SC_US);
  hc.kernel_memory = {{config_.driver_memory.base, config_.driver_memory.size, "kernel"}};
  hc.cpu_cache = cache_.get();
  hc.write_back_dirty_lines = config_.kexec_writes_back_dirty_lines;
  handover_ = std::make_unique<handover::HandoverController>("handover", system_->memory, system_->smmu, hc);
  handover_->set_phase_observer([this](handover::Phase phase) { on_phase(phase); });

  for (unsigned i = 0; i < engines_.size(); ++i) {
    Engine& e = engines_[i];
    e.buffer = kBufferBase + i * kEngineStride;
    e.dma_address = kIovaBase + i * kEngineStride;
    pcie::DmaMasterConfig dc;
    dc.stream_id = e.stream_id;
    if (e.pasid != 0) dc.pasid = e.pasid;
    dc.max_payload = config_.max_payload;
    dc.address_bits = 64;
    dc.use_dmi = config_.smmu.dmi;
    const std::string engine_name = e.pasid == 0 ? fmt::format("device_{}", e.device)
                                          : fmt::format("device_{}_pasid_{}", e.device, e.pasid);
    e.master = std::make_unique<pcie::DmaMaster>(engine_name.c_str(), dc);
    if (config_.monitor_dma) {
      monitors_.push_back(std::make_unique<handover::DmaMonitor>((engine_name + "_monitor").c_str(), handover_.get()));
      e.master->socket.bind(monitors_.back()->upstream);
      monitors_.back()->downstream.bind(system_->smmu.upstream(i));
    } else {
      e.master->socket.bind(system_->smmu.upstream(i));
    }
  }
  if (config_.trace_port) {
    pcie::DmaMasterConfig dc;
    dc.max_payload = config_.max_payload;
    dc.address_bits = 64;
    trace_master_ = std::make_unique<pcie::DmaMaster>("trace_dma", dc);
    trace_master_->socket.bind(system_->smmu.upstream(static_cast<unsigned>(engines_.size())));
  }
}

ReferencePlatform::~ReferencePlatform() = default;

void ReferencePlatform::cpu_main(driver::DriverCpu& cpu) {
  driver_->probe();
  driver_->reset();
  domains_ = std::make_unique<driver::IommuDomains>(*driver_);
  cpu.serve_interrupts(*driver_, this);
  if (scenario_) {
    scenario_(*this);
  } else {
    run_default_scenario();
  }
  cpu.synchronize();
  // The last phase's counters end with the scenario.
  const Snapshot end = snapshot();
  close_phase(end);
  phase_start_ = end;
}

bool ReferencePlatform::translates(unsigned device) const {
  const DomainType t = config_.devices.at(device).domain;
  return t == DomainType::Stage1 || t == DomainType::Stage2 || t == DomainType::Nested;
}

void ReferencePlatform::setup_devices() {
  const std::uint64_t granule = std::uint64_t{1} << config_.granule_log2;
  const std::uint64_t span = (config_.bytes_per_device + granule - 1) & ~(granule - 1);
  driver::DomainOptions options;
  options.granule_log2 = config_.granule_log2;
  for (unsigned d = 0; d < config_.devices.size(); ++d) {
    const DeviceSpec& spec = config_.devices[d];
    driver::MasterConfig mc;
    mc.stream_ids = {kFirstStreamId + d};
    mc.ssid_bits = spec.pasids > 0 ? kPasidMasterBits : 0;
    driver::Master& master = domains_->add_master(mc);
    masters_.push_back(&master);
    Engine& main_engine = *std::find_if(engines_.begin(), engines_.end(),
                                        [d](const Engine& e) { return e.device == d && e.pasid == 0; });
    driver::Domain* domain = nullptr;
    switch (spec.domain) {
      case DomainType::Identity:
      case DomainType::Blocked:
        domain = &domains_->create(spec.domain);
        main_engine.dma_address = main_engine.buffer;
        break;
      case DomainType::Stage1:
      case DomainType::Stage2:
        domain = &domains_->create(spec.domain, options);
        domain->map(main_engine.dma_address, main_engine.buffer, span);
        mappings_.push_back({domain, main_engine.dma_address, span});
        break;
      case DomainType::Nested: {
        // The VMM's nest-parent stage 2: the guest's RAM at IPA = PA, and the
        // guest's IPA window onto this device's buffer.
        driver::DomainOptions parent_options = options;
        parent_options.nest_parent = true;
        driver::Domain& parent = domains_->create(DomainType::Stage2, parent_options);
        driver::DriverMemoryConfig guest_config;
        guest_config.base = kGuestRamBase + guest_memories_.size() * kGuestRamSize;
        guest_config.size = kGuestRamSize;
        driver::DriverMemory& guest_memory = add_guest_memory(guest_config);
        parent.map(guest_config.base, guest_config.base, guest_config.size);
        const std::uint64_t ipa = nested_ipa(d);
        parent.map(ipa, main_engine.buffer, span);
        // The guest: its own stage 1 (ASID 1 in its VMID) from IOVA to IPA.
        domain = &domains_->create_nested(parent, guest_memory, 1, config_.granule_log2);
        domain->map(main_engine.dma_address, ipa, span);
        mappings_.push_back({domain, main_engine.dma_address, span});
        mappings_.push_back({&parent, ipa, span});
        break;
      }
    }
    device_domains_.push_back(domain);
    domains_->attach(master, *domain);
    for (Engine& e : engines_) {
      if (e.device != d || e.pasid == 0) continue;
      driver::Domain& pasid_domain = domains_->create(DomainType::Stage1, options);
      pasid_domain.map(e.dma_address, e.buffer, span);
      mappings_.push_back({&pasid_domain, e.dma_address, span});
      domains_->attach_pasid(master, e.pasid, pasid_domain);
    }
  }
}

std::vector<std::uint8_t> ReferencePlatform::pattern(unsigned engine, std::uint64_t bytes) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(bytes));
  for (std::size_t b = 0; b < p.size(); ++b) p[b] = static_cast<std::uint8_t>(b * 7 + engine * 13 + (b >> 12));
  return p;
}

std::uint64_t ReferencePlatform::nested_ipa(unsigned device) { return kNestedIpaBase + device * kEngineStride; }

void ReferencePlatform::stream_all(std::uint64_t bytes) {
  for (unsigned i = 0; i < engines_.size(); ++i) {
    const std::vector<std::uint8_t> data = pattern(i, bytes);
    engines_[i].master->program_write(engines_[i].dma_address, data);
    engines_[i].master->program_read(engines_[i].dma_address, data.size(), data);
  }
}

void ReferencePlatform::stream_repeatedly(std::uint64_t bytes, unsigned reads) {
  constexpr std::uint64_t kPiece = 256;
  const std::uint64_t pieces = std::max<std::uint64_t>(bytes / kPiece, 1);
  for (unsigned i = 0; i < engines_.size(); ++i) {
    Engine& e = engines_[i];
    const std::vector<std::uint8_t> data = pattern(i, bytes);
    e.master->program_write(e.dma_address, data);
    for (unsigned r = 0; r < reads; ++r) {
      const std::uint64_t offset = (r % pieces) * kPiece;
      const std::uint64_t length = std::min(kPiece, bytes - offset);
      e.master->program_read(e.dma_address + offset, length,
                             std::vector<std::uint8_t>(data.begin() + static_cast<std::ptrdiff_t>(offset),
                                                       data.begin() + static_cast<std::ptrdiff_t>(offset + length)));
    }
  }
}

void ReferencePlatform::wait_for_engines() {
  cpu_->synchronize();
  for (Engine& e : engines_) {
    while (e.master->pending_programs() > 0) sc_core::wait(e.master->programs_drained_event());
  }
}

void ReferencePlatform::unmap_all() {
  for (const MappingRecord& m : mappings_) report_.bytes_unmapped += m.domain->unmap(m.iova, m.size);
}

bool ReferencePlatform::wait_for_event(const std::function<bool(const smmu::EventRecord&)>& match,
                                       const sc_core::sc_time& timeout) {
  cpu_->synchronize();
  const sc_core::sc_time deadline = sc_core::sc_time_stamp() + timeout;
  while (true) {
    if (std::any_of(events_.begin(), events_.end(), match)) return true;
    if (sc_core::sc_time_stamp() >= deadline) return false;
    cpu_->relax();
  }
}

void ReferencePlatform::run_default_scenario() {
  setup_devices();
  stream_all(config_.bytes_per_device);
  wait_for_engines();
  for (Engine& e : engines_) {
    const pcie::DmaMasterStatistics& s = e.master->statistics();
    report_.verify_failures += s.verify_failures;
    if (config_.devices[e.device].domain == DomainType::Blocked) {
      report_.expected_aborts += s.error_responses_total();
    } else {
      report_.unexpected_errors += s.error_responses_total();
    }
  }
  unmap_all();
  if (!config_.fault_after_unmap) return;
  auto victim = std::find_if(engines_.begin(), engines_.end(),
                             [this](const Engine& e) { return e.pasid == 0 && translates(e.device); });
  if (victim == engines_.end()) return;  // no translating device: nothing to unmap
  report_.fault_checked = true;
  const std::uint64_t errors_before = victim->master->statistics().error_responses_total();
  victim->master->program_read(victim->dma_address, 64);
  wait_for_engines();
  report_.fault_error_response = victim->master->statistics().error_responses_total() > errors_before;
  const std::uint32_t sid = victim->stream_id;
  const std::uint64_t iova = victim->dma_address;
  report_.fault_event_seen = wait_for_event(
      [sid, iova](const smmu::EventRecord& r) {
        return r.id == smmu::EventId::F_TRANSLATION && r.stream_id == sid && r.input_addr == iova;
      },
      sc_core::sc_time(100, sc_core::SC_US));
}

smmu::EntryWords ReferencePlatform::backdoor_entry(std::uint64_t address) const {
  smmu::EntryWords words{};
  for (unsigned q = 0; q < 8; ++q) words[q] = system_->memory.read64(address + 8 * q);
  return words;
}

void ReferencePlatform::attach_checkers() {
  constexpr int kCpuInitiator = 2;  // junction index after the SMMU's downstream and table-walk sockets
  constexpr std::uint8_t kCmdSync = 0x46;
  system_->smmu.add_memory_observer([this](const smmu::MemoryAccessRecord& r) {
    handover::SmmuAccess a;
    a.time_ns = r.time.to_seconds() * 1e9;
    a.pa = r.pa;
    a.size = r.size;
    a.write = r.write;
    a.purpose = r.purpose;
    a.stream_id = r.stream_id == smmu::AccessContext::kNoStream ? handover::kNoStream : r.stream_id;
    a.data = r.data;
    if (!r.ok) return;
    scrubbed_.on_smmu_access(a);
    missing_clean_.on_smmu_access(a);
    torn_.on_smmu_access(a);
    ids_.on_smmu_access(a);
    // A CMD_SYNC fetched: every command before it has taken effect.
    if (r.purpose == smmu::AccessPurpose::CommandQueue && !r.write && r.data != nullptr) {
      for (std::uint32_t off = 0; off + smmu::kCommandBytes <= r.size; off += smmu::kCommandBytes) {
        if (r.data[off] == kCmdSync) torn_.on_sync(a.time_ns);
      }
    }
  });
  system_->junction.add_observer([this](int initiator, const tlm::tlm_generic_payload& trans) {
    if (initiator != kCpuInitiator || !trans.is_write() || !trans.is_response_ok()) return;
    torn_.on_cpu_store({sc_core::sc_time_stamp().to_seconds() * 1e9, trans.get_address(), trans.get_data_length(),
                        trans.get_data_ptr()});
  });
  cpu_->add_register_observer([this](std::uint64_t offset, std::uint64_t value, unsigned) {
    phase_counters_[static_cast<std::size_t>(counting_)].registers_written.insert(offset);
    if ((offset & ~std::uint64_t{4}) == smmu::reg::STRTAB_BASE) ids_.on_stream_table_change();
    smmu::ProgrammingInterface& pi = system_->smmu.programming_interface();
    adoption_rules_.on_register_write(sc_core::sc_time_stamp().to_seconds() * 1e9, offset, value, pi.cr0ack(),
                                      pi.active_global_errors());
  });
}

ReferencePlatform::Snapshot ReferencePlatform::snapshot() {
  Snapshot s;
  s.time = sc_core::sc_time_stamp();
  s.register_writes = cpu_->statistics().register_writes;
  s.commands = system_->smmu.programming_interface().statistics().commands_executed;
  const smmu::TranslationStatistics& t = system_->smmu.translation().statistics();
  s.walks = t.walks;
  s.tlb_misses = system_->smmu.translation().tlb().statistics().misses;
  return s;
}

void ReferencePlatform::close_phase(const Snapshot& now) {
  PhaseCounters& c = phase_counters_[static_cast<std::size_t>(counting_)];
  // A statistics reset within the phase (a trace's `stats reset`) restarts the counters from 0.
  const auto delta = [](std::uint64_t end, std::uint64_t start) { return end >= start ? end - start : end; };
  c.duration += now.time - phase_start_.time;
  c.register_writes += delta(now.register_writes, phase_start_.register_writes);
  c.commands += delta(now.commands, phase_start_.commands);
  c.walks += delta(now.walks, phase_start_.walks);
  c.tlb_misses += delta(now.tlb_misses, phase_start_.tlb_misses);
}

void ReferencePlatform::on_phase(handover::Phase phase) {
  cpu_->synchronize();
  const Snapshot now = snapshot();
  close_phase(now);
  counting_ = phase;
  phase_start_ = now;
  for (const auto& observer : phase_observers_) observer(phase);
}

std::vector<handover::Finding> ReferencePlatform::findings() const {
  std::vector<handover::Finding> all;
  for (const handover::Checker* c : std::initializer_list<const handover::Checker*>{&scrubbed_, &missing_clean_, &torn_, &ids_, &adoption_rules_}) {
    all.insert(all.end(), c->findings().begin(), c->findings().end());
  }
  return all;
}

const handover::DmaMonitor* ReferencePlatform::monitor(unsigned engine) const {
  return engine < monitors_.size() ? monitors_[engine].get() : nullptr;
}

std::vector<std::string> ReferencePlatform::live_update(const std::vector<unsigned>& devices) {
  std::vector<driver::Master*> masters;
  for (unsigned d : devices) masters.push_back(masters_.at(d));
  begin_live_update(masters);
  handover_->run_shutdown(*this);
  handover_->run_kexec(*this);
  handover_->run_adopt(*this);
  handover_->run_finish();
  return refused_;
}

void ReferencePlatform::begin_live_update(const std::vector<driver::Master*>& masters) {
  preserved_masters_ = masters;
  kdump_ = false;
  refused_.clear();
  handover_->run_preserve(*this);
}

driver::DriverMemory& ReferencePlatform::add_guest_memory(const driver::DriverMemoryConfig& config) {
  guest_memories_.push_back(std::make_unique<driver::DriverMemory>(config));
  return *guest_memories_.back();
}

driver::KdumpAdoption ReferencePlatform::crash_and_adopt() {
  begin_crash();
  handover_->run_adopt(*this);
  handover_->run_finish();
  return kdump_outcome_;
}

void ReferencePlatform::begin_crash() {
  kdump_ = true;
  refused_.clear();
  handover_->run_crash(*this);
}

std::vector<handover::MemoryRange> ReferencePlatform::preserve() {
  record_ = domains_->preserve(preserved_masters_);
  record_json_ = record_.to_json().dump();
  std::vector<handover::MemoryRange> ranges;
  for (const driver::PreservedRange& r : record_.ranges) ranges.push_back({r.pa, r.bytes, driver::to_string(r.use)});
  return ranges;
}

void ReferencePlatform::shutdown() {
  std::set<std::uint32_t> sids;
  for (const driver::Master* m : preserved_masters_) sids.insert(m->config().stream_ids.begin(), m->config().stream_ids.end());
  driver_->shutdown_for_live_update(sids);
  // What the outgoing kernel left, for the adoption-rule checker.
  saved_stes_.clear();
  for (std::uint32_t sid : sids) saved_stes_.emplace_back(sid, backdoor_entry(driver_->ste_address(sid)));
}

void ReferencePlatform::destroy() {
  // kexec: the kernel's objects vanish; nothing is stored, nothing freed.
  cpu_->quiesce_interrupts();
  domains_->forget();
  domains_.reset();
  driver_.reset();
  masters_.clear();
  preserved_masters_.clear();
  device_domains_.clear();
  mappings_.clear();
  driver_memory_ = std::make_unique<driver::DriverMemory>(kdump_ ? config_.crash_kernel_memory : config_.driver_memory);
}

void ReferencePlatform::adopt() {
  driver_ = std::make_unique<driver::SmmuDriver>(*cpu_, *driver_memory_, config_.driver);
  domains_ = std::make_unique<driver::IommuDomains>(*driver_);
  if (kdump_) {
    kdump_outcome_ = driver_->adopt_after_crash();
    if (kdump_outcome_.adopted) domains_->reserve_live_identifiers();
  } else {
    nlohmann::json received = nlohmann::json::parse(record_json_);
    if (tamper_) tamper_(received);
    const driver::HandoverRecord record = driver::HandoverRecord::from_json(received);
    driver_->adopt(record);
    for (const auto& [sid, saved] : saved_stes_) {
      const std::uint64_t address = driver_->ste_address(sid);
      adoption_rules_.on_adopted_ste(sc_core::sc_time_stamp().to_seconds() * 1e9, sid, address, saved,
                                     backdoor_entry(address));
    }
    refused_ = domains_->adopt(record, [this](std::uint64_t base) -> driver::DriverMemory* {
      for (auto& g : guest_memories_) {
        if (g->base() == base) return g.get();
      }
      return nullptr;
    });
    // The preserved devices' masters and domains, found again by StreamID.
    for (unsigned d = 0; d < config_.devices.size(); ++d) {
      driver::Master* found = nullptr;
      for (const auto& m : domains_->masters()) {
        if (m->config().stream_ids.front() == kFirstStreamId + d && m->domain() != nullptr) found = m.get();
      }
      masters_.push_back(found);
      device_domains_.push_back(found != nullptr ? found->domain() : nullptr);
    }
  }
  cpu_->serve_interrupts(*driver_, this);
}

void ReferencePlatform::on_event(const smmu::EventRecord& record) {
  events_.push_back(record);
  PhaseCounters& phase = phase_counters_[static_cast<std::size_t>(counting_)];
  ++phase.events;
  ++phase.events_by_stream[record.stream_id];
  ++report_.events_by_type[smmu::to_string(record.id)];
  for (const auto& observer : event_observers_) observer(record);
}

void ReferencePlatform::on_overflow() { ++report_.event_overflows; }

void ReferencePlatform::on_global_errors(std::uint32_t active) {
  report_.global_errors |= active;
  for (std::uint32_t bit = 1; bit != 0 && bit <= active; bit <<= 1) {
    if (const char* name = smmu::reg::gerror::name(bit); name != nullptr && (active & bit) != 0) {
      ++report_.global_errors_by_type[name];
    }
  }
}

}  // namespace smmuv3tlm::platform
