#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/tests/unit/programming_interface_harness.h"

namespace smmuv3tlm::smmu {
namespace {

using test::everything_capabilities;
using test::make_command;
using test::make_sync;
using test::ProgrammingInterfaceHarness;
using Harness = ProgrammingInterfaceHarness;
namespace cr0 = reg::cr0;
namespace gerror = reg::gerror;

Capabilities qemu_virt() { return *Capabilities::preset("qemu-virt"); }

ProgrammingInterfaceConfig deferred() {
  ProgrammingInterfaceConfig config;
  config.defer_acks = true;
  return config;
}

EventRecord sample_event(std::uint32_t stream_id) {
  EventRecord r;
  r.id = EventId::F_TRANSLATION;
  r.stream_id = stream_id;
  r.input_addr = 0x1000u * stream_id;
  r.rnw = true;
  return r;
}

std::array<std::uint64_t, 4> event_in_memory(Harness& h, std::uint32_t index) {
  std::array<std::uint64_t, 4> words{};
  for (std::uint32_t i = 0; i < 4; ++i)
    words[i] = h.memory.peek64(Harness::kEventqBase + index * 32 + i * 8);
  return words;
}

// ---- Identification and reset --------------------------------------------------------

TEST(ProgrammingInterfaceRegisters, IdRegistersComeFromCapabilities) {
  const Capabilities caps = *Capabilities::preset("mmu-700");
  Harness h(caps);
  EXPECT_EQ(h.read32(reg::IDR0), caps.idr0());
  EXPECT_EQ(h.read32(reg::IDR1), caps.idr1());
  EXPECT_EQ(h.read32(reg::IDR2), caps.idr2());
  EXPECT_EQ(h.read32(reg::IDR3), caps.idr3());
  EXPECT_EQ(h.read32(reg::IDR4), caps.idr4());
  EXPECT_EQ(h.read32(reg::IDR5), caps.idr5());
  EXPECT_EQ(h.read32(reg::IIDR), caps.iidr);
  EXPECT_EQ(h.read32(reg::AIDR), caps.aidr());
  // Read-only: writes are ignored.
  for (std::uint64_t offset : {reg::IDR0, reg::IDR1, reg::IDR5, reg::IIDR, reg::AIDR, reg::CR0ACK,
                               reg::STATUSR, reg::IRQ_CTRLACK, reg::GERROR}) {
    const std::uint32_t before = h.read32(offset);
    h.write32(offset, 0xFFFF'FFFFu);
    EXPECT_EQ(h.read32(offset), before) << register_name(offset);
  }
  EXPECT_TRUE(h.diagnostics.empty());
}

TEST(ProgrammingInterfaceRegisters, ResetValues) {
  Harness h;
  EXPECT_EQ(h.read32(reg::CR0), 0u);
  EXPECT_EQ(h.read32(reg::CR0ACK), 0u);
  EXPECT_EQ(h.read32(reg::CR1), 0u);
  EXPECT_EQ(h.read32(reg::CR2), 0u);
  EXPECT_EQ(h.read32(reg::GBPA), 0x1000u);  // SHCFG = use incoming
  EXPECT_EQ(h.read32(reg::IRQ_CTRL), 0u);
  EXPECT_EQ(h.read32(reg::GERROR), 0u);
  EXPECT_EQ(h.read32(reg::GERRORN), 0u);
  EXPECT_EQ(h.read32(reg::STATUSR), 0u);
  EXPECT_FALSE(h.pi->smmu_enabled());

  ProgrammingInterfaceConfig abort_config;
  abort_config.gbpa_abort_at_reset = true;
  Harness aborting(Capabilities{}, abort_config);
  EXPECT_EQ(aborting.read32(reg::GBPA), 0x1000u | reg::gbpa::ABORT);
  EXPECT_EQ(aborting.pi->gbpa(), 0x1000u | reg::gbpa::ABORT);
}

TEST(ProgrammingInterfaceRegisters, ResetRestoresEverythingAndDropsLines) {
  Harness h;
  h.setup_command_queue(4);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.enable(cr0::CMDQEN | cr0::SMMUEN);
  h.post({0x00, 0});  // illegal: raises CMDQ_ERR and the GERROR line
  ASSERT_TRUE(h.pi->irq_level(IrqLine::GlobalError));
  h.pi->reset();
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
  EXPECT_EQ(h.count_irq(IrqLine::GlobalError, false), 1u);
  EXPECT_EQ(h.read32(reg::CR0ACK), 0u);
  EXPECT_EQ(h.read32(reg::GERROR), 0u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 0u);
  EXPECT_EQ(h.read64(reg::CMDQ_BASE), 0u);
  EXPECT_EQ(h.pi->statistics().commands_illegal, 1u);  // statistics survive reset
}

// ---- CR0 / GBPA / IRQ_CTRL and their acknowledgement ---------------------------------------

TEST(ProgrammingInterfaceRegisters, Cr0IsAcknowledgedImmediatelyByDefault) {
  Harness h;  // no PRI, no ATS, no VMW
  h.write32(reg::CR0, 0xFFFF'FFFFu);
  const std::uint32_t expected = cr0::SMMUEN | cr0::EVENTQEN | cr0::CMDQEN;
  EXPECT_EQ(h.read32(reg::CR0), expected);
  EXPECT_EQ(h.read32(reg::CR0ACK), expected);
  EXPECT_TRUE(h.pi->smmu_enabled());
  EXPECT_FALSE(h.pi->has_pending_acks());

  Harness all(everything_capabilities());
  all.write32(reg::CR0, cr0::PRIQEN | cr0::ATSCHK | cr0::SMMUEN);
  EXPECT_EQ(all.read32(reg::CR0ACK), cr0::PRIQEN | cr0::ATSCHK | cr0::SMMUEN);
}

TEST(ProgrammingInterfaceRegisters, DeferredAcknowledgement) {
  Harness h(Capabilities{}, deferred());
  h.write32(reg::CR0, cr0::SMMUEN);
  EXPECT_EQ(h.read32(reg::CR0), cr0::SMMUEN);
  EXPECT_EQ(h.read32(reg::CR0ACK), 0u);
  EXPECT_FALSE(h.pi->smmu_enabled());
  EXPECT_TRUE(h.pi->has_pending_acks());

  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::EVENTQ_IRQEN);
  EXPECT_EQ(h.read32(reg::IRQ_CTRL), reg::irq_ctrl::EVENTQ_IRQEN);
  EXPECT_EQ(h.read32(reg::IRQ_CTRLACK), 0u);

  h.write32(reg::GBPA, reg::gbpa::UPDATE | reg::gbpa::ABORT);
  EXPECT_EQ(h.read32(reg::GBPA), reg::gbpa::UPDATE | reg::gbpa::ABORT);  // UPDATE stays 1
  EXPECT_EQ(h.pi->gbpa(), 0x1000u);                                      // not yet applied

  const unsigned changes_before = h.control_changes;
  h.pi->complete_pending_acks();
  EXPECT_FALSE(h.pi->has_pending_acks());
  EXPECT_EQ(h.read32(reg::CR0ACK), cr0::SMMUEN);
  EXPECT_TRUE(h.pi->smmu_enabled());
  EXPECT_EQ(h.read32(reg::IRQ_CTRLACK), reg::irq_ctrl::EVENTQ_IRQEN);
  EXPECT_EQ(h.read32(reg::GBPA), reg::gbpa::ABORT);  // UPDATE cleared: complete
  EXPECT_EQ(h.pi->gbpa(), reg::gbpa::ABORT);
  EXPECT_GT(h.control_changes, changes_before);
}

TEST(ProgrammingInterfaceRegisters, DeferredCommandQueueEnableStartsOnAcknowledge) {
  Harness h(Capabilities{}, deferred());
  h.setup_command_queue(3);
  h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
  h.publish();
  h.write32(reg::CR0, cr0::CMDQEN);
  EXPECT_TRUE(h.caches.executed.empty());
  h.pi->complete_pending_acks();
  ASSERT_EQ(h.caches.executed.size(), 1u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 1u);
}

TEST(ProgrammingInterfaceRegisters, GbpaUpdateProtocol) {
  Harness h;
  h.write32(reg::GBPA, reg::gbpa::ABORT);  // no UPDATE: ignored
  EXPECT_EQ(h.read32(reg::GBPA), 0x1000u);
  EXPECT_TRUE(h.any_diagnostic_contains("without UPDATE"));
  h.write32(reg::GBPA, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::GBPA), reg::gbpa::kAttributeBits);  // applied, UPDATE reads 0
  EXPECT_EQ(h.pi->gbpa(), reg::gbpa::kAttributeBits);

  Harness d(Capabilities{}, deferred());
  d.write32(reg::GBPA, reg::gbpa::UPDATE | reg::gbpa::ABORT);
  d.write32(reg::GBPA, reg::gbpa::UPDATE);  // while UPDATE == 1: CONSTRAINED UNPREDICTABLE
  EXPECT_TRUE(d.any_diagnostic_contains("GBPA.UPDATE == 1"));
  d.pi->complete_pending_acks();
  EXPECT_EQ(d.pi->gbpa(), reg::gbpa::ABORT);  // the second write had no effect
}

TEST(ProgrammingInterfaceRegisters, IrqCtrlMasksUnimplementedEnables) {
  Harness h;  // no PRI
  h.write32(reg::IRQ_CTRL, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::IRQ_CTRLACK), reg::irq_ctrl::GERROR_IRQEN | reg::irq_ctrl::EVENTQ_IRQEN);
}

TEST(ProgrammingInterfaceRegisters, Cr1Cr2FieldsAndConstrainedUnpredictableWrites) {
  Harness h;  // HYP = 0, BTM = 0: only RECINVSID is writable in CR2
  h.write32(reg::CR1, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::CR1), 0xFFFu);
  EXPECT_EQ(h.pi->cr1(), 0xFFFu);
  h.write32(reg::CR2, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::CR2), reg::cr2::RECINVSID);

  Harness hyp(*Capabilities::preset("mmu-600"));
  hyp.write32(reg::CR2, reg::cr2::E2H | reg::cr2::RECINVSID | reg::cr2::PTM);
  EXPECT_EQ(hyp.read32(reg::CR2), reg::cr2::E2H | reg::cr2::RECINVSID);  // PTM needs BTM

  h.enable(cr0::CMDQEN);  // a queue enabled: CR1 is frozen, CR2 is not
  h.write32(reg::CR1, 0);
  EXPECT_EQ(h.read32(reg::CR1), 0xFFFu);
  EXPECT_TRUE(h.any_diagnostic_contains("CR1"));
  h.write32(reg::CR2, 0);
  EXPECT_EQ(h.read32(reg::CR2), 0u);
  h.enable(cr0::SMMUEN);
  h.write32(reg::CR2, reg::cr2::RECINVSID);
  EXPECT_EQ(h.read32(reg::CR2), 0u);
  EXPECT_EQ(h.pi->statistics().constrained_unpredictable_writes, 2u);
}

