#include "smmuv3tlm/models/pcie/dma_master.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::pcie {

namespace {

constexpr const char* kMsgType = "smmu/pcie";

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

// Index into DmaMasterStatistics::error_responses for a non-OK status.
std::size_t error_index(tlm::tlm_response_status status) {
  const int index = -static_cast<int>(status);
  return index >= 0 && index <= 5 ? static_cast<std::size_t>(index) : 1;
}

std::string configuration_defect(const DmaMasterConfig& config) {
  if (config.max_payload == 0) return "Config::max_payload is 0; use a power of two such as 256";
  if ((config.max_payload & (config.max_payload - 1)) != 0) {
    return "Config::max_payload " + std::to_string(config.max_payload) +
           " is not a power of two (1 to 4096 bytes; PCIe's Max_Payload_Size takes 128..4096, smaller sizes "
           "model other masters)";
  }
  if (config.pasid && *config.pasid > tlm_ext::SidebandExtension::kSubstreamIdMask) {
    return "Config::pasid " + hex(*config.pasid) + " does not fit in 20 bits (largest 0xfffff)";
  }
  if (config.address_bits < 12 || config.address_bits > 64) {
    return "Config::address_bits " + std::to_string(config.address_bits) + " is outside 12..64";
  }
  return {};
}

}  // namespace

const char* to_string(tlm::tlm_response_status status) {
  switch (status) {
    case tlm::TLM_OK_RESPONSE: return "ok";
    case tlm::TLM_INCOMPLETE_RESPONSE: return "incomplete";
    case tlm::TLM_GENERIC_ERROR_RESPONSE: return "generic-error";
    case tlm::TLM_ADDRESS_ERROR_RESPONSE: return "address-error";
    case tlm::TLM_COMMAND_ERROR_RESPONSE: return "command-error";
    case tlm::TLM_BURST_ERROR_RESPONSE: return "burst-error";
    case tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE: return "byte-enable-error";
  }
  return "unknown";
}

std::uint64_t DmaMasterStatistics::error_responses_total() const {
  std::uint64_t total = 0;
  for (const std::uint64_t count : error_responses) total += count;
  return total;
}

sc_core::sc_time DmaMaster::QuantumKeeper::compute_local_quantum() {
  const sc_core::sc_time global_local = tlm::tlm_global_quantum::instance().compute_local_quantum();
  if (quantum_ == sc_core::SC_ZERO_TIME) return global_local;
  // Sync points fall on multiples of the quantum, as with the global quantum.
  const sc_core::sc_time own_local = quantum_ - sc_core::sc_time_stamp() % quantum_;
  if (tlm::tlm_global_quantum::instance().get() == sc_core::SC_ZERO_TIME) return own_local;
  return std::min(own_local, global_local);
}

DmaMaster::DmaMaster(const sc_core::sc_module_name& name, const Config& config)
    : sc_core::sc_module(name),
      socket("socket"),
      config_(config),
      config_defect_(configuration_defect(config)),
      quantum_keeper_(config.quantum),
      engine_("engine") {
  if (!config_defect_.empty()) {
    SC_REPORT_ERROR(kMsgType, (std::string(this->name()) + ": " + config_defect_ +
                               "; every request to this master will be rejected")
                                  .c_str());
  }
  socket.register_invalidate_direct_mem_ptr(this, &DmaMaster::invalidate_direct_mem_ptr);
  socket.register_nb_transport_bw(this, &DmaMaster::nb_transport_bw);
  SC_HAS_PROCESS(DmaMaster);
  SC_THREAD(run_programs);
  registration_.add_struct(this->name(), stats_);
}

// ---------------------------------------------------------------------------
// Requests

