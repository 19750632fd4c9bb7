#include "smmuv3tlm/models/memory/sparse_memory.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>

namespace smmuv3tlm::memory {

namespace {

constexpr const char* kMsgType = "smmu/memory";

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

// [start, end) intersections of a set of disjoint intervals with [start, end).
std::vector<std::pair<std::uint64_t, std::uint64_t>> intersections(
    const std::map<std::uint64_t, std::uint64_t>& intervals, std::uint64_t start, std::uint64_t end) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;
  auto it = intervals.upper_bound(start);
  if (it != intervals.begin()) {
    auto previous = std::prev(it);
    if (previous->second > start) it = previous;
  }
  for (; it != intervals.end() && it->first < end; ++it) {
    runs.emplace_back(std::max(it->first, start), std::min(it->second, end));
  }
  return runs;
}

// Inserts [start, end) into a set of disjoint intervals, merging overlapping and
// adjacent neighbours so lookups only ever see one interval per byte.
void insert_merged(std::map<std::uint64_t, std::uint64_t>& intervals, std::uint64_t start,
                   std::uint64_t end) {
  auto it = intervals.upper_bound(start);
  if (it != intervals.begin()) {
    auto previous = std::prev(it);
    if (previous->second >= start) {
      start = previous->first;
      end = std::max(end, previous->second);
      intervals.erase(previous);
    }
  }
  while (it != intervals.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = intervals.erase(it);
  }
  intervals.emplace(start, end);
}

bool byte_enabled(const tlm::tlm_generic_payload& trans, std::size_t index) {
  const unsigned char* enables = trans.get_byte_enable_ptr();
  if (enables == nullptr) return true;
  // The byte enable array repeats when shorter than the data; 0x00 disables a byte.
  return enables[index % trans.get_byte_enable_length()] != TLM_BYTE_DISABLED;
}

}  // namespace

SparseMemory::SparseMemory(const sc_core::sc_module_name& name, const Config& config)
    : sc_core::sc_module(name), socket("socket"), config_(config) {
  if (config_.size == 0) {
    SC_REPORT_ERROR(kMsgType, (std::string(this->name()) +
                               ": Config::size is 0, so no address is memory; give the "
                               "physical address space size in bytes (default 1 << 52)")
                                  .c_str());
  }
  if (config_.bus_width_bytes == 0) {
    SC_REPORT_ERROR(kMsgType, (std::string(this->name()) +
                               ": Config::bus_width_bytes is 0; set the data path width in "
                               "bytes (for example 16). Using 1 byte per beat instead")
                                  .c_str());
    config_.bus_width_bytes = 1;
  }
  socket.register_b_transport(this, &SparseMemory::b_transport);
  socket.register_transport_dbg(this, &SparseMemory::transport_dbg);
  socket.register_get_direct_mem_ptr(this, &SparseMemory::get_direct_mem_ptr);
  registration_.add_struct(this->name(), stats_);
}

// ---------------------------------------------------------------------------
// Configuration and observers

void SparseMemory::add_region(std::uint64_t base, std::uint64_t size) {
  if (size == 0 || base >= config_.size || size > config_.size - base) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": add_region(base " + hex(base) + ", size " +
                               hex(size) + ") must name a non-empty range inside [0, " +
                               hex(config_.size) + "); region ignored")
                                  .c_str());
    return;
  }
  const bool first_region = regions_.empty();
  insert_merged(regions_, base, base + size);
  // Before the first region every address was memory; DMI granted then may now
  // cover a hole, so it must go.
  if (first_region) invalidate_all_dmi();
}

void SparseMemory::set_untouched_fill(UntouchedFill fill) { untouched_fill_ = std::move(fill); }

void SparseMemory::set_poison_observer(PoisonObserver observer) {
  poison_observer_ = std::move(observer);
}

void SparseMemory::set_access_observer(AccessObserver observer) {
  access_observer_ = std::move(observer);
}

bool SparseMemory::containing_memory(std::uint64_t pa, std::uint64_t& start,
                                     std::uint64_t& end) const {
  if (pa >= config_.size) return false;
  if (regions_.empty()) {
    start = 0;
    end = config_.size;
    return true;
  }
  auto it = regions_.upper_bound(pa);
  if (it == regions_.begin()) return false;
  --it;
  if (pa >= it->second) return false;
  start = it->first;
  end = it->second;
  return true;
}

bool SparseMemory::is_backed(std::uint64_t pa, std::uint64_t len) const {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  return len != 0 && containing_memory(pa, start, end) && len <= end - pa;
}

