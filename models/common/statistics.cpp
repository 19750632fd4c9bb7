#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm::stats {

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

void Registry::add(const std::string& name, Producer producer, Resetter resetter) {
  producers_[name] = Group{std::move(producer), std::move(resetter)};
}

namespace {
bool below(const std::string& name, const std::string& prefix) {
  return prefix.empty() || name == prefix ||
         (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name[prefix.size()] == '.');
}
}  // namespace

std::size_t Registry::reset(const std::string& prefix) {
  std::size_t n = 0;
  for (auto& [name, group] : producers_) {
    if (group.resetter && below(name, prefix)) {
      group.resetter();
      ++n;
    }
  }
  return n;
}

void Registry::remove(const std::string& name) { producers_.erase(name); }

nlohmann::json Registry::dump(const std::string& prefix) const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, group] : producers_) {
    if (below(name, prefix)) j[name] = group.producer();
  }
  return j;
}

Registration::~Registration() {
  for (const std::string& name : names_) Registry::global().remove(name);
}

void Registration::add(const std::string& name, Registry::Producer producer, Registry::Resetter resetter) {
  Registry::global().add(name, std::move(producer), std::move(resetter));
  names_.push_back(name);
}

}  // namespace smmuv3tlm::stats