std::string DmaMaster::request_defect(tlm::tlm_command command, std::uint64_t address,
                                      bool has_buffer, std::size_t length) const {
  if (!config_defect_.empty()) return "the master's configuration is invalid: " + config_defect_;
  if (command != tlm::TLM_READ_COMMAND && command != tlm::TLM_WRITE_COMMAND) {
    return "the command must be TLM_READ_COMMAND or TLM_WRITE_COMMAND";
  }
  if (length == 0) return "the length is 0; a DMA moves at least one byte";
  if (!has_buffer) return "the data buffer is null";
  // The last byte must be addressable: address + length - 1 < 2^address_bits.
  const std::uint64_t last_address = config_.address_bits == 64 ? ~std::uint64_t{0}
                                                                : (std::uint64_t{1} << config_.address_bits) - 1;
  if (address > last_address || length - 1 > last_address - address) {
    return "[address, address + length) leaves the " + std::to_string(config_.address_bits) +
           "-bit address space (Config::address_bits)";
  }
  return {};
}

void DmaMaster::reject(const char* api, std::uint64_t address, std::size_t length,
                       const std::string& why) {
  ++stats_.rejected_requests;
  SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": " + api + "(address " + hex(address) +
                             ", length " + std::to_string(length) + ") rejected: " + why +
                             "; request dropped")
                                .c_str());
}

DmaResult DmaMaster::transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                              std::size_t length) {
  return checked_transfer(command, address, data, length, nullptr);
}

DmaResult DmaMaster::transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                              std::size_t length, const TransferAttributes& attributes) {
  if (attributes.substream_id && *attributes.substream_id > tlm_ext::SidebandExtension::kSubstreamIdMask) {
    reject("transfer", address, length, "the SubstreamID " + hex(*attributes.substream_id) + " does not fit in 20 bits");
    return {};
  }
  return checked_transfer(command, address, data, length, &attributes);
}

DmaResult DmaMaster::checked_transfer(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                                      std::size_t length, const TransferAttributes* attributes) {
  const std::string defect = request_defect(command, address, data != nullptr, length);
  if (!defect.empty()) {
    reject("transfer", address, length, defect);
    return {};
  }
  if (!called_from_thread()) {
    reject("transfer", address, length,
           "it was not called from an SC_THREAD (it waits for simulated time); call it from a "
           "thread process, or queue the work with program_read/program_write");
    return {};
  }
  engine_.lock();
  const DmaResult result = execute(command, address, data, length, nullptr, attributes);
  engine_.unlock();
  return result;
}

bool DmaMaster::called_from_thread() {
  const sc_core::sc_curr_proc_kind caller = sc_core::sc_get_curr_process_kind();
  return caller == sc_core::SC_THREAD_PROC_ || caller == sc_core::SC_CTHREAD_PROC_;
}

void DmaMaster::synchronize() {
  if (!called_from_thread()) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) +
                               ": synchronize() must be called from an SC_THREAD (it waits "
                               "for simulated time); nothing done")
                                  .c_str());
    return;
  }
  engine_.lock();
  if (quantum_keeper_.get_local_time() != sc_core::SC_ZERO_TIME) quantum_keeper_.sync();
  engine_.unlock();
}

