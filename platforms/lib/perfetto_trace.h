// A Chrome/Perfetto JSON trace of a reference-platform run (open it at
// ui.perfetto.dev or chrome://tracing): a track per StreamID with a slice per
// transaction (IOVA, PA, bytes, response), the commands the SMMU consumed and
// the event records the driver handled as markers, the handover phases as
// slices of their own, and (smmu.timing=at) a track per TCU walk slot with a
// slice per walk. Times are simulated time in microseconds.
#pragma once

#include <cstdint>
#include <ostream>
#include <set>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::platform {

class PerfettoTrace {
 public:
  // Attaches to `platform`'s SMMU (transactions, command fetches), driver
  // (events) and handover controller (phases); call before sc_start.
  explicit PerfettoTrace(ReferencePlatform& platform);
  // Ends the open handover phase at the current time and writes the JSON.
  void write(std::ostream& out);
  std::size_t slices() const { return slices_; }

 private:
  static constexpr int kDmaProcess = 1;
  static constexpr int kSmmuProcess = 2;
  static constexpr int kHandoverProcess = 3;
  static constexpr int kWalkSlotProcess = 4;
  void name_track(int process, std::uint64_t thread, const std::string& name);

  nlohmann::json events_ = nlohmann::json::array();
  std::set<std::uint32_t> streams_;
  std::set<unsigned> walk_slots_;
  std::size_t slices_ = 0;
  bool phase_open_ = false;
  double phase_start_us_ = 0;
  std::string phase_name_;
};

}  // namespace smmuv3tlm::platform