TEST(ProgrammingInterfaceRegisters, StreamTableBaseWhileEnabledIsIgnored) {
  Harness h;
  h.write64(reg::STRTAB_BASE, 0xFFFF'FFFF'FFFF'FFFFull);
  EXPECT_EQ(h.read64(reg::STRTAB_BASE), reg::strtab_base::RA | reg::strtab_base::ADDR.mask());
  h.write64(reg::STRTAB_BASE, 0x8000'0000ull | reg::strtab_base::RA);
  h.write32(reg::STRTAB_BASE_CFG, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::STRTAB_BASE_CFG), reg::strtab_base_cfg::kDefinedBits);
  h.write32(reg::STRTAB_BASE_CFG, (1u << 16) | (8u << 6) | 16u);
  EXPECT_EQ(h.pi->strtab_base(), 0x8000'0000ull | reg::strtab_base::RA);
  EXPECT_EQ(h.pi->strtab_base_cfg(), (1u << 16) | (8u << 6) | 16u);
  EXPECT_TRUE(h.diagnostics.empty());

  h.enable(cr0::SMMUEN);
  h.write64(reg::STRTAB_BASE, 0x9000'0000ull);
  h.write32(reg::STRTAB_BASE + 4, 0x1);
  h.write32(reg::STRTAB_BASE_CFG, 0);
  EXPECT_EQ(h.pi->strtab_base(), 0x8000'0000ull | reg::strtab_base::RA);
  EXPECT_EQ(h.pi->strtab_base_cfg(), (1u << 16) | (8u << 6) | 16u);
  ASSERT_EQ(h.diagnostics.size(), 3u);
  for (const auto& [severity, message] : h.diagnostics) {
    EXPECT_EQ(severity, Severity::Warning);
    EXPECT_NE(message.find("CONSTRAINED UNPREDICTABLE"), std::string::npos);
    EXPECT_NE(message.find("STRTAB_BASE"), std::string::npos);
    EXPECT_NE(message.find("SMMUEN"), std::string::npos);
  }
}

TEST(ProgrammingInterfaceRegisters, ConstrainedUnpredictableSeverityIsConfigurable) {
  ProgrammingInterfaceConfig config;
  config.constrained_unpredictable_severity = Severity::Error;
  Harness h(Capabilities{}, config);
  h.enable(cr0::SMMUEN);
  h.write32(reg::STRTAB_BASE_CFG, 5);
  ASSERT_EQ(h.diagnostics.size(), 1u);
  EXPECT_EQ(h.diagnostics[0].first, Severity::Error);
}

TEST(ProgrammingInterfaceRegisters, SixtyFourBitRegistersTakeHalves) {
  Harness h;
  h.write32(reg::CMDQ_BASE, 0x1234'5678u);
  h.write32(reg::CMDQ_BASE + 4, 0x4000'ABCDu);
  EXPECT_EQ(h.read64(reg::CMDQ_BASE), (0x4000'ABCDull << 32 | 0x1234'5678ull) &
                                          (reg::queue_base::RA_WA | reg::queue_base::ADDR.mask() |
                                           reg::queue_base::LOG2SIZE.mask()));
  EXPECT_EQ(h.read32(reg::CMDQ_BASE), 0x1234'5678u);
  EXPECT_EQ(h.read32(reg::CMDQ_BASE + 4), 0x4000'ABCDu & 0x400F'FFFFu);
  h.write64(reg::EVENTQ_BASE, 0x0000'1234'5678'9A00ull | 7);
  EXPECT_EQ(h.read32(reg::EVENTQ_BASE), 0x5678'9A07u);
  EXPECT_EQ(h.read32(reg::EVENTQ_BASE + 4), 0x1234u);
  h.write64(reg::GERROR_IRQ_CFG0, 0xFFFF'FFFF'FFFF'FFFFull);
  EXPECT_EQ(h.read64(reg::GERROR_IRQ_CFG0), reg::irq_cfg::ADDR.mask());
}

TEST(ProgrammingInterfaceRegisters, ReservedOffsetsReadZeroAndIgnoreWrites) {
  Harness h(qemu_virt());  // no MSI, no PRI: those registers are RES0 too
  for (std::uint64_t offset :
       {std::uint64_t{0x30}, std::uint64_t{0x48}, std::uint64_t{0xA8}, std::uint64_t{0xAC},
        reg::GATOS_CTRL, std::uint64_t{0xFD0}, std::uint64_t{0x8000}, std::uint64_t{0x8020},
        reg::kPage1, reg::kPage1 + 0x20, std::uint64_t{0x1FFFC}, reg::GERROR_IRQ_CFG0,
        reg::GERROR_IRQ_CFG1, reg::EVENTQ_IRQ_CFG2, reg::PRIQ_BASE, reg::PRIQ_PROD, reg::PRIQ_CONS,
        reg::PRIQ_IRQ_CFG1}) {
    h.write32(offset, 0xFFFF'FFFFu);
    EXPECT_EQ(h.read32(offset), 0u) << std::hex << offset;
  }
  EXPECT_EQ(h.read64(std::uint64_t{0x30}), 0u);
  h.write64(std::uint64_t{0x8000}, ~0ull);
  EXPECT_TRUE(h.diagnostics.empty());
  EXPECT_EQ(h.pi->statistics().bad_accesses, 0u);
}

TEST(ProgrammingInterfaceRegisters, BadAccessesAreDiagnosed) {
  Harness h;
  EXPECT_EQ(h.pi->read(reg::CR0, 2), 0u);
  EXPECT_EQ(h.pi->read(reg::CR0 + 1, 4), 0u);
  EXPECT_EQ(h.pi->read(reg::kRegisterSpaceBytes, 4), 0u);
  h.write32(reg::CR0, cr0::SMMUEN);
  EXPECT_EQ(h.pi->read(reg::CR0, 8), 0u);  // 64-bit access to CR0/CR0ACK
  h.pi->write(reg::CR0, 0, 8);
  EXPECT_TRUE(h.pi->smmu_enabled());      // ignored
  h.pi->write(reg::CMDQ_BASE + 4, 0, 8);  // misaligned 64-bit
  EXPECT_EQ(h.pi->statistics().bad_accesses, 6u);
  EXPECT_EQ(h.diagnostics.size(), 6u);
  EXPECT_TRUE(h.any_diagnostic_contains("32-bit register CR0"));
}

TEST(ProgrammingInterfaceRegisters, QueueRegistersOwnedByTheSmmuWhileEnabled) {
  Harness h;
  h.setup_command_queue(4);
  h.setup_event_queue(4);
  h.enable(cr0::CMDQEN | cr0::EVENTQEN);
  h.write64(reg::CMDQ_BASE, 0x5000'0000ull | 2);
  h.write32(reg::CMDQ_CONS, 3);
  h.write64(reg::EVENTQ_BASE, 0x5000'0000ull | 2);
  h.write32(reg::EVENTQ_PROD, 3);
  EXPECT_EQ(h.read64(reg::CMDQ_BASE), Harness::kCmdqBase | 4);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 0u);
  EXPECT_EQ(h.read64(reg::EVENTQ_BASE), Harness::kEventqBase | 4);
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 0u);
  EXPECT_EQ(h.pi->statistics().constrained_unpredictable_writes, 4u);
  EXPECT_TRUE(h.any_diagnostic_contains("CMDQ_BASE"));
  EXPECT_TRUE(h.any_diagnostic_contains("CMDQ_CONS"));
  EXPECT_TRUE(h.any_diagnostic_contains("EVENTQ_BASE"));
  EXPECT_TRUE(h.any_diagnostic_contains("EVENTQ_PROD"));
  // Software's own pointers stay writable.
  h.write32(reg::EVENTQ_CONS, 0);
  h.write32(reg::CMDQ_PROD, 0);
  EXPECT_EQ(h.pi->statistics().constrained_unpredictable_writes, 4u);
}

TEST(ProgrammingInterfaceRegisters, MsiConfigurationFrozenWhileItsInterruptIsEnabled) {
  Harness h;
  h.write64(reg::EVENTQ_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::EVENTQ_IRQ_CFG1, 0x55);
  h.write32(reg::EVENTQ_IRQ_CFG2, 0xFF);
  EXPECT_EQ(h.read32(reg::EVENTQ_IRQ_CFG2), 0x3Fu);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::EVENTQ_IRQEN);
  h.write64(reg::EVENTQ_IRQ_CFG0, 0);
  h.write32(reg::EVENTQ_IRQ_CFG1, 0);
  h.write64(reg::GERROR_IRQ_CFG0, Harness::kMsiDoorbell);  // GERROR interrupt disabled: allowed
  EXPECT_EQ(h.read64(reg::EVENTQ_IRQ_CFG0), Harness::kMsiDoorbell);
  EXPECT_EQ(h.read32(reg::EVENTQ_IRQ_CFG1), 0x55u);
  EXPECT_EQ(h.read64(reg::GERROR_IRQ_CFG0), Harness::kMsiDoorbell);
  EXPECT_EQ(h.pi->statistics().constrained_unpredictable_writes, 2u);
}

TEST(ProgrammingInterfaceRegisters, EveryWritableRegisterReadsBackItsFields) {
  namespace qp = reg::queue_pointer;
  struct Case {
    std::uint64_t offset;
    unsigned bytes;
    std::uint64_t expected_after_all_ones;  // only the implemented fields survive
  };
  const std::uint64_t queue_base =
      reg::queue_base::RA_WA | reg::queue_base::ADDR.mask() | reg::queue_base::LOG2SIZE.mask();
  const std::uint64_t msi_address = reg::irq_cfg::ADDR.mask();
  const Case cases[] = {
      {reg::CR1, 4, 0xFFF},
      {reg::CR2, 4, reg::cr2::E2H | reg::cr2::RECINVSID},  // HYP advertised, BTM not
      {reg::IRQ_CTRL, 4, 0x7},
      {reg::GERROR_IRQ_CFG0, 8, msi_address},
      {reg::GERROR_IRQ_CFG1, 4, 0xFFFF'FFFF},
      {reg::GERROR_IRQ_CFG2, 4, 0x3F},
      {reg::STRTAB_BASE, 8, reg::strtab_base::RA | reg::strtab_base::ADDR.mask()},
      {reg::STRTAB_BASE_CFG, 4, reg::strtab_base_cfg::kDefinedBits},
      {reg::CMDQ_BASE, 8, queue_base},
      {reg::CMDQ_CONS, 4, 0xF'FFFF},
      {reg::EVENTQ_BASE, 8, queue_base},
      {reg::EVENTQ_PROD, 4, 0xF'FFFF | qp::OVFLG},
      {reg::EVENTQ_CONS, 4, 0xF'FFFF | qp::OVACKFLG},
      {reg::EVENTQ_IRQ_CFG0, 8, msi_address},
      {reg::EVENTQ_IRQ_CFG1, 4, 0xFFFF'FFFF},
      {reg::EVENTQ_IRQ_CFG2, 4, 0x3F},
      {reg::PRIQ_BASE, 8, queue_base},
      {reg::PRIQ_PROD, 4, 0xF'FFFF | qp::OVFLG},
      {reg::PRIQ_CONS, 4, 0xF'FFFF | qp::OVACKFLG},
      {reg::PRIQ_IRQ_CFG0, 8, msi_address},
      {reg::PRIQ_IRQ_CFG1, 4, 0xFFFF'FFFF},
      {reg::PRIQ_IRQ_CFG2, 4, 0x3F},
  };
  for (const Case& c : cases) {
    Harness h(everything_capabilities());
    h.pi->write(c.offset, ~std::uint64_t{0}, c.bytes);
    EXPECT_EQ(h.pi->read(c.offset, c.bytes), c.expected_after_all_ones) << register_name(c.offset);
    h.pi->write(c.offset, 0, c.bytes);
    EXPECT_EQ(h.pi->read(c.offset, c.bytes), 0u) << register_name(c.offset);
    EXPECT_TRUE(h.diagnostics.empty()) << register_name(c.offset);
  }
  // CMDQ_PROD (a write also runs the queue, which is disabled here).
  Harness h(everything_capabilities());
  h.write32(reg::CMDQ_PROD, 0xFFFF'FFFFu);
  EXPECT_EQ(h.read32(reg::CMDQ_PROD), 0xF'FFFFu);
}

TEST(ProgrammingInterfaceRegisters, PriQueueRegistersWhenPriIsAdvertised) {
  Harness h(everything_capabilities());
  h.write64(reg::PRIQ_BASE, Harness::kPriqBase | 5);
  h.write32(reg::PRIQ_PROD, 3);
  h.write32(reg::PRIQ_CONS, 1u | reg::queue_pointer::OVACKFLG);
  h.write64(reg::PRIQ_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::PRIQ_IRQ_CFG1, 9);
  EXPECT_EQ(h.read64(reg::PRIQ_BASE), Harness::kPriqBase | 5);
  EXPECT_EQ(h.read32(reg::PRIQ_PROD), 3u);
  EXPECT_EQ(h.read32(reg::PRIQ_CONS), 1u | reg::queue_pointer::OVACKFLG);
  EXPECT_EQ(h.read64(reg::PRIQ_IRQ_CFG0), Harness::kMsiDoorbell);
  EXPECT_EQ(h.read32(reg::PRIQ_IRQ_CFG1), 9u);
  h.enable(cr0::PRIQEN);
  EXPECT_EQ(h.read32(reg::CR0ACK), cr0::PRIQEN);
  h.write32(reg::PRIQ_PROD, 0);  // SMMU-owned while enabled
  EXPECT_EQ(h.read32(reg::PRIQ_PROD), 3u);
}

TEST(ProgrammingInterfaceRegisters, PriQueueWiredInterruptFollowsQueueState) {
  Harness h(everything_capabilities());
  h.write64(reg::PRIQ_BASE, Harness::kPriqBase | 3);
  h.write32(reg::PRIQ_PROD, 2);  // as if two requests were queued before enabling
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::PRIQ_IRQEN);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::PriQueue));
  h.enable(cr0::PRIQEN);
  EXPECT_TRUE(h.pi->irq_level(IrqLine::PriQueue));
  h.write32(reg::PRIQ_CONS, 2);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::PriQueue));
}

TEST(ProgrammingInterfaceRegisters, TranslationControlAccessorsAndChangeNotification) {
  Harness h;
  const unsigned before = h.control_changes;
  h.write64(reg::STRTAB_BASE, 0x1000'0000);
  h.write32(reg::STRTAB_BASE_CFG, 10);
  h.write32(reg::CR1, 0x5);
  h.write32(reg::CR2, reg::cr2::RECINVSID);
  h.write32(reg::GBPA, reg::gbpa::UPDATE | reg::gbpa::ABORT);
  h.enable(cr0::SMMUEN);
  EXPECT_EQ(h.control_changes - before, 6u);
  EXPECT_TRUE(h.pi->smmu_enabled());
  EXPECT_EQ(h.pi->strtab_base(), 0x1000'0000u);
  EXPECT_EQ(h.pi->strtab_base_cfg(), 10u);
  EXPECT_EQ(h.pi->cr1(), 0x5u);
  EXPECT_EQ(h.pi->cr2(), reg::cr2::RECINVSID);
  EXPECT_EQ(h.pi->gbpa(), reg::gbpa::ABORT);
  EXPECT_EQ(h.pi->cr0ack(), cr0::SMMUEN);
  EXPECT_EQ(h.pi->capabilities(), Capabilities{});
}

// ---- Command queue -----------------------------------------------------------------

TEST(ProgrammingInterfaceCommandQueue, ExecutesInOrderAcrossWraps) {
  Harness h;
  h.setup_command_queue(2);  // 4 entries
  h.enable(cr0::CMDQEN);
  std::uint32_t next_sid = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) {
      Command c = make_command(CommandOpcode::CFGI_STE);
      c.stream_id = next_sid++;
      h.stage(c);
    }
    h.publish();
    EXPECT_EQ(h.read32(reg::CMDQ_CONS), h.software_prod) << "round " << round;
  }
  ASSERT_EQ(h.caches.executed.size(), 15u);
  for (std::uint32_t i = 0; i < 15; ++i) EXPECT_EQ(h.caches.executed[i].stream_id, i);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 15u & 7u);  // wrap bit 2, index 1:0
  EXPECT_EQ(h.pi->statistics().commands_by_opcode.at(CommandOpcode::CFGI_STE), 15u);
  EXPECT_EQ(h.memory.count(AccessPurpose::CommandQueue, false), 15u);
  for (const auto& access : h.memory.accesses()) {
    EXPECT_GE(access.pa, Harness::kCmdqBase);
    EXPECT_LT(access.pa, Harness::kCmdqBase + 4 * 16);
  }
}

TEST(ProgrammingInterfaceCommandQueue, FullQueueIsConsumed) {
  Harness h;
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  // Fill all 8 entries: PROD = wrap 1, index 0.
  for (int i = 0; i < 8; ++i) h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
  EXPECT_EQ(h.software_prod, 8u);
  h.publish();
  EXPECT_EQ(h.caches.executed.size(), 8u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 8u);
}

// Found by the robustness issue: a PROD more than a queue length ahead of
// CONS re-executed slots. It is an incoherent state (IHI 0070 §3.5.1); the model
// consumes nothing, says so, and resumes once PROD is coherent again.
TEST(ProgrammingInterfaceCommandQueue, ProdMoreThanAQueueAheadIsDiagnosedAndConsumesNothing) {
  Harness h;
  h.setup_command_queue(2);  // 4 entries: pointers are wrap bit 2 and index 1:0
  h.enable(cr0::CMDQEN);
  for (int i = 0; i < 4; ++i) h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
  h.diagnostics.clear();
  h.write32(reg::CMDQ_PROD, 5);  // wrap 1, index 1: five ahead of CONS 0
  EXPECT_TRUE(h.caches.executed.empty());
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 0u);
  EXPECT_EQ(h.read32(reg::CMDQ_PROD), 5u);  // the register holds what was written
  ASSERT_EQ(h.diagnostics.size(), 1u);
  EXPECT_NE(h.diagnostics[0].second.find("CMDQ_PROD 0x5 is more than the queue's 4 entries ahead"),
            std::string::npos)
      << h.diagnostics[0].second;
  EXPECT_EQ(h.pi->statistics().constrained_unpredictable_writes, 1u);
  h.write32(reg::CMDQ_PROD, 4);  // full: coherent, so the four commands run once each
  EXPECT_EQ(h.caches.executed.size(), 4u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 4u);
}

TEST(ProgrammingInterfaceCommandQueue, NothingRunsUntilEnabled) {
  Harness h;
  h.setup_command_queue(4);
  h.post(make_command(CommandOpcode::TLBI_NH_ALL));
  EXPECT_TRUE(h.caches.executed.empty());
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 0u);
  h.enable(cr0::CMDQEN);
  EXPECT_EQ(h.caches.executed.size(), 1u);
  h.disable(cr0::CMDQEN);
  h.post(make_command(CommandOpcode::TLBI_NH_ALL));
  EXPECT_EQ(h.caches.executed.size(), 1u);
}

TEST(ProgrammingInterfaceCommandQueue, Log2SizeAboveMaximumBehavesAsMaximum) {
  Capabilities caps;
  caps.cmdq_log2 = 2;
  Harness h(caps);
  h.write64(reg::CMDQ_BASE, Harness::kCmdqBase | 10);
  h.cmdq_log2 = 2;
  h.enable(cr0::CMDQEN);
  for (int i = 0; i < 6; ++i) h.post(make_command(CommandOpcode::TLBI_NSNH_ALL));
  EXPECT_EQ(h.caches.executed.size(), 6u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 6u);  // wraps at 4 entries
}

TEST(ProgrammingInterfaceCommandQueue, EveryMaintenanceCommandReachesTheCaches) {
  Harness h(everything_capabilities());
  h.setup_command_queue(6);
  h.enable(cr0::CMDQEN);
  std::vector<CommandOpcode> expected;
  for (CommandOpcode op : kAllCommandOpcodes) {
    if (op == CommandOpcode::TLBI_EL3_ALL || op == CommandOpcode::TLBI_EL3_VA) continue;
    Command c = make_command(op);
    if (op == CommandOpcode::CMD_SYNC) c.sync_signal = SyncSignal::None;
    h.stage(c);
    const bool completes_locally = op == CommandOpcode::CMD_SYNC || op == CommandOpcode::PRI_RESP ||
                                   op == CommandOpcode::RESUME || op == CommandOpcode::STALL_TERM;
    if (!completes_locally) expected.push_back(op);
  }
  h.publish();
  EXPECT_FALSE(h.cmdq_error_active());
  ASSERT_EQ(h.caches.executed.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(h.caches.executed[i].opcode, expected[i]);
  EXPECT_EQ(h.pi->statistics().commands_executed, kAllCommandOpcodes.size() - 2);
}

TEST(ProgrammingInterfaceCommandQueue, SyncWithWiredInterrupt) {
  Harness h(qemu_virt());  // no MSI: CS = SIG_IRQ uses the wired line
  h.setup_command_queue(4);
  h.enable(cr0::CMDQEN);
  h.post(make_sync(SyncSignal::Irq, Harness::kMsiDoorbell, 7));
  ASSERT_EQ(h.irq_changes.size(), 2u);
  EXPECT_EQ(h.irq_changes[0], std::make_pair(IrqLine::CommandSync, true));
  EXPECT_EQ(h.irq_changes[1], std::make_pair(IrqLine::CommandSync, false));
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi), 0u);
  EXPECT_EQ(h.pi->statistics().sync_wired_irqs, 1u);

  Harness msi_capable;  // MSI advertised but MSIAddress == 0: wired
  msi_capable.setup_command_queue(4);
  msi_capable.enable(cr0::CMDQEN);
  msi_capable.post(make_sync(SyncSignal::Irq, 0, 7));
  EXPECT_EQ(msi_capable.count_irq(IrqLine::CommandSync, true), 1u);
  EXPECT_EQ(msi_capable.memory.count(AccessPurpose::Msi), 0u);
}

TEST(ProgrammingInterfaceCommandQueue, SyncWithMsiWritesTheData) {
  Harness h;
  h.setup_command_queue(4);
  h.enable(cr0::CMDQEN);
  h.memory.poke32(Harness::kMsiDoorbell, 0xFFFF'FFFFu);
  h.post(make_sync(SyncSignal::Irq, Harness::kMsiDoorbell, 0x0));
  EXPECT_EQ(h.memory.peek32(Harness::kMsiDoorbell), 0u);
  h.post(make_sync(SyncSignal::Irq, Harness::kMsiDoorbell + 8, 0xC0FFEEu));
  EXPECT_EQ(h.memory.peek32(Harness::kMsiDoorbell + 8), 0xC0FFEEu);
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi, true), 2u);
  EXPECT_EQ(h.count_irq(IrqLine::CommandSync, true), 0u);
  EXPECT_EQ(h.pi->statistics().sync_msis, 2u);
  EXPECT_EQ(h.pi->statistics().syncs, 2u);
}

TEST(ProgrammingInterfaceCommandQueue, LinuxMsiPollingOnTheSyncEntry) {
  // Linux points MSIAddress at the CMD_SYNC's own queue slot with MSIData 0 and
  // polls for the first word to become zero.
  Harness h;
  h.setup_command_queue(4);
  h.enable(cr0::CMDQEN);
  const std::uint64_t slot = h.command_slot(h.software_prod);
  h.post(make_sync(SyncSignal::Irq, slot, 0));
  EXPECT_EQ(h.memory.peek32(slot), 0u);
}

TEST(ProgrammingInterfaceCommandQueue, SyncMsiAbortRaisesMsiCmdqAbtErr) {
  Harness h;
  h.setup_command_queue(4);
  h.enable(cr0::CMDQEN);
  h.memory.add_abort_range(Harness::kMsiDoorbell, 4);
  h.post(make_sync(SyncSignal::Irq, Harness::kMsiDoorbell, 1));
  h.post(make_command(CommandOpcode::TLBI_NSNH_ALL));
  EXPECT_EQ(h.pi->active_global_errors(), gerror::MSI_CMDQ_ABT_ERR);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 2u);  // the queue keeps going
  EXPECT_EQ(h.caches.executed.size(), 1u);
  EXPECT_EQ(h.pi->statistics().msi_write_aborts, 1u);
}

TEST(ProgrammingInterfaceCommandQueue, SyncWithSevCountsEvents) {
  Harness h;  // SEV advertised
  h.setup_command_queue(4);
  h.enable(cr0::CMDQEN);
  h.post(make_sync(SyncSignal::Sev));
  h.post(make_sync(SyncSignal::None));
  EXPECT_EQ(h.pi->statistics().sev_events, 1u);
  EXPECT_EQ(h.pi->statistics().syncs, 2u);

  Harness no_sev(qemu_virt());
  no_sev.setup_command_queue(4);
  no_sev.enable(cr0::CMDQEN);
  no_sev.post(make_sync(SyncSignal::Sev));
  EXPECT_EQ(no_sev.read32(reg::CMDQ_CONS), 1u);
  EXPECT_EQ(no_sev.pi->statistics().sev_events, 0u);
}

struct IllegalQueueCase {
  const char* what;
  std::array<std::uint64_t, 2> words;
  bool use_qemu_virt;
};

class ProgrammingInterfaceIllegalCommand : public ::testing::TestWithParam<IllegalQueueCase> {};

TEST_P(ProgrammingInterfaceIllegalCommand, StopsWithCerrorIllUntilSoftwareSkipsIt) {
  const IllegalQueueCase& p = GetParam();
  Harness h(p.use_qemu_virt ? qemu_virt() : Capabilities{});
  h.setup_command_queue(3);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.enable(cr0::CMDQEN);
  h.post(make_command(CommandOpcode::TLBI_NSNH_ALL));
  ASSERT_EQ(h.read32(reg::CMDQ_CONS), 1u);
  // Each round posts the bad command and two good ones; the third round wraps
  // past the end of the 8-entry queue.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    const std::size_t executed_before = h.caches.executed.size();
    const std::uint32_t bad_slot = h.software_prod;
    h.stage(p.words);
    Command after = make_command(CommandOpcode::CFGI_STE);
    after.stream_id = 100u + static_cast<std::uint32_t>(round);
    h.stage(after);
    h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
    h.publish();

    EXPECT_TRUE(h.cmdq_error_active());
    EXPECT_EQ(h.cmdq_cons_error(), 1u);                   // CERROR_ILL
    EXPECT_EQ(h.read32(reg::CMDQ_CONS) & 0xF, bad_slot);  // CONS points at the bad command
    EXPECT_EQ(h.caches.executed.size(), executed_before);
    EXPECT_TRUE(h.pi->irq_level(IrqLine::GlobalError));

    // More commands posted while the error is active wait.
    h.publish();
    EXPECT_EQ(h.caches.executed.size(), executed_before);

    h.skip_illegal_command_like_linux();
    EXPECT_FALSE(h.cmdq_error_active());
    EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
    EXPECT_EQ(h.cmdq_cons_error(), 0u);
    EXPECT_EQ(h.read32(reg::CMDQ_CONS), h.software_prod);
    ASSERT_EQ(h.caches.executed.size(), executed_before + 2);
    EXPECT_EQ(h.caches.executed[executed_before].stream_id,
              100u + static_cast<std::uint32_t>(round));
  }
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 10u);  // wrap bit set, index 2
  EXPECT_EQ(h.pi->statistics().commands_illegal, 3u);
  EXPECT_TRUE(h.any_diagnostic_contains("CERROR_ILL"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ProgrammingInterfaceIllegalCommand,
    ::testing::Values(IllegalQueueCase{"unknown_opcode", {0x47, 0}, false},
                      IllegalQueueCase{"opcode_zero", {0x00, 0}, false},
                      IllegalQueueCase{"reserved_bits", {0x03 | (1ull << 20), 0}, false},
                      IllegalQueueCase{"reserved_bits_dword1", {0x10, 1}, false},
                      IllegalQueueCase{"ssec", {0x03 | (1ull << 10), 0}, false},
                      IllegalQueueCase{"sync_cs_reserved", {0x46 | (3ull << 12), 0}, false},
                      IllegalQueueCase{"el2_without_hyp", {0x20, 0}, false},
                      IllegalQueueCase{"atc_inv_without_ats", {0x40, 0}, false},
                      IllegalQueueCase{"pri_resp_without_pri", {0x41, 0}, false},
                      IllegalQueueCase{"s2_ipa_without_stage2", {0x2A, 0}, true},
                      IllegalQueueCase{"el3_on_non_secure_queue", {0x18, 0}, false}),
    [](const ::testing::TestParamInfo<IllegalQueueCase>& param_info) {
      return std::string(param_info.param.what);
    });

TEST(ProgrammingInterfaceCommandQueue, RangeInvalidationWithoutRilOnCapabilities) {
  // Range invalidation (TG != 0) is legal with IDR3.RIL and CERROR_ILL without.
  Harness with_ril;
  with_ril.setup_command_queue(3);
  with_ril.enable(cr0::CMDQEN);
  with_ril.post({0x12, 1ull << 10});
  EXPECT_FALSE(with_ril.cmdq_error_active());
  ASSERT_EQ(with_ril.caches.executed.size(), 1u);
  EXPECT_EQ(with_ril.caches.executed[0].tg, 1);

  Capabilities no_ril;
  no_ril.ril = false;
  Harness h(no_ril);
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.post({0x12, 1ull << 10});
  EXPECT_EQ(h.cmdq_cons_error(), 1u);
}

TEST(ProgrammingInterfaceCommandQueue, SixteenBitIdsWithoutAsid16OrVmid16) {
  Capabilities narrow;
  narrow.asid16 = false;
  narrow.vmid16 = false;
  Harness h(narrow);
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.post({0x11 | (0x1FFull << 48), 0});  // TLBI_NH_ASID with a 9-bit ASID
  EXPECT_EQ(h.cmdq_cons_error(), 1u);
  h.skip_illegal_command_like_linux();
  h.post({0x28 | (0x100ull << 32), 0});  // TLBI_S12_VMALL with a 9-bit VMID
  EXPECT_EQ(h.cmdq_cons_error(), 1u);
  h.skip_illegal_command_like_linux();
  h.post({0x11 | (0xFFull << 48) | (0xFFull << 32), 0});
  EXPECT_FALSE(h.cmdq_error_active());
}

TEST(ProgrammingInterfaceCommandQueue, FetchAbortIsCerrorAbtAndRetriedAfterAcknowledge) {
  Harness h;
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.memory.add_abort_range(Harness::kCmdqBase + 16, 16, test_support::MapMemory::AbortOn::Read);
  h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
  h.stage(make_command(CommandOpcode::TLBI_NH_ALL));
  h.publish();
  EXPECT_TRUE(h.cmdq_error_active());
  EXPECT_EQ(h.cmdq_cons_error(), 2u);  // CERROR_ABT
  EXPECT_EQ(h.read32(reg::CMDQ_CONS) & 0xF, 1u);
  EXPECT_EQ(h.caches.executed.size(), 1u);
  EXPECT_EQ(h.pi->statistics().command_fetch_aborts, 1u);

  // Acknowledging while the memory still aborts fails again.
  h.acknowledge_global_errors();
  EXPECT_EQ(h.cmdq_cons_error(), 2u);
  EXPECT_TRUE(h.cmdq_error_active());

  h.memory.clear_abort_ranges();
  h.acknowledge_global_errors();  // Linux: "retrying command fetch"
  EXPECT_FALSE(h.cmdq_error_active());
  EXPECT_EQ(h.caches.executed.size(), 2u);
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 2u);
}

TEST(ProgrammingInterfaceCommandQueue, ErrorHandledFromTheInterruptCallback) {
  // A driver model that services GERROR from inside the interrupt callback:
  // the skip and the GERRORN write re-enter the queue engine, which carries on.
  Harness h;
  h.setup_command_queue(3);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.enable(cr0::CMDQEN);
  int handled = 0;
  h.pi->set_irq_callback([&](IrqLine line, bool level) {
    if (line == IrqLine::GlobalError && level && h.cmdq_error_active()) {
      ++handled;
      h.skip_illegal_command_like_linux();
    }
  });
  h.stage({0x47, 0});
  h.stage(make_command(CommandOpcode::TLBI_NSNH_ALL));
  h.stage({0x00, 0});
  h.stage(make_command(CommandOpcode::TLBI_NH_ALL));
  h.publish();
  EXPECT_EQ(handled, 2);
  EXPECT_FALSE(h.cmdq_error_active());
  EXPECT_EQ(h.read32(reg::CMDQ_CONS), 4u);
  ASSERT_EQ(h.caches.executed.size(), 2u);
  EXPECT_EQ(h.caches.executed[1].opcode, CommandOpcode::TLBI_NH_ALL);
}

// ---- Global errors ------------------------------------------------------------------------

TEST(ProgrammingInterfaceGlobalErrors, ToggleAndAcknowledge) {
  Harness h;
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.post({0x00, 0});
  EXPECT_EQ(h.read32(reg::GERROR), gerror::CMDQ_ERR);
  EXPECT_EQ(h.read32(reg::GERRORN), 0u);
  // Toggling an inactive bit is CONSTRAINED UNPREDICTABLE and ignored.
  h.write32(reg::GERRORN, gerror::EVTQ_ABT_ERR);
  EXPECT_EQ(h.read32(reg::GERRORN), 0u);
  EXPECT_TRUE(h.any_diagnostic_contains("GERRORN"));
  h.skip_illegal_command_like_linux();
  EXPECT_EQ(h.read32(reg::GERRORN), gerror::CMDQ_ERR);
  EXPECT_EQ(h.pi->active_global_errors(), 0u);
  // The next error toggles GERROR back to 0: active again while GERROR != GERRORN.
  h.post({0x00, 0});
  EXPECT_EQ(h.read32(reg::GERROR), 0u);
  EXPECT_EQ(h.pi->active_global_errors(), gerror::CMDQ_ERR);
  h.skip_illegal_command_like_linux();
  EXPECT_EQ(h.read32(reg::GERRORN), 0u);
  EXPECT_EQ(h.pi->active_global_errors(), 0u);
}

TEST(ProgrammingInterfaceGlobalErrors, WiredLineIsALevel) {
  Harness h;
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.post({0x00, 0});
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));  // not enabled
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  EXPECT_TRUE(h.pi->irq_level(IrqLine::GlobalError));
  h.write32(reg::IRQ_CTRL, 0);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.skip_illegal_command_like_linux();
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
  EXPECT_EQ(h.count_irq(IrqLine::GlobalError, true), 2u);
  EXPECT_EQ(h.count_irq(IrqLine::GlobalError, false), 2u);
}

TEST(ProgrammingInterfaceGlobalErrors, MsiInsteadOfWiredLine) {
  Harness h;
  h.setup_command_queue(3);
  h.write64(reg::GERROR_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::GERROR_IRQ_CFG1, 0xABCD);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.enable(cr0::CMDQEN);
  h.post({0x00, 0});
  EXPECT_EQ(h.memory.peek32(Harness::kMsiDoorbell), 0xABCDu);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::GlobalError));
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi, true), 1u);
}

TEST(ProgrammingInterfaceGlobalErrors, FailedGerrorMsiRaisesMsiGerrorAbtErrOnce) {
  Harness h;
  h.setup_command_queue(3);
  h.write64(reg::GERROR_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::GERROR_IRQEN);
  h.memory.add_abort_range(Harness::kMsiDoorbell, 4);
  h.enable(cr0::CMDQEN);
  h.post({0x00, 0});
  EXPECT_EQ(h.pi->active_global_errors(), gerror::CMDQ_ERR | gerror::MSI_GERROR_ABT_ERR);
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi, true), 1u);  // no MSI for MSI_GERROR_ABT_ERR itself
}