bool DmaMaster::transfer_pipelined(std::vector<PipelinedRequest>& requests, unsigned outstanding,
                                   const std::function<void(std::size_t, const tlm::tlm_generic_payload&)>& on_issue) {
  for (const PipelinedRequest& r : requests) {
    std::string defect = request_defect(r.command, r.address, r.data != nullptr, r.length);
    if (defect.empty() && (r.length > config_.max_payload || r.address % kBoundary + r.length > kBoundary)) {
      defect = "a pipelined request must be one transaction (at most max_payload bytes, within a 4 KiB page)";
    }
    if (defect.empty() && r.attributes.substream_id &&
        *r.attributes.substream_id > tlm_ext::SidebandExtension::kSubstreamIdMask) {
      defect = "the SubstreamID " + hex(*r.attributes.substream_id) + " does not fit in 20 bits";
    }
    if (!defect.empty()) {
      reject("transfer_pipelined", r.address, r.length, defect);
      return false;
    }
  }
  if (!called_from_thread()) {
    reject("transfer_pipelined", 0, 0, "it was not called from an SC_THREAD (it waits for simulated time)");
    return false;
  }
  engine_.lock();
  // Approximately timed: no temporal decoupling across the burst.
  if (quantum_keeper_.get_local_time() != sc_core::SC_ZERO_TIME) quantum_keeper_.sync();
  const std::size_t lanes = std::max<std::size_t>(1, std::min<std::size_t>(outstanding, requests.size()));
  // A payload per lane (each with its side-band, freed with it); `lane_request`
  // is the request a busy lane carries.
  std::vector<tlm::tlm_generic_payload> payloads(lanes);
  std::map<const tlm::tlm_generic_payload*, std::size_t> lane_of;
  std::vector<std::size_t> free_lanes;
  std::vector<std::size_t> lane_request(lanes);
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    payloads[lane].set_extension(new tlm_ext::SidebandExtension);
    lane_of[&payloads[lane]] = lane;
    free_lanes.push_back(lanes - 1 - lane);
  }
  const auto complete = [&](tlm::tlm_generic_payload& trans) {
    const std::size_t lane = lane_of.at(&trans);
    PipelinedRequest& r = requests[lane_request[lane]];
    r.status = trans.get_response_status();
    r.completed = sc_core::sc_time_stamp();
    count_response(r.command, r.address, r.length, r.status);
    free_lanes.push_back(lane);
  };
  std::size_t next = 0;
  std::size_t done = 0;
  while (done < requests.size()) {
    if (next < requests.size() && !free_lanes.empty() && awaiting_end_req_ == nullptr) {
      const std::size_t lane = free_lanes.back();
      free_lanes.pop_back();
      PipelinedRequest& r = requests[next];
      lane_request[lane] = next;
      tlm::tlm_generic_payload& trans = payloads[lane];
      auto* sideband = trans.get_extension<tlm_ext::SidebandExtension>();
      sideband->stream_id = r.attributes.stream_id;
      sideband->substream_valid = r.attributes.substream_id.has_value();
      sideband->substream_id = r.attributes.substream_id.value_or(0);
      sideband->privileged = r.attributes.privileged;
      sideband->instruction = r.attributes.instruction;
      trans.set_command(r.command);
      trans.set_address(r.address);
      trans.set_data_ptr(r.data);
      trans.set_data_length(r.length);
      trans.set_streaming_width(r.length);
      trans.set_byte_enable_ptr(nullptr);
      trans.set_byte_enable_length(0);
      trans.set_dmi_allowed(false);
      trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      if (on_issue) on_issue(next, trans);
      r.issued = sc_core::sc_time_stamp();
      ++stats_.transactions_issued;
      ++next;
      tlm::tlm_phase phase = tlm::BEGIN_REQ;
      sc_core::sc_time t = sc_core::SC_ZERO_TIME;
      const tlm::tlm_sync_enum status = socket->nb_transport_fw(trans, phase, t);
      if (status == tlm::TLM_ACCEPTED || (status == tlm::TLM_UPDATED && phase == tlm::BEGIN_REQ)) {
        awaiting_end_req_ = &trans;  // END_REQ (or BEGIN_RESP) comes on the backward path
      } else if (status == tlm::TLM_UPDATED && phase == tlm::BEGIN_RESP) {
        responses_.notify(trans, t);  // answered at once; END_RESP completes it
        phase = tlm::END_RESP;
        sc_core::sc_time end = sc_core::SC_ZERO_TIME;
        socket->nb_transport_fw(trans, phase, end);
      } else if (status == tlm::TLM_COMPLETED) {
        responses_.notify(trans, t);
      } else if (t != sc_core::SC_ZERO_TIME) {
        sc_core::wait(t);  // END_REQ with a delay: the next request waits for it
      }
      continue;
    }
    sc_core::wait(responses_.get_event() | end_req_);
    while (tlm::tlm_generic_payload* trans = responses_.get_next_transaction()) {
      complete(*trans);
      ++done;
    }
  }
  engine_.unlock();
  return true;
}

