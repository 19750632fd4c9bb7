#include "smmuv3tlm/platforms/trace/player.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::trace {

namespace {

using driver::DomainType;

constexpr std::uint64_t kRegisterSpace = 0x20000;  // the SMMU's two 64 KiB register pages
constexpr std::uint64_t kMaxDmaBytes = 1 << 20;
constexpr std::uint64_t kMaxOutstanding = 256;  // requests of a pipelined burst in flight
constexpr std::uint64_t kMaxBurst = 1 << 24;
constexpr std::uint64_t kMaxFill = 1 << 30;

// A `set` value as the platform's keys take it: numbers (with the trace's
// hex, `_` and K/M/G forms), booleans, JSON, else a string.
nlohmann::json setting_value(const std::string& text) {
  if (const std::optional<std::uint64_t> n = parse_number(text)) return *n;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  return text;
}

std::optional<smmu::EventId> event_id(const std::string& name) {
  for (unsigned id = 0; id < 0x100; ++id) {
    const char* n = smmu::to_string(static_cast<smmu::EventId>(id));
    if (n != nullptr && name == n) return static_cast<smmu::EventId>(id);
  }
  return std::nullopt;
}

bool parse_domain_kind(const std::string& text, DomainType& type) {
  if (text == "s1") type = DomainType::Stage1;
  else if (text == "s2") type = DomainType::Stage2;
  else if (text == "nested") type = DomainType::Nested;
  else if (text == "identity") type = DomainType::Identity;
  else if (text == "blocked") type = DomainType::Blocked;
  else return false;
  return true;
}

driver::IoProt parse_prot(const std::string& text) {
  driver::IoProt p;
  if (text == "mmio") {
    p.mmio = true;
    p.cache = false;
    return p;
  }
  const std::string base = text.substr(0, text.find('-'));
  p.read = base.find('r') != std::string::npos;
  p.write = base.find('w') != std::string::npos;
  p.cache = text.find("-nocache") == std::string::npos;
  return p;
}

unsigned granule_log2_of(const Statement& s, unsigned fallback) {
  if (!s.has("granule")) return fallback;
  const std::uint64_t g = s.number("granule");
  if (g == 4096) return 12;
  if (g == 16384) return 14;
  if (g == 65536) return 16;
  throw TraceError(s.keys.at("granule").where, fmt::format("granule= must be 4K, 16K or 64K, got {}", g));
}

unsigned bits_for(std::uint64_t value) {
  unsigned bits = 0;
  while (bits < 64 && (value >> bits) != 0) ++bits;
  return bits;
}

// The bytes a DMA moves: `value`'s little-endian bytes, repeated.
std::vector<std::uint8_t> repeated(std::uint64_t value, std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * (i % 8)));
  return bytes;
}

std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }

const Location& where_of(const Statement& s, const std::string& key) {
  auto it = s.keys.find(key);
  return it != s.keys.end() ? it->second.where : s.where;
}

}  // namespace

// ---------------------------------------------------------------------------
// Configuration and static checks

platform::ReferencePlatformConfig configure(const Trace& trace, platform::ReferencePlatformConfig config) {
  config.devices.clear();
  config.trace_port = true;
  config.fault_after_unmap = false;
  for (const Setting& setting : trace.settings) {
    const std::string& key = setting.key.text;
    if (key == "platform.devices" || key == "platform.bytes_per_device" || key == "platform.fault_after_unmap") {
      throw TraceError(setting.key.where, fmt::format("{} is not for traces: a trace attaches its own devices", key));
    }
    const auto& table = platform::parameters();
    if (std::none_of(table.begin(), table.end(), [&](const platform::Parameter& p) { return p.key == key; })) {
      throw TraceError(setting.key.where, fmt::format("unknown platform key '{}' (smmu-sim --list-parameters)", key));
    }
    try {
      platform::apply_parameters(config, nlohmann::json{{key, setting_value(setting.value.text)}});
    } catch (const std::exception& e) {
      throw TraceError(setting.value.where, e.what());
    }
  }
  for (const Statement& s : trace.statements) {
    if (s.verb != "option") continue;
    for (const auto& [key, value] : s.keys) {
      platform::apply_parameters(config, nlohmann::json{{"driver." + key, value.text == "true"}});
    }
  }
  try {
    platform::validate(config);
  } catch (const std::exception& e) {
    const Location at = trace.settings.empty() ? Location{trace.file, 1, 1} : trace.settings.back().key.where;
    throw TraceError(at, e.what());
  }
  return config;
}

