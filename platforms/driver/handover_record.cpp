#include "smmuv3tlm/platforms/driver/handover_record.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace smmuv3tlm::driver {

namespace {

constexpr PageUse kAllUses[] = {PageUse::StreamTableL1, PageUse::StreamTableL2, PageUse::CdTableL1,
                                PageUse::CdTableL2,     PageUse::Stage1Table,   PageUse::Stage2Table,
                                PageUse::CommandQueue,  PageUse::EventQueue,    PageUse::PriQueue,
                                PageUse::MsiWord,       PageUse::GuestMemory};
constexpr DomainType kAllTypes[] = {DomainType::Blocked, DomainType::Identity, DomainType::Stage1,
                                    DomainType::Stage2, DomainType::Nested};

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

// Reads one JSON object, naming the key path in every error.
class Reader {
 public:
  Reader(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail("", "must be an object");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument(fmt::format("handover record: {}{}{}: {}", path_, path_.empty() || key.empty() ? "" : ".",
                                            key, what));
  }
  const nlohmann::json& at(const std::string& key) const {
    if (!j_.contains(key)) fail(key, "missing");
    return j_.at(key);
  }
  std::string child(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  std::uint64_t address(const std::string& key) const {
    const nlohmann::json& v = at(key);
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      try {
        std::size_t used = 0;
        const std::uint64_t value = std::stoull(s, &used, 0);
        if (used == s.size()) return value;
      } catch (const std::exception&) {
      }
    } else if (v.is_number_integer() && v.get<long long>() >= 0) {
      return v.get<std::uint64_t>();
    }
    fail(key, "must be an address (\"0x...\"), got " + v.dump());
  }
  unsigned number(const std::string& key, unsigned max) const {
    const nlohmann::json& v = at(key);
    if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<std::uint64_t>() > max) {
      fail(key, fmt::format("must be an integer in [0, {}], got {}", max, v.dump()));
    }
    return v.get<unsigned>();
  }
  bool flag(const std::string& key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  const nlohmann::json& array(const std::string& key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_array()) fail(key, "must be an array, got " + v.dump());
    return v;
  }
  PageUse use(const std::string& key) const {
    const nlohmann::json& v = at(key);
    for (PageUse u : kAllUses) {
      if (v.is_string() && v.get<std::string>() == to_string(u)) return u;
    }
    fail(key, "must name a table type (stream-table-l1, cd-table-l1, stage1-table, ...), got " + v.dump());
  }
  DomainType type(const std::string& key) const {
    const nlohmann::json& v = at(key);
    for (DomainType t : kAllTypes) {
      if (v.is_string() && v.get<std::string>() == to_string(t)) return t;
    }
    fail(key, "must be blocked, identity, s1, s2 or nested, got " + v.dump());
  }

 private:
  const nlohmann::json& j_;
  std::string path_;
};

nlohmann::json range_json(const PreservedRange& r) {
  return {{"pa", hex(r.pa)}, {"bytes", hex(r.bytes)}, {"use", to_string(r.use)}};
}

PreservedRange parse_range(const nlohmann::json& j, const std::string& path) {
  const Reader r(j, path);
  PreservedRange out;
  out.pa = r.address("pa");
  out.bytes = r.address("bytes");
  out.use = r.use("use");
  if (out.bytes == 0 || out.pa + out.bytes < out.pa) r.fail("bytes", "the range is empty or wraps");
  return out;
}

std::vector<std::uint64_t> parse_addresses(const Reader& r, const std::string& key) {
  std::vector<std::uint64_t> out;
  const nlohmann::json& a = r.array(key);
  for (std::size_t i = 0; i < a.size(); ++i) {
    nlohmann::json wrapper = {{"v", a[i]}};
    out.push_back(Reader(wrapper, fmt::format("{}[{}]", r.child(key), i)).address("v"));
  }
  return out;
}

nlohmann::json addresses_json(const std::vector<std::uint64_t>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (std::uint64_t x : v) a.push_back(hex(x));
  return a;
}

}  // namespace

std::uint64_t HandoverRecord::bytes(PageUse use) const {
  std::uint64_t total = 0;
  for (const PreservedRange& r : ranges) {
    if (r.use == use) total += r.bytes;
  }
  return total;
}

std::uint64_t HandoverRecord::pages(PageUse use) const {
  return static_cast<std::uint64_t>(
      std::count_if(ranges.begin(), ranges.end(), [use](const PreservedRange& r) { return r.use == use; }));
}

bool HandoverRecord::preserves(std::uint64_t pa) const {
  return std::any_of(ranges.begin(), ranges.end(),
                     [pa](const PreservedRange& r) { return pa >= r.pa && pa - r.pa < r.bytes; });
}

