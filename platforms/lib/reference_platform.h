// The reference platform: PCIe DMA masters behind the SMMU, sparse memory, and
// one CPU running the host driver model (platforms/driver), which reaches the
// SMMU only through TLM: its register socket, and a memory initiator on the
// interconnect the SMMU's table walks use. IRQ lines are wired to the CPU.
//
// Each device has a StreamID (0x10, 0x11, ...) and a domain: bypass, abort,
// s1, s2, nested (a guest's stage 1 over a nest-parent stage 2), or s1 with
// PASIDs (one more DMA engine per PASID, each with a stage-1 domain of its
// own). The default scenario (smmu-sim's main job): the driver probes and
// resets the SMMU, builds the domains, maps each device's buffer and attaches
// it; every engine writes its buffer and reads it back verified; the driver
// unmaps; one deliberate DMA after unmap must fault with F_TRANSLATION, seen by
// the driver's event handler, and an error response at the master.
// Tests run their own scenario on the same platform.
#pragma once

#include <cstdint>
#include <functional>
#include <array>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "smmuv3tlm/models/common/parameter.h"
#include "smmuv3tlm/models/handover/dma_monitor.h"
#include "smmuv3tlm/models/handover/checkers/adoption_rule_checker.h"
#include "smmuv3tlm/models/handover/checkers/id_collision_checker.h"
#include "smmuv3tlm/models/handover/checkers/missing_clean_checker.h"
#include "smmuv3tlm/models/handover/checkers/scrubbed_fetch_checker.h"
#include "smmuv3tlm/models/handover/checkers/torn_entry_checker.h"
#include "smmuv3tlm/models/handover/handover_controller.h"
#include "smmuv3tlm/models/pcie/dma_master.h"
#include "smmuv3tlm/platforms/driver/driver_cpu.h"
#include "smmuv3tlm/platforms/driver/handover_record.h"
#include "smmuv3tlm/platforms/driver/iommu_domain.h"
#include "smmuv3tlm/platforms/lib/smmu_system.h"

