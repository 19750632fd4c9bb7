#include "smmuv3tlm/platforms/trace/trace.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::trace {

namespace {

enum class Kind : std::uint8_t { Number, Name, Bool, Text, Register };

// What a statement takes: its positional words and its keys.
struct Schema {
  std::size_t min_words = 0;
  std::size_t max_words = 0;
  std::vector<Kind> word_kinds;  // per position; the last repeats
  std::map<std::string, Kind> keys;
  std::set<std::string> required;
  std::map<std::size_t, std::set<std::string>> word_choices;  // position -> allowed words
  std::map<std::string, std::set<std::string>> key_choices;
  bool header_only = false;  // only before the first action
};

const std::map<std::string, Schema>& schemas() {
  static const std::map<std::string, Schema> table = [] {
    std::map<std::string, Schema> t;
    t["set"] = {2, 2, {Kind::Name, Kind::Text}, {}, {}, {}, {}, true};
    t["option"] = {0, 0, {}, {{"disable_s1", Kind::Bool}, {"disable_msipolling", Kind::Bool},
                              {"disable_bypass", Kind::Bool}, {"force_non_coherent", Kind::Bool}},
                   {}, {}, {}, true};
    t["domain"] = {2, 2, {Kind::Name, Kind::Name},
                   {{"granule", Kind::Number}, {"asid", Kind::Number}, {"vmid", Kind::Number},
                    {"nest_parent", Kind::Bool}, {"parent", Kind::Name}, {"guest", Kind::Number},
                    {"guest_size", Kind::Number}},
                   {}, {{1, {"s1", "s2", "nested", "identity", "blocked"}}}, {}, false};
    t["attach"] = {1, 1, {Kind::Name}, {{"sid", Kind::Number}, {"ssid", Kind::Number}, {"ssid_bits", Kind::Number}},
                   {"sid"}, {}, {}, false};
    t["detach"] = {0, 0, {}, {{"sid", Kind::Number}, {"ssid", Kind::Number}}, {"sid"}, {}, {}, false};
    t["map"] = {1, 1, {Kind::Name},
                {{"iova", Kind::Number}, {"pa", Kind::Number}, {"size", Kind::Number}, {"prot", Kind::Name}},
                {"iova", "pa", "size"}, {}, {{"prot", {"rw", "r", "w", "rw-nocache", "r-nocache", "w-nocache", "mmio"}}},
                false};
    t["unmap"] = {1, 1, {Kind::Name}, {{"iova", Kind::Number}, {"size", Kind::Number}}, {"iova", "size"}, {}, {},
                  false};
    t["invalidate"] = {1, 1, {Kind::Name}, {{"iova", Kind::Number}, {"size", Kind::Number}, {"sid", Kind::Number}},
                       {}, {}, {}, false};
    t["entry"] = {1, 2, {Kind::Name, Kind::Name},
                  {{"iova", Kind::Number}, {"sid", Kind::Number}, {"qword", Kind::Number}, {"value", Kind::Number},
                   {"xor", Kind::Number}, {"mask", Kind::Number}, {"bytes", Kind::Number}, {"offset", Kind::Number},
                   {"clean", Kind::Bool}},
                  {}, {{0, {"pte", "ste"}}}, {}, false};
    t["crash"] = {0, 0, {}, {}, {}, {}, {}, false};
    t["stats"] = {1, 2, {Kind::Name, Kind::Text}, {}, {}, {{0, {"reset", "dump"}}}, {}, false};
    t["mmio"] = {2, 3, {Kind::Name, Kind::Register, Kind::Number},
                 {{"expect", Kind::Number}, {"mask", Kind::Number}, {"size", Kind::Number}},
                 {}, {{0, {"read", "write"}}}, {}, false};
    t["mem"] = {2, 3, {Kind::Name, Kind::Number, Kind::Number}, {{"size", Kind::Number}, {"byte", Kind::Number}},
                {}, {{0, {"write", "fill", "clean"}}}, {}, false};
    t["dma"] = {1, 1, {Kind::Name},
                {{"sid", Kind::Number}, {"ssid", Kind::Number}, {"iova", Kind::Number}, {"size", Kind::Number},
                 {"priv", Kind::Bool}, {"inst", Kind::Bool}, {"count", Kind::Number}, {"stride", Kind::Number},
                 {"expect", Kind::Name}, {"data", Kind::Number}, {"event", Kind::Name}, {"input", Kind::Number},
                 {"s2", Kind::Bool}, {"pa", Kind::Number},
                 {"rnw", Kind::Bool}, {"pnu", Kind::Bool}, {"ind", Kind::Bool}, {"class", Kind::Name},
                 {"ipa", Kind::Number}, {"fetch", Kind::Number}, {"outstanding", Kind::Number}},
                {"sid", "iova", "size"}, {{0, {"read", "write"}}},
                {{"expect", {"ok", "fault", "terminated"}}, {"class", {"CD", "TT", "IN"}}}, false};
    t["preserve"] = {1, 1u << 16, {Kind::Number}, {{"expect", Kind::Name}}, {}, {},
                     {{"expect", {"preserved", "refused"}}}, false};
    for (const char* phase : {"shutdown", "kexec", "finish"}) t[phase] = {0, 0, {}, {}, {}, {}, {}, false};
    t["adopt"] = {0, 0, {}, {{"expect", Kind::Name}}, {}, {}, {{"expect", {"adopted", "refused"}}}, false};
    return t;
  }();
  return table;
}

bool is_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

struct Token {
  std::string text;
  unsigned column;
};

// Splits a line into tokens at blanks, dropping a `#` comment; `"..."` is one token.
std::vector<Token> tokenize(const std::string& line, const Location& at) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] == '#') break;
    const std::size_t start = i;
    bool quoted = false;
    while (i < line.size() && (quoted || (line[i] != ' ' && line[i] != '\t' && line[i] != '#'))) {
      if (line[i] == '"') quoted = !quoted;
      ++i;
    }
    if (quoted) {
      Location w = at;
      w.column = static_cast<unsigned>(start + 1);
      throw TraceError(w, "unterminated string");
    }
    tokens.push_back({line.substr(start, i - start), static_cast<unsigned>(start + 1)});
  }
  return tokens;
}

}  // namespace

