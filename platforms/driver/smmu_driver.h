// The host driver model's core, as Linux's arm-smmu-v3 runs it: probe (ID
// registers into a feature set), reset (the driver's order), and the command
// queue (batches, wrap, waiting for space, CMD_SYNC completion by MSI polling
// or CONS polling, CERROR_ILL recovery). Plain C++ over a DriverBus, so unit
// tests drive it against the programming interface without a simulation; the
// SystemC driver module implements the bus with TLM sockets and waits.
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/platforms/driver/driver_memory.h"
#include "smmuv3tlm/platforms/driver/entry_writer.h"

namespace smmuv3tlm::driver {

class DriverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HandoverRecord;

// What kdump adoption did: adopted the crashed kernel's stream table, or fell
// back to a full reset for `reason`.
struct KdumpAdoption {
  bool adopted = false;
  std::string reason;
  std::vector<std::uint32_t> live_streams;  // valid, non-abort STEs kept until their drivers attach
};

// Everything the driver does to the SMMU and its memory.
class DriverBus {
 public:
  virtual ~DriverBus() = default;
  virtual std::uint64_t read_register(std::uint64_t offset, unsigned bytes) = 0;
  virtual void write_register(std::uint64_t offset, std::uint64_t value, unsigned bytes) = 0;
  virtual std::uint64_t load64(std::uint64_t pa) = 0;
  virtual void store64(std::uint64_t pa, std::uint64_t value) = 0;  // one 64-bit store
  // memset(0) of a freshly allocated page before anything links it (the
  // allocator's __GFP_ZERO): one write of `bytes`, not a table store.
  virtual void zero(std::uint64_t pa, std::uint64_t bytes) = 0;
  // Clean [pa, pa + bytes) to the point of coherency (a non-coherent SMMU reads memory).
  virtual void clean_to_poc(std::uint64_t pa, std::uint64_t bytes) = 0;
  // One poll interval (time passes in a simulation).
  virtual void relax() = 0;
};

// Who hears what the event queue and GERROR report (tests, the trace recorder).
class EventListener {
 public:
  virtual ~EventListener() = default;
  virtual void on_event(const smmu::EventRecord& record) = 0;
  virtual void on_overflow() {}
  virtual void on_global_errors(std::uint32_t active) { (void)active; }
};

// What probe read from IDR0-5 (Linux's arm_smmu_device_hw_probe).
struct DriverFeatures {
  bool stage1 = false;
  bool stage2 = false;
  bool two_level_stream_table = false;
  bool two_level_cd_table = false;
  bool asid16 = false;
  bool vmid16 = false;
  bool hyp = false;
  bool msi = false;
  bool coherent = false;
  bool sev = false;
  bool ril = false;
  bool httu_access = false;
  bool httu_dirty = false;
  bool attr_types_override = false;  // IDR1.ATTR_TYPES_OVR: STE.SHCFG is honoured
  unsigned stall_model = 0;
  unsigned sid_bits = 0;
  unsigned ssid_bits = 0;
  unsigned cmdq_log2 = 0;
  unsigned eventq_log2 = 0;
  unsigned oas_bits = 0;
  bool granule_4k = false;
  bool granule_16k = false;
  bool granule_64k = false;
  bool nesting() const { return stage1 && stage2; }
};

// Named as Linux's module parameters and options.
struct DriverOptions {
  bool disable_s1 = false;          // hide IDR0.S1P: every DMA domain is stage 2
  bool disable_msipolling = false;  // CMD_SYNC completion by CONS polling
  bool disable_bypass = true;       // unattached streams abort (Linux's default)
  bool force_non_coherent = false;  // clean every table store even if IDR0.COHACC
  // A planted bug: io-pgtable's PTE stores are not cleaned to PoC on a
  // non-coherent SMMU (the missing-clean checker must catch it).
  bool skip_pte_clean = false;
  // A planted bug: adoption restarts the command queue without first
  // acknowledging a latched GERROR (the adoption-rule checker must catch it).
  bool skip_gerror_ack_on_adopt = false;
  unsigned cmdq_log2 = 8;           // capped by IDR1.CMDQS
  unsigned eventq_log2 = 7;         // capped by IDR1.EVENTQS
  unsigned poll_limit = 100000;     // relax() calls before a wait is declared stuck
};

struct DriverStatistics {
  std::uint64_t commands = 0;
  std::uint64_t syncs = 0;
  std::uint64_t batches = 0;
  std::uint64_t queue_full_waits = 0;  // relax() calls waiting for space
  std::uint64_t illegal_commands = 0;  // CERROR_ILL recoveries
  std::uint64_t table_stores = 0;      // 64-bit stores to STEs, CDs, L1 descriptors, PTEs
  std::uint64_t cleans = 0;            // clean-to-PoC calls (SMMU not coherent)
  std::uint64_t ste_updates = 0;
  std::uint64_t hitless_ste_updates = 0;
  std::uint64_t events = 0;
  std::uint64_t event_overflows = 0;
  std::uint64_t global_errors = 0;
  // CMD_SYNCs whose completion was never seen within poll_limit (Linux's
  // "CMD_SYNC timeout": its MSI write aborted, say); the driver moves on.
  std::uint64_t sync_timeouts = 0;
};

class SmmuDriver {
 public:
  SmmuDriver(DriverBus& bus, DriverMemory& memory, const DriverOptions& options = {});

