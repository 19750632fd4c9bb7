// The handover checkers' common parts: a finding (checker, time, stream,
// address, table type, the rule broken) and the plain events checkers are fed
// (an SMMU memory access as the TCU observes it, a CPU store on the memory
// path). Plain C++: unit tests drive each checker without a simulation; the
// platform wires them to the observers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/memory_port.h"

namespace smmuv3tlm::handover {

inline constexpr std::uint32_t kNoStream = 0xffff'ffff;

struct Finding {
  std::string checker;
  double time_ns = 0;
  std::uint32_t stream_id = kNoStream;
  std::uint64_t address = 0;
  std::string table;  // what the address holds: STE, CD, stage-1 table, register, ...
  std::string rule;   // the rule broken
  std::string describe() const;
};

// A read or write the SMMU made in memory (the TCU's memory observer).
struct SmmuAccess {
  double time_ns = 0;
  std::uint64_t pa = 0;
  std::uint32_t size = 0;
  bool write = false;
  smmu::AccessPurpose purpose = smmu::AccessPurpose::StreamTableEntry;
  std::uint32_t stream_id = kNoStream;
  const std::uint8_t* data = nullptr;  // `size` bytes, valid during the call
};

// A store the CPU made on the memory path, of any width.
struct CpuStore {
  double time_ns = 0;
  std::uint64_t pa = 0;
  std::uint32_t size = 0;
  const std::uint8_t* data = nullptr;
};

class Checker {
 public:
  explicit Checker(std::string name) : name_(std::move(name)) {}
  virtual ~Checker() = default;
  const std::string& name() const { return name_; }
  const std::vector<Finding>& findings() const { return findings_; }

 protected:
  void report(double time_ns, std::uint32_t stream_id, std::uint64_t address, std::string table, std::string rule);

 private:
  std::string name_;
  std::vector<Finding> findings_;
};

}  // namespace smmuv3tlm::handover