// ---- Event queue ----------------------------------------------------------------------------

TEST(ProgrammingInterfaceEventQueue, RecordsInOrderAcrossWraps) {
  Harness h;
  h.setup_event_queue(2);  // 4 entries
  h.enable(cr0::EVENTQEN);
  std::uint32_t cons = 0;
  std::uint32_t next_recorded = 1;
  std::uint32_t next_consumed = 1;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.pi->record_event(sample_event(next_recorded++)));
    const std::uint32_t prod = h.read32(reg::EVENTQ_PROD);
    while (cons != prod) {
      const auto record = EventRecord::decode(event_in_memory(h, cons & 3));
      EXPECT_EQ(record.id, EventId::F_TRANSLATION);
      EXPECT_EQ(record.stream_id, next_consumed++);
      cons = (cons + 1) & 7;
    }
    h.write32(reg::EVENTQ_CONS, cons);
  }
  EXPECT_EQ(next_consumed, 10u);
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 9u & 7u);
  EXPECT_EQ(h.pi->statistics().events_recorded, 9u);
  EXPECT_EQ(h.memory.count(AccessPurpose::EventQueue, true), 9u);
}

TEST(ProgrammingInterfaceEventQueue, RecordBytesMatchEncoding) {
  Harness h;
  h.setup_event_queue(4);
  h.enable(cr0::EVENTQEN);
  EventRecord r = sample_event(0x1234);
  r.id = EventId::F_STE_FETCH;
  r.fetch_addr = 0x8000'1000;
  ASSERT_TRUE(h.pi->record_event(r));
  EXPECT_EQ(event_in_memory(h, 0), r.encode());
}