void check(const Trace& trace, const platform::ReferencePlatformConfig& config) {
  const smmu::Capabilities& caps = config.smmu.capabilities;
  const bool stage1 = caps.stage1 && !config.driver.disable_s1;
  const driver::DriverMemoryConfig& kernel = config.driver_memory;
  struct DomainInfo {
    DomainType type;
    unsigned granule_log2;
    bool nest_parent;
  };
  std::map<std::string, DomainInfo> domains;
  enum class Phase { Running, Preserved, Shutdown, Kexec, Adopted };
  Phase phase = Phase::Running;
  const auto stream = [&](const Statement& s) {
    const std::uint64_t sid = s.number("sid");
    if (caps.sid_bits < 32 && sid >> caps.sid_bits != 0) {
      throw TraceError(where_of(s, "sid"), fmt::format("StreamID {} is beyond the SMMU's {} bits (IDR1.SIDSIZE)",
                                                       hex(sid), caps.sid_bits));
    }
    if (s.has("ssid")) {
      const std::uint64_t ssid = s.number("ssid");
      if (caps.ssid_bits == 0 || ssid >> caps.ssid_bits != 0) {
        throw TraceError(where_of(s, "ssid"), fmt::format("SubstreamID {} is beyond the SMMU's {} bits "
                                                          "(IDR1.SSIDSIZE)", hex(ssid), caps.ssid_bits));
      }
    }
  };
  const auto known_domain = [&](const Statement& s, const Argument& name) -> const DomainInfo& {
    auto it = domains.find(name.text);
    if (it == domains.end()) {
      throw TraceError(name.where, fmt::format("no domain '{}' (define it with 'domain {} s1' first)", name.text,
                                               name.text));
    }
    (void)s;
    return it->second;
  };
  const auto aligned = [](const Statement& s, const std::string& key, unsigned log2) {
    const std::uint64_t v = s.number(key);
    if ((v & ((std::uint64_t{1} << log2) - 1)) != 0) {
      throw TraceError(where_of(s, key), fmt::format("{}={} is not aligned to the domain's {} KiB granule", key,
                                                     hex(v), (1u << log2) / 1024));
    }
    return v;
  };
  const auto no_wrap = [](const Statement& s, std::uint64_t start, std::uint64_t size, const std::string& key) {
    if (size == 0) throw TraceError(where_of(s, "size"), "size= must not be 0");
    if (size - 1 > ~std::uint64_t{0} - start) {
      throw TraceError(where_of(s, key), fmt::format("{}={} + size={} wraps past 2^64", key, hex(start), hex(size)));
    }
  };
  bool domain_seen = false;
  for (const Statement& s : trace.statements) {
    const std::string& v = s.verb;
    if (phase == Phase::Shutdown && v != "kexec" && v != "dma" && v != "mem") {
      throw TraceError(s.where, "after 'shutdown' only DMA, memory and 'kexec' may follow (the outgoing kernel has "
                                "stopped)");
    }
    if (phase == Phase::Kexec && v != "adopt" && v != "dma" && v != "mem") {
      throw TraceError(s.where, "after 'kexec' or 'crash' only DMA, memory and 'adopt' may follow (no kernel runs "
                                "until adopt)");
    }
    if (phase == Phase::Kexec && v == "mem" && s.words[0].text == "clean") {
      throw TraceError(s.where, "no CPU runs between 'kexec' and 'adopt' to clean its cache");
    }
    if (v == "domain") {
      const Argument& name = s.words[0];
      if (domains.count(name.text) != 0) throw TraceError(name.where, fmt::format("domain '{}' already exists", name.text));
      if (name.text == "all" || name.text == "ste") {
        throw TraceError(name.where, fmt::format("'{}' is reserved (invalidate {} ...)", name.text, name.text));
      }
      DomainType type = DomainType::Stage1;
      parse_domain_kind(s.words[1].text, type);
      if (type == DomainType::Stage1 && !stage1) type = DomainType::Stage2;  // arm_smmu_domain_finalise
      const unsigned granule = granule_log2_of(s, config.granule_log2);
      if (!caps.supports_granule(granule)) {
        throw TraceError(where_of(s, "granule"), fmt::format("the SMMU has no {} KiB granule (smmu.capabilities)",
                                                             (1u << granule) / 1024));
      }
      if ((type == DomainType::Stage2 && !caps.stage2) || (type == DomainType::Stage1 && !caps.stage1)) {
        throw TraceError(s.words[1].where, fmt::format("the SMMU has no stage for a '{}' domain", s.words[1].text));
      }
      const std::set<std::string> allowed = [&]() -> std::set<std::string> {
        switch (type) {
          case DomainType::Stage1: return {"granule", "asid"};
          case DomainType::Stage2: return {"granule", "vmid", "nest_parent"};
          case DomainType::Nested: return {"granule", "asid", "parent", "guest", "guest_size"};
          default: return {};
        }
      }();
      for (const auto& [key, arg] : s.keys) {
        if (allowed.count(key) == 0) {
          throw TraceError(arg.where, fmt::format("a {} domain takes no {}=", s.words[1].text, key));
        }
      }
      const unsigned asid_bits = caps.asid16 ? 16 : 8;
      const unsigned vmid_bits = caps.vmid16 ? 16 : 8;
      if (s.has("asid") && (s.number("asid") == 0 || s.number("asid") >> asid_bits != 0)) {
        throw TraceError(where_of(s, "asid"), fmt::format("asid= must be 1..{}", (1u << asid_bits) - 1));
      }
      if (s.has("vmid") && (s.number("vmid") == 0 || s.number("vmid") >> vmid_bits != 0)) {
        throw TraceError(where_of(s, "vmid"), fmt::format("vmid= must be 1..{}", (1u << vmid_bits) - 1));
      }
      const bool nest_parent = s.has("nest_parent") && s.text("nest_parent") == "true";
      if (nest_parent && !(stage1 && caps.stage2)) {
        throw TraceError(where_of(s, "nest_parent"), "a nest parent needs both stages (IDR0.S1P and S2P)");
      }
      if (type == DomainType::Nested) {
        if (!(stage1 && caps.stage2)) throw TraceError(s.words[1].where, "nesting needs both stages (IDR0.S1P and S2P)");
        for (const char* key : {"parent", "guest", "guest_size"}) {
          if (!s.has(key)) throw TraceError(s.where, fmt::format("a nested domain needs {}=", key));
        }
        const DomainInfo& parent = known_domain(s, s.keys.at("parent"));
        if (parent.type != DomainType::Stage2 || !parent.nest_parent) {
          throw TraceError(where_of(s, "parent"), "parent= must name a stage-2 domain made with nest_parent=true");
        }
        const std::uint64_t base = aligned(s, "guest", parent.granule_log2);
        const std::uint64_t size = aligned(s, "guest_size", parent.granule_log2);
        no_wrap(s, base, size, "guest");
        if (base < kernel.base + kernel.size && kernel.base < base + size) {
          throw TraceError(where_of(s, "guest"), fmt::format("the guest's RAM overlaps the kernel's memory [{}, +{})",
                                                             hex(kernel.base), hex(kernel.size)));
        }
      }
      domains[name.text] = {type, granule, nest_parent};
      domain_seen = true;
    } else if (v == "attach") {
      const DomainInfo& d = known_domain(s, s.words[0]);
      stream(s);
      if (s.has("ssid") && s.number("ssid") != 0 && d.type != DomainType::Stage1) {
        throw TraceError(where_of(s, "ssid"), "a PASID (ssid= other than 0) attaches only to a stage-1 domain");
      }
      if (s.has("ssid_bits") && s.number("ssid_bits") > caps.ssid_bits) {
        throw TraceError(where_of(s, "ssid_bits"), fmt::format("ssid_bits= exceeds the SMMU's {} (IDR1.SSIDSIZE)",
                                                               caps.ssid_bits));
      }
    } else if (v == "detach") {
      stream(s);
    } else if (v == "map" || v == "unmap") {
      const DomainInfo& d = known_domain(s, s.words[0]);
      if (d.type == DomainType::Identity || d.type == DomainType::Blocked) {
        throw TraceError(s.words[0].where, fmt::format("domain '{}' has no page table to {}", s.words[0].text, v));
      }
      const std::uint64_t iova = aligned(s, "iova", d.granule_log2);
      const std::uint64_t size = aligned(s, "size", d.granule_log2);
      no_wrap(s, iova, size, "iova");
      if (v == "map") {
        const std::uint64_t pa = aligned(s, "pa", d.granule_log2);
        no_wrap(s, pa, size, "pa");
      }
    } else if (v == "invalidate") {
      if (s.words[0].text == "ste") {
        stream(s);
        if (s.keys.size() != 1) throw TraceError(s.where, "'invalidate ste' takes sid= only");
      } else if (s.has("sid")) {
        throw TraceError(where_of(s, "sid"), "sid= belongs to 'invalidate ste'");
      } else if (s.words[0].text != "all") {
        const DomainInfo& d = known_domain(s, s.words[0]);
        if (s.has("iova") != s.has("size")) throw TraceError(s.where, "a range invalidation needs both iova= and size=");
        if (s.has("iova")) no_wrap(s, aligned(s, "iova", d.granule_log2), aligned(s, "size", d.granule_log2), "iova");
      } else if (!s.keys.empty()) {
        throw TraceError(s.keys.begin()->second.where, "'invalidate all' takes no keys");
      }
    } else if (v == "mmio") {
      const std::uint64_t offset = s.word_register(1);
      const unsigned bytes = static_cast<unsigned>(s.number_or("size", 4));
      if (bytes != 4 && bytes != 8) throw TraceError(where_of(s, "size"), "size= must be 4 or 8");
      if (offset % bytes != 0 || offset + bytes > kRegisterSpace) {
        throw TraceError(s.words[1].where, fmt::format("offset {} is not an aligned {}-byte register offset below {}",
                                                       hex(offset), bytes, hex(kRegisterSpace)));
      }
      const bool write = s.words[0].text == "write";
      if (write && s.words.size() != 3) throw TraceError(s.where, "'mmio write' needs an offset and a value");
      if (!write && s.words.size() != 2) throw TraceError(s.words.back().where, "'mmio read' takes an offset only");
      if (write && (s.has("expect") || s.has("mask"))) {
        throw TraceError(s.where, "expect= and mask= belong to 'mmio read'");
      }
      if (s.has("mask") && !s.has("expect")) throw TraceError(where_of(s, "mask"), "mask= needs expect=");
      if (write && bytes == 4 && s.word_number(2) >> 32 != 0) {
        throw TraceError(s.words[2].where, "the value does not fit in a 4-byte register");
      }
    } else if (v == "mem") {
      const std::string& op = s.words[0].text;
      const std::uint64_t pa = s.word_number(1);
      if (op == "write") {
        if (s.words.size() != 3) throw TraceError(s.where, "'mem write' needs an address and a value");
        const std::uint64_t bytes = s.number_or("size", 8);
        if (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) {
          throw TraceError(where_of(s, "size"), "size= must be 1, 2, 4 or 8");
        }
        if (pa % bytes != 0) throw TraceError(s.words[1].where, "the address is not aligned to size=");
        if (bytes < 8 && s.word_number(2) >> (8 * bytes) != 0) {
          throw TraceError(s.words[2].where, fmt::format("the value does not fit in {} bytes", bytes));
        }
        if (s.has("byte")) throw TraceError(where_of(s, "byte"), "byte= belongs to 'mem fill'");
      } else {
        if (s.words.size() != 2) throw TraceError(s.words.back().where, fmt::format("'mem {}' takes an address", op));
        if (!s.has("size")) throw TraceError(s.where, fmt::format("'mem {}' needs size=", op));
        const std::uint64_t size = s.number("size");
        if (size == 0) throw TraceError(where_of(s, "size"), "size= must not be 0");
        if (size - 1 > ~std::uint64_t{0} - pa) {
          throw TraceError(s.words[1].where, fmt::format("{} + size={} wraps past 2^64", hex(pa), hex(size)));
        }
        if (size > kMaxFill) throw TraceError(where_of(s, "size"), "size= is at most 1G");
        if (op == "fill") {
          if (!s.has("byte")) throw TraceError(s.where, "'mem fill' needs byte=");
          if (s.number("byte") > 0xff) throw TraceError(where_of(s, "byte"), "byte= must be 0..0xff");
          if ((pa | size) % 8 != 0) throw TraceError(s.words[1].where, "'mem fill' works in 8-byte stores: align "
                                                                        "the address and size= to 8");
        } else if (s.has("byte")) {
          throw TraceError(where_of(s, "byte"), "byte= belongs to 'mem fill'");
        }
      }
    } else if (v == "dma") {
      if (!domain_seen) {
        throw TraceError(s.where, "a DMA before any domain exists: define and attach a domain first "
                                  "(e.g. 'domain B identity' and 'attach B sid=...')");
      }
      stream(s);
      const std::uint64_t size = s.number("size");
      if (size == 0 || size > kMaxDmaBytes) throw TraceError(where_of(s, "size"), "size= must be 1..1M");
      const std::uint64_t count = s.number_or("count", 1);
      if (count == 0 || count > kMaxBurst) throw TraceError(where_of(s, "count"), "count= must be 1..16M");
      const std::uint64_t stride = s.number_or("stride", size);
      if (s.has("stride") && count == 1) throw TraceError(where_of(s, "stride"), "stride= needs count=");
      const std::uint64_t iova = s.number("iova");
      if (s.has("outstanding")) {
        const std::uint64_t outstanding = s.number("outstanding");
        if (count == 1) throw TraceError(where_of(s, "outstanding"), "outstanding= needs count=");
        if (outstanding == 0 || outstanding > kMaxOutstanding) {
          throw TraceError(where_of(s, "outstanding"), fmt::format("outstanding= must be 1..{}", kMaxOutstanding));
        }
        // Each DMA of a pipelined burst is one transaction.
        if (size > config.max_payload || (iova % 4096) + size > 4096 || (stride % 4096) != 0) {
          throw TraceError(where_of(s, "outstanding"),
                           fmt::format("outstanding= needs each DMA to be one transaction: size= at most "
                                       "platform.max_payload ({}) within a 4 KiB page, stride= a multiple of 4K",
                                       config.max_payload));
        }
      }
      std::uint64_t reach = 0;  // stride * (count - 1) + size - 1: the last byte's offset
      if (__builtin_mul_overflow(stride, count - 1, &reach) || __builtin_add_overflow(reach, size - 1, &reach) ||
          reach > ~std::uint64_t{0} - iova) {
        throw TraceError(where_of(s, "iova"), "the burst runs past 2^64");
      }
      const std::string expect = s.has("expect") ? s.text("expect") : "";
      if (phase == Phase::Kexec && expect == "fault") {
        throw TraceError(where_of(s, "expect"), "between 'kexec' and 'adopt' no kernel reads the event queue: "
                                                "expect the fault after 'adopt'");
      }
      if (s.has("data") && !(expect == "ok" || (expect.empty() && s.words[0].text == "write"))) {
        throw TraceError(where_of(s, "data"), "data= goes with a write, or a read with expect=ok");
      }
      if (s.has("pa") && expect != "ok") throw TraceError(where_of(s, "pa"), "pa= needs expect=ok");
      for (const char* key : {"event", "input", "s2", "rnw", "pnu", "ind", "class", "ipa", "fetch"}) {
        if (s.has(key) && expect != "fault") throw TraceError(where_of(s, key), fmt::format("{}= needs expect=fault", key));
      }
      if (s.has("event") && !event_id(s.text("event"))) {
        throw TraceError(where_of(s, "event"), fmt::format("'{}' is not an event of IHI 0070 (F_TRANSLATION, "
                                                           "C_BAD_STE, ...)", s.text("event")));
      }
    } else if (v == "entry") {
      const bool pte = s.words[0].text == "pte";
      if (pte) {
        if (s.words.size() != 2) throw TraceError(s.where, "'entry pte' needs a domain: entry pte D iova=...");
        const DomainInfo& d = known_domain(s, s.words[1]);
        if (d.type == DomainType::Identity || d.type == DomainType::Blocked) {
          throw TraceError(s.words[1].where, "that domain has no page table");
        }
        if (!s.has("iova")) throw TraceError(s.where, "'entry pte' needs iova=");
        for (const char* key : {"sid", "qword"}) {
          if (s.has(key)) throw TraceError(where_of(s, key), fmt::format("{}= belongs to 'entry ste'", key));
        }
      } else {
        if (s.words.size() != 1) throw TraceError(s.words[1].where, "'entry ste' takes sid= and qword=, no domain");
        if (!s.has("sid") || !s.has("qword")) throw TraceError(s.where, "'entry ste' needs sid= and qword=");
        stream(s);
        if (s.number("qword") > 7) throw TraceError(where_of(s, "qword"), "qword= must be 0..7 (an STE is 8 qwords)");
        if (s.has("iova")) throw TraceError(where_of(s, "iova"), "iova= belongs to 'entry pte'");
      }
      if (s.has("value") == s.has("xor")) throw TraceError(s.where, "'entry' takes one of value= and xor=");
      if (s.has("mask") && !s.has("value")) throw TraceError(where_of(s, "mask"), "mask= goes with value=");
      const std::uint64_t bytes = s.number_or("bytes", 8);
      const std::uint64_t offset = s.number_or("offset", 0);
      if ((bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) || offset % bytes != 0 || offset + bytes > 8) {
        throw TraceError(where_of(s, s.has("offset") ? "offset" : "bytes"),
                         "bytes= must be 1, 2, 4 or 8 and offset= a multiple of it within the 8-byte word");
      }
    } else if (v == "stats") {
      if (s.words[0].text == "dump" && s.words.size() != 2) {
        throw TraceError(s.where, "'stats dump' needs a file name");
      }
    } else if (v == "crash") {
      if (phase != Phase::Running) throw TraceError(s.where, "'crash' belongs where no live update is under way");
      phase = Phase::Kexec;
    } else if (v == "preserve") {
      if (phase != Phase::Running) throw TraceError(s.where, "'preserve' belongs before 'shutdown'");
      for (std::size_t i = 0; i < s.words.size(); ++i) {
        const std::uint64_t sid = s.word_number(i);
        if (caps.sid_bits < 32 && sid >> caps.sid_bits != 0) {
          throw TraceError(s.words[i].where, fmt::format("StreamID {} is beyond the SMMU's {} bits", hex(sid),
                                                         caps.sid_bits));
        }
      }
      // A refused preserve ends the live update before it began.
      phase = s.has("expect") && s.text("expect") == "refused" ? Phase::Running : Phase::Preserved;
    } else if (v == "shutdown") {
      if (phase != Phase::Preserved) throw TraceError(s.where, "'shutdown' needs 'preserve' first (even of nothing)");
      phase = Phase::Shutdown;
    } else if (v == "kexec") {
      if (phase != Phase::Shutdown) throw TraceError(s.where, "'kexec' needs 'shutdown' first");
      phase = Phase::Kexec;
    } else if (v == "adopt") {
      if (phase != Phase::Kexec) throw TraceError(s.where, "'adopt' needs 'kexec' first");
      phase = Phase::Adopted;
    } else if (v == "finish") {
      if (phase != Phase::Adopted) throw TraceError(s.where, "'finish' needs 'adopt' first");
      phase = Phase::Running;
    }
  }
  if (phase == Phase::Shutdown || phase == Phase::Kexec) {
    throw TraceError(Location{trace.file, trace.statements.back().where.line, 1},
                     "the trace ends in the middle of a live update (no 'adopt')");
  }
}