  // Reads the ID registers; throws DriverError naming the field of an SMMU this
  // driver cannot drive.
  const DriverFeatures& probe();
  // Linux's arm_smmu_device_reset: CR0=0, CR1/CR2, STRTAB_BASE/_CFG, command
  // queue, CFGI_ALL/TLBI, event queue, GERROR acknowledged, IRQ_CTRL, SMMUEN.
  // `strtab_base` / `strtab_base_cfg` are the register values of the stream
  // table the caller built.
  void reset(std::uint64_t strtab_base, std::uint32_t strtab_base_cfg);
  // The same with the driver's own stream table (Linux's arm_smmu_init_strtab):
  // 2-level with SPLIT 8 when IDR0.ST_LEVEL allows and SIDSIZE > 8 (the L1
  // table capped at 2^17 entries), else linear; every STE starts as abort
  // (disable_bypass) or bypass.
  void reset();

  // Live update, outgoing (the arm-smmu-v3 live-update series): IRQs masked;
  // every STE not in `preserved` made abort, except that on a 2-level table an
  // L1 descriptor holding no preserved stream is zeroed instead (its L2 table
  // is not preserved); CFGI_ALL, TLBI_EL2_ALL (HYP), TLBI_NSNH_ALL, synced;
  // the queues turned off with the CR0ACK handshake, SMMUEN kept.
  void shutdown_for_live_update(const std::set<std::uint32_t>& preserved);
  // The stream-table allocations holding `sids` (linear: the whole table;
  // 2-level: the L1 table and the L2 tables of those StreamIDs).
  std::vector<DriverPage> stream_table_pages(const std::set<std::uint32_t>& sids) const;
  // Live update, incoming: instead of reset(). Refuses (DriverError "adoption
  // refused: <reason>") when SMMUEN is clear, STRTAB_BASE or STRTAB_BASE_CFG
  // read back differ from the record, or the geometry is inconsistent (log2size
  // vs split and SIDSIZE, base alignment, L1 span = split + 1, L2 alignment, an
  // L2 table the record does not preserve). Otherwise reserves the preserved
  // pages, adopts the stream table, acknowledges latched GERROR, and restarts
  // the queues and interrupts without writing CR1, CR2, STRTAB_BASE or GBPA.
  void adopt(const HandoverRecord& record);
  // Every StreamID whose STE exists (linear: all; 2-level: those of installed L2 tables).
  std::vector<std::uint32_t> live_stream_ids() const;
  bool adopted() const { return adopted_; }
  // kdump: adopts the crashed kernel's live stream table only when SMMUEN=1,
  // the SMMU is coherent and no SFM_ERR is pending, and its geometry checks
  // out; then keeps SMMUEN|ATSCHK, skips GBPA, the CR0 clear and the
  // CR1/CR2/STRTAB writes, turns the queues off with the handshake,
  // acknowledges latched GERROR and restarts the queues. Anything else: a full
  // reset(), with the reason.
  KdumpAdoption adopt_after_crash();

  // The STE of `sid` (its level-2 table is allocated and installed on first
  // use), and its update by the hitless writer: each store one 64-bit store
  // (cleaned to PoC on a non-coherent SMMU), each sync CFGI_STE + CMD_SYNC,
  // then a PREFETCH_CONFIG as Linux issues.
  std::uint64_t ste_address(std::uint32_t sid);
  smmu::EntryWords read_ste(std::uint32_t sid);
  EntryUpdate write_ste(std::uint32_t sid, const smmu::EntryWords& target);
  // Linux's arm_smmu_make_abort_ste / arm_smmu_make_bypass_ste.
  static smmu::EntryWords abort_ste();
  smmu::EntryWords bypass_ste() const;
  std::uint64_t strtab_base() const { return strtab_base_; }
  std::uint32_t strtab_base_cfg() const { return strtab_base_cfg_; }