tlm::tlm_sync_enum DmaMaster::nb_transport_bw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase,
                                              sc_core::sc_time& t) {
  if (phase == tlm::END_REQ) {
    awaiting_end_req_ = nullptr;
    end_req_.notify(t);
    return tlm::TLM_ACCEPTED;
  }
  if (phase == tlm::BEGIN_RESP) {
    if (awaiting_end_req_ == &trans) {  // BEGIN_RESP implies END_REQ
      awaiting_end_req_ = nullptr;
      end_req_.notify(t);
    }
    responses_.notify(trans, t);
    phase = tlm::END_RESP;
    return tlm::TLM_COMPLETED;
  }
  SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": nb_transport_bw with phase " + phase.get_name() +
                             ", which a target never sends (base protocol)")
                                .c_str());
  return tlm::TLM_COMPLETED;
}

void DmaMaster::program_read(std::uint64_t address, std::size_t length,
                             std::optional<std::vector<std::uint8_t>> expected) {
  // The read buffer belongs to the program, so there is always one.
  std::string defect = request_defect(tlm::TLM_READ_COMMAND, address, true, length);
  if (defect.empty() && expected && expected->size() != length) {
    defect = "the expected data holds " + std::to_string(expected->size()) +
             " bytes but the read is " + std::to_string(length) + " bytes long";
  }
  if (!defect.empty()) {
    reject("program_read", address, length, defect);
    return;
  }
  programs_.push_back(Program{tlm::TLM_READ_COMMAND, address, std::vector<std::uint8_t>(length),
                              std::move(expected)});
  program_queued_.notify(sc_core::SC_ZERO_TIME);
}

void DmaMaster::program_write(std::uint64_t address, std::vector<std::uint8_t> data) {
  const std::string defect =
      request_defect(tlm::TLM_WRITE_COMMAND, address, true, data.size());
  if (!defect.empty()) {
    reject("program_write", address, data.size(), defect);
    return;
  }
  programs_.push_back(Program{tlm::TLM_WRITE_COMMAND, address, std::move(data), std::nullopt});
  program_queued_.notify(sc_core::SC_ZERO_TIME);
}

void DmaMaster::run_programs() {
  for (;;) {
    while (programs_.empty()) {
      // Idle: bring SystemC time up to this master's local time before waiting.
      engine_.lock();
      if (quantum_keeper_.get_local_time() != sc_core::SC_ZERO_TIME) quantum_keeper_.sync();
      engine_.unlock();
      if (programs_.empty()) {
        programs_drained_.notify();
        sc_core::wait(program_queued_);
      }
    }
    Program program = std::move(programs_.front());
    programs_.pop_front();
    program_running_ = true;
    std::vector<bool> delivered;
    if (program.expected) delivered.assign(program.data.size(), false);
    engine_.lock();
    execute(program.command, program.address, program.data.data(), program.data.size(),
            program.expected ? &delivered : nullptr);
    engine_.unlock();
    if (program.command == tlm::TLM_READ_COMMAND) {
      if (program.expected) verify(program, delivered);
      last_read_data_ = std::move(program.data);
    }
    ++stats_.programs_completed;
    program_running_ = false;
  }
}

void DmaMaster::verify(const Program& program, const std::vector<bool>& delivered) {
  const std::vector<std::uint8_t>& expected = *program.expected;
  std::size_t mismatches = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (!delivered[i] || program.data[i] == expected[i]) continue;
    if (mismatches == 0) first = i;
    ++mismatches;
  }
  if (mismatches == 0) return;
  ++stats_.verify_failures;
  stats_.verify_mismatched_bytes += mismatches;
  std::ostringstream message;
  message << name() << ": read verification of [" << hex(program.address) << ", +"
          << expected.size() << ") found " << mismatches << " differing byte(s); first at "
          << hex(program.address + first) << ": expected " << hex(expected[first]) << ", read "
          << hex(program.data[first]);
  SC_REPORT_WARNING(kMsgType, message.str().c_str());
}

