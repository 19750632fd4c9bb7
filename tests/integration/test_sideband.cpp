// The side-band extension: defaults, clone/copy semantics inside generic
// payloads, and that it is ignorable (a target that never looks for it serves
// transactions carrying it unchanged).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/tlm/sideband.h"

namespace smmuv3tlm::tlm_ext {
namespace {

SidebandExtension distinctive_sideband() {
  SidebandExtension sideband;
  sideband.stream_id = 0x1234'5678;
  sideband.substream_valid = true;
  sideband.substream_id = 0xABCDE;
  sideband.privileged = true;
  sideband.instruction = true;
  sideband.secure = true;
  sideband.ats = AtsType::Translated;
  sideband.memory_type = 0x44;
  sideband.shareability = 0b11;
  return sideband;
}

void expect_same_fields(const SidebandExtension& actual, const SidebandExtension& expected) {
  EXPECT_EQ(actual.stream_id, expected.stream_id);
  EXPECT_EQ(actual.substream_valid, expected.substream_valid);
  EXPECT_EQ(actual.substream_id, expected.substream_id);
  EXPECT_EQ(actual.privileged, expected.privileged);
  EXPECT_EQ(actual.instruction, expected.instruction);
  EXPECT_EQ(actual.secure, expected.secure);
  EXPECT_EQ(actual.ats, expected.ats);
  EXPECT_EQ(actual.memory_type, expected.memory_type);
  EXPECT_EQ(actual.shareability, expected.shareability);
}

TEST(SidebandExtension, DefaultsDescribeAnUntranslatedNonSecureDataAccess) {
  const SidebandExtension sideband;
  EXPECT_EQ(sideband.stream_id, 0u);
  EXPECT_FALSE(sideband.substream_valid);
  EXPECT_EQ(sideband.substream_id, 0u);
  EXPECT_FALSE(sideband.privileged);
  EXPECT_FALSE(sideband.instruction);
  EXPECT_FALSE(sideband.secure);
  EXPECT_EQ(sideband.ats, AtsType::Untranslated);
  EXPECT_EQ(sideband.memory_type, 0xff);  // Normal iWB-oWB RA WA, non-transient (IHI 0070 §13.1.3)
  EXPECT_EQ(sideband.shareability, 0b00);
  EXPECT_EQ(SidebandExtension::kSubstreamIdMask, 0xFFFFFu);
}

TEST(SidebandExtension, CloneCopiesEveryFieldIntoANewObject) {
  const SidebandExtension original = distinctive_sideband();
  tlm::tlm_extension_base* copy = original.clone();
  ASSERT_NE(copy, nullptr);
  ASSERT_NE(copy, &original);
  const auto* sideband = dynamic_cast<SidebandExtension*>(copy);
  ASSERT_NE(sideband, nullptr);
  expect_same_fields(*sideband, original);
  copy->free();
}

TEST(SidebandExtension, CopyFromOverwritesEveryField) {
  SidebandExtension target;
  target.copy_from(distinctive_sideband());
  expect_same_fields(target, distinctive_sideband());

  const SidebandExtension defaults;
  target.copy_from(defaults);
  expect_same_fields(target, defaults);
}

TEST(SidebandExtension, DeepCopyOfAPayloadClonesTheExtension) {
  std::array<std::uint8_t, 4> data{};
  std::array<std::uint8_t, 4> copy_data{};
  tlm::tlm_generic_payload original;
  original.set_data_ptr(data.data());
  original.set_data_length(4);
  auto* sideband = new SidebandExtension(distinctive_sideband());
  original.set_extension(sideband);  // owned by `original` (no memory manager)

  tlm::tlm_generic_payload copy;
  copy.set_data_ptr(copy_data.data());
  copy.deep_copy_from(original);
  auto* copied = copy.get_extension<SidebandExtension>();
  ASSERT_NE(copied, nullptr);
  EXPECT_NE(copied, sideband);
  expect_same_fields(*copied, distinctive_sideband());

  // Updating the original later must not change the copy's independent object.
  sideband->stream_id = 7;
  EXPECT_EQ(copied->stream_id, 0x1234'5678u);
}

TEST(SidebandExtension, AtsTypesHaveStableNames) {
  EXPECT_EQ(std::string(to_string(AtsType::Untranslated)), "untranslated");
  EXPECT_EQ(std::string(to_string(AtsType::TranslationRequest)), "translation-request");
  EXPECT_EQ(std::string(to_string(AtsType::Translated)), "translated");
}

// An initiator that tags its transactions, bound to a target that knows nothing
// of the extension.
class TaggingInitiator : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<TaggingInitiator> socket;
  explicit TaggingInitiator(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), socket("socket") {}
};

TEST(SidebandExtension, IsIgnoredByATargetThatDoesNotKnowIt) {
  memory::SparseMemory memory("memory");
  TaggingInitiator initiator("initiator");
  initiator.socket.bind(memory.socket);
  const SidebandExtension* seen_by_target = nullptr;
  memory.set_access_observer([&seen_by_target](const tlm::tlm_generic_payload& trans) {
    seen_by_target = trans.get_extension<SidebandExtension>();
  });
  sc_core::sc_start(sc_core::SC_ZERO_TIME);

  std::array<std::uint8_t, 8> data = {1, 2, 3, 4, 5, 6, 7, 8};
  tlm::tlm_generic_payload trans;
  SidebandExtension sideband = distinctive_sideband();
  trans.set_extension(&sideband);
  trans.set_command(tlm::TLM_WRITE_COMMAND);
  trans.set_address(0x4000);
  trans.set_data_ptr(data.data());
  trans.set_data_length(8);
  trans.set_streaming_width(8);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  initiator.socket->b_transport(trans, delay);

  EXPECT_EQ(trans.get_response_status(), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(memory.read64(0x4000), 0x0807'0605'0403'0201u);
  // The extension travelled with the payload and came back untouched.
  EXPECT_EQ(seen_by_target, &sideband);
  EXPECT_EQ(trans.get_extension<SidebandExtension>(), &sideband);
  expect_same_fields(sideband, distinctive_sideband());
  trans.clear_extension(&sideband);  // stack-owned: keep the payload from freeing it
}

}  // namespace
}  // namespace smmuv3tlm::tlm_ext
