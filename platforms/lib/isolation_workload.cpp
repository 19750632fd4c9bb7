#include "smmuv3tlm/platforms/lib/isolation_workload.h"

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::platform {

namespace {

using driver::DomainType;

constexpr unsigned kDevices = 4;
constexpr unsigned kSlots = 32;       // IOVA slots per device, one granule each
constexpr unsigned kPoolPages = 16;   // physical pages per device (its buffer)
constexpr std::uint64_t kWindow = 0x40'0000'0000;  // the devices' IOVA windows (device d at + d * 4 GiB)
constexpr std::uint64_t kWindowStride = 0x1'0000'0000;

struct Slot {
  bool mapped = false;
  unsigned page = 0;  // index into the device's pool
  bool writable = false;
};

struct DeviceState {
  std::array<Slot, kSlots> slots{};
  std::uint64_t done = 0;  // transactions issued
  std::uint64_t ok = 0;
  std::uint64_t faulted = 0;
};

std::string name_of(DomainType type, unsigned granule_log2, bool bug) {
  return fmt::format("{}-{}k{}", type == DomainType::Stage1 ? "s1" : type == DomainType::Stage2 ? "s2" : "nested",
                     (1u << granule_log2) / 1024, bug ? "-skipped-tlbi" : "");
}

}  // namespace

const std::vector<IsolationWorkload>& isolation_workloads() {
  static const std::vector<IsolationWorkload> workloads = [] {
    std::vector<IsolationWorkload> w;
    for (DomainType type : {DomainType::Stage1, DomainType::Stage2, DomainType::Nested}) {
      for (unsigned granule : {12u, 14u, 16u}) {
        IsolationWorkload one;
        one.domain = type;
        one.granule_log2 = granule;
        one.name = name_of(type, granule, false);
        w.push_back(one);
      }
    }
    IsolationWorkload bug;
    bug.planted_bug = true;
    bug.transactions = 20000;
    bug.name = name_of(bug.domain, bug.granule_log2, true);
    w.push_back(bug);
    return w;
  }();
  return workloads;
}

nlohmann::json run_isolation_workload(const IsolationWorkload& workload) {
  const std::uint64_t granule = std::uint64_t{1} << workload.granule_log2;
  ReferencePlatformConfig config;
  config.devices.assign(kDevices, DeviceSpec{workload.domain, 0});
  config.granule_log2 = workload.granule_log2;
  config.bytes_per_device = kPoolPages * granule;
  config.fault_after_unmap = false;
  config.monitor_isolation = true;
  config.smmu.dmi = false;  // the monitor must see every access
  config.quantum_ns = 100;

  std::array<DeviceState, kDevices> devices{};
  std::uint64_t maps = 0;
  std::uint64_t unmaps = 0;
  std::string error;
  const std::uint64_t per_device = workload.transactions / kDevices;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    try {
      IsolationMonitor& monitor = *p.system().isolation();
      p.setup_devices();
      // Start from nothing mapped in each device's own domain (a nested
      // device's parent stage 2 keeps its window onto the buffer).
      for (unsigned d = 0; d < kDevices; ++d) p.domain(d).unmap(p.engines()[d].dma_address, config.bytes_per_device);
      const auto slot_iova = [&](unsigned d, unsigned k) { return kWindow + d * kWindowStride + k * granule; };
      // What a device's domain maps a pool page to: its PA, or (nested) the
      // IPA of the parent's window onto the same page.
      const auto target = [&](unsigned d, unsigned page) {
        const std::uint64_t offset = page * granule;
        return workload.domain == DomainType::Nested ? ReferencePlatform::nested_ipa(d) + offset
                                                     : p.engines()[d].buffer + offset;
      };
      const auto pa_of = [&](unsigned d, unsigned page) { return p.engines()[d].buffer + page * granule; };

      // DMA: one thread per device, random 8..64-byte reads and writes over its slots.
      for (unsigned d = 0; d < kDevices; ++d) {
        sc_core::sc_spawn([&, d] {
          std::mt19937_64 random(workload.seed * 7919 + d);
          pcie::DmaMaster& master = *p.engines()[d].master;
          pcie::TransferAttributes attributes;
          attributes.stream_id = p.engines()[d].stream_id;
          std::array<std::uint8_t, 64> data{};
          DeviceState& state = devices[d];
          while (state.done < per_device) {
            const unsigned slot = static_cast<unsigned>(random() % kSlots);
            const unsigned length = 8 * static_cast<unsigned>(1 + random() % 8);
            const std::uint64_t offset = (random() % ((granule - length) / 8 + 1)) * 8;
            const bool write = (random() & 1) != 0;
            const pcie::DmaResult r = master.transfer(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND,
                                                      slot_iova(d, slot) + offset, data.data(), length, attributes);
            ++state.done;
            (r.ok() ? state.ok : state.faulted) += 1;
            sc_core::wait(sc_core::sc_time(20 + random() % 60, sc_core::SC_NS));
          }
        });
      }
      // The CPU: map, unmap and remap at random while the DMA runs.
      std::mt19937_64 random(workload.seed);
      const auto all_done = [&] {
        return std::all_of(devices.begin(), devices.end(), [&](const DeviceState& s) { return s.done >= per_device; });
      };
      // The planted bug goes in once the workload is under way (translations cached).
      constexpr std::uint64_t kPlantAfterOperations = 100;
      std::uint64_t operations = 0;
      while (!all_done()) {
        if (workload.planted_bug && ++operations == kPlantAfterOperations) p.domains().skip_next_unmap_tlbi();
        const unsigned d = static_cast<unsigned>(random() % kDevices);
        const unsigned k = static_cast<unsigned>(random() % kSlots);
        Slot& slot = devices[d].slots[k];
        const std::uint32_t stream = p.engines()[d].stream_id;
        if (slot.mapped) {
          // Unmap: the translation may be used until the unmap (PTE cleared,
          // TLBI, CMD_SYNC) has returned; from then on it must not be.
          p.domain(d).unmap(slot_iova(d, k), granule);
          monitor.revoke(stream, pa_of(d, slot.page), granule, slot.writable);
          slot.mapped = false;
          ++unmaps;
        } else {
          slot.page = static_cast<unsigned>(random() % kPoolPages);
          slot.writable = random() % 10 < 7;
          // Allowed from just before the PTE store that makes it reachable.
          monitor.allow(stream, pa_of(d, slot.page), granule, slot.writable);
          driver::IoProt prot;
          prot.write = slot.writable;
          p.domain(d).map(slot_iova(d, k), target(d, slot.page), granule, prot);
          slot.mapped = true;
          ++maps;
        }
        p.cpu().synchronize();
        sc_core::wait(sc_core::sc_time(100 + random() % 400, sc_core::SC_NS));
      }
    } catch (const std::exception& e) {
      error = e.what();
      error = error.substr(0, error.find('\n'));
    }
  });
  sc_core::sc_start();

  const IsolationMonitor& monitor = *platform.system().isolation();
  std::uint64_t done = 0, ok = 0, faulted = 0;
  for (const DeviceState& s : devices) {
    done += s.done;
    ok += s.ok;
    faulted += s.faulted;
  }
  nlohmann::json j;
  j["workload"] = workload.name;
  j["domain"] = driver::to_string(workload.domain);
  j["granule"] = granule;
  j["planted_bug"] = workload.planted_bug;
  j["transactions"] = done;
  j["translated"] = ok;
  j["faulted"] = faulted;
  j["maps"] = maps;
  j["unmaps"] = unmaps;
  j["checked"] = monitor.statistics().checked;
  j["violations"] = monitor.statistics().violations;
  nlohmann::json first = nlohmann::json::array();
  for (const IsolationViolation& v : monitor.violations()) {
    if (first.size() == 4) break;
    first.push_back({{"time_ns", v.time.to_seconds() * 1e9}, {"stream", v.stream_id}, {"pa", fmt::format("{:#x}", v.pa)},
                     {"length", v.length}, {"write", v.write}});
  }
  j["first_violations"] = first;
  j["run_error"] = error.empty() ? platform.error() : error;
  const bool clean = monitor.statistics().violations == 0;
  // Every transfer that translated went through the monitor (a transfer the
  // master split at a 4 KiB boundary is checked per piece).
  j["ok"] = j["run_error"].get<std::string>().empty() && done >= workload.transactions - kDevices &&
            monitor.statistics().checked >= ok && (workload.planted_bug ? !clean : clean);
  return j;
}

std::string isolation_report_table(const std::vector<nlohmann::json>& results) {
  std::ostringstream out;
  out << "| workload | DMA transactions | translated (checked) | faulted | maps | unmaps | violations | expected | ok |\n"
      << "|---|---|---|---|---|---|---|---|---|\n";
  for (const nlohmann::json& r : results) {
    if (!r.contains("checked")) {
      out << fmt::format("| {} | | | | | | | run failed: {} | no |\n", r.value("workload", "?"), r.value("run_error", "?"));
      continue;
    }
    out << fmt::format("| {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} |\n", r.at("workload").get<std::string>(),
                       r.at("transactions").get<std::uint64_t>(), r.at("translated").get<std::uint64_t>(),
                       r.at("checked").get<std::uint64_t>(), r.at("faulted").get<std::uint64_t>(),
                       r.at("maps").get<std::uint64_t>(), r.at("unmaps").get<std::uint64_t>(),
                       r.at("violations").get<std::uint64_t>(), r.at("planted_bug").get<bool>() ? "some" : "none",
                       r.at("ok").get<bool>() ? "yes" : "NO");
  }
  return out.str();
}

}  // namespace smmuv3tlm::platform