const PreservedDomain* HandoverRecord::domain(unsigned id) const {
  for (const PreservedDomain& d : domains) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

nlohmann::json HandoverRecord::to_json() const {
  nlohmann::json j;
  j["version"] = kVersion;
  j["strtab_base"] = hex(strtab_base);
  j["strtab_base_cfg"] = hex(strtab_base_cfg);
  j["ranges"] = nlohmann::json::array();
  for (const PreservedRange& r : ranges) j["ranges"].push_back(range_json(r));
  j["not_preserved"] = nlohmann::json::array();
  for (const PreservedRange& r : not_preserved) j["not_preserved"].push_back(range_json(r));
  j["domains"] = nlohmann::json::array();
  for (const PreservedDomain& d : domains) {
    nlohmann::json dj = {{"id", d.id},
                         {"type", to_string(d.type)},
                         {"asid", d.asid},
                         {"vmid", d.vmid},
                         {"nest_parent", d.nest_parent},
                         {"parent", d.parent},
                         {"has_table", d.has_table},
                         {"stage", d.table.stage == tables::Stage::Stage1 ? 1 : 2},
                         {"granule_log2", d.table.granule_log2},
                         {"input_bits", d.table.input_bits},
                         {"output_bits", d.table.output_bits},
                         {"coherent_walk", d.table.coherent_walk},
                         {"root", hex(d.root)},
                         {"table_pages", addresses_json(d.table_pages)},
                         {"guest_cd_table", hex(d.guest_cd_table)},
                         {"guest_memory_base", hex(d.guest_memory_base)},
                         {"guest_memory_size", hex(d.guest_memory_size)}};
    j["domains"].push_back(dj);
  }
  j["masters"] = nlohmann::json::array();
  for (const PreservedMaster& m : masters) {
    j["masters"].push_back({{"stream_ids", m.stream_ids},
                            {"ssid_bits", m.ssid_bits},
                            {"ats", m.traits.ats},
                            {"stall", m.traits.stall},
                            {"domain", m.domain},
                            {"cd_table", hex(m.cd_table)},
                            {"cd_two_level", m.cd_two_level},
                            {"cd_l2", addresses_json(m.cd_l2)}});
  }
  return j;
}

HandoverRecord HandoverRecord::from_json(const nlohmann::json& json) {
  const Reader top(json, "");
  if (top.number("version", 1000) != kVersion) {
    top.fail("version", fmt::format("this model reads version {}, got {}", kVersion, json.at("version").dump()));
  }
  HandoverRecord record;
  record.strtab_base = top.address("strtab_base");
  const std::uint64_t cfg = top.address("strtab_base_cfg");
  if (cfg > 0xffff'ffff) top.fail("strtab_base_cfg", "must fit 32 bits");
  record.strtab_base_cfg = static_cast<std::uint32_t>(cfg);
  const nlohmann::json& ranges = top.array("ranges");
  for (std::size_t i = 0; i < ranges.size(); ++i) record.ranges.push_back(parse_range(ranges[i], fmt::format("ranges[{}]", i)));
  const nlohmann::json& lost = top.array("not_preserved");
  for (std::size_t i = 0; i < lost.size(); ++i) {
    record.not_preserved.push_back(parse_range(lost[i], fmt::format("not_preserved[{}]", i)));
  }
  const nlohmann::json& domains = top.array("domains");
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const Reader r(domains[i], fmt::format("domains[{}]", i));
    PreservedDomain d;
    d.id = r.number("id", 1u << 30);
    d.type = r.type("type");
    d.asid = static_cast<std::uint16_t>(r.number("asid", 0xffff));
    d.vmid = static_cast<std::uint16_t>(r.number("vmid", 0xffff));
    d.nest_parent = r.flag("nest_parent");
    d.parent = r.number("parent", 1u << 30);
    d.has_table = r.flag("has_table");
    const unsigned stage = r.number("stage", 2);
    if (stage != 1 && stage != 2) r.fail("stage", "must be 1 or 2");
    d.table.stage = stage == 1 ? tables::Stage::Stage1 : tables::Stage::Stage2;
    d.table.granule_log2 = r.number("granule_log2", 16);
    if (d.table.granule_log2 != 12 && d.table.granule_log2 != 14 && d.table.granule_log2 != 16) {
      r.fail("granule_log2", "must be 12, 14 or 16");
    }
    d.table.input_bits = r.number("input_bits", 52);
    d.table.output_bits = r.number("output_bits", 52);
    d.table.coherent_walk = r.flag("coherent_walk");
    d.root = r.address("root");
    d.table_pages = parse_addresses(r, "table_pages");
    d.guest_cd_table = r.address("guest_cd_table");
    d.guest_memory_base = r.address("guest_memory_base");
    d.guest_memory_size = r.address("guest_memory_size");
    record.domains.push_back(d);
  }
  const nlohmann::json& masters = top.array("masters");
  for (std::size_t i = 0; i < masters.size(); ++i) {
    const Reader r(masters[i], fmt::format("masters[{}]", i));
    PreservedMaster m;
    const nlohmann::json& sids = r.array("stream_ids");
    for (std::size_t s = 0; s < sids.size(); ++s) {
      if (!sids[s].is_number_integer() || sids[s].get<long long>() < 0 || sids[s].get<std::uint64_t>() > 0xffff'ffff) {
        r.fail(fmt::format("stream_ids[{}]", s), "must be a StreamID, got " + sids[s].dump());
      }
      m.stream_ids.push_back(sids[s].get<std::uint32_t>());
    }
    m.ssid_bits = r.number("ssid_bits", 20);
    m.traits.ats = r.flag("ats");
    m.traits.stall = r.flag("stall");
    m.domain = r.number("domain", 1u << 30);
    if (record.domain(m.domain) == nullptr) r.fail("domain", fmt::format("names no preserved domain ({})", m.domain));
    m.cd_table = r.address("cd_table");
    m.cd_two_level = r.flag("cd_two_level");
    m.cd_l2 = parse_addresses(r, "cd_l2");
    record.masters.push_back(m);
  }
  return record;
}

}  // namespace smmuv3tlm::driver