  // Queues the commands in batches (as many as fit) and, with `sync`, ends with
  // a CMD_SYNC and waits for it.
  void issue(const std::vector<smmu::Command>& commands, bool sync = true);
  void sync() { issue({}, true); }
  // Every configuration and TLB entry (CFGI_ALL, TLBI_EL2_ALL with HYP,
  // TLBI_NSNH_ALL), synced: reset and live-update shutdown.
  void invalidate_all();

  // Linux's event queue thread (arm_smmu_evtq_thread): every record between
  // CONS and PROD to `listener`, CONS moved past them, an overflow noticed and
  // acknowledged (OVACKFLG). Returns the number of records.
  std::size_t drain_events(EventListener& listener);
  // Linux's GERROR handler (arm_smmu_gerror_handler): the active errors to
  // `listener`, CMDQ_ERR recovered, every active error acknowledged.
  std::uint32_t handle_global_errors(EventListener& listener);

  // Table memory for the driver's other parts (CD tables, io-pgtable): a
  // zeroed allocation (cleaned when the SMMU is not coherent), the one store
  // path every table word takes, a load, and a free.
  std::uint64_t allocate_table(PageUse use, std::uint64_t bytes, std::uint64_t alignment);
  std::uint64_t allocate_table(DriverMemory& memory, PageUse use, std::uint64_t bytes, std::uint64_t alignment);
  void store_table_word(std::uint64_t pa, std::uint64_t value);
  // A page-table store (io-pgtable): store_table_word unless skip_pte_clean.
  void store_pte(std::uint64_t pa, std::uint64_t value);
  std::uint64_t load_table_word(std::uint64_t pa) { return bus_.load64(pa); }
  DriverMemory& memory() { return memory_; }

  const DriverFeatures& features() const { return features_; }
  const DriverOptions& options() const { return options_; }
  const DriverStatistics& statistics() const { return stats_; }
  std::uint64_t cmdq_base() const { return cmdq_base_; }
  std::uint64_t msi_word() const { return msi_word_; }

 private:
  std::uint32_t read32(std::uint64_t offset) { return static_cast<std::uint32_t>(bus_.read_register(offset, 4)); }
  void write32(std::uint64_t offset, std::uint32_t value) { bus_.write_register(offset, value, 4); }
  void write_cr0(std::uint32_t value);
  // Command queue on, CFGI_ALL/TLBI_EL2_ALL/TLBI_NSNH_ALL synced, event queue
  // on, GERROR acknowledged, IRQs on; `kept` are CR0 bits left set (SMMUEN
  // when adopting). Returns the CR0 enables.
  std::uint32_t start_queues(std::uint32_t kept);
  template <typename Done>
  void poll(const char* what, Done done);
  // As poll(), but false instead of an exception when the wait times out.
  template <typename Done>
  bool poll_until(Done done);

  std::uint32_t free_slots(std::uint32_t cons) const;
  void write_command(const std::array<std::uint64_t, 2>& words);
  void wait_for_sync(std::uint32_t sync_prod, std::uint32_t msi_value);
  void recover_from_error(std::uint32_t cons);
  void build_stream_table();
  void abort_if_live(std::uint32_t sid);
  // Reads STRTAB_BASE/_CFG back, checks them (against `record` when given) and
  // the geometry, reserves the adopted pages and takes the table as ours.
  void adopt_stream_table(const HandoverRecord* record);
  void restart_adopted(std::uint32_t control);
  [[noreturn]] void refuse(const std::string& reason) const;
  void initialise_stes(std::uint64_t first_ste, std::uint64_t count);

  DriverBus& bus_;
  DriverMemory& memory_;
  DriverOptions options_;
  DriverFeatures features_;
  bool probed_ = false;
  unsigned cmdq_log2_ = 0;
  smmu::reg::QueueGeometry cmdq_;  // set by start_queues()
  unsigned eventq_log2_ = 0;
  std::uint64_t cmdq_base_ = 0;
  std::uint64_t eventq_base_ = 0;
  std::uint64_t msi_word_ = 0;
  std::uint32_t prod_ = 0;
  std::uint32_t eventq_cons_ = 0;
  DriverStatistics stats_;
  // The stream table.
  bool two_level_ = false;
  unsigned strtab_log2size_ = 0;
  static constexpr unsigned kSplit = 8;  // Linux's STRTAB_SPLIT
  std::uint64_t strtab_ = 0;             // linear table, or the L1 table
  std::uint64_t strtab_base_ = 0;
  std::uint32_t strtab_base_cfg_ = 0;
  std::vector<std::uint64_t> l2_tables_;  // per L1 index, 0 until allocated
  bool adopted_ = false;
};

}  // namespace smmuv3tlm::driver
