#include "smmuv3tlm/models/memory/cpu_cache.h"

#include <algorithm>
#include <cstring>

namespace smmuv3tlm::memory {

CpuCache::CpuCache(const sc_core::sc_module_name& name, bool write_back, sc_core::sc_time hit_latency)
    : sc_core::sc_module(name), cpu("cpu"), memory_side("memory_side"), write_back_(write_back),
      hit_latency_(hit_latency) {
  cpu.register_b_transport(this, &CpuCache::b_transport);
  cpu.register_transport_dbg(this, &CpuCache::transport_dbg);
  registration_.add_struct(this->name(), stats_);
}

bool CpuCache::forward(tlm::tlm_command command, std::uint64_t pa, std::uint8_t* data, unsigned bytes,
                       sc_core::sc_time& delay) {
  tlm::tlm_generic_payload t;
  t.set_command(command);
  t.set_address(pa);
  t.set_data_ptr(data);
  t.set_data_length(bytes);
  t.set_streaming_width(bytes);
  t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  memory_side->b_transport(t, delay);
  return t.is_response_ok();
}

CpuCache::Line& CpuCache::line(std::uint64_t line_pa, sc_core::sc_time& delay, bool& ok) {
  auto it = lines_.find(line_pa);
  if (it != lines_.end()) {
    ++stats_.hits;
    delay += hit_latency_;
    ok = true;
    return it->second;
  }
  ++stats_.misses;
  Line fresh;
  ok = forward(tlm::TLM_READ_COMMAND, line_pa, fresh.data.data(), kLineBytes, delay);
  return lines_.emplace(line_pa, fresh).first->second;
}

bool CpuCache::write_line(std::uint64_t line_pa, const Line& l, sc_core::sc_time& delay) {
  Line copy = l;  // the downstream write may not keep our buffer
  ++stats_.write_backs;
  return forward(tlm::TLM_WRITE_COMMAND, line_pa, copy.data.data(), kLineBytes, delay);
}

void CpuCache::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const std::uint64_t pa = trans.get_address();
  const unsigned bytes = trans.get_data_length();
  const bool cacheable = write_back_ && (!cacheable_ || cacheable_(pa));
  if (!cacheable || trans.get_byte_enable_ptr() != nullptr) {
    // Write-through (coherent), or a non-cacheable mapping: straight to memory.
    ++stats_.uncached_accesses;
    memory_side->b_transport(trans, delay);
    return;
  }
  std::uint8_t* data = trans.get_data_ptr();
  std::uint64_t done = 0;
  while (done < bytes) {
    const std::uint64_t at = pa + done;
    const std::uint64_t line_pa = at & ~(kLineBytes - 1);
    const std::uint64_t offset = at - line_pa;
    const std::uint64_t chunk = std::min<std::uint64_t>(kLineBytes - offset, bytes - done);
    bool ok = false;
    Line& l = line(line_pa, delay, ok);
    if (!ok) {
      lines_.erase(line_pa);
      trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    if (trans.is_write()) {
      std::memcpy(l.data.data() + offset, data + done, chunk);
      for (std::uint64_t i = 0; i < chunk; ++i) l.dirty.set(offset + i);
    } else {
      std::memcpy(data + done, l.data.data() + offset, chunk);
    }
    done += chunk;
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int CpuCache::transport_dbg(tlm::tlm_generic_payload& trans) {
  // Debug reads see the CPU's view: memory, then the cache's newer lines.
  const unsigned n = memory_side->transport_dbg(trans);
  if (!trans.is_read()) return n;
  const std::uint64_t pa = trans.get_address();
  for (unsigned i = 0; i < n; ++i) {
    auto it = lines_.find((pa + i) & ~(kLineBytes - 1));
    if (it != lines_.end()) trans.get_data_ptr()[i] = it->second.data[(pa + i) % kLineBytes];
  }
  return n;
}

void CpuCache::clean(std::uint64_t pa, std::uint64_t bytes, sc_core::sc_time& delay) {
  if (bytes == 0) return;
  for (std::uint64_t line_pa = pa & ~(kLineBytes - 1); line_pa < pa + bytes; line_pa += kLineBytes) {
    auto it = lines_.find(line_pa);
    if (it == lines_.end() || it->second.dirty.none()) continue;
    write_line(line_pa, it->second, delay);
    it->second.dirty.reset();
  }
}

void CpuCache::invalidate(std::uint64_t pa, std::uint64_t bytes) {
  if (bytes == 0) return;
  for (std::uint64_t line_pa = pa & ~(kLineBytes - 1); line_pa < pa + bytes; line_pa += kLineBytes) {
    auto it = lines_.find(line_pa);
    if (it == lines_.end()) continue;
    if (it->second.dirty.any()) ++stats_.lost_lines;
    lines_.erase(it);
  }
}

void CpuCache::write_back_all() {
  sc_core::sc_time delay;
  for (auto& [line_pa, l] : lines_) {
    if (l.dirty.any()) write_line(line_pa, l, delay);
  }
  lines_.clear();
}

void CpuCache::discard_all() {
  stats_.lost_lines += dirty_lines();
  lines_.clear();
}

bool CpuCache::dirty(std::uint64_t pa, std::uint64_t bytes) const {
  for (std::uint64_t at = pa; at < pa + bytes; ++at) {
    auto it = lines_.find(at & ~(kLineBytes - 1));
    if (it != lines_.end() && it->second.dirty.test(at % kLineBytes)) return true;
  }
  return false;
}

std::size_t CpuCache::dirty_lines() const {
  return static_cast<std::size_t>(std::count_if(lines_.begin(), lines_.end(), [](const auto& e) { return e.second.dirty.any(); }));
}

}  // namespace smmuv3tlm::memory