TEST(ProgrammingInterfaceEventQueue, FullQueueOverflowFlag) {
  namespace qp = reg::queue_pointer;
  Harness h;
  h.setup_event_queue(2);
  h.enable(cr0::EVENTQEN);
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(h.pi->record_event(sample_event(i)));
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 4u);  // wrap 1, index 0: full
  const auto last = event_in_memory(h, 3);

  EXPECT_FALSE(h.pi->record_event(sample_event(99)));
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 4u | qp::OVFLG);  // new overflow: OVFLG toggles
  EXPECT_FALSE(h.pi->record_event(sample_event(100)));
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 4u | qp::OVFLG);  // still outstanding: no toggle
  EXPECT_EQ(event_in_memory(h, 0), EventRecord(sample_event(0)).encode());  // nothing overwritten
  EXPECT_EQ(event_in_memory(h, 3), last);
  EXPECT_EQ(h.pi->statistics().events_lost, 2u);

  // Software consumes everything and acknowledges the overflow (OVACKFLG = OVFLG).
  h.write32(reg::EVENTQ_CONS, 4u | qp::OVACKFLG);
  ASSERT_TRUE(h.pi->record_event(sample_event(5)));
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 5u | qp::OVFLG);  // OVFLG is preserved
  for (std::uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(h.pi->record_event(sample_event(6 + i)));
  EXPECT_FALSE(h.pi->record_event(sample_event(10)));
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 0u);  // a new overflow toggles OVFLG back
  EXPECT_EQ(h.pi->statistics().events_lost, 3u);
}

