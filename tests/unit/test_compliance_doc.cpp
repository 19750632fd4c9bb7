// docs/smmu-compliance.md lists every event ID and every command opcode the
// model knows, each in its table row (the robustness issue found C_BAD_CD
// missing): a new ID or opcode cannot be added without saying what it does.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"

namespace smmuv3tlm::smmu {
namespace {

std::string compliance_doc() {
  std::ifstream stream(std::string(SMMU_SOURCE_DIR) + "/docs/smmu-compliance.md");
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

TEST(ComplianceDoc, EveryEventIdHasItsRow) {
  const std::string doc = compliance_doc();
  ASSERT_FALSE(doc.empty());
  unsigned listed = 0;
  for (unsigned id = 0; id < 256; ++id) {
    const std::string name = to_string(static_cast<EventId>(id));
    if (name == "UNKNOWN") continue;
    ++listed;
    EXPECT_NE(doc.find(fmt::format("| 0x{:02X} | {} |", id, name)), std::string::npos) << name;
  }
  EXPECT_EQ(listed, 19u);
}

TEST(ComplianceDoc, EveryCommandOpcodeHasItsRow) {
  const std::string doc = compliance_doc();
  unsigned listed = 0;
  for (unsigned opcode = 0; opcode < 256; ++opcode) {
    const std::string name = to_string(static_cast<CommandOpcode>(opcode));
    if (name == "CMD_UNKNOWN") continue;
    ++listed;
    EXPECT_NE(doc.find(fmt::format("| 0x{:02X} | {}", opcode, name)), std::string::npos) << name;
  }
  EXPECT_GE(listed, 24u);
}

}  // namespace
}  // namespace smmuv3tlm::smmu