namespace smmuv3tlm::platform {

// The SMMU module's name: its keys are "smmu.<key>" (smmuv3_parameters.h).
inline constexpr const char* kSmmuInstance = "smmu";
inline constexpr std::uint32_t kFirstStreamId = 0x10;

struct DeviceSpec {
  driver::DomainType domain = driver::DomainType::Stage1;
  unsigned pasids = 0;  // s1 only: PASIDs 1..pasids, each its own DMA engine and stage-1 domain
};
std::string describe(const DeviceSpec& device);

struct ReferencePlatformConfig {
  ReferencePlatformConfig();
  smmu::Smmuv3Config smmu;  // MMU-700 capabilities, 10 ns acknowledge delay
  std::vector<DeviceSpec> devices;  // s1, s1, s2, nested
  unsigned granule_log2 = 12;
  std::uint64_t bytes_per_device = 1 << 20;
  unsigned max_payload = 256;
  bool fault_after_unmap = true;
  bool irqs_wired = true;  // else the driver polls the event queue and GERROR
  double quantum_ns = 1000.0;
  // From an interrupt line's rising edge to the driver's handler (a threaded
  // handler being scheduled): 0 runs it at once.
  double irq_latency_ns = 0.0;
  // Address ranges [base, base + size) that are not memory: an access there
  // gets TLM_ADDRESS_ERROR_RESPONSE (table walks, STE and CD fetches abort).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> memory_holes;
  double memory_read_latency_ns = 10.0;
  double memory_write_latency_ns = 10.0;
  driver::DriverOptions driver;
  driver::DriverMemoryConfig driver_memory;
  // Live update: a DMA continuity monitor per engine (no DMI then), the SMMU
  // reset during kexec and how long the CPU is away.
  bool monitor_dma = false;
  // An IsolationMonitor on the SMMU's downstream path (SmmuSystem::isolation()).
  bool monitor_isolation = false;
  // Trace mode (platforms/trace): devices may be empty, and one more SMMU port
  // takes a DMA master whose every transfer carries its own StreamID,
  // SubstreamID and attributes (no DMI: grants belong to one stream).
  bool trace_port = false;
  handover::SmmuReset handover_smmu_reset = handover::SmmuReset::None;
  double kexec_us = 10.0;
  bool kexec_writes_back_dirty_lines = true;
  // kdump: the crash kernel runs in memory of its own (crashkernel=), so its
  // allocations never land on the crashed kernel's live tables.
  driver::DriverMemoryConfig crash_kernel_memory = [] {
    driver::DriverMemoryConfig c;
    c.base = 0x5000'0000;
    c.size = 0x400'0000;
    return c;
  }();
};

using Parameter = config::Parameter<ReferencePlatformConfig>;
// Every user-settable key, in one table (also rendered into docs/configuration.md):
// the platform's own keys, the driver's, and the SMMU's under "smmu.".
const std::vector<Parameter>& parameters();
// Applies {"key": value, ...}; throws std::invalid_argument naming a bad key or value.
void apply_parameters(ReferencePlatformConfig& config, const nlohmann::json& settings);
// "key=value" from the command line (value parsed as JSON, else taken as a string).
void apply_parameter_assignment(ReferencePlatformConfig& config, const std::string& assignment);
// Throws std::invalid_argument naming the keys of a combination the platform
// cannot run (a nested device without both stages, PASIDs without SSIDs, a
// granule the SMMU lacks), so that a run never starts with it.
void validate(const ReferencePlatformConfig& config);

// One DMA engine: a device's main function, or one of its PASIDs.
struct Engine {
  unsigned device = 0;
  std::uint32_t stream_id = 0;
  std::uint32_t pasid = 0;         // 0: no SubstreamID
  std::uint64_t dma_address = 0;   // IOVA (or PA under bypass/abort)
  std::uint64_t buffer = 0;        // PA of its buffer
  std::unique_ptr<pcie::DmaMaster> master;
};

// What happened in one handover phase (deltas over the phase).
struct PhaseCounters {
  sc_core::sc_time duration;
  std::uint64_t register_writes = 0;
  std::set<std::uint64_t> registers_written;  // offsets
  std::uint64_t commands = 0;                 // executed by the SMMU
  std::uint64_t walks = 0;
  std::uint64_t tlb_misses = 0;
  std::uint64_t events = 0;  // event records the driver handled
  std::map<std::uint32_t, std::uint64_t> events_by_stream;
};

// What the scenario saw.
struct ScenarioReport {
  std::map<std::string, std::uint64_t> events_by_type;
  std::uint64_t event_overflows = 0;
  std::uint32_t global_errors = 0;  // every GERROR bit the driver's handler saw active
  std::map<std::string, std::uint64_t> global_errors_by_type;  // handler calls per bit
  bool fault_checked = false;        // the deliberate DMA after unmap ran
  bool fault_error_response = false; // ... got an error response
  bool fault_event_seen = false;     // ... and the driver saw F_TRANSLATION for it
  std::uint64_t unexpected_errors = 0;   // error responses on engines that should translate
  std::uint64_t expected_aborts = 0;     // error responses on abort devices
  std::uint64_t verify_failures = 0;
  std::uint64_t bytes_unmapped = 0;
  bool passed() const;
};

class ReferencePlatform : public sc_core::sc_module, public driver::EventListener, public handover::Kernel {
 public:
  SC_HAS_PROCESS(ReferencePlatform);
  using Scenario = std::function<void(ReferencePlatform&)>;

  // `scenario` runs on the CPU after the driver probed and reset the SMMU and
  // serves its interrupts; the default is smmu-sim's main job (run_default_scenario).
  ReferencePlatform(const sc_core::sc_module_name& name, const ReferencePlatformConfig& config,
                    Scenario scenario = {});
  ~ReferencePlatform() override;

  const ReferencePlatformConfig& config() const { return config_; }
  // The SMMU's interrupt lines to the CPU (when wired), for waveform tracing.
  const sc_core::sc_signal<bool>& eventq_irq() const { return eventq_irq_; }
  const sc_core::sc_signal<bool>& gerror_irq() const { return gerror_irq_; }
  bool finished() const { return cpu_->finished(); }
  const std::string& error() const { return cpu_->error(); }

