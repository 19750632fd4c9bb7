// The one path through which the SMMU core touches memory: table fetches, queue
// accesses, MSI writes and hardware table updates. Unit tests implement it over a
// map; the SystemC shell implements it over a TLM initiator socket. Because every
// access names its purpose, a checker (the handover controller, a coherency
// checker) can wrap a port and see every table fetch and every 64-bit store.
#pragma once

#include <cstdint>

namespace smmuv3tlm::smmu {

enum class AccessPurpose : std::uint8_t {
  StreamTableL1,   // level-1 stream table descriptor
  StreamTableEntry,
  ContextDescL1,   // level-1 CD table descriptor
  ContextDesc,
  Stage1Walk,      // stage-1 translation table descriptor
  Stage2Walk,      // stage-2 translation table descriptor
  CommandQueue,
  EventQueue,
  PriQueue,
  Msi,
  HardwareUpdate,  // HTTU Access flag / dirty state write-back
};

const char* to_string(AccessPurpose purpose);

// On whose behalf an access is made, and the caller's state for it. The core
// fills it per operation, so several operations may be in flight at once (a
// walk whose memory target waits does not disturb another one).
struct AccessContext {
  static constexpr std::uint32_t kNoStream = ~std::uint32_t{0};
  std::uint32_t stream_id = kNoStream;  // the transaction served; kNoStream for queues and MSIs
  bool ssv = false;
  std::uint32_t substream_id = 0;
  // Opaque to the core: the port owner's per-operation time accumulator (the
  // SystemC shell passes the initiator's local time offset, an sc_time).
  void* local_time = nullptr;
  // Opaque to the core too: in the approximately-timed mode, the translation's
  // claim on a TCU walk slot, taken by the port at the walk's first access.
  void* walk_slot = nullptr;
  // A debugger's access: no side effects anywhere (the shell uses transport_dbg
  // and reports it to no observer).
  bool debug = false;
  // An SMMU_GATOS request (chapter 9): its walks fill no IOTLB entry, and with
  // GATOS_ADDR.HTTUI no Access flag or dirty state is written (AF is taken as
  // set, a writable-clean page as writable).
  bool atos = false;
  bool inhibit_hardware_updates = false;
};

class MemoryPort {
 public:
  virtual ~MemoryPort() = default;
  // Both return false when the access ends in an external abort (bus error).
  virtual bool read(std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
                    AccessPurpose purpose) = 0;
  virtual bool write(std::uint64_t pa, const std::uint8_t* data, std::uint32_t size,
                     AccessPurpose purpose) = 0;
  // With the operation's context; a port that does not need it keeps these.
  virtual bool read_for(const AccessContext& context, std::uint64_t pa, std::uint8_t* data, std::uint32_t size,
                        AccessPurpose purpose) {
    (void)context;
    return read(pa, data, size, purpose);
  }
  virtual bool write_for(const AccessContext& context, std::uint64_t pa, const std::uint8_t* data,
                         std::uint32_t size, AccessPurpose purpose) {
    (void)context;
    return write(pa, data, size, purpose);
  }

  // How far the operation of `context` has come in simulated time, in
  // picoseconds (its local time), for latency statistics; a port without a
  // notion of time answers 0.
  virtual std::uint64_t local_time_ps(const AccessContext& context) const {
    (void)context;
    return 0;
  }

  // Little-endian 64-bit helpers: tables and queues are made of 64-bit words and
  // the SMMU guarantees single-copy atomicity only at this size.
  bool read64(std::uint64_t pa, std::uint64_t& value, AccessPurpose purpose, const AccessContext& context = {});
  bool write64(std::uint64_t pa, std::uint64_t value, AccessPurpose purpose, const AccessContext& context = {});
};

}  // namespace smmuv3tlm::smmu
