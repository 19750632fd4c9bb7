// A PCIe function's DMA engine as a loosely-timed TLM-2.0 initiator.
//
// A transfer of any length is split into transactions of at most `max_payload`
// bytes that never cross a 4 KiB boundary (PCIe forbids a request crossing one).
// Each transaction carries a SidebandExtension: the configured StreamID, the PASID
// as SubstreamID when configured, and the privilege bit. Transactions go out one
// after the other with the standard quantum keeper; a failed transaction does not
// stop the transfer (posted writes and split reads are all issued), the first
// error response is reported in the result.
//
// Two ways to drive it:
// - transfer(): a blocking call from any SC_THREAD (the caller's thread does the
//   waiting). The engine is serialised: concurrent callers take turns per transfer.
// - program_read()/program_write(): queued before or during simulation and run by
//   the module's own thread, with optional read-data verification.
// - transfer_pipelined(): single-transaction requests with several outstanding,
//   through nb_transport_fw and the base protocol's four phases (non-posted
//   reads with several tags in flight; a target that only blocks is adapted by
//   its simple_target_socket).
//
// Invalid requests (and every request when the configuration is invalid) raise
// SC_REPORT_ERROR("smmu/pcie") and are dropped and counted as rejected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/peq_with_get.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm::pcie {

struct DmaMasterConfig {
  std::uint32_t stream_id = 0;
  std::optional<std::uint32_t> pasid;  // sent as SubstreamID; at most 20 bits
  unsigned max_payload = 256;          // bytes per transaction; a power of two
  bool privileged = false;
  // Temporal-decoupling quantum for this master; zero means the global quantum
  // (tlm_global_quantum). A non-zero value is capped by the global quantum when
  // one is set.
  sc_core::sc_time quantum = sc_core::SC_ZERO_TIME;
  // Use DMI when the target offers it (dmi_allowed hint on a response).
  bool use_dmi = false;
  // Width of the addresses this function emits: 52 (the largest physical address
  // of SMMUv3) for a master wired straight to memory; 64 for a PCIe function
  // behind an SMMU, whose IOVAs use the whole 64-bit space.
  unsigned address_bits = 52;
};

// What a transfer says about itself in its side-band, when it is not the
// master's configured identity: a trace replaying many functions' DMA through
// one port (DMI is not used for such a transfer: grants belong to one stream).
struct TransferAttributes {
  std::uint32_t stream_id = 0;
  std::optional<std::uint32_t> substream_id;  // at most 20 bits
  bool privileged = false;
  bool instruction = false;
};

// One request of a pipelined burst: a single transaction (at most max_payload
// bytes, within one 4 KiB page).
struct PipelinedRequest {
  tlm::tlm_command command = tlm::TLM_READ_COMMAND;
  std::uint64_t address = 0;
  std::uint8_t* data = nullptr;
  unsigned length = 0;
  TransferAttributes attributes;
  // Out: the response, and when the request was sent and its response came.
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  sc_core::sc_time issued;
  sc_core::sc_time completed;
};

struct DmaResult {
  bool accepted = false;  // false: rejected by validation, nothing was issued
  // TLM_OK_RESPONSE, or the first error response among the transactions.
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  std::size_t transactions = 0;  // transactions (including DMI accesses) performed
  std::size_t bytes_ok = 0;      // bytes in transactions that completed OK

  bool ok() const { return accepted && status == tlm::TLM_OK_RESPONSE; }
};

struct DmaMasterStatistics {
  std::uint64_t transactions_issued = 0;  // b_transport calls
  std::uint64_t dmi_accesses = 0;         // transactions served through a DMI pointer
  std::uint64_t completions_ok = 0;       // transport or DMI transactions that succeeded
  // Error responses by status: index -status (1 generic, 2 address, 3 command,
  // 4 burst, 5 byte enable); index 0 counts responses left TLM_INCOMPLETE_RESPONSE.
  std::array<std::uint64_t, 6> error_responses{};
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t programs_completed = 0;
  std::uint64_t verify_failures = 0;          // verified reads with any differing byte
  std::uint64_t verify_mismatched_bytes = 0;  // differing bytes over all verified reads
  std::uint64_t rejected_requests = 0;

  std::uint64_t error_responses_total() const;
};
inline auto statistic_fields(const DmaMasterStatistics&) {
  using S = DmaMasterStatistics;
  return std::make_tuple(stats::field("transactions_issued", &S::transactions_issued),
                         stats::field("dmi_accesses", &S::dmi_accesses), stats::field("completions_ok", &S::completions_ok),
                         stats::field("error_responses", &S::error_responses), stats::field("bytes_read", &S::bytes_read),
                         stats::field("bytes_written", &S::bytes_written),
                         stats::field("programs_completed", &S::programs_completed),
                         stats::field("verify_failures", &S::verify_failures),
                         stats::field("verify_mismatched_bytes", &S::verify_mismatched_bytes),
                         stats::field("rejected_requests", &S::rejected_requests));
}

class DmaMaster : public sc_core::sc_module {
 public:
  using Config = DmaMasterConfig;
  using Statistics = DmaMasterStatistics;

  static constexpr std::uint64_t kBoundary = 4096;  // no transaction crosses this

  tlm_utils::simple_initiator_socket<DmaMaster> socket;

  explicit DmaMaster(const sc_core::sc_module_name& name, const Config& config = Config());

  const Config& config() const { return config_; }