// ---------------------------------------------------------------------------
// Transactions

DmaResult DmaMaster::execute(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                             std::size_t length, std::vector<bool>* delivered,
                             const TransferAttributes* attributes) {
  DmaResult result;
  result.accepted = true;
  result.status = tlm::TLM_OK_RESPONSE;
  // A fresh start (nothing pending locally): recompute the next sync point from now.
  if (quantum_keeper_.get_local_time() == sc_core::SC_ZERO_TIME) quantum_keeper_.reset();

  tlm::tlm_generic_payload trans;
  auto* sideband = new tlm_ext::SidebandExtension;
  if (attributes == nullptr) {
    sideband->stream_id = config_.stream_id;
    sideband->substream_valid = config_.pasid.has_value();
    sideband->substream_id = config_.pasid.value_or(0);
    sideband->privileged = config_.privileged;
  } else {
    sideband->stream_id = attributes->stream_id;
    sideband->substream_valid = attributes->substream_id.has_value();
    sideband->substream_id = attributes->substream_id.value_or(0);
    sideband->privileged = attributes->privileged;
    sideband->instruction = attributes->instruction;
  }
  trans.set_extension(sideband);  // freed by `trans`, which has no memory manager

  std::size_t offset = 0;
  while (offset < length) {
    const std::uint64_t pa = address + offset;
    const auto to_boundary = static_cast<std::size_t>(kBoundary - pa % kBoundary);
    const std::size_t chunk =
        std::min({length - offset, static_cast<std::size_t>(config_.max_payload), to_boundary});
    const tlm::tlm_response_status status = issue(trans, command, pa, data + offset, chunk, attributes == nullptr);
    ++result.transactions;
    count_response(command, pa, static_cast<unsigned>(chunk), status);
    if (status == tlm::TLM_OK_RESPONSE) {
      result.bytes_ok += chunk;
      if (delivered != nullptr) {
        std::fill(delivered->begin() + static_cast<std::ptrdiff_t>(offset),
                  delivered->begin() + static_cast<std::ptrdiff_t>(offset + chunk), true);
      }
    } else if (result.status == tlm::TLM_OK_RESPONSE) {
      result.status = status;
    }
    offset += chunk;
    if (quantum_keeper_.need_sync()) quantum_keeper_.sync();
  }
  return result;
}

void DmaMaster::count_response(tlm::tlm_command command, std::uint64_t address, unsigned length,
                               tlm::tlm_response_status status) {
  if (status == tlm::TLM_OK_RESPONSE) {
    ++stats_.completions_ok;
    (command == tlm::TLM_READ_COMMAND ? stats_.bytes_read : stats_.bytes_written) += length;
    return;
  }
  ++stats_.error_responses[error_index(status)];
  SC_REPORT_INFO_VERB(kMsgType,
                      (std::string(name()) + ": " + to_string(status) + " for " + hex(address) + " (+" +
                       std::to_string(length) + ")")
                          .c_str(),
                      sc_core::SC_HIGH);
}

tlm::tlm_response_status DmaMaster::issue(tlm::tlm_generic_payload& trans, tlm::tlm_command command,
                                          std::uint64_t address, std::uint8_t* data,
                                          std::size_t length, bool dmi_allowed) {
  if (dmi_allowed && config_.use_dmi && try_dmi(command, address, data, length)) {
    ++stats_.dmi_accesses;
    return tlm::TLM_OK_RESPONSE;
  }
  trans.set_command(command);
  trans.set_address(address);
  trans.set_data_ptr(data);
  trans.set_data_length(static_cast<unsigned int>(length));
  trans.set_streaming_width(static_cast<unsigned int>(length));
  trans.set_byte_enable_ptr(nullptr);
  trans.set_byte_enable_length(0);
  trans.set_dmi_allowed(false);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay = quantum_keeper_.get_local_time();
  socket->b_transport(trans, delay);
  quantum_keeper_.set(delay);
  ++stats_.transactions_issued;
  const tlm::tlm_response_status status = trans.get_response_status();
  if (dmi_allowed && config_.use_dmi && status == tlm::TLM_OK_RESPONSE && trans.is_dmi_allowed()) {
    request_dmi(trans);
  }
  return status;
}