// ---------------------------------------------------------------------------
// TLM interfaces

void SparseMemory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const tlm::tlm_response_status status = execute(trans, delay);
  trans.set_response_status(status);
  if (status != tlm::TLM_OK_RESPONSE) ++stats_.error_responses;
  if (access_observer_) access_observer_(trans);
}

const char* SparseMemory::malformation(const tlm::tlm_generic_payload& trans) {
  switch (trans.get_command()) {
    case tlm::TLM_READ_COMMAND:
    case tlm::TLM_WRITE_COMMAND:
      break;
    case tlm::TLM_IGNORE_COMMAND:
      return nullptr;  // carries no data, so the data attributes do not matter
    default:
      return "the command is not TLM_READ_COMMAND, TLM_WRITE_COMMAND or TLM_IGNORE_COMMAND";
  }
  // The LRM's "not properly initialised" rules (14.12 d, 14.14 f, 14.15 f).
  if (trans.get_data_length() == 0) return "data_length is 0 (LRM 14.12: it must be at least 1)";
  if (trans.get_data_ptr() == nullptr) return "data_ptr is null";
  if (trans.get_streaming_width() == 0) {
    return "streaming_width is 0 (LRM 14.15: set it to data_length for a plain burst)";
  }
  if (trans.get_byte_enable_ptr() != nullptr && trans.get_byte_enable_length() == 0) {
    return "byte_enable_ptr is set but byte_enable_length is 0 (LRM 14.14)";
  }
  return nullptr;
}

tlm::tlm_response_status SparseMemory::execute(tlm::tlm_generic_payload& trans,
                                               sc_core::sc_time& delay) {
  const tlm::tlm_command command = trans.get_command();
  const std::uint64_t address = trans.get_address();
  const std::size_t length = trans.get_data_length();

  if (const char* defect = malformation(trans)) {
    const bool known_command =
        command == tlm::TLM_READ_COMMAND || command == tlm::TLM_WRITE_COMMAND;
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": malformed transaction at " + hex(address) +
                               ": " + defect + "; answered " +
                               (known_command ? "TLM_GENERIC_ERROR_RESPONSE"
                                              : "TLM_COMMAND_ERROR_RESPONSE"))
                                  .c_str());
    return known_command ? tlm::TLM_GENERIC_ERROR_RESPONSE : tlm::TLM_COMMAND_ERROR_RESPONSE;
  }

  const std::size_t streaming_width = trans.get_streaming_width();
  if (command == tlm::TLM_IGNORE_COMMAND) {
    // An ignore command may probe an address: answer as a read of its
    // first byte would, without touching memory.
    ++stats_.ignores;
    return is_backed(address, 1) ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE;
  }
  // With streaming, the addresses touched are [address, address + streaming_width).
  const std::size_t window = std::min(length, streaming_width);

  const bool is_read = command == tlm::TLM_READ_COMMAND;
  if (is_read) {
    ++stats_.reads;
  } else {
    ++stats_.writes;
  }
  if (!is_backed(address, window)) return tlm::TLM_ADDRESS_ERROR_RESPONSE;

  std::uint8_t* data = trans.get_data_ptr();
  const std::uint64_t window_end = address + window;
  const auto poison_runs = poison_.empty()
                               ? std::vector<std::pair<std::uint64_t, std::uint64_t>>{}
                               : intersections(poison_, address, window_end);
  std::size_t bytes_transferred = 0;
  std::size_t poisoned_runs_returned = 0;

  if (trans.get_byte_enable_ptr() == nullptr && streaming_width >= length) {
    // Plain burst: one contiguous copy.
    if (is_read) {
      read_bytes(address, data, length);
      for (const auto& [start, end] : poison_runs) {
        overlay_poison_pattern(start, data + (start - address), end - start);
        note_poisoned_read(start, end - start);
        ++poisoned_runs_returned;
      }
    } else {
      write_bytes(address, data, length);
      for (const auto& [start, end] : poison_runs) remove_poison_interval(start, end);
    }
    bytes_transferred = length;
  } else {
    // Byte enables and/or streaming: byte by byte. `touched` marks the window
    // offsets actually accessed, needed only to attribute poison precisely.
    std::vector<bool> touched(poison_runs.empty() ? 0 : window, false);
    for (std::size_t index = 0; index < length; ++index) {
      if (!byte_enabled(trans, index)) continue;
      const std::size_t offset = index % streaming_width;
      const std::uint64_t pa = address + offset;
      if (is_read) {
        data[index] = read_byte(pa);
      } else {
        write_byte(pa, data[index]);
      }
      if (!touched.empty()) touched[offset] = true;
      ++bytes_transferred;
    }
    for (const auto& [start, end] : poison_runs) {
      // Split each poisoned interval into the sub-runs this transaction touched.
      std::uint64_t pa = start;
      while (pa < end) {
        while (pa < end && !touched[pa - address]) ++pa;
        const std::uint64_t run_start = pa;
        while (pa < end && touched[pa - address]) ++pa;
        if (run_start == pa) continue;
        if (is_read) {
          note_poisoned_read(run_start, pa - run_start);
          ++poisoned_runs_returned;
        } else {
          remove_poison_interval(run_start, pa);
        }
      }
      if (is_read) {
        for (std::size_t index = 0; index < length; ++index) {
          const std::uint64_t byte_pa = address + index % streaming_width;
          if (byte_pa >= start && byte_pa < end && byte_enabled(trans, index)) {
            data[index] = poison_byte(byte_pa);
          }
        }
      }
    }
  }

  if (is_read) {
    stats_.bytes_read += bytes_transferred;
    // Counted per transaction, and only if a poisoned byte was actually returned.
    if (poisoned_runs_returned != 0) ++stats_.poison_reads;
  } else {
    stats_.bytes_written += bytes_transferred;
  }

  const std::uint64_t beats = (length + config_.bus_width_bytes - 1) / config_.bus_width_bytes;
  delay += (is_read ? config_.read_latency : config_.write_latency) +
           config_.beat_period * static_cast<double>(beats - 1);

  // DMI hint: the page of this address would be granted on request.
  const std::uint64_t page_start = address & ~(kPageSize - 1);
  if (config_.dmi_allowed && !overlaps_poison(page_start, page_start + kPageSize)) {
    trans.set_dmi_allowed(true);
  }
  return tlm::TLM_OK_RESPONSE;
}

