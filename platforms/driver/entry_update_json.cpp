#include "smmuv3tlm/platforms/driver/entry_update_json.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/driver/entry_writer.h"

namespace smmuv3tlm::driver {

namespace {

smmu::EntryWords parse_words(const nlohmann::json& request, const char* key) {
  const auto it = request.find(key);
  if (it == request.end()) throw std::invalid_argument(std::string("missing key \"") + key + "\"");
  if (!it->is_array() || it->size() != 8) {
    throw std::invalid_argument(std::string("\"") + key + "\" must be an array of 8 hex strings");
  }
  smmu::EntryWords words{};
  for (std::size_t i = 0; i < 8; ++i) {
    const nlohmann::json& v = (*it)[i];
    const std::string where = fmt::format("\"{}\"[{}]", key, i);
    if (!v.is_string()) throw std::invalid_argument(where + " must be a hex string such as \"0x1\"");
    std::string text = v.get<std::string>();
    if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) text = text.substr(2);
    if (text.empty() || text.size() > 16 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      throw std::invalid_argument(where + " is not a 64-bit hex value: \"" + v.get<std::string>() + "\"");
    }
    words[i] = std::stoull(text, nullptr, 16);
  }
  return words;
}

nlohmann::json hex_words(const smmu::EntryWords& words) {
  nlohmann::json j = nlohmann::json::array();
  for (const std::uint64_t w : words) j.push_back(fmt::format("{:#018x}", w));
  return j;
}

}  // namespace

std::string entry_update_json(const std::string& line) {
  const nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) throw std::invalid_argument("not a JSON object");
  const auto kind_it = request.find("kind");
  if (kind_it == request.end()) throw std::invalid_argument("missing key \"kind\"");
  if (!kind_it->is_string() || (*kind_it != "ste" && *kind_it != "cd")) {
    throw std::invalid_argument("\"kind\" must be \"ste\" or \"cd\"");
  }
  const EntryKind kind = *kind_it == "ste" ? EntryKind::Ste : EntryKind::Cd;
  smmu::EntryWords entry = parse_words(request, "current");
  const smmu::EntryWords target = parse_words(request, "target");
  EntryWriter writer(kind, [](unsigned, std::uint64_t) {}, [] {});
  const EntryUpdate update = writer.write(entry, target);
  nlohmann::json steps = nlohmann::json::array();
  for (const smmu::EntryWords& state : update.states) steps.push_back(hex_words(state));
  nlohmann::json out;
  out["syncs"] = update.syncs;
  out["hitless"] = update.hitless;
  out["final"] = hex_words(entry);
  out["states_ok"] = update.states_ok;
  out["steps"] = steps;
  return out.dump();
}

}  // namespace smmuv3tlm::driver