  // Blocking transfer of `length` bytes from/to `data`; call from an SC_THREAD.
  DmaResult transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                     std::size_t length);
  // The same, with the side-band `attributes` instead of the configured identity.
  DmaResult transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                     std::size_t length, const TransferAttributes& attributes);

  // Issues `requests` in order with at most `outstanding` in flight (BEGIN_REQ
  // waits for the previous END_REQ, as the base protocol requires) and returns
  // when every response has come; call from an SC_THREAD. `on_issue(i, payload)`
  // is called just before request i goes out. Returns false (nothing issued,
  // an error reported) when a request is invalid.
  bool transfer_pipelined(std::vector<PipelinedRequest>& requests, unsigned outstanding,
                          const std::function<void(std::size_t, const tlm::tlm_generic_payload&)>& on_issue = {});

  // Queued transfers, run in order by the module's thread. A read with `expected`
  // compares every byte delivered OK against it and reports differences as
  // warnings; `expected` must hold exactly `length` bytes.
  void program_read(std::uint64_t address, std::size_t length,
                    std::optional<std::vector<std::uint8_t>> expected = {});
  void program_write(std::uint64_t address, std::vector<std::uint8_t> data);
  std::size_t pending_programs() const { return programs_.size() + (program_running_ ? 1 : 0); }
  // Notified whenever the queue drains (after the master synchronised its time).
  const sc_core::sc_event& programs_drained_event() const { return programs_drained_; }
  // Data returned by the most recent completed program_read.
  const std::vector<std::uint8_t>& last_read_data() const { return last_read_data_; }

  const Statistics& statistics() const { return stats_; }
  std::string summary() const;

  // Drops every DMI window (a platform reset, a benchmark's fresh start); the
  // next accesses ask the target again.
  void forget_dmi_windows();
  std::size_t dmi_windows() const { return dmi_windows_.size(); }

  // How far this master runs ahead of SystemC time. transfer() may return with
  // the master still ahead (inside its quantum); the program thread synchronises
  // whenever its queue drains.
  sc_core::sc_time local_time() const { return quantum_keeper_.get_local_time(); }
  // Waits until SystemC time catches up with the master's local time; call from
  // an SC_THREAD (elsewhere it reports an error and returns).
  void synchronize();

 private:
  // The quantum keeper with this master's own quantum (when configured).
  class QuantumKeeper : public tlm_utils::tlm_quantumkeeper {
   public:
    explicit QuantumKeeper(const sc_core::sc_time& quantum) : quantum_(quantum) {}

   protected:
    sc_core::sc_time compute_local_quantum() override;

   private:
    sc_core::sc_time quantum_;
  };

  struct Program {
    tlm::tlm_command command;
    std::uint64_t address;
    std::vector<std::uint8_t> data;  // write data, or the read buffer
    std::optional<std::vector<std::uint8_t>> expected;
  };

  void run_programs();
  // Empty when the request may go ahead, else why not (for the error report).
  std::string request_defect(tlm::tlm_command command, std::uint64_t address, bool has_buffer,
                             std::size_t length) const;
  void reject(const char* api, std::uint64_t address, std::size_t length, const std::string& why);
  static bool called_from_thread();
  DmaResult checked_transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                             std::size_t length, const TransferAttributes* attributes);
  // Performs a validated transfer; `delivered`, when given, marks the bytes that
  // belong to transactions that completed OK.
  DmaResult execute(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                    std::size_t length, std::vector<bool>* delivered,
                    const TransferAttributes* attributes = nullptr);
  tlm::tlm_response_status issue(tlm::tlm_generic_payload& trans, tlm::tlm_command command,
                                 std::uint64_t address, std::uint8_t* data, std::size_t length,
                                 bool dmi_allowed);
  bool try_dmi(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
               std::size_t length);
  void request_dmi(tlm::tlm_generic_payload& trans);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase, sc_core::sc_time& t);
  void count_response(tlm::tlm_command command, std::uint64_t address, unsigned length,
                      tlm::tlm_response_status status);
  void verify(const Program& program, const std::vector<bool>& delivered);

  Config config_;
  std::string config_defect_;  // non-empty when the configuration is unusable
  QuantumKeeper quantum_keeper_;
  sc_core::sc_mutex engine_;   // one transfer at a time on the link
  std::deque<Program> programs_;
  bool program_running_ = false;
  sc_core::sc_event program_queued_;
  sc_core::sc_event programs_drained_;
  std::vector<std::uint8_t> last_read_data_;
  // DMI windows by start address, disjoint (a new grant replaces what it
  // overlaps): the window holding an address is a map lookup, so host time
  // stays linear in the bytes moved however many pages were granted.
  std::map<std::uint64_t, tlm::tlm_dmi> dmi_windows_;
  const tlm::tlm_dmi* recent_window_ = nullptr;  // the last one used: streaming DMA stays in it
  void erase_dmi_windows(std::uint64_t start, std::uint64_t end);
  // Pipelined bursts: the request waiting for its END_REQ, and responses.
  const tlm::tlm_generic_payload* awaiting_end_req_ = nullptr;
  sc_core::sc_event end_req_;
  tlm_utils::peq_with_get<tlm::tlm_generic_payload> responses_{"responses"};
  Statistics stats_;
  stats::Registration registration_;
};

const char* to_string(tlm::tlm_response_status status);

}  // namespace smmuv3tlm::pcie