LoadedTrace load(const std::string& file, const platform::ReferencePlatformConfig& base) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TraceError(Location{file, 0, 0}, "cannot read the file");
  LoadedTrace loaded;
  loaded.trace = parse(in, file);
  loaded.config = configure(loaded.trace, base);
  check(loaded.trace, loaded.config);
  return loaded;
}

// ---------------------------------------------------------------------------
// Recorder

void Recorder::attach(platform::ReferencePlatform& platform) {
  platform.cpu().add_register_observer([this](std::uint64_t offset, std::uint64_t value, unsigned bytes) {
    const smmu::RegisterLayout* r = smmu::find_register(offset);
    std::string name = r != nullptr ? r->name : hex(offset);
    if (r != nullptr && r->offset != offset) name += ".hi";  // the upper half of a 64-bit register
    out_ << fmt::format("{} reg {} = {:#x} ({} bytes)\n", sc_core::sc_time_stamp().value(), name, value, bytes);
  });
  platform.smmu().add_memory_observer([this](const smmu::MemoryAccessRecord& r) {
    if (r.purpose != smmu::AccessPurpose::CommandQueue || r.write || r.data == nullptr || !r.ok) return;
    for (std::uint32_t off = 0; off + smmu::kCommandBytes <= r.size; off += smmu::kCommandBytes) {
      std::array<std::uint64_t, 2> words{};
      for (unsigned w = 0; w < 2; ++w) {
        for (unsigned b = 0; b < 8; ++b) {
          words[w] |= std::uint64_t{r.data[off + 8 * w + b]} << (8 * b);
        }
      }
      const std::uint8_t opcode = static_cast<std::uint8_t>(words[0] & 0xff);
      const std::string name = smmu::opcode_name(opcode);
      out_ << fmt::format("{} cmd {} {:#018x} {:#018x}\n", r.time.value(), name, words[0], words[1]);
    }
  });
  platform.add_event_observer([this](const smmu::EventRecord& e) {
    out_ << fmt::format("{} event {} sid={:#x}{} input={:#x}{}{}{}\n", sc_core::sc_time_stamp().value(),
                        smmu::to_string(e.id), e.stream_id, e.ssv ? fmt::format(" ssid={:#x}", e.substream_id) : "",
                        e.input_addr, e.rnw ? " read" : " write", e.s2 ? " s2" : "",
                        e.carries_fetch_addr() ? fmt::format(" fetch={:#x}", e.fetch_addr)
                                               : (e.ipa != 0 ? fmt::format(" ipa={:#x}", e.ipa) : ""));
  });
}