const std::string& Location::file_name() const {
  static const std::string kNone;
  return file ? *file : kNone;
}

std::string Location::str() const { return fmt::format("{}:{}:{}", file_name(), line, column); }

const Argument& Keys::at(std::string_view key) const {
  const auto it = find(key);
  if (it == end()) throw std::out_of_range("no key " + std::string(key));
  return it->second;
}

TraceError::TraceError(const Location& where, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", where.str(), message)), where_(where) {}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t scale = 1;
  std::string_view body = text;
  const char last = body.back();
  if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
    scale = last == 'K' ? 1ull << 10 : last == 'M' ? 1ull << 20 : last == 'G' ? 1ull << 30 : 1ull << 40;
    body.remove_suffix(1);
  }
  if (body.empty()) return std::nullopt;
  unsigned base = 10;
  std::size_t i = 0;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    base = 16;
    i = 2;
  }
  std::uint64_t value = 0;
  bool any = false;
  for (; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '_' && any) continue;
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (value > (UINT64_MAX - d) / base) return std::nullopt;
    value = value * base + d;
    any = true;
  }
  if (!any || body.back() == '_') return std::nullopt;
  if (value > UINT64_MAX / scale) return std::nullopt;
  return value * scale;
}

std::optional<std::uint64_t> parse_time_ps(const std::string& text) {
  static const std::pair<const char*, std::uint64_t> kUnits[] = {
      {"ps", 1}, {"ns", 1000}, {"us", 1000'000}, {"ms", 1000'000'000}, {"s", 1000'000'000'000}};
  for (const auto& [unit, ps] : kUnits) {
    const std::string u(unit);
    if (text.size() <= u.size() || text.compare(text.size() - u.size(), u.size(), u) != 0) continue;
    const std::string number = text.substr(0, text.size() - u.size());
    if (number.empty() || !std::isdigit(static_cast<unsigned char>(number.back()))) continue;
    const std::optional<std::uint64_t> n = parse_number(number);
    if (!n || *n > UINT64_MAX / ps) return std::nullopt;
    return *n * ps;
  }
  return std::nullopt;
}

std::uint64_t Statement::number(std::string_view key) const {
  auto it = keys.find(key);
  if (it == keys.end()) throw TraceError(where, fmt::format("'{}' needs {}=", verb, key));
  if (it->second.value) return *it->second.value;
  const std::optional<std::uint64_t> n = parse_number(it->second.text);
  if (!n) throw TraceError(it->second.where, fmt::format("{}= must be a number, got '{}'", key, it->second.text));
  return *n;
}

std::uint64_t Statement::number_or(std::string_view key, std::uint64_t fallback) const {
  return has(key) ? number(key) : fallback;
}

std::uint64_t Statement::word_number(std::size_t index) const {
  if (index >= words.size()) throw TraceError(where, fmt::format("'{}' needs argument {}", verb, index + 1));
  if (words[index].value) return *words[index].value;
  const std::optional<std::uint64_t> n = parse_number(words[index].text);
  if (!n) throw TraceError(words[index].where, fmt::format("expected a number, got '{}'", words[index].text));
  return *n;
}

