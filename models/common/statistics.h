// Statistics: each unit keeps its counters in a plain struct (cheap to bump on
// the hot path) and describes its fields once, by name, through a
// statistic_fields() overload found by argument-dependent lookup. One registry
// per simulation collects every unit's counters under its hierarchical name
// ("platform.smmu.tbu_0") and dumps them as one JSON document.
#pragma once

#include <array>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/common/histogram.h"

namespace smmuv3tlm::stats {

template <typename Struct, typename Member>
struct Field {
  const char* name;
  Member Struct::*member;
};
template <typename Struct, typename Member>
constexpr Field<Struct, Member> field(const char* name, Member Struct::*member) {
  return {name, member};
}

// A counter as JSON: a number, an array of numbers, or a map whose keys name
// themselves through to_string() (event IDs, command opcodes).
inline nlohmann::json counter_json(std::uint64_t value) { return value; }
template <std::size_t N>
nlohmann::json counter_json(const std::array<std::uint64_t, N>& values) {
  return values;
}
template <typename Key>
nlohmann::json counter_json(const std::map<Key, std::uint64_t>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : values) j[to_string(key)] = value;
  return j;
}

inline nlohmann::json counter_json(const Histogram& histogram) { return histogram.to_json(); }
template <std::size_t N>
nlohmann::json counter_json(const std::array<Histogram, N>& histograms) {
  nlohmann::json j = nlohmann::json::array();
  for (const Histogram& h : histograms) j.push_back(h.to_json());
  return j;
}
// Histograms per StreamID (or any numeric key), keyed "0x..".
inline nlohmann::json counter_json(const std::map<std::uint32_t, Histogram>& histograms) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, h] : histograms) {
    char name[16];
    std::snprintf(name, sizeof name, "%#x", key);
    j[name] = h.to_json();
  }
  return j;
}

// Every field statistic_fields(s) names, as a JSON object.
template <typename Struct>
nlohmann::json to_json(const Struct& s) {
  nlohmann::json j = nlohmann::json::object();
  std::apply([&](const auto&... f) { ((j[f.name] = counter_json(s.*(f.member))), ...); }, statistic_fields(s));
  return j;
}

class Registry {
 public:
  using Producer = std::function<nlohmann::json()>;
  using Resetter = std::function<void()>;

  // The registry of this simulation (one elaboration per process).
  static Registry& global();

  // Registers (or replaces) the group `name`, a hierarchical name; the producer
  // is called at every dump and must stay valid until remove(name).
  void add(const std::string& name, Producer producer, Resetter resetter = {});
  template <typename Struct>
  void add_struct(const std::string& name, const Struct& statistics) {
    add(name, [&statistics] { return to_json(statistics); });
  }
  // A struct the registry may also reset (to Struct{}) at a phase boundary.
  template <typename Struct>
  void add_struct(const std::string& name, Struct& statistics) {
    add(name, [&statistics] { return to_json(statistics); }, [&statistics] { statistics = Struct{}; });
  }
  void remove(const std::string& name);
  // Resets every resettable group equal to `prefix` or below it (all when
  // empty): counters, averages and histograms start again, e.g. at a
  // handover phase boundary. Returns how many groups were reset.
  std::size_t reset(const std::string& prefix = {});
  // Every group, keyed by name in name order; only the names equal to `prefix`
  // or below it ("prefix." ...) when a prefix is given.
  nlohmann::json dump(const std::string& prefix = {}) const;
  bool contains(const std::string& name) const { return producers_.count(name) != 0; }

 private:
  struct Group {
    Producer producer;
    Resetter resetter;
  };
  std::map<std::string, Group> producers_;
};

// Registers groups for an owner's lifetime and removes them when it goes.
class Registration {
 public:
  Registration() = default;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration();
  void add(const std::string& name, Registry::Producer producer, Registry::Resetter resetter = {});
  template <typename Struct>
  void add_struct(const std::string& name, const Struct& statistics) {
    add(name, [&statistics] { return to_json(statistics); });
  }
  template <typename Struct>
  void add_struct(const std::string& name, Struct& statistics) {
    add(name, [&statistics] { return to_json(statistics); }, [&statistics] { statistics = Struct{}; });
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace smmuv3tlm::stats