void Recorder::dma(std::uint64_t time_ps, std::uint32_t sid, const std::optional<std::uint32_t>& ssid,
                   std::uint64_t iova, const std::optional<std::uint64_t>& pa, std::uint64_t size, bool write,
                   const std::string& result) {
  out_ << fmt::format("{} dma sid={:#x}{} iova={:#x} pa={} size={} {} {}\n", time_ps, sid,
                      ssid ? fmt::format(" ssid={:#x}", *ssid) : "", iova, pa ? hex(*pa) : "-", size,
                      write ? "write" : "read", result);
}

void Recorder::note(std::uint64_t time_ps, const std::string& text) { out_ << time_ps << " " << text << "\n"; }

void Recorder::statistics(const nlohmann::json& stats) { out_ << "statistics " << stats.dump(1) << "\n"; }

// ---------------------------------------------------------------------------
// Player

struct Player::State {
  platform::ReferencePlatform* platform = nullptr;
  std::map<std::string, driver::Domain*> domains;
  std::map<std::uint32_t, driver::Master*> masters;  // by StreamID
  std::map<std::uint32_t, unsigned> ssid_bits;       // the widest SubstreamID each StreamID's statements use
  std::vector<bool> consumed;                        // events an expectation took
  bool dma_ahead = false;                            // the trace port may run ahead of SystemC time
  bool cpu_ahead = false;
  bool capturing = false;
  std::optional<std::uint64_t> downstream;           // the first address the current DMA reached
  // During a pipelined burst: notes the first address each of its DMAs reached.
  std::function<void(const tlm::tlm_generic_payload&)> pipelined;
  // Live update: each preserved domain's name, found again after adopt
  // through the StreamID it was attached to (or as that domain's nest parent).
  struct Survivor {
    std::uint32_t sid;
    bool parent;
  };
  std::map<std::string, Survivor> survivors;
  // Where `entry pte D iova=` statements stored, by (domain name, iova).
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> entries;