bool DmaMaster::try_dmi(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                        std::size_t length) {
  const std::uint64_t last = address + length - 1;
  const tlm::tlm_dmi* window = recent_window_;
  if (window == nullptr || address < window->get_start_address() || last > window->get_end_address()) {
    auto after = dmi_windows_.upper_bound(address);
    if (after == dmi_windows_.begin()) return false;
    window = &std::prev(after)->second;  // the one starting at or below `address`
    if (last > window->get_end_address()) return false;
    recent_window_ = window;
  }
  unsigned char* host = window->get_dmi_ptr() + (address - window->get_start_address());
  if (command == tlm::TLM_READ_COMMAND && window->is_read_allowed()) {
    std::copy(host, host + length, data);
    quantum_keeper_.inc(window->get_read_latency());
    return true;
  }
  if (command == tlm::TLM_WRITE_COMMAND && window->is_write_allowed()) {
    std::copy(data, data + length, host);
    quantum_keeper_.inc(window->get_write_latency());
    return true;
  }
  return false;
}

void DmaMaster::request_dmi(tlm::tlm_generic_payload& trans) {
  // Same payload, so the request carries this master's side-band (the SMMU keys
  // its DMI answers by StreamID).
  tlm::tlm_dmi window;
  if (!socket->get_direct_mem_ptr(trans, window)) return;
  erase_dmi_windows(window.get_start_address(), window.get_end_address());
  dmi_windows_.emplace(window.get_start_address(), window);
}

void DmaMaster::erase_dmi_windows(std::uint64_t start, std::uint64_t end) {
  recent_window_ = nullptr;
  // Disjoint windows sorted by start have sorted ends too: walk back from the
  // last one starting at or below `end` while they still reach `start`.
  auto next = dmi_windows_.upper_bound(end);
  while (next != dmi_windows_.begin()) {
    const auto window = std::prev(next);
    if (window->second.get_end_address() < start) break;
    next = dmi_windows_.erase(window);
  }
}

void DmaMaster::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) { erase_dmi_windows(start, end); }

void DmaMaster::forget_dmi_windows() {
  dmi_windows_.clear();
  recent_window_ = nullptr;
}

std::string DmaMaster::summary() const {
  std::ostringstream out;
  out << name() << " (stream " << hex(config_.stream_id);
  if (config_.pasid) out << ", pasid " << hex(*config_.pasid);
  out << "): " << stats_.transactions_issued << " transactions issued, " << stats_.dmi_accesses
      << " DMI accesses, " << stats_.completions_ok << " ok, " << stats_.error_responses_total()
      << " error responses";
  bool first = true;
  for (std::size_t index = 0; index < stats_.error_responses.size(); ++index) {
    if (stats_.error_responses[index] == 0) continue;
    out << (first ? " (" : ", ")
        << to_string(static_cast<tlm::tlm_response_status>(-static_cast<int>(index))) << ' '
        << stats_.error_responses[index];
    first = false;
  }
  if (!first) out << ')';
  out << "; read " << stats_.bytes_read << " B, wrote " << stats_.bytes_written << " B; "
      << stats_.programs_completed << " programs completed, " << stats_.verify_failures
      << " verify failures (" << stats_.verify_mismatched_bytes << " bytes); "
      << stats_.rejected_requests << " requests rejected";
  return out.str();
}

}  // namespace smmuv3tlm::pcie