  // The pieces, for scenarios and tests.
  SmmuSystem& system() { return *system_; }
  smmu::Smmuv3& smmu() { return system_->smmu; }
  memory::SparseMemory& memory() { return system_->memory; }
  driver::DriverCpu& cpu() { return *cpu_; }
  memory::CpuCache& cpu_cache() { return *cache_; }
  driver::SmmuDriver& driver() { return *driver_; }
  driver::IommuDomains& domains() { return *domains_; }
  std::vector<Engine>& engines() { return engines_; }
  // The master and SSID-0 domain of device `i` (after setup_devices()).
  driver::Master& master(unsigned device) { return *masters_.at(device); }
  // The trace port's master (config().trace_port), else nullptr.
  pcie::DmaMaster* trace_master() { return trace_master_.get(); }
  driver::Domain& domain(unsigned device) { return *device_domains_.at(device); }
  const ScenarioReport& report() const { return report_; }
  const std::vector<smmu::EventRecord>& events() const { return events_; }
  // Called with every event record the driver handles, as it handles it.
  void add_event_observer(std::function<void(const smmu::EventRecord&)> observer) {
    event_observers_.push_back(std::move(observer));
  }
  // Called as each handover phase begins (after the platform's own bookkeeping).
  void add_phase_observer(std::function<void(handover::Phase)> observer) {
    phase_observers_.push_back(std::move(observer));
  }

  // Scenario steps (on the CPU thread).
  // Builds each device's master and domains, maps its buffers, attaches it.
  void setup_devices();
  // Every engine writes `bytes` of its buffer and reads them back verified.
  void stream_all(std::uint64_t bytes);
  // Every engine writes `bytes` of its buffer, then reads it back `reads`
  // times in 256-byte pieces (verified): DMA that keeps flowing through a handover.
  void stream_repeatedly(std::uint64_t bytes, unsigned reads);
  // Waits until every engine's queued programs are done.
  void wait_for_engines();
  // Unmaps every mapping setup_devices() made.
  void unmap_all();
  // Waits (polling) until the driver has seen an event matching `match`, or gives up after `timeout`.
  bool wait_for_event(const std::function<bool(const smmu::EventRecord&)>& match, const sc_core::sc_time& timeout);
  void run_default_scenario();
  // The pattern engine `i` writes.
  static std::vector<std::uint8_t> pattern(unsigned engine, std::uint64_t bytes);
  // A nested device's guest IPA window onto its buffer (the parent stage 2 maps it).
  static std::uint64_t nested_ipa(unsigned device);

  // A live update that preserves `devices` (indices), run by the handover
  // controller on the CPU thread; returns the masters the new kernel refused.
  std::vector<std::string> live_update(const std::vector<unsigned>& devices);
  // The first phase of a live update preserving `masters`; the caller runs
  // the others through handover() (run_shutdown, run_kexec, run_adopt,
  // run_finish), with work of its own between them.
  void begin_live_update(const std::vector<driver::Master*>& masters);
  // kdump's first phase (the kernel crashes); the caller runs the others
  // through handover() (run_adopt, run_finish).
  void begin_crash();
  bool kdump() const { return kdump_; }
  // What the crash kernel made of the SMMU at adopt (kdump only).
  const driver::KdumpAdoption& kdump_outcome() const { return kdump_outcome_; }
  // The masters the incoming kernel refused at adopt (the reasons).
  const std::vector<std::string>& refused() const { return refused_; }
  // A guest's RAM (nested domains build their tables in it); the new kernel
  // finds it again by base at adopt.
  driver::DriverMemory& add_guest_memory(const driver::DriverMemoryConfig& config);
  // kdump: the kernel crashes and a new one adopts what it finds.
  driver::KdumpAdoption crash_and_adopt();
  handover::HandoverController& handover() { return *handover_; }
  // The engine's continuity monitor (platform.monitor_dma), or nullptr.
  const handover::DmaMonitor* monitor(unsigned engine) const;
  const driver::HandoverRecord& handover_record() const { return record_; }
  // Every checker's findings, in checker order.
  std::vector<handover::Finding> findings() const;
  const handover::TornEntryChecker& torn_entry_checker() const { return torn_; }
  // Per handover phase (after a live update or kdump), indexed by handover::Phase.
  const std::array<PhaseCounters, std::size(handover::kAllPhases)>& phase_counters() const { return phase_counters_; }
  const std::string& handover_json() const { return record_json_; }
  // Changes the record on its way to the new kernel (scenarios of a record
  // that no longer matches the hardware).
  void set_record_tamper(std::function<void(nlohmann::json&)> tamper) { tamper_ = std::move(tamper); }

