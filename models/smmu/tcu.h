// The Translation Control Unit (IHI 0070 §1.1, "TCU"): the stream table and
// CD fetches with the configuration cache, the table walker, the main TLB and
// the walk caches. A thin SystemC module over TranslationEngine: it owns the
// table-walk initiator socket (walks, queue accesses, MSIs and HTTU updates all
// leave through it) and the observers that see every one of those accesses.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/common/statistics.h"
#include "models/smmu/arch/capabilities.h"
#include "models/smmu/arch/memory_port.h"
#include "models/smmu/core/translation_engine.h"

namespace smmuv3tlm::smmu {

// One memory access the SMMU made, as a checker sees it.
struct MemoryAccessRecord {
  sc_core::sc_time time;  // simulated time of the access (sc_time_stamp() + the caller's local offset)
  std::uint64_t pa = 0;
  std::uint32_t size = 0;
  bool write = false;
  AccessPurpose purpose = AccessPurpose::StreamTableEntry;
  // The transaction served, when there is one (AccessContext::kNoStream for
  // queues, MSIs and commands).
  std::uint32_t stream_id = AccessContext::kNoStream;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  const std::uint8_t* data = nullptr;  // the bytes read or written (valid during the callback)
  bool ok = false;
};
using MemoryAccessObserver = std::function<void(const MemoryAccessRecord&)>;

class Tcu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Tcu> table_walk;

  Tcu(const sc_core::sc_module_name& name, const Capabilities& caps, const TranslationConfig& config);
  ~Tcu() override;

  // A translation for a TBU: `request.local_time` must point at the caller's
  // sc_time offset; walk accesses add their latency to it.
  TranslationResult translate(const TranslationRequest& request, TranslationEngine::ContextMemo& memo,
                              TranslationEngine::MicroTlbEntry* micro = nullptr) {
    return engine_.translate(request, memo, micro);
  }
  // A debugger's translation: reads tables with transport_dbg, writes nothing,
  // fills no cache, changes no statistic and reports to no observer.
  TranslationResult translate_debug(TranslationRequest request);

  // The memory port the queue engines use (its accesses have no local time of
  // their own: take_unowned_delay() returns what they accumulated).
  MemoryPort& memory();
  sc_core::sc_time take_unowned_delay();

  void set_control(const TranslationControl& control);
  const TranslationControl& control() const { return engine_.control(); }

  // Observers of every access through `table_walk`; ids stay valid until removed.
  unsigned add_observer(MemoryAccessObserver observer);
  void remove_observer(unsigned id);

  // Flushes every cache (reset); statistics too when `cold`.
  void reset(bool cold);

  TranslationEngine& engine() { return engine_; }
  const TranslationEngine& engine() const { return engine_; }

 private:
  class TableWalkPort;
  class DebugPort;
  friend class TableWalkPort;
  friend class DebugPort;

  void table_walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
  static TranslationConfig debug_engine_config();

  std::unique_ptr<TableWalkPort> port_;
  std::unique_ptr<DebugPort> debug_port_;
  TranslationEngine engine_;
  // The debugger's engine: caches flushed before every use, so it always walks
  // the tables in memory and leaves the real engine untouched.
  TranslationEngine debug_engine_;
  std::map<unsigned, MemoryAccessObserver> observers_;
  unsigned next_observer_ = 0;
  stats::Registration registration_;
};

}  // namespace smmuv3tlm::smmu
