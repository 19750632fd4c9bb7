#include "smmuv3tlm/models/smmu/smmuv3.h"

#include "smmuv3tlm/models/smmu/smmuv3_parameters.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace smmuv3tlm::smmu {

namespace {

Smmuv3Config checked(const sc_core::sc_module_name& name, Smmuv3Config config) {
  if (config.ports == 0) {
    SC_REPORT_ERROR(fmt::format("smmu/{}", static_cast<const char*>(name)).c_str(),
                    "an SMMU needs at least one upstream port (ports >= 1); using 1");
    config.ports = 1;
  }
  return config;
}

Smmuv3Config with_settings(Smmuv3Config config, const std::string& instance, const nlohmann::json& settings) {
  apply_smmu_settings(config, instance, settings);
  return config;
}

ProgrammingInterfaceConfig programming_interface_config(const Smmuv3Config& config) {
  ProgrammingInterfaceConfig pi;
  pi.defer_acks = config.timing.ack_delay != sc_core::SC_ZERO_TIME;
  pi.constrained_unpredictable_severity =
      config.unpredictable_writes_are_errors ? Severity::Error : Severity::Warning;
  pi.consume_commands_on_write = false;  // the CommandQueue thread consumes them
  return pi;
}

}  // namespace

// Invalidation commands reach the TCU's caches through here, then every TBU
// revokes the DMI grants the command covers.
class Smmuv3::Maintenance : public CacheMaintenance {
 public:
  explicit Maintenance(Smmuv3& owner) : owner_(owner) {}
  void execute(const Command& command) override {
    owner_.tcu_.engine().execute(command);
    for (auto& tbu : owner_.tbus_) tbu->revoke_covered(command);
  }

 private:
  Smmuv3& owner_;
};

Smmuv3::Smmuv3(const sc_core::sc_module_name& name, const Config& config)
    : sc_core::sc_module(name),
      config_(checked(name, config)),
      maintenance_(std::make_unique<Maintenance>(*this)),
      tcu_("tcu", config_.capabilities, config_.translation),
      register_file_("registers", config_.capabilities, tcu_, *maintenance_, programming_interface_config(config_),
                     config_.timing.register_access_latency, config_.timing.ack_delay),
      event_queue_("event_queue", register_file_.core()),
      command_queue_("command_queue", register_file_.core(), config_.timing.command_latency),
      downstream("downstream"),
      table_walk(tcu_.table_walk),
      registers(register_file_.socket),
      irq_eventq(event_queue_.irq_eventq),
      irq_gerror(event_queue_.irq_gerror),
      irq_priq(event_queue_.irq_priq),
      irq_cmd_sync(event_queue_.irq_cmd_sync),
      rst("rst") {
  tcu_.configure_timing(config_.timing.mode, config_.timing.at);
  for (unsigned i = 0; i < config_.ports; ++i) {
    TbuConfig tbu;
    tbu.default_stream_id = i < config_.default_stream_ids.size() ? config_.default_stream_ids[i] : 0;
    tbu.hit_latency = config_.timing.tlb_hit_latency;
    tbu.dmi = config_.dmi;
    tbu.micro_tlb_entries = config_.micro_tlb_entries;
    tbu.attribute_overrides = config_.capabilities.attr_perms_override;
    tbu.mode = config_.timing.mode;
    tbu.at = config_.timing.at;
    tbus_.push_back(std::make_unique<Tbu>(fmt::format("tbu_{}", i).c_str(), tbu, tcu_, event_queue_, downstream));
  }
  downstream.register_invalidate_direct_mem_ptr(this, &Smmuv3::downstream_invalidate);

  ProgrammingInterface& core = register_file_.core();
  const std::string message_type = fmt::format("smmu/{}", this->name());
  core.set_diagnostics_callback([message_type](Severity severity, const std::string& message) {
    switch (severity) {
      case Severity::Error: SC_REPORT_ERROR(message_type.c_str(), message.c_str()); break;
      case Severity::Warning: SC_REPORT_WARNING(message_type.c_str(), message.c_str()); break;
      case Severity::Info: SC_REPORT_INFO(message_type.c_str(), message.c_str()); break;
    }
  });
  core.set_control_changed_callback([this] { sync_control(); });
  core.set_commands_pending_callback([this] { command_queue_.wake(); });
  if (config_.capabilities.atos) {
    core.set_atos_requested_callback([this] { atos_requested_.notify(sc_core::SC_ZERO_TIME); });
    sc_core::sc_spawn([this] { serve_atos(); }, "atos");
  }
  sync_control();
}

Smmuv3::Smmuv3(const sc_core::sc_module_name& name, const Config& base, const nlohmann::json& settings)
    : Smmuv3(name, with_settings(base, static_cast<const char*>(name), settings)) {}

Smmuv3::~Smmuv3() = default;

tlm_utils::simple_target_socket<Tbu>& Smmuv3::upstream(unsigned port) {
  if (port >= tbus_.size()) {
    SC_REPORT_ERROR(fmt::format("smmu/{}", name()).c_str(),
                    fmt::format("upstream port {} does not exist (the SMMU has {} ports)", port, tbus_.size())
                        .c_str());
    return tbus_.back()->upstream;
  }
  return tbus_[port]->upstream;
}

void Smmuv3::end_of_elaboration() {
  // The reset input is optional: a platform that never resets leaves it unbound.
  if (rst.size() == 0) return;
  sc_core::sc_spawn_options options;
  options.spawn_method();
  options.set_sensitivity(&rst->posedge_event());
  options.dont_initialize();
  sc_core::sc_spawn([this] { on_reset_edge(); }, sc_core::sc_gen_unique_name("rst_edge"), &options);
}

void Smmuv3::on_reset_edge() { reset(ResetKind::Cold); }

void Smmuv3::serve_atos() {
  ProgrammingInterface& core = register_file_.core();
  while (true) {
    const ProgrammingInterface::PendingAtos pending = core.pending_atos();
    if (!pending.running) {
      sc_core::wait(atos_requested_);
      continue;
    }
    sc_core::sc_time memory_time = sc_core::SC_ZERO_TIME;
    const AtosResult result = tcu_.engine().translate_atos(pending.request, &memory_time);
    sc_core::wait(config_.timing.tlb_hit_latency + memory_time);
    core.complete_atos(pending.sequence, result);  // dropped if a reset came meanwhile
  }
}

void Smmuv3::reset(ResetKind kind) {
  const bool cold = kind == ResetKind::Cold;
  for (auto& tbu : tbus_) tbu->reset(cold);
  register_file_.reset(cold);  // registers to reset values: queues disabled, SMMUEN=0
  command_queue_.reset(cold);
  event_queue_.reset(cold);
  tcu_.reset(cold);
  sync_control();
}

void Smmuv3::sync_control() {
  const TranslationControl control = register_file_.core().translation_control();
  if (control != tcu_.control()) {
    tcu_.set_control(control);
    for (auto& tbu : tbus_) tbu->revoke_all();
  }
}

void Smmuv3::downstream_invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
  for (auto& tbu : tbus_) tbu->revoke_downstream(start, end);
}

std::string Smmuv3::statistics_json() const {
  return stats::Registry::global().dump(name()).dump(2);
}

}  // namespace smmuv3tlm::smmu