  driver::Domain& domain(const std::string& name) {
    auto it = domains.find(name);
    if (it == domains.end()) {
      throw std::runtime_error(fmt::format("domain '{}' does not exist now (it did not survive the live update)", name));
    }
    return *it->second;
  }
};

Player::Player(const Trace& trace, Recorder* recorder)
    : trace_(trace), recorder_(recorder), state_(std::make_unique<State>()) {
  // A master's SubstreamID width comes from its attach statements (a DMA with
  // a wider SubstreamID is the C_BAD_SUBSTREAMID a trace may want).
  for (const Statement& s : trace_.statements) {
    if (s.verb != "attach") continue;
    const auto sid = static_cast<std::uint32_t>(s.number("sid"));
    unsigned& bits = state_->ssid_bits[sid];
    if (s.has("ssid")) bits = std::max(bits, bits_for(s.number("ssid")));
    if (s.has("ssid_bits")) bits = std::max(bits, static_cast<unsigned>(s.number("ssid_bits")));
  }
}

Player::~Player() = default;

void Player::fail(const Location& where, const std::string& message) {
  ++outcome_.failed;
  if (outcome_.failures.size() < PlayOutcome::kMaxKeptFailures) outcome_.failures.push_back({where, message});
  if (recorder_ != nullptr) recorder_->note(sc_core::sc_time_stamp().value(), "FAIL " + where.str() + ": " + message);
}

void Player::settle_dma() {
  if (!state_->dma_ahead) return;
  state_->platform->trace_master()->synchronize();
  state_->dma_ahead = false;
}

void Player::settle_cpu() {
  if (!state_->cpu_ahead) return;
  state_->platform->cpu().synchronize();
  state_->cpu_ahead = false;
}

void Player::wait_until(const Statement& s) {
  if (!s.time_ps) return;
  settle_dma();
  settle_cpu();
  const std::uint64_t now = sc_core::sc_time_stamp().value();
  const std::uint64_t target = s.relative_time ? now + *s.time_ps : *s.time_ps;
  if (target < now) {
    fail(s.where, fmt::format("@{} ps is already past (now {} ps)", target, now));
    return;
  }
  if (target > now) sc_core::wait(sc_core::sc_time::from_value(target - now));
}

void Player::operator()(platform::ReferencePlatform& platform) {
  State& st = *state_;
  st.platform = &platform;
  platform.system().junction.add_observer([this](int initiator, const tlm::tlm_generic_payload& trans) {
    if (initiator != platform::SmmuSystem::kDownstream) return;
    if (state_->pipelined) {
      state_->pipelined(trans);
    } else if (state_->capturing && !state_->downstream) {
      state_->downstream = trans.get_address();
    }
  });
  for (const Statement& s : trace_.statements) {
    ++outcome_.statements;
    wait_until(s);
    try {
      run(s);
    } catch (const driver::DriverError& e) {
      fail(s.where, fmt::format("the driver refused '{}': {}", s.verb, e.what()));
    } catch (const std::exception& e) {
      fail(s.where, fmt::format("'{}' failed: {}", s.verb, e.what()));
    }
  }
  settle_dma();
  settle_cpu();
  // Let the driver see what the last DMAs raised before the report.
  platform.wait_for_event([](const smmu::EventRecord&) { return false; },
                          sc_core::sc_time(kEventWindowUs, sc_core::SC_US));
  st.consumed.resize(platform.events().size(), false);
  outcome_.unexpected_events =
      static_cast<std::uint64_t>(std::count(st.consumed.begin(), st.consumed.end(), false));
  if (recorder_ != nullptr) {
    for (const handover::Finding& f : platform.findings()) {
      recorder_->note(sc_core::sc_time_stamp().value(), "finding " + f.describe());
    }
  }
}

void Player::run(const Statement& s) {
  State& st = *state_;
  const std::string& v = s.verb;
  if (v == "dma") {
    settle_cpu();
    dma(s);
    return;
  }
  if (v == "option") return;  // applied by configure()
  settle_dma();
  st.cpu_ahead = true;
  if (v == "domain" || v == "attach" || v == "detach") run_driver_step(s);
  else run_other(s);
}

// domain, attach, detach: the kernel's domains and masters (a kernel runs: check() allows these only then).
void Player::run_driver_step(const Statement& s) {
  State& st = *state_;
  platform::ReferencePlatform& p = *st.platform;
  const std::string& v = s.verb;
  driver::IommuDomains& domains = p.domains();
  if (v == "domain") {
    DomainType type = DomainType::Stage1;
    parse_domain_kind(s.words[1].text, type);
    driver::DomainOptions options;
    options.granule_log2 = granule_log2_of(s, p.config().granule_log2);
    options.forced_asid = static_cast<std::uint16_t>(s.number_or("asid", 0));
    options.forced_vmid = static_cast<std::uint16_t>(s.number_or("vmid", 0));
    options.nest_parent = s.has("nest_parent") && s.text("nest_parent") == "true";
    driver::Domain* domain = nullptr;
    if (type == DomainType::Nested) {
      driver::Domain& parent = st.domain(s.text("parent"));
      driver::DriverMemoryConfig guest;
      guest.base = s.number("guest");
      guest.size = s.number("guest_size");
      driver::DriverMemory& guest_memory = p.add_guest_memory(guest);
      // The VMM maps the guest's RAM at IPA = PA before the guest builds its tables there.
      parent.map(guest.base, guest.base, guest.size);
      domain = &domains.create_nested(parent, guest_memory,
                                      static_cast<std::uint16_t>(s.number_or("asid", 1)), options.granule_log2);
    } else {
      domain = &domains.create(type, options);
    }
    st.domains[s.words[0].text] = domain;
  } else if (v == "attach" || v == "detach") {
    const auto sid = static_cast<std::uint32_t>(s.number("sid"));
    const auto ssid = static_cast<std::uint32_t>(s.number_or("ssid", 0));
    driver::Master* master = nullptr;
    if (auto it = st.masters.find(sid); it != st.masters.end()) {
      master = it->second;
    } else if (v == "attach") {
      driver::MasterConfig mc;
      mc.stream_ids = {sid};
      mc.ssid_bits = st.ssid_bits[sid];
      master = &domains.add_master(mc);
      st.masters[sid] = master;
    } else {
      fail(s.where, fmt::format("StreamID {} was never attached", hex(sid)));
      return;
    }
    if (v == "attach") {
      driver::Domain& domain = st.domain(s.words[0].text);
      if (ssid == 0) domains.attach(*master, domain);
      else domains.attach_pasid(*master, ssid, domain);
    } else if (ssid == 0) {
      domains.detach(*master);
    } else {
      domains.detach_pasid(*master, ssid);
    }
  }
}

