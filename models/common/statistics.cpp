#include "models/common/statistics.h"

namespace smmuv3tlm::stats {

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

void Registry::add(const std::string& name, Producer producer) { producers_[name] = std::move(producer); }

void Registry::remove(const std::string& name) { producers_.erase(name); }

nlohmann::json Registry::dump(const std::string& prefix) const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, producer] : producers_) {
    const bool below = prefix.empty() || name == prefix ||
                       (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
                        name[prefix.size()] == '.');
    if (below) j[name] = producer();
  }
  return j;
}

Registration::~Registration() {
  for (const std::string& name : names_) Registry::global().remove(name);
}

void Registration::add(const std::string& name, Registry::Producer producer) {
  Registry::global().add(name, std::move(producer));
  names_.push_back(name);
}

}  // namespace smmuv3tlm::stats