unsigned int SparseMemory::transport_dbg(tlm::tlm_generic_payload& trans) {
  // Debug transport: address, length, data pointer and command only;
  // byte enables and streaming width are ignored. No time, counters or observers.
  const tlm::tlm_command command = trans.get_command();
  if (command != tlm::TLM_READ_COMMAND && command != tlm::TLM_WRITE_COMMAND) return 0;
  std::uint8_t* data = trans.get_data_ptr();
  const std::uint64_t address = trans.get_address();
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  if (data == nullptr || !containing_memory(address, start, end)) return 0;
  // A debug access crossing the end of memory transfers what fits (LRM: the
  // return value is the number of bytes actually transferred).
  const auto count = static_cast<std::size_t>(
      std::min<std::uint64_t>(trans.get_data_length(), end - address));
  if (command == tlm::TLM_READ_COMMAND) {
    read_bytes(address, data, count);
    overlay_poison_pattern(address, data, count);
  } else {
    write_bytes(address, data, count);
    remove_poison_interval(address, address + count);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return static_cast<unsigned int>(count);
}

bool SparseMemory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi_data) {
  // Refusal per the LRM: the default tlm_dmi (range 0..max, no access) and false.
  dmi_data.init();
  const std::uint64_t address = trans.get_address();
  std::uint64_t memory_start = 0;
  std::uint64_t memory_end = 0;
  if (!config_.dmi_allowed || !containing_memory(address, memory_start, memory_end)) {
    ++stats_.dmi_refusals;
    return false;
  }
  const std::uint64_t page_number = address / kPageSize;
  const std::uint64_t page_start = page_number * kPageSize;
  const std::uint64_t window_start = std::max(page_start, memory_start);
  const std::uint64_t window_end = std::min(page_start + kPageSize, memory_end);
  // DMI bypasses poison detection, so poisoned pages stay on the transport path.
  if (overlaps_poison(window_start, window_end)) {
    ++stats_.dmi_refusals;
    return false;
  }
  Page& page = materialise_page(page_number);
  dmi_data.set_dmi_ptr(page.data() + (window_start - page_start));
  dmi_data.set_start_address(window_start);
  dmi_data.set_end_address(window_end - 1);
  dmi_data.set_granted_access(tlm::tlm_dmi::DMI_ACCESS_READ_WRITE);
  dmi_data.set_read_latency(config_.read_latency);
  dmi_data.set_write_latency(config_.write_latency);
  dmi_granted_pages_.insert(page_number);
  ++stats_.dmi_grants;
  return true;
}

// ---------------------------------------------------------------------------
// Backdoor