std::optional<std::uint64_t> register_offset(const std::string& text) {
  for (const smmu::RegisterLayout& r : smmu::reg::kRegisters) {
    if (text == r.name) return r.offset;
  }
  return parse_number(text);
}

std::uint64_t Statement::word_register(std::size_t index) const {
  if (index >= words.size()) throw TraceError(where, fmt::format("'{}' needs argument {}", verb, index + 1));
  const std::optional<std::uint64_t> n = register_offset(words[index].text);
  if (!n) throw TraceError(words[index].where, fmt::format("expected a register, got '{}'", words[index].text));
  return *n;
}

const std::string& Statement::text(std::string_view key) const {
  auto it = keys.find(key);
  if (it == keys.end()) throw TraceError(where, fmt::format("'{}' needs {}=", verb, key));
  return it->second.text;
}

namespace {

// Checks (and for a number, parses) argument `a` of kind `kind`: key `key`, or
// positional word `word` (0-based) when `key` is empty. The name of the
// argument is spelled only for an error.
void check_kind(Kind kind, Argument& a, std::string_view key, std::size_t word) {
  const auto what = [&] { return key.empty() ? fmt::format("argument {}", word + 1) : fmt::format("{}=", key); };
  switch (kind) {
    case Kind::Number:
      a.value = parse_number(a.text);
      if (!a.value) throw TraceError(a.where, fmt::format("{} must be a number, got '{}'", what(), a.text));
      break;
    case Kind::Bool:
      if (a.text != "true" && a.text != "false") {
        throw TraceError(a.where, fmt::format("{} must be true or false, got '{}'", what(), a.text));
      }
      break;
    case Kind::Name:
      if (!is_name(a.text)) throw TraceError(a.where, fmt::format("{} must be a name, got '{}'", what(), a.text));
      break;
    case Kind::Register:
      if (!register_offset(a.text)) {
        throw TraceError(a.where, fmt::format("{} must be a number or a register name (CR0, GBPA, ...), got '{}'",
                                              what(), a.text));
      }
      break;
    case Kind::Text:
      break;
  }
}

}  // namespace