TEST(ProgrammingInterfaceEventQueue, DisabledQueueDiscards) {
  Harness h;
  h.setup_event_queue(2);
  EXPECT_FALSE(h.pi->record_event(sample_event(1)));
  EXPECT_EQ(h.memory.count(AccessPurpose::EventQueue), 0u);
  EXPECT_EQ(h.pi->statistics().events_discarded, 1u);
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 0u);
}

TEST(ProgrammingInterfaceEventQueue, WriteAbortRaisesEvtqAbtErrUntilAcknowledged) {
  Harness h;
  h.setup_event_queue(2);
  h.enable(cr0::EVENTQEN);
  h.memory.add_abort_range(Harness::kEventqBase, 32);
  EXPECT_FALSE(h.pi->record_event(sample_event(1)));
  EXPECT_EQ(h.pi->active_global_errors(), gerror::EVTQ_ABT_ERR);
  EXPECT_EQ(h.read32(reg::EVENTQ_PROD), 0u);
  h.memory.clear_abort_ranges();
  EXPECT_FALSE(h.pi->record_event(sample_event(2)));  // queue unusable until acknowledged
  EXPECT_EQ(h.pi->statistics().events_discarded, 1u);
  h.acknowledge_global_errors();
  EXPECT_TRUE(h.pi->record_event(sample_event(3)));
  EXPECT_EQ(h.pi->statistics().event_write_aborts, 1u);
}

