// Trace format v1 (traces/README.md): the parser. It reads a whole trace
// before anything runs and refuses a malformed one with `file:line:column:
// message`: unknown statements, missing or unknown keys, bad numbers, unknown
// `$names`, values out of range, lines over 4096 bytes, bytes that are not
// printable ASCII, a missing or unknown header. Plain C++.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace smmuv3tlm::trace {

// Where a token is: file (shared by every location of a trace), 1-based line
// and 1-based byte column.
struct Location {
  Location() = default;
  Location(std::string file_name, unsigned line_number, unsigned column_number)
      : file(std::make_shared<const std::string>(std::move(file_name))), line(line_number), column(column_number) {}
  Location(std::shared_ptr<const std::string> file_name, unsigned line_number, unsigned column_number)
      : file(std::move(file_name)), line(line_number), column(column_number) {}
  std::shared_ptr<const std::string> file;
  unsigned line = 0;
  unsigned column = 0;
  const std::string& file_name() const;
  std::string str() const;
};

class TraceError : public std::runtime_error {
 public:
  TraceError(const Location& where, const std::string& message);
  const Location& where() const { return where_; }

 private:
  Location where_;
};

struct Argument {
  std::string text;  // after `$name` substitution
  Location where;
  std::optional<std::uint64_t> value;  // the number, for a numeric argument (parsed once)
};

// A statement's key=value arguments, in the order written (a handful: a
// vector searched by name beats a map on a per-DMA path).
class Keys {
 public:
  using Entry = std::pair<std::string, Argument>;
  using const_iterator = std::vector<Entry>::const_iterator;
  const_iterator find(std::string_view key) const {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == key) return it;
    }
    return entries_.end();
  }
  std::size_t count(std::string_view key) const { return find(key) != end() ? 1 : 0; }
  const Argument& at(std::string_view key) const;  // throws std::out_of_range
  void add(std::string key, Argument value) { entries_.emplace_back(std::move(key), std::move(value)); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

struct Statement {
  Location where;
  std::string verb;
  std::optional<std::uint64_t> time_ps;  // `@T` or `+T`
  bool relative_time = false;            // `+T`
  std::vector<Argument> words;           // positional arguments after the verb
  Keys keys;                             // key=value arguments

  bool has(std::string_view key) const { return keys.count(key) != 0; }
  // The value of a numeric key or word; throws TraceError at its location.
  std::uint64_t number(std::string_view key) const;
  std::uint64_t number_or(std::string_view key, std::uint64_t fallback) const;
  std::uint64_t word_number(std::size_t index) const;
  // A register's offset, written as a number or its name (CR0, GBPA, ...).
  std::uint64_t word_register(std::size_t index) const;
  const std::string& text(std::string_view key) const;
};

struct Setting {
  Argument key;
  Argument value;
};

struct Trace {
  std::string file;
  unsigned version = 0;
  // `set key value` lines (platform keys), in order.
  std::vector<Setting> settings;
  std::vector<Statement> statements;  // every statement after the header, settings excluded
};

inline constexpr unsigned kFormatVersion = 1;
inline constexpr std::size_t kMaxLineBytes = 4096;

// Parses `in` as a trace named `file` (used in error locations).
Trace parse(std::istream& in, const std::string& file);

// 4096, 0x1000, 0x1_0000, 4K, 2M, 1G; nullopt if it is not a number or overflows.
std::optional<std::uint64_t> parse_number(std::string_view text);
// A register name of IHI 0070 (as in smmu::reg::kRegisters) or a number.
std::optional<std::uint64_t> register_offset(const std::string& text);
// 10ns, 2us, 500ps, 1ms, 1s -> picoseconds; nullopt if malformed.
std::optional<std::uint64_t> parse_time_ps(const std::string& text);

}  // namespace smmuv3tlm::trace