Trace parse(std::istream& in, const std::string& file) {
  Trace trace;
  trace.file = file;
  std::map<std::string, std::string> names;  // let NAME = VALUE
  bool header_seen = false;
  bool action_seen = false;
  std::string line;
  std::vector<char> buffer(kMaxLineBytes + 2);
  Location at(file, 0, 1);
  while (true) {
    // Read one line without letting a huge one through: at most kMaxLineBytes
    // and the newline; a longer line fills the buffer and fails the stream.
    in.getline(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = in.gcount();
    if (got == 0 && (in.eof() || in.fail())) break;
    ++at.line;
    at.column = 1;
    if (in.fail() && !in.eof()) {
      Location w = at;
      w.column = static_cast<unsigned>(kMaxLineBytes + 1);
      throw TraceError(w, fmt::format("line longer than {} bytes", kMaxLineBytes));
    }
    // gcount counts the newline when one was extracted (not at end of file).
    line.assign(buffer.data(), static_cast<std::size_t>(in.eof() ? got : got - 1));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const unsigned char b = static_cast<unsigned char>(line[i]);
      if ((b < 0x20 && b != '\t') || b >= 0x7f) {
        Location w = at;
        w.column = static_cast<unsigned>(i + 1);
        throw TraceError(w, fmt::format("byte {:#04x} is not printable ASCII", b));
      }
    }
    std::vector<Token> tokens = tokenize(line, at);
    if (tokens.empty()) continue;
    const auto where_of = [&](const Token& t) {
      Location w = at;
      w.column = t.column;
      return w;
    };
    if (!header_seen) {
      if (tokens[0].text != "smmu-trace") {
        throw TraceError(where_of(tokens[0]), "the first statement must be the header 'smmu-trace 1'");
      }
      if (tokens.size() != 2 || parse_number(tokens[1].text) != std::optional<std::uint64_t>(kFormatVersion)) {
        throw TraceError(where_of(tokens.size() > 1 ? tokens[1] : tokens[0]),
                         fmt::format("this player reads format version {}", kFormatVersion));
      }
      trace.version = kFormatVersion;
      header_seen = true;
      continue;
    }
    Statement s;
    s.where = where_of(tokens[0]);
    std::size_t next = 0;
    const std::string& first = tokens[0].text;
    if (!first.empty() && (first[0] == '@' || first[0] == '+')) {
      const std::optional<std::uint64_t> t = parse_time_ps(first.substr(1));
      if (!t) throw TraceError(s.where, fmt::format("'{}' is not a time (e.g. @10us, +250ns)", first));
      s.time_ps = t;
      s.relative_time = first[0] == '+';
      next = 1;
      if (tokens.size() == 1) throw TraceError(s.where, "a time with no statement after it");
    }
    s.verb = tokens[next].text;
    s.where = where_of(tokens[next]);
    if (s.verb == "let") {
      if (tokens.size() != next + 4 || tokens[next + 2].text != "=") {
        throw TraceError(s.where, "expected 'let NAME = VALUE'");
      }
      const Token& name = tokens[next + 1];
      if (!is_name(name.text)) throw TraceError(where_of(name), fmt::format("'{}' is not a name", name.text));
      std::string value = tokens[next + 3].text;
      if (!value.empty() && value[0] == '$') {
        auto it = names.find(value.substr(1));
        if (it == names.end()) throw TraceError(where_of(tokens[next + 3]), fmt::format("unknown name '{}'", value));
        value = it->second;
      }
      names[name.text] = value;
      continue;
    }
    auto schema_it = schemas().find(s.verb);
    if (schema_it == schemas().end()) {
      throw TraceError(s.where, fmt::format("unknown statement '{}'", s.verb));
    }
    const Schema& schema = schema_it->second;
    if (schema.header_only && action_seen) {
      throw TraceError(s.where, fmt::format("'{}' belongs before the first action", s.verb));
    }
    if (!schema.header_only) action_seen = true;
    for (std::size_t i = next + 1; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      Argument a;
      a.where = where_of(t);
      const std::size_t eq = t.text.find('=');
      std::string key;
      std::string value = t.text;
      if (eq != std::string::npos && s.verb != "set") {
        key = t.text.substr(0, eq);
        value = t.text.substr(eq + 1);
        if (key.empty() || value.empty()) throw TraceError(a.where, fmt::format("'{}' is not key=value", t.text));
      }
      if (!value.empty() && value[0] == '$') {
        auto it = names.find(value.substr(1));
        if (it == names.end()) throw TraceError(a.where, fmt::format("unknown name '{}' (define it with let)", value));
        value = it->second;
      }
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      a.text = value;
      if (key.empty()) {
        s.words.push_back(a);
      } else {
        if (s.keys.count(key) != 0) throw TraceError(a.where, fmt::format("{}= given twice", key));
        auto k = schema.keys.find(key);
        if (k == schema.keys.end()) throw TraceError(a.where, fmt::format("'{}' takes no key '{}'", s.verb, key));
        check_kind(k->second, a, key, 0);
        auto choices = schema.key_choices.find(key);
        if (choices != schema.key_choices.end() && choices->second.count(a.text) == 0) {
          throw TraceError(a.where, fmt::format("{}= must be one of {}, got '{}'", key,
                                                fmt::join(choices->second, ", "), a.text));
        }
        s.keys.add(key, a);
      }
    }
    if (s.words.size() < schema.min_words || s.words.size() > schema.max_words) {
      const Location w = s.words.size() > schema.max_words ? s.words[schema.max_words].where : s.where;
      throw TraceError(w, schema.min_words == schema.max_words
                              ? fmt::format("'{}' takes {} argument(s), got {}", s.verb, schema.min_words, s.words.size())
                              : fmt::format("'{}' takes {} to {} arguments, got {}", s.verb, schema.min_words,
                                            schema.max_words, s.words.size()));
    }
    for (std::size_t i = 0; i < s.words.size(); ++i) {
      const Kind kind = schema.word_kinds.empty() ? Kind::Text
                                                  : schema.word_kinds[std::min(i, schema.word_kinds.size() - 1)];
      check_kind(kind, s.words[i], {}, i);
      auto choices = schema.word_choices.find(i);
      if (choices != schema.word_choices.end() && choices->second.count(s.words[i].text) == 0) {
        throw TraceError(s.words[i].where, fmt::format("argument {} must be one of {}, got '{}'", i + 1,
                                                       fmt::join(choices->second, ", "), s.words[i].text));
      }
    }
    for (const std::string& key : schema.required) {
      if (s.keys.count(key) == 0) throw TraceError(s.where, fmt::format("'{}' needs {}=", s.verb, key));
    }
    if (s.verb == "set") {
      trace.settings.push_back({s.words[0], s.words[1]});
      continue;
    }
    trace.statements.push_back(std::move(s));
  }
  if (!header_seen) throw TraceError(Location(at.file, at.line + 1, 1), "empty trace: no 'smmu-trace 1' header");
  return trace;
}

}  // namespace smmuv3tlm::trace