TEST(ProgrammingInterfaceEventQueue, WiredLineHighWhileNotEmpty) {
  Harness h;
  h.setup_event_queue(3);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::EVENTQ_IRQEN);
  h.enable(cr0::EVENTQEN);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::EventQueue));
  h.pi->record_event(sample_event(1));
  EXPECT_TRUE(h.pi->irq_level(IrqLine::EventQueue));
  h.pi->record_event(sample_event(2));
  EXPECT_EQ(h.count_irq(IrqLine::EventQueue, true), 1u);
  h.write32(reg::EVENTQ_CONS, 1);
  EXPECT_TRUE(h.pi->irq_level(IrqLine::EventQueue));
  h.write32(reg::EVENTQ_CONS, 2);  // empty: the line drops
  EXPECT_FALSE(h.pi->irq_level(IrqLine::EventQueue));
  h.pi->record_event(sample_event(3));
  EXPECT_TRUE(h.pi->irq_level(IrqLine::EventQueue));
  h.disable(cr0::EVENTQEN);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::EventQueue));
}

TEST(ProgrammingInterfaceEventQueue, MsiWhenTheQueueBecomesNonEmpty) {
  Harness h;
  h.setup_event_queue(3);
  h.write64(reg::EVENTQ_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::EVENTQ_IRQ_CFG1, 0x42);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::EVENTQ_IRQEN);
  h.enable(cr0::EVENTQEN);
  h.pi->record_event(sample_event(1));
  h.pi->record_event(sample_event(2));
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi, true), 1u);
  EXPECT_EQ(h.memory.peek32(Harness::kMsiDoorbell), 0x42u);
  EXPECT_FALSE(h.pi->irq_level(IrqLine::EventQueue));
  h.write32(reg::EVENTQ_CONS, 2);
  h.pi->record_event(sample_event(3));
  EXPECT_EQ(h.memory.count(AccessPurpose::Msi, true), 2u);
}

