// A configuration key of a model or platform: its name, what it means, and how
// to set and read it as JSON. One table of these per configuration struct is
// the single description of every key a user may set, from a JSON file or the
// command line, and the source of the documented key tables.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smmuv3tlm::config {

template <typename Config>
struct Parameter {
  std::string key;
  std::string help;
  // Throws std::invalid_argument saying what the value must be; apply() puts
  // the full key in front.
  std::function<void(Config&, const nlohmann::json&)> set;
  std::function<nlohmann::json(const Config&)> get;
};

// A number-valued key stored in `field` (an unsigned or floating member),
// with its accepted range.
template <typename Config, typename T>
Parameter<Config> number(std::string key, std::string help, T Config::*field, double min, double max) {
  return Parameter<Config>{
      key, help,
      [field, min, max](Config& c, const nlohmann::json& v) {
        if (!v.is_number() || v.get<double>() < min || v.get<double>() > max ||
            (std::is_integral_v<T> && !v.is_number_integer())) {
          // Integer bounds print as integers ("[1, 4096]", not "[1.0, 4096.0]").
          const auto bound = [](double b) {
            return std::is_integral_v<T> ? nlohmann::json(static_cast<long long>(b)).dump() : nlohmann::json(b).dump();
          };
          throw std::invalid_argument(std::string("must be ") + (std::is_integral_v<T> ? "an integer" : "a number") +
                                      " in [" + bound(min) + ", " + bound(max) + "], got " + v.dump());
        }
        c.*field = v.get<T>();
      },
      [field](const Config& c) { return nlohmann::json(c.*field); }};
}

template <typename Config>
Parameter<Config> boolean(std::string key, std::string help, bool Config::*field) {
  return Parameter<Config>{key, help,
                           [field](Config& c, const nlohmann::json& v) {
                             if (!v.is_boolean()) throw std::invalid_argument("must be true or false, got " + v.dump());
                             c.*field = v.get<bool>();
                           },
                           [field](const Config& c) { return nlohmann::json(c.*field); }};
}

// The same parameters under `prefix.` for an enclosing configuration that
// holds the inner one at `member`.
template <typename Outer, typename Inner>
void append_prefixed(std::vector<Parameter<Outer>>& table, const std::string& prefix,
                     const std::vector<Parameter<Inner>>& inner, Inner Outer::*member) {
  for (const Parameter<Inner>& p : inner) {
    table.push_back(Parameter<Outer>{prefix + "." + p.key, p.help,
                                     [set = p.set, member](Outer& o, const nlohmann::json& v) { set(o.*member, v); },
                                     [get = p.get, member](const Outer& o) { return get(o.*member); }});
  }
}

// Applies {"key": value, ...}. With a prefix, only keys "prefix.<key>" are
// taken (others are someone else's) and a key under the prefix that names no
// parameter is an error; without one, every key must be known.
template <typename Config>
std::vector<std::string> apply(Config& config, const std::vector<Parameter<Config>>& table,
                               const nlohmann::json& settings, const std::string& prefix = {}) {
  if (!settings.is_object()) throw std::invalid_argument("a configuration must be a JSON object of key: value");
  std::vector<std::string> used;
  const std::string lead = prefix.empty() ? std::string{} : prefix + ".";
  for (const auto& [key, value] : settings.items()) {
    if (key.compare(0, lead.size(), lead) != 0) continue;
    const std::string name = key.substr(lead.size());
    bool known = false;
    for (const Parameter<Config>& p : table) {
      if (p.key != name) continue;
      known = true;
      try {
        p.set(config, value);
      } catch (const std::exception& e) {
        throw std::invalid_argument(key + ": " + e.what());
      }
    }
    if (!known) throw std::invalid_argument("unknown configuration key '" + key + "'");
    used.push_back(key);
  }
  return used;
}

}  // namespace smmuv3tlm::config
