// Trace format v1 (traces/README.md): the player and the recorder.
//
// configure() turns a trace's `set` and `option` lines into the reference
// platform's configuration (trace mode: no built-in devices, one port whose
// DMA carries each statement's StreamID and attributes); check() refuses,
// before anything runs, every statement the configured platform cannot play
// (names used before they are defined, a StreamID beyond SIDSIZE, a DMA before
// any domain exists, ...), with the statement's file:line:column.
//
// Player is the platform's scenario: it runs each statement on the CPU thread
// through the driver model (domains, attach, map, invalidate), the CPU's
// register and memory accesses (mmio, mem), and the trace port (dma), checks
// every expectation and keeps each miss with the line that set it.
//
// Recorder writes the deterministic log of a run: one line per DMA, event
// record, command consumed and register write, in the order they happened,
// each with its simulated time in picoseconds, then the statistics JSON.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "smmuv3tlm/platforms/lib/reference_platform.h"
#include "smmuv3tlm/platforms/trace/trace.h"

namespace smmuv3tlm::trace {

// `base` with the trace's `set` keys and `option`s applied, in trace mode.
// Throws TraceError at the line of a key the platform refuses.
platform::ReferencePlatformConfig configure(const Trace& trace, platform::ReferencePlatformConfig base = {});

// Throws TraceError at the first statement the platform configured by
// `config` cannot play.
void check(const Trace& trace, const platform::ReferencePlatformConfig& config);

// Reads, parses, configures and checks a trace file: everything a run needs,
// or a TraceError naming file, line and column.
struct LoadedTrace {
  Trace trace;
  platform::ReferencePlatformConfig config;
};
LoadedTrace load(const std::string& file, const platform::ReferencePlatformConfig& base = {});

class Recorder {
 public:
  explicit Recorder(std::ostream& out) : out_(out) {}
  // Hooks the platform's register writes, command fetches and events.
  void attach(platform::ReferencePlatform& platform);
  void dma(std::uint64_t time_ps, std::uint32_t sid, const std::optional<std::uint32_t>& ssid, std::uint64_t iova,
           const std::optional<std::uint64_t>& pa, std::uint64_t size, bool write, const std::string& result);
  void note(std::uint64_t time_ps, const std::string& text);
  // Ends the log with the statistics, keys sorted.
  void statistics(const nlohmann::json& stats);

 private:
  std::ostream& out_;
};

struct Failure {
  Location where;
  std::string message;
  std::string str() const { return where.str() + ": " + message; }
};

struct PlayOutcome {
  std::uint64_t statements = 0;
  std::uint64_t dmas = 0;           // DMA transfers (a burst counts each)
  std::uint64_t expectations = 0;   // checked
  std::uint64_t failed = 0;         // expectations and statements that failed
  std::uint64_t unexpected_events = 0;  // event records no expectation asked for
  std::vector<Failure> failures;    // the first kMaxKeptFailures
  static constexpr std::size_t kMaxKeptFailures = 200;
  bool passed() const { return failed == 0; }
};

class Player {
 public:
  // How long a DMA expected to fault (or to end without an event) waits for
  // the driver to see the event record.
  static constexpr double kEventWindowUs = 20.0;

  explicit Player(const Trace& trace, Recorder* recorder = nullptr);
  ~Player();
  // The scenario: call on the platform's CPU thread (ReferencePlatform::Scenario).
  void operator()(platform::ReferencePlatform& platform);
  const PlayOutcome& outcome() const { return outcome_; }

 private:
  struct State;
  void run(const Statement& s);
  void run_driver_step(const Statement& s);
  void run_other(const Statement& s);
  void fail(const Location& where, const std::string& message);
  void dma(const Statement& s);
  void store_entry(const Statement& s);
  void stray_write(const Statement& s);
  // Waits for the event record of a DMA that failed: one that arrived after
  // event `first_event` for its stream and address.
  void expect_event(const Statement& s, std::uint64_t address, std::uint64_t size, std::uint32_t sid,
                    const std::optional<std::uint32_t>& ssid, bool must_see, const std::string& what,
                    std::size_t first_event);
  void wait_until(const Statement& s);
  void settle_dma();
  void settle_cpu();

  const Trace& trace_;
  Recorder* recorder_;
  std::unique_ptr<State> state_;
  PlayOutcome outcome_;
};

}  // namespace smmuv3tlm::trace