TEST(ProgrammingInterfaceEventQueue, FailedMsiRaisesMsiEvtqAbtErr) {
  Harness h;
  h.setup_event_queue(3);
  h.write64(reg::EVENTQ_IRQ_CFG0, Harness::kMsiDoorbell);
  h.write32(reg::IRQ_CTRL, reg::irq_ctrl::EVENTQ_IRQEN);
  h.memory.add_abort_range(Harness::kMsiDoorbell, 4);
  h.enable(cr0::EVENTQEN);
  EXPECT_TRUE(h.pi->record_event(sample_event(1)));  // the record itself is written
  EXPECT_EQ(h.pi->active_global_errors(), gerror::MSI_EVTQ_ABT_ERR);
}

// ---- Statistics -----------------------------------------------------------------------------

TEST(ProgrammingInterfaceStatistics, JsonNamesOpcodes) {
  Harness h;
  h.setup_command_queue(3);
  h.enable(cr0::CMDQEN);
  h.post(make_command(CommandOpcode::TLBI_NSNH_ALL));
  h.post(make_sync(SyncSignal::None));
  const nlohmann::json j = h.pi->statistics();
  EXPECT_EQ(j.at("commands_by_opcode").at("CMD_TLBI_NSNH_ALL"), 1);
  EXPECT_EQ(j.at("commands_by_opcode").at("CMD_SYNC"), 1);
  EXPECT_EQ(j.at("commands_executed"), 2);
  EXPECT_EQ(j.at("syncs"), 1);
  EXPECT_TRUE(j.contains("events_lost"));
}