void Player::run_other(const Statement& s) {
  State& st = *state_;
  platform::ReferencePlatform& p = *st.platform;
  const std::string& v = s.verb;
  if (v == "map") {
    st.domain(s.words[0].text).map(s.number("iova"), s.number("pa"), s.number("size"),
                                        parse_prot(s.has("prot") ? s.text("prot") : "rw"));
  } else if (v == "unmap") {
    const std::uint64_t size = s.number("size");
    const std::uint64_t unmapped = st.domain(s.words[0].text).unmap(s.number("iova"), size);
    if (unmapped != size) {
      fail(s.where, fmt::format("unmapped {} of {} bytes (iommu_unmap stops at the first hole)", hex(unmapped),
                                hex(size)));
    }
  } else if (v == "invalidate") {
    if (s.words[0].text == "ste") {
      // CFGI_STE (leaf) for one StreamID, synced: what the driver issues after an STE store.
      smmu::Command cfgi;
      cfgi.opcode = smmu::CommandOpcode::CFGI_STE;
      cfgi.stream_id = static_cast<std::uint32_t>(s.number("sid"));
      cfgi.leaf = true;
      p.driver().issue({cfgi});
    } else if (s.words[0].text == "all") {
      p.driver().invalidate_all();
    } else if (s.has("iova")) {
      st.domain(s.words[0].text).invalidate_range(s.number("iova"), s.number("size"));
    } else {
      st.domain(s.words[0].text).invalidate_all();
    }
  } else if (v == "mmio") {
    const std::uint64_t offset = s.word_register(1);
    const auto bytes = static_cast<unsigned>(s.number_or("size", 4));
    if (s.words[0].text == "write") {
      p.cpu().write_register(offset, s.word_number(2), bytes);
    } else {
      const std::uint64_t value = p.cpu().read_register(offset, bytes);
      if (s.has("expect")) {
        ++outcome_.expectations;
        const std::uint64_t mask = s.number_or("mask", ~std::uint64_t{0});
        if ((value & mask) != (s.number("expect") & mask)) {
          fail(s.where, fmt::format("{} read {}, expected {} under mask {}", s.words[1].text, hex(value),
                                    hex(s.number("expect")), hex(mask)));
        }
      }
    }
  } else if (v == "mem") {
    const std::uint64_t pa = s.word_number(1);
    const std::string& op = s.words[0].text;
    if (p.handover().phase() == handover::Phase::Kexec) {
      // No CPU runs: a stray write to memory itself (a device, firmware, a bug).
      stray_write(s);
    } else if (op == "write") {
      const auto bytes = static_cast<unsigned>(s.number_or("size", 8));
      if (bytes == 8) p.cpu().store64(pa, s.word_number(2));
      else p.cpu().store_narrow(pa, s.word_number(2), bytes);
    } else if (op == "fill") {
      const std::uint64_t word = 0x0101010101010101ull * s.number("byte");
      for (std::uint64_t a = pa; a < pa + s.number("size"); a += 8) p.cpu().store64(a, word);
    } else {
      p.cpu().clean_to_poc(pa, s.number("size"));
    }
  } else if (v == "entry") {
    store_entry(s);
  } else if (v == "stats") {
    settle_dma();
    if (s.words[0].text == "reset") {
      // Every resettable group (below the prefix, when given) starts again.
      stats::Registry::global().reset(s.words.size() > 1 ? s.words[1].text : std::string());
    } else {
      std::ofstream out(s.words[1].text);
      out << stats::Registry::global().dump().dump(2) << "\n";
      if (!out) throw std::runtime_error("cannot write " + s.words[1].text);
    }
  } else if (v == "crash") {
    st.domains.clear();
    st.masters.clear();
    st.survivors.clear();
    p.begin_crash();
  } else if (v == "preserve") {
    std::vector<driver::Master*> masters;
    st.survivors.clear();
    for (std::size_t i = 0; i < s.words.size(); ++i) {
      const auto sid = static_cast<std::uint32_t>(s.word_number(i));
      auto it = st.masters.find(sid);
      if (it == st.masters.end()) {
        fail(s.words[i].where, fmt::format("StreamID {} was never attached: nothing to preserve", hex(sid)));
        continue;
      }
      masters.push_back(it->second);
      const driver::Domain* attached = it->second->domain();
      for (const auto& [name, domain] : st.domains) {
        if (attached == nullptr) break;
        if (domain == attached) st.survivors[name] = {sid, false};
        if (domain == attached->parent()) st.survivors[name] = {sid, true};
      }
    }
    const bool refusal_expected = s.has("expect") && s.text("expect") == "refused";
    if (s.has("expect")) ++outcome_.expectations;
    try {
      p.begin_live_update(masters);
    } catch (const driver::DriverError& e) {
      if (recorder_ != nullptr) recorder_->note(sc_core::sc_time_stamp().value(), std::string("preserve refused ") + e.what());
      // The live update ends before it began; the kernel keeps running.
      p.handover().run_finish();
      if (!refusal_expected) fail(s.where, std::string("the outgoing kernel could not preserve: ") + e.what());
      return;
    }
    if (refusal_expected) fail(where_of(s, "expect"), "the outgoing kernel preserved them, expected a refusal");
  } else if (v == "shutdown") {
    p.handover().run_shutdown(p);
  } else if (v == "kexec") {
    // The outgoing kernel's objects are gone with it.
    st.domains.clear();
    st.masters.clear();
    p.handover().run_kexec(p);
  } else if (v == "adopt") {
    const bool refusal_expected = s.has("expect") && s.text("expect") == "refused";
    if (refusal_expected) ++outcome_.expectations;
    try {
      p.handover().run_adopt(p);
    } catch (const driver::DriverError& e) {
      // Like Linux when it cannot adopt: probe afresh (a full reset); every
      // stream aborts until a driver attaches it.
      if (recorder_ != nullptr) recorder_->note(sc_core::sc_time_stamp().value(), std::string("adopt failed ") + e.what());
      if (!refusal_expected) fail(s.where, std::string("the new kernel could not adopt: ") + e.what());
      p.driver().reset();
      p.cpu().serve_interrupts(p.driver(), &p);
      return;
    }
    if (p.kdump()) {
      // kdump: a crash kernel that cannot adopt resets the SMMU instead (arm_smmu_device_reset).
      const driver::KdumpAdoption& k = p.kdump_outcome();
      if (recorder_ != nullptr) {
        recorder_->note(sc_core::sc_time_stamp().value(),
                        k.adopted ? fmt::format("kdump adopted, {} live streams", k.live_streams.size())
                                  : "kdump reset " + k.reason);
      }
      if (k.adopted == refusal_expected) {
        fail(s.where, k.adopted ? "the crash kernel adopted the SMMU, expected a refusal"
                                : "the crash kernel could not adopt: " + k.reason);
      }
      return;
    }
    if (refusal_expected) fail(where_of(s, "expect"), "the new kernel adopted the SMMU, expected a refusal");
    for (const auto& master : p.domains().masters()) {
      for (std::uint32_t sid : master->config().stream_ids) st.masters[sid] = master.get();
    }
    for (const auto& [name, survivor] : st.survivors) {
      auto it = st.masters.find(survivor.sid);
      if (it == st.masters.end() || it->second->domain() == nullptr) continue;
      driver::Domain* domain = survivor.parent ? it->second->domain()->parent() : it->second->domain();
      if (domain != nullptr) st.domains[name] = domain;
    }
    for (const std::string& reason : p.refused()) {
      if (recorder_ != nullptr) recorder_->note(sc_core::sc_time_stamp().value(), "adopt refused " + reason);
    }
  } else if (v == "finish") {
    p.handover().run_finish();
  }
}