  // handover::Kernel (the controller calls these).
  std::vector<handover::MemoryRange> preserve() override;
  void shutdown() override;
  void destroy() override;
  void adopt() override;

  // driver::EventListener (the interrupt thread calls these).
  void on_event(const smmu::EventRecord& record) override;
  void on_overflow() override;
  void on_global_errors(std::uint32_t active) override;

 private:
  void cpu_main(driver::DriverCpu& cpu);
  void attach_checkers();
  // An entry as memory holds it (the checkers' instrument, not the driver's access).
  smmu::EntryWords backdoor_entry(std::uint64_t address) const;
  bool translates(unsigned device) const;

  ReferencePlatformConfig config_;
  Scenario scenario_;
  std::unique_ptr<SmmuSystem> system_;
  std::unique_ptr<driver::DriverMemory> driver_memory_;
  std::unique_ptr<memory::CpuCache> cache_;  // between the CPU and the interconnect
  std::unique_ptr<handover::HandoverController> handover_;
  std::vector<std::unique_ptr<handover::DmaMonitor>> monitors_;
  std::vector<driver::Master*> preserved_masters_;
  driver::HandoverRecord record_;
  std::string record_json_;  // all the new kernel gets besides registers and memory
  std::function<void(nlohmann::json&)> tamper_;
  bool kdump_ = false;
  driver::KdumpAdoption kdump_outcome_;
  std::vector<std::string> refused_;
  // The checkers, fed by the SMMU's memory observer, the junction (CPU stores)
  // and the CPU's register writes.
  handover::ScrubbedFetchChecker scrubbed_;
  handover::TornEntryChecker torn_;
  handover::IdCollisionChecker ids_;
  handover::AdoptionRuleChecker adoption_rules_;
  handover::MissingCleanChecker missing_clean_;
  std::vector<std::pair<std::uint32_t, smmu::EntryWords>> saved_stes_;  // preserved STEs after shutdown
  // Statistics snapshots at each phase start, turned into per-phase deltas.
  struct Snapshot {
    sc_core::sc_time time;
    std::uint64_t register_writes = 0, commands = 0, walks = 0, tlb_misses = 0;
  };
  Snapshot snapshot();
  void on_phase(handover::Phase phase);
  void close_phase(const Snapshot& now);
  std::array<PhaseCounters, std::size(handover::kAllPhases)> phase_counters_{};
  handover::Phase counting_ = handover::Phase::Running;
  Snapshot phase_start_;
  std::vector<std::unique_ptr<driver::DriverMemory>> guest_memories_;
  std::unique_ptr<driver::DriverCpu> cpu_;
  std::unique_ptr<driver::SmmuDriver> driver_;
  std::unique_ptr<driver::IommuDomains> domains_;
  sc_core::sc_signal<bool> eventq_irq_{"eventq_irq"};
  sc_core::sc_signal<bool> gerror_irq_{"gerror_irq"};
  std::vector<Engine> engines_;
  std::unique_ptr<pcie::DmaMaster> trace_master_;
  std::vector<driver::Master*> masters_;
  std::vector<driver::Domain*> device_domains_;
  // What setup_devices() mapped: domain, IOVA, size.
  struct MappingRecord {
    driver::Domain* domain;
    std::uint64_t iova;
    std::uint64_t size;
  };
  std::vector<MappingRecord> mappings_;
  std::vector<smmu::EventRecord> events_;
  std::vector<std::function<void(const smmu::EventRecord&)>> event_observers_;
  std::vector<std::function<void(handover::Phase)>> phase_observers_;
  ScenarioReport report_;
};

}  // namespace smmuv3tlm::platform