bool SparseMemory::check_backdoor_range(const char* operation, std::uint64_t pa,
                                        std::uint64_t len) const {
  if (is_backed(pa, len)) return true;
  std::string why = len == 0 ? "the length is 0"
                             : "the range is not inside one memory region of [0, " +
                                   hex(config_.size) + ")" +
                                   (regions_.empty() ? "" : " (regions are declared; see add_region)");
  SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": " + operation + "(pa " + hex(pa) +
                             ", length " + std::to_string(len) + ") rejected: " + why +
                             "; nothing transferred")
                                .c_str());
  return false;
}

bool SparseMemory::backdoor_read(std::uint64_t pa, std::uint8_t* data, std::size_t len) const {
  if (data == nullptr && len != 0) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": backdoor_read given a null buffer").c_str());
    return false;
  }
  if (!check_backdoor_range("backdoor_read", pa, len)) return false;
  read_bytes(pa, data, len);
  overlay_poison_pattern(pa, data, len);
  return true;
}

bool SparseMemory::backdoor_write(std::uint64_t pa, const std::uint8_t* data, std::size_t len) {
  if (data == nullptr && len != 0) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": backdoor_write given a null buffer").c_str());
    return false;
  }
  if (!check_backdoor_range("backdoor_write", pa, len)) return false;
  write_bytes(pa, data, len);
  remove_poison_interval(pa, pa + len);
  return true;
}

std::uint64_t SparseMemory::read64(std::uint64_t pa) const {
  std::uint8_t bytes[8] = {};
  if (!backdoor_read(pa, bytes, sizeof bytes)) return 0;
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

bool SparseMemory::write64(std::uint64_t pa, std::uint64_t value) {
  std::uint8_t bytes[8];
  for (std::size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
  return backdoor_write(pa, bytes, sizeof bytes);
}

// ---------------------------------------------------------------------------
// Poison

std::uint8_t SparseMemory::poison_byte(std::uint64_t pa) {
  return static_cast<std::uint8_t>(kPoisonPattern >> (8 * (pa % 4)));
}

void SparseMemory::poison(std::uint64_t pa, std::uint64_t len) {
  // Scrub ranges may span holes between regions; they only need to lie in [0, size).
  if (len == 0 || pa >= config_.size || len > config_.size - pa) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": poison(pa " + hex(pa) + ", length " +
                               hex(len) + ") must name a non-empty range inside [0, " +
                               hex(config_.size) + "); nothing poisoned")
                                  .c_str());
    return;
  }
  add_poison_interval(pa, pa + len);
  invalidate_granted_pages(pa, pa + len);
}

void SparseMemory::unpoison(std::uint64_t pa, std::uint64_t len) {
  if (len == 0 || pa >= config_.size || len > config_.size - pa) {
    SC_REPORT_ERROR(kMsgType, (std::string(name()) + ": unpoison(pa " + hex(pa) + ", length " +
                               hex(len) + ") must name a non-empty range inside [0, " +
                               hex(config_.size) + "); nothing changed")
                                  .c_str());
    return;
  }
  remove_poison_interval(pa, pa + len);
}

bool SparseMemory::is_poisoned(std::uint64_t pa, std::uint64_t len) const {
  if (len == 0 || len > ~std::uint64_t{0} - pa) return false;
  return overlaps_poison(pa, pa + len);
}

void SparseMemory::add_poison_interval(std::uint64_t start, std::uint64_t end) {
  insert_merged(poison_, start, end);
}

void SparseMemory::remove_poison_interval(std::uint64_t start, std::uint64_t end) {
  if (poison_.empty() || start >= end) return;
  auto it = poison_.upper_bound(start);
  if (it != poison_.begin()) {
    auto previous = std::prev(it);
    if (previous->second > start) {
      // The interval that begins before `start` keeps its head and maybe its tail.
      const std::uint64_t head_start = previous->first;
      const std::uint64_t tail_end = previous->second;
      poison_.erase(previous);
      if (head_start < start) poison_.emplace(head_start, start);
      if (tail_end > end) poison_.emplace(end, tail_end);
    }
  }
  it = poison_.lower_bound(start);
  while (it != poison_.end() && it->first < end) {
    const std::uint64_t tail_end = it->second;
    it = poison_.erase(it);
    if (tail_end > end) {
      poison_.emplace(end, tail_end);
      break;
    }
  }
}