TEST(ProgrammingInterfaceNames, LinesAndSeverities) {
  EXPECT_STREQ(to_string(IrqLine::EventQueue), "eventq");
  EXPECT_STREQ(to_string(IrqLine::GlobalError), "gerror");
  EXPECT_STREQ(to_string(IrqLine::CommandSync), "cmd-sync");
  EXPECT_STREQ(to_string(IrqLine::PriQueue), "priq");
  EXPECT_STREQ(to_string(Severity::Warning), "warning");
  EXPECT_STREQ(register_name(reg::EVENTQ_PROD), "EVENTQ_PROD");
  EXPECT_STREQ(register_name(reg::STRTAB_BASE + 4), "STRTAB_BASE");
  EXPECT_TRUE(register_name(0x30) == nullptr);
}

}  // namespace
}  // namespace smmuv3tlm::smmu

namespace smmuv3tlm::smmu {
namespace {

TEST(RegisterTable, EveryRegisterHasItsBehaviourAndNoTwoOverlap) {
  EXPECT_TRUE(ProgrammingInterface::register_table_consistent());
  for (std::size_t i = 0; i < reg::kRegisterCount; ++i) {
    const RegisterLayout& r = reg::kRegisters[i];
    EXPECT_TRUE(r.bytes == 4 || r.bytes == 8) << r.name;
    EXPECT_EQ(r.offset % r.bytes, 0u) << r.name;
    for (std::size_t j = i + 1; j < reg::kRegisterCount; ++j) {
      const RegisterLayout& o = reg::kRegisters[j];
      EXPECT_FALSE(o.contains(r.offset) || r.contains(o.offset)) << r.name << " overlaps " << o.name;
    }
    EXPECT_EQ(find_register(r.offset + r.bytes - 4), &r) << "both halves of " << r.name;
    EXPECT_STREQ(register_name(r.offset), r.name);
  }
  EXPECT_EQ(register_name(0x30), nullptr) << "a reserved offset has no name";
}

}  // namespace
}  // namespace smmuv3tlm::smmu
