// The configuration cache (IHI 0070 §16.2: STEs and CDs held by the SMMU):
// a bounded map with least-recently-used replacement. Replacement order is a
// property of the model, not of the standard library's hashing, so statistics
// and golden outputs are the same on every machine. Entries never move while
// cached: callers may hold pointers to them until the next insert or erase.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace smmuv3tlm::smmu {

template <typename Key, typename Value>
class ConfigCache {
 public:
  explicit ConfigCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The cached value, made most recently used; nullptr on a miss.
  Value* find(const Key& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  bool contains(const Key& key) const { return index_.count(key) != 0; }

  // Inserts or replaces; evicts the least recently used entry when full.
  // Returns the cached value and whether an entry was evicted.
  std::pair<Value*, bool> insert(const Key& key, const Value& value) {
    if (const auto it = index_.find(key); it != index_.end()) {
      it->second->second = value;
      order_.splice(order_.begin(), order_, it->second);
      return {&it->second->second, false};
    }
    bool evicted = false;
    if (order_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      evicted = true;
    }
    order_.emplace_front(key, value);
    index_.emplace(key, order_.begin());
    return {&order_.front().second, evicted};
  }

  void erase(const Key& key) {
    if (const auto it = index_.find(key); it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
  }
  template <typename Predicate>
  std::size_t erase_if(Predicate matches) {
    std::size_t erased = 0;
    for (auto it = order_.begin(); it != order_.end();) {
      if (matches(it->first)) {
        index_.erase(it->first);
        it = order_.erase(it);
        ++erased;
      } else {
        ++it;
      }
    }
    return erased;
  }
  void clear() {
    index_.clear();
    order_.clear();
  }
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }
  // Keys from most to least recently used.
  template <typename Visit>
  void for_each(Visit visit) const {
    for (const auto& [key, value] : order_) visit(key, value);
  }

 private:
  using Order = std::list<std::pair<Key, Value>>;
  std::size_t capacity_;
  Order order_;
  std::unordered_map<Key, typename Order::iterator> index_;
};

}  // namespace smmuv3tlm::smmu