bool SparseMemory::overlaps_poison(std::uint64_t start, std::uint64_t end) const {
  if (poison_.empty()) return false;
  auto it = poison_.upper_bound(start);
  if (it != poison_.end() && it->first < end) return true;
  return it != poison_.begin() && std::prev(it)->second > start;
}

void SparseMemory::overlay_poison_pattern(std::uint64_t pa, std::uint8_t* data,
                                          std::size_t len) const {
  if (poison_.empty()) return;
  for (const auto& [start, end] : intersections(poison_, pa, pa + len)) {
    for (std::uint64_t byte_pa = start; byte_pa < end; ++byte_pa) {
      data[byte_pa - pa] = poison_byte(byte_pa);
    }
  }
}

void SparseMemory::note_poisoned_read(std::uint64_t pa, std::size_t len) {
  if (poisoned_reads_.size() < config_.poison_log_capacity) poisoned_reads_.push_back({pa, len});
  if (poison_observer_) poison_observer_(pa, len);
}

// ---------------------------------------------------------------------------
// DMI invalidation

void SparseMemory::invalidate_granted_pages(std::uint64_t start, std::uint64_t end) {
  if (dmi_granted_pages_.empty()) return;
  const auto first = dmi_granted_pages_.lower_bound(start / kPageSize);
  const auto last = dmi_granted_pages_.upper_bound((end - 1) / kPageSize);
  if (first == last) return;
  // One call covering every granted page hit; initiators drop whatever overlaps.
  const std::uint64_t invalid_start = *first * kPageSize;
  const std::uint64_t invalid_end = (*std::prev(last) + 1) * kPageSize - 1;
  dmi_granted_pages_.erase(first, last);
  ++stats_.dmi_invalidations;
  socket->invalidate_direct_mem_ptr(invalid_start, invalid_end);
}

void SparseMemory::invalidate_all_dmi() {
  if (dmi_granted_pages_.empty()) return;
  dmi_granted_pages_.clear();
  ++stats_.dmi_invalidations;
  socket->invalidate_direct_mem_ptr(0, ~sc_dt::uint64{0});
}

// ---------------------------------------------------------------------------
// Storage

SparseMemory::Page* SparseMemory::find_page(std::uint64_t page_number) const {
  if (page_number == cached_page_number_) return cached_page_;
  const auto it = pages_.find(page_number);
  cached_page_number_ = page_number;
  cached_page_ = it == pages_.end() ? nullptr : it->second.get();
  return cached_page_;
}

SparseMemory::Page& SparseMemory::materialise_page(std::uint64_t page_number) {
  if (Page* page = find_page(page_number)) return *page;
  auto page = std::make_unique<Page>();
  fill_untouched(page_number * kPageSize, page->data(), kPageSize);
  Page* storage = page.get();
  pages_.emplace(page_number, std::move(page));
  cached_page_number_ = page_number;
  cached_page_ = storage;
  return *storage;
}

void SparseMemory::fill_untouched(std::uint64_t pa, std::uint8_t* data, std::size_t len) const {
  if (untouched_fill_) {
    untouched_fill_(pa, data, len);
  } else {
    std::memset(data, config_.fill_byte, len);
  }
}

void SparseMemory::read_bytes(std::uint64_t pa, std::uint8_t* data, std::size_t len) const {
  while (len != 0) {
    const std::size_t offset = static_cast<std::size_t>(pa % kPageSize);
    const std::size_t chunk = std::min<std::size_t>(len, kPageSize - offset);
    if (const Page* page = find_page(pa / kPageSize)) {
      std::memcpy(data, page->data() + offset, chunk);
    } else {
      fill_untouched(pa, data, chunk);
    }
    pa += chunk;
    data += chunk;
    len -= chunk;
  }
}

void SparseMemory::write_bytes(std::uint64_t pa, const std::uint8_t* data, std::size_t len) {
  while (len != 0) {
    const std::size_t offset = static_cast<std::size_t>(pa % kPageSize);
    const std::size_t chunk = std::min<std::size_t>(len, kPageSize - offset);
    std::memcpy(materialise_page(pa / kPageSize).data() + offset, data, chunk);
    pa += chunk;
    data += chunk;
    len -= chunk;
  }
}

std::uint8_t SparseMemory::read_byte(std::uint64_t pa) const {
  std::uint8_t value = 0;
  read_bytes(pa, &value, 1);
  return value;
}

void SparseMemory::write_byte(std::uint64_t pa, std::uint8_t value) {
  materialise_page(pa / kPageSize)[static_cast<std::size_t>(pa % kPageSize)] = value;
}

}  // namespace smmuv3tlm::memory
