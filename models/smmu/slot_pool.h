// A fixed set of numbered slots handed out first come, first served: the TCU's
// walk slots and each TBU's transaction slots (approximately-timed mode). A
// released slot goes straight to the oldest waiter, so no waiter is passed
// over (waking every waiter to race for it starved some walks for 14 us).
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include <systemc>

namespace smmuv3tlm::smmu {

class SlotPool {
 public:
  using Granted = std::function<void(unsigned slot)>;

  explicit SlotPool(unsigned slots = 1) : busy_flags_(std::max(1u, slots), false) {}

  unsigned size() const { return static_cast<unsigned>(busy_flags_.size()); }
  // Busy slots now (a reference: sc_trace follows it in a VCD).
  const unsigned& busy() const { return busy_; }

  // A free slot when nobody waits for one; none otherwise.
  std::optional<unsigned> try_take() {
    if (busy_ == size() || !waiters_.empty()) return std::nullopt;
    const auto free = std::find(busy_flags_.begin(), busy_flags_.end(), false);
    *free = true;
    ++busy_;
    return static_cast<unsigned>(free - busy_flags_.begin());
  }
  // A slot, waiting in line for one (from a thread process).
  unsigned take() {
    if (const std::optional<unsigned> slot = try_take()) return *slot;
    sc_core::sc_event granted;
    unsigned slot = 0;
    waiters_.push_back([&granted, &slot](unsigned s) {
      slot = s;
      granted.notify();
    });
    sc_core::wait(granted);
    return slot;
  }
  // A slot later: `granted` is called with it when it is this caller's turn.
  void take_later(Granted granted) { waiters_.push_back(std::move(granted)); }
  // The slot to the oldest waiter (it stays busy), else free.
  void give_back(unsigned slot) {
    if (waiters_.empty()) {
      busy_flags_[slot] = false;
      --busy_;
      return;
    }
    Granted next = std::move(waiters_.front());
    waiters_.pop_front();
    next(slot);
  }

 private:
  std::vector<bool> busy_flags_;
  unsigned busy_ = 0;
  std::deque<Granted> waiters_;
};

}  // namespace smmuv3tlm::smmu