void Player::store_entry(const Statement& s) {
  State& st = *state_;
  platform::ReferencePlatform& p = *st.platform;
  std::uint64_t address = 0;
  if (s.words[0].text == "pte") {
    driver::IoPageTable* table = st.domain(s.words[1].text).page_table();
    std::optional<std::uint64_t> leaf = table != nullptr ? table->leaf_address(s.number("iova")) : std::nullopt;
    // An entry this trace made invalid (V=0, the first half of a break-before-make
    // or Will Deacon's sequence) is found where it was last stored.
    const auto key = std::make_pair(s.words[1].text, s.number("iova"));
    if (!leaf) {
      auto it = st.entries.find(key);
      if (it != st.entries.end()) leaf = it->second;
    }
    if (!leaf) throw std::runtime_error(fmt::format("no leaf entry maps iova={}", hex(s.number("iova"))));
    address = *leaf;
    st.entries[key] = address;
  } else {
    address = p.driver().ste_address(static_cast<std::uint32_t>(s.number("sid"))) + 8 * s.number("qword");
  }
  // One store of `bytes` at `offset` within the 64-bit entry word: a hitless
  // writer's 64-bit store, or the narrow stores a torn update is made of.
  const std::uint64_t old = p.driver().load_table_word(address);
  // value= (only the bits of mask= when given), or the old word XOR xor=.
  const std::uint64_t mask = s.number_or("mask", ~std::uint64_t{0});
  const std::uint64_t word = s.has("value") ? (old & ~mask) | (s.number("value") & mask) : old ^ s.number("xor");
  const auto bytes = static_cast<unsigned>(s.number_or("bytes", 8));
  const std::uint64_t offset = s.number_or("offset", 0);
  if (bytes == 8) {
    p.cpu().store64(address, word);
  } else {
    const std::uint64_t lanes = (std::uint64_t{1} << (8 * bytes)) - 1;
    p.cpu().store_narrow(address + offset, (word >> (8 * offset)) & lanes, bytes);
  }
  if (s.has("clean") && s.text("clean") == "true") p.cpu().clean_to_poc(address, 8);
}

void Player::stray_write(const Statement& s) {
  memory::SparseMemory& memory = state_->platform->memory();
  const std::uint64_t pa = s.word_number(1);
  if (s.words[0].text == "fill") {
    const std::uint64_t word = 0x0101010101010101ull * s.number("byte");
    for (std::uint64_t a = pa; a < pa + s.number("size"); a += 8) memory.write64(a, word);
    return;
  }
  const auto bytes = static_cast<unsigned>(s.number_or("size", 8));
  const std::uint64_t aligned = pa & ~std::uint64_t{7};
  const unsigned shift = static_cast<unsigned>(8 * (pa - aligned));
  const std::uint64_t mask = bytes == 8 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (8 * bytes)) - 1) << shift;
  memory.write64(aligned, (memory.read64(aligned) & ~mask) | ((s.word_number(2) << shift) & mask));
}

void Player::dma(const Statement& s) {
  State& st = *state_;
  pcie::DmaMaster& master = *st.platform->trace_master();
  const bool write = s.words[0].text == "write";
  pcie::TransferAttributes attributes;
  attributes.stream_id = static_cast<std::uint32_t>(s.number("sid"));
  if (s.has("ssid")) attributes.substream_id = static_cast<std::uint32_t>(s.number("ssid"));
  attributes.privileged = s.has("priv") && s.text("priv") == "true";
  attributes.instruction = s.has("inst") && s.text("inst") == "true";
  const std::uint64_t size = s.number("size");
  const std::uint64_t count = s.number_or("count", 1);
  const std::uint64_t stride = s.number_or("stride", size);
  const std::uint64_t iova = s.number("iova");
  const std::string expect = s.has("expect") ? s.text("expect") : "";
  const bool expect_ok = expect == "ok";
  // Everything a DMA of the burst needs, decided once: this loop is the player's hit path.
  const bool check_data = s.has("data") && !write && expect_ok;
  const bool check_pa = s.has("pa");
  const std::uint64_t expected_pa = check_pa ? s.number("pa") : 0;
  const bool capture = recorder_ != nullptr || check_pa;
  const tlm::tlm_command command = write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND;
  std::vector<std::uint8_t> expected;
  if (s.has("data")) expected = repeated(s.number("data"), size);
  std::vector<std::uint8_t> data(size);
  // The failure text, built only for a failure.
  const auto what = [&](std::uint64_t k, std::uint64_t address) {
    return fmt::format("DMA {} {} +{}{}", write ? "write" : "read", hex(address), size,
                       count > 1 ? fmt::format(" (#{} of {})", k + 1, count) : "");
  };
  // Judges DMA k against the statement's expectation (and records it).
  const auto judge = [&](std::uint64_t k, std::uint64_t address, std::uint64_t time,
                         tlm::tlm_response_status status, const std::optional<std::uint64_t>& downstream,
                         const std::vector<std::uint8_t>& read, std::size_t first_event) {
    const bool ok = status == tlm::TLM_OK_RESPONSE;
    if (recorder_ != nullptr) {
      recorder_->dma(time, attributes.stream_id, attributes.substream_id, address, downstream, size, write,
                     ok ? "ok" : std::string("error ") + pcie::to_string(status));
    }
    if (expect.empty()) return;
    ++outcome_.expectations;
    if (expect_ok) {
      if (!ok) {
        fail(s.where, fmt::format("{}: expected ok, got {}", what(k, address), pcie::to_string(status)));
      } else if (check_pa && downstream != expected_pa + k * stride) {
        fail(where_of(s, "pa"), fmt::format("{}: reached memory at {}, expected pa={}", what(k, address),
                                            downstream ? hex(*downstream) : std::string("no address"),
                                            hex(expected_pa + k * stride)));
      } else if (check_data && read != expected) {
        std::uint64_t got = 0;
        for (std::size_t b = 0; b < std::min<std::size_t>(8, read.size()); ++b) got |= std::uint64_t{read[b]} << (8 * b);
        fail(s.where, fmt::format("{}: read {} (first bytes, little-endian), expected data={}", what(k, address),
                                  hex(got), hex(s.number("data"))));
      }
      return;
    }
    if (ok) {
      fail(s.where, fmt::format("{}: expected {}, but it completed", what(k, address), expect));
      return;
    }
    expect_event(s, address, size, attributes.stream_id, attributes.substream_id, expect == "fault", what(k, address),
                 first_event);
  };
  const auto write_pattern = [&](std::uint64_t k) {
    return s.has("data") ? expected : repeated(0x0706050403020100ull + 0x0808080808080808ull * (s.where.line + k), size);
  };
  if (s.has("outstanding")) {
    // A pipelined burst: every DMA one transaction, several in flight.
    std::vector<std::vector<std::uint8_t>> buffers(count);
    std::vector<pcie::PipelinedRequest> requests(count);
    for (std::uint64_t k = 0; k < count; ++k) {
      buffers[k] = write ? write_pattern(k) : std::vector<std::uint8_t>(size);
      pcie::PipelinedRequest& r = requests[k];
      r.command = command;
      r.address = iova + k * stride;
      r.data = buffers[k].data();
      r.length = static_cast<unsigned>(size);
      r.attributes = attributes;
    }
    const std::size_t first_event = st.platform->events().size();
    std::map<const tlm::tlm_generic_payload*, std::size_t> in_flight;
    std::vector<std::optional<std::uint64_t>> downstream(count);
    st.pipelined = [&](const tlm::tlm_generic_payload& trans) {
      const auto it = in_flight.find(&trans);
      if (it != in_flight.end() && !downstream[it->second]) downstream[it->second] = trans.get_address();
    };
    master.transfer_pipelined(requests, static_cast<unsigned>(s.number("outstanding")),
                              [&](std::size_t k, const tlm::tlm_generic_payload& trans) { in_flight[&trans] = k; });
    st.pipelined = nullptr;
    outcome_.dmas += count;
    for (std::uint64_t k = 0; k < count; ++k) {
      judge(k, requests[k].address, requests[k].issued.value(), requests[k].status, downstream[k], buffers[k],
            first_event);
    }
    return;
  }
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::uint64_t address = iova + k * stride;
    if (write) {
      data = write_pattern(k);
    } else if (check_data) {
      std::fill(data.begin(), data.end(), 0);
    }
    const std::uint64_t time = recorder_ != nullptr ? sc_core::sc_time_stamp().value() + master.local_time().value() : 0;
    // Only records that arrive from now on can be this DMA's.
    const std::size_t first_event = st.platform->events().size();
    st.capturing = capture;
    st.downstream.reset();
    const pcie::DmaResult result = master.transfer(command, address, data.data(), size, attributes);
    st.capturing = false;
    st.dma_ahead = true;
    ++outcome_.dmas;
    judge(k, address, time, result.ok() ? tlm::TLM_OK_RESPONSE : result.status, st.downstream, data, first_event);
  }
}

void Player::expect_event(const Statement& s, std::uint64_t address, std::uint64_t size, std::uint32_t sid,
                          const std::optional<std::uint32_t>& ssid, bool must_see, const std::string& what,
                          std::size_t first_event) {
  State& st = *state_;
  platform::ReferencePlatform& p = *st.platform;
  settle_dma();
  const std::optional<smmu::EventId> id = s.has("event") ? event_id(s.text("event")) : std::nullopt;
  const auto concerns = [&](const smmu::EventRecord& r) {
    if (r.stream_id != sid) return false;
    // Some records carry no SubstreamID (F_STREAM_DISABLED for a reserved SSID 0).
    if (ssid && r.ssv && r.substream_id != *ssid) return false;
    // Configuration events carry no address; translation events name the input address.
    const bool addressed = r.input_addr != 0 || r.id == smmu::EventId::F_TRANSLATION;
    return !addressed || (r.input_addr >= address && r.input_addr - address < size);
  };
  std::size_t found = SIZE_MAX;
  const auto match = [&](const smmu::EventRecord& r) {
    // wait_for_event passes the platform's records by reference: their index is their place.
    const auto i = static_cast<std::size_t>(&r - p.events().data());
    st.consumed.resize(p.events().size(), false);
    if (i < first_event || st.consumed[i] || !concerns(r)) return false;
    found = i;
    return true;
  };
  p.wait_for_event(match, sc_core::sc_time(kEventWindowUs, sc_core::SC_US));
  st.consumed.resize(p.events().size(), false);
  if (!must_see) {
    if (found != SIZE_MAX) {
      st.consumed[found] = true;
      fail(s.where, fmt::format("{}: expected no event record, got {}", what, smmu::to_string(p.events()[found].id)));
    }
    return;
  }
  if (found == SIZE_MAX) {
    fail(s.where, fmt::format("{}: expected {} within {} us, the driver saw none for StreamID {}", what,
                              id ? smmu::to_string(*id) : "an event", kEventWindowUs, hex(sid)));
    return;
  }
  st.consumed[found] = true;
  const smmu::EventRecord& r = p.events()[found];
  if (id && r.id != *id) {
    fail(where_of(s, "event"), fmt::format("{}: expected {}, got {}", what, smmu::to_string(*id), smmu::to_string(r.id)));
  }
  if (s.has("input") && r.input_addr != s.number("input")) {
    fail(where_of(s, "input"), fmt::format("{}: event input address {}, expected {}", what, hex(r.input_addr),
                                           hex(s.number("input"))));
  }
  // The record's other fields, each when the trace names it.
  const auto flag = [&](const char* key, bool actual) {
    if (s.has(key) && actual != (s.text(key) == "true")) {
      fail(where_of(s, key), fmt::format("{}: event {}={}, expected {}", what, key, actual, s.text(key)));
    }
  };
  const auto field = [&](const char* key, std::uint64_t actual) {
    if (s.has(key) && actual != s.number(key)) {
      fail(where_of(s, key), fmt::format("{}: event {}={}, expected {}", what, key, hex(actual), hex(s.number(key))));
    }
  };
  flag("s2", r.s2);
  flag("rnw", r.rnw);
  flag("pnu", r.pnu);
  flag("ind", r.ind);
  field("ipa", r.ipa);
  field("fetch", r.fetch_addr);
  static const char* const kClasses[] = {"CD", "TT", "IN"};
  if (s.has("class") && s.text("class") != kClasses[static_cast<unsigned>(r.fault_class) % 3]) {
    fail(where_of(s, "class"), fmt::format("{}: event class {}, expected {}", what,
                                           kClasses[static_cast<unsigned>(r.fault_class) % 3], s.text("class")));
  }
}

}  // namespace smmuv3tlm::trace
