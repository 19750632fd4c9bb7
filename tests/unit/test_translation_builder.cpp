// The table builder itself: encoders (checked bit by bit against IHI 0070 and
// by decoding with the model's own decoders), geometry, map/unmap/lookup,
// contiguous runs, stream and CD table layouts.
#include <new>
#include <stdexcept>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "test_translation_support.h"

namespace smmuv3tlm::translation_test {
namespace {

using smmu::extract;

TEST(TranslationBuilder, PageAllocatorAlignsAndRunsOut) {
  PageAllocator a(0x1000, 0x10000);
  EXPECT_EQ(a.allocate(8, 8), 0x1000u);
  EXPECT_EQ(a.allocate(0x1000, 0x1000), 0x2000u);
  EXPECT_EQ(a.allocate(64, 0x4000), 0x4000u);
  EXPECT_THROW(a.allocate(0x10000, 8), std::bad_alloc);
  EXPECT_THROW(a.allocate(8, 3), std::invalid_argument);
  a.reset();
  EXPECT_EQ(a.next(), 0x1000u);
}

TEST(TranslationBuilder, SteFieldsLandAtTheirBitPositions) {
  // IHI 0070 §5.2 and Linux arm-smmu-v3.h STRTAB_STE_*.
  SteFields f;
  f.v = true;
  f.config = 0b111;
  f.s1fmt = 2;
  f.s1_context_ptr = 0x0000'1234'5678'9ac0;
  f.s1cdmax = 17;
  f.s1dss = 2;
  f.s1stalld = true;
  f.eats = 1;
  f.strw = 2;
  f.shcfg = 3;
  f.privcfg = 3;
  f.instcfg = 2;
  f.s2vmid = 0xbeef;
  f.s2t0sz = 25;
  f.s2sl0 = 1;
  f.s2tg = 2;
  f.s2ps = 4;
  f.s2aa64 = true;
  f.s2endi = true;
  f.s2affd = true;
  f.s2ptw = true;
  f.s2hd = true;
  f.s2ha = true;
  f.s2s = true;
  f.s2r = true;
  f.s2ttb = 0x0000'00ab'cdef'1230;
  const auto w = tables::encode_ste(f);
  EXPECT_EQ(extract(w[0], 0, 0), 1u);
  EXPECT_EQ(extract(w[0], 3, 1), 0b111u);
  EXPECT_EQ(extract(w[0], 5, 4), 2u);
  EXPECT_EQ(w[0] & smmu::mask_bits(51, 6), 0x0000'1234'5678'9ac0u);
  EXPECT_EQ(extract(w[0], 63, 59), 17u);
  EXPECT_EQ(extract(w[1], 1, 0), 2u);
  EXPECT_EQ(extract(w[1], 27, 27), 1u);
  EXPECT_EQ(extract(w[1], 29, 28), 1u);
  EXPECT_EQ(extract(w[1], 31, 30), 2u);
  EXPECT_EQ(extract(w[1], 45, 44), 3u);
  EXPECT_EQ(extract(w[1], 49, 48), 3u);
  EXPECT_EQ(extract(w[1], 51, 50), 2u);
  EXPECT_EQ(extract(w[2], 15, 0), 0xbeefu);
  EXPECT_EQ(extract(w[2], 37, 32), 25u);
  EXPECT_EQ(extract(w[2], 39, 38), 1u);
  EXPECT_EQ(extract(w[2], 47, 46), 2u);
  EXPECT_EQ(extract(w[2], 50, 48), 4u);
  for (unsigned b = 51; b <= 58; ++b) EXPECT_EQ(extract(w[2], b, b), 1u) << "dword2 bit " << b;
  EXPECT_EQ(w[3], 0x0000'00ab'cdef'1230u);
}

TEST(TranslationBuilder, SteRoundTripsThroughTheModelDecoder) {
  Capabilities caps = test_caps();
  SteFields f;
  f.config = kConfigNested;
  f.s1_context_ptr = 0x8000'1000;
  f.s1cdmax = 4;
  f.s1fmt = 1;
  f.s1dss = 1;
  f.s2vmid = 0x42;
  f.s2t0sz = 24;  // 40-bit IPA
  f.s2sl0 = 1;
  f.s2tg = tables::tg0_encoding(12);
  f.s2ps = 5;
  f.s2affd = true;
  f.s2ttb = 0x4000'2000;
  smmu::StreamTableEntry ste;
  std::string why;
  ASSERT_TRUE(smmu::decode_ste(tables::encode_ste(f), caps, ste, why)) << why;
  EXPECT_EQ(ste.config, smmu::SteConfig::Nested);
  EXPECT_EQ(ste.s1_context_ptr, 0x8000'1000u);
  EXPECT_EQ(ste.s1_cdmax, 4u);
  EXPECT_EQ(ste.s1_format, 1u);
  EXPECT_EQ(ste.s1dss, smmu::S1DefaultSubstream::Bypass);
  EXPECT_EQ(ste.s2.vmid, 0x42);
  EXPECT_EQ(ste.s2.input_bits, 40u);
  EXPECT_EQ(ste.s2.start_level, 1);
  EXPECT_EQ(ste.s2.concatenated_tables, 2u);
  EXPECT_EQ(ste.s2.granule_log2, 12u);
  EXPECT_EQ(ste.s2.output_bits, 48u);
  EXPECT_TRUE(ste.s2.affd);
  EXPECT_TRUE(ste.s2.record_faults);
  EXPECT_EQ(ste.s2.ttb, 0x4000'2000u);
}

TEST(TranslationBuilder, CdFieldsLandAtTheirBitPositions) {
  // IHI 0070 §5.4 and Linux arm-smmu-v3.h CTXDESC_CD_*.
  CdFields f;
  f.t0sz = 25;
  f.tg0 = 2;
  f.epd0 = true;
  f.endi = true;
  f.t1sz = 30;
  f.tg1 = 3;
  f.epd1 = true;
  f.v = true;
  f.ips = 4;
  f.affd = true;
  f.wxn = true;
  f.uwxn = true;
  f.tbi0 = true;
  f.tbi1 = true;
  f.pan = true;
  f.aa64 = true;
  f.hd = true;
  f.ha = true;
  f.s = true;
  f.r = true;
  f.a = true;
  f.aset = true;
  f.asid = 0xcafe;
  f.had0 = true;
  f.ttb0 = 0x0000'0012'3456'7890;
  f.ttb1 = 0x0000'0fed'cba9'8760;
  f.mair = 0x0011'2233'4455'6677;
  const auto w = tables::encode_cd(f);
  EXPECT_EQ(extract(w[0], 5, 0), 25u);
  EXPECT_EQ(extract(w[0], 7, 6), 2u);
  EXPECT_EQ(extract(w[0], 14, 14), 1u);
  EXPECT_EQ(extract(w[0], 15, 15), 1u);
  EXPECT_EQ(extract(w[0], 21, 16), 30u);
  EXPECT_EQ(extract(w[0], 23, 22), 3u);
  EXPECT_EQ(extract(w[0], 30, 30), 1u);
  EXPECT_EQ(extract(w[0], 31, 31), 1u);
  EXPECT_EQ(extract(w[0], 34, 32), 4u);
  for (unsigned b = 35; b <= 47; ++b) EXPECT_EQ(extract(w[0], b, b), 1u) << "dword0 bit " << b;
  EXPECT_EQ(extract(w[0], 63, 48), 0xcafeu);
  EXPECT_EQ(extract(w[1], 1, 1), 1u);
  EXPECT_EQ(w[1] & smmu::mask_bits(51, 4), 0x0000'0012'3456'7890u);
  EXPECT_EQ(w[2] & smmu::mask_bits(51, 4), 0x0000'0fed'cba9'8760u);
  EXPECT_EQ(w[3], 0x0011'2233'4455'6677u);
}

TEST(TranslationBuilder, CdRoundTripsThroughTheModelDecoder) {
  Capabilities caps = test_caps();
  CdFields f;
  f.t0sz = 16;
  f.tg0 = tables::tg0_encoding(16);
  f.ttb0 = 0x4001'0000;
  f.epd1 = false;
  f.t1sz = 20;
  f.tg1 = tables::tg1_encoding(14);
  f.ttb1 = 0x4002'0000;
  f.tbi1 = true;
  f.asid = 0x1234;
  f.ips = 2;
  f.affd = true;
  f.mair = 0xff44;
  smmu::ContextDescriptor cd;
  std::string why;
  ASSERT_TRUE(smmu::decode_cd(tables::encode_cd(f), caps, cd, why)) << why;
  EXPECT_FALSE(cd.range[0].disabled);
  EXPECT_EQ(cd.range[0].granule_log2, 16u);
  EXPECT_EQ(cd.range[0].tsz, 16u);
  EXPECT_EQ(cd.range[0].ttb, 0x4001'0000u);
  EXPECT_FALSE(cd.range[0].tbi);
  EXPECT_FALSE(cd.range[1].disabled);
  EXPECT_EQ(cd.range[1].granule_log2, 14u);
  EXPECT_EQ(cd.range[1].tsz, 20u);
  EXPECT_TRUE(cd.range[1].tbi);
  EXPECT_EQ(cd.asid, 0x1234);
  EXPECT_EQ(cd.output_bits, 40u);
  EXPECT_TRUE(cd.affd);
  EXPECT_TRUE(cd.record_faults);
  EXPECT_TRUE(cd.abort);
  EXPECT_EQ(cd.mair, 0xff44u);
}

TEST(TranslationBuilder, GranuleAndSizeEncodings) {
  EXPECT_EQ(tables::tg0_encoding(12), 0u);
  EXPECT_EQ(tables::tg0_encoding(16), 1u);
  EXPECT_EQ(tables::tg0_encoding(14), 2u);
  EXPECT_EQ(tables::tg1_encoding(14), 1u);
  EXPECT_EQ(tables::tg1_encoding(12), 2u);
  EXPECT_EQ(tables::tg1_encoding(16), 3u);
  EXPECT_THROW(tables::tg0_encoding(13), std::invalid_argument);
  EXPECT_EQ(tables::ps_encoding(32), 0u);
  EXPECT_EQ(tables::ps_encoding(44), 4u);
  EXPECT_EQ(tables::ps_encoding(48), 5u);
  EXPECT_EQ(tables::contiguous_entries(12, 3), 16u);
  EXPECT_EQ(tables::contiguous_entries(12, 1), 16u);
  EXPECT_EQ(tables::contiguous_entries(14, 3), 128u);
  EXPECT_EQ(tables::contiguous_entries(14, 2), 32u);
  EXPECT_EQ(tables::contiguous_entries(16, 3), 32u);
}

TEST(TranslationBuilder, Stage1StartLevelFollowsTheInputSize) {
  struct Case {
    unsigned granule, ia;
    int level;
  };
  const Case cases[] = {{12, 48, 0}, {12, 40, 0}, {12, 39, 1}, {12, 31, 1}, {12, 30, 2}, {12, 25, 2},
                        {14, 48, 0}, {14, 47, 1}, {14, 37, 1}, {14, 36, 2}, {14, 26, 2}, {14, 25, 3},
                        {16, 48, 1}, {16, 43, 1}, {16, 42, 2}, {16, 30, 2}, {16, 29, 3}, {16, 25, 3}};
  for (const Case& c : cases) {
    const TableGeometry g = TableGeometry::stage1(c.granule, c.ia);
    EXPECT_EQ(g.start_level, c.level) << "granule " << c.granule << " IA " << c.ia;
    EXPECT_GE(g.index_bits(g.start_level), 1u);
    EXPECT_LE(g.index_bits(g.start_level), g.stride());
  }
  EXPECT_THROW(TableGeometry::stage1(12, 49), std::invalid_argument);
}

TEST(TranslationBuilder, Stage2GeometryFollowsS2Sl0AndConcatenates) {
  // 4K: SL0=1 starts at level 1; a 43-bit IPA needs 16 concatenated tables.
  TableGeometry g = TableGeometry::stage2(12, 43, 1);
  EXPECT_EQ(g.start_level, 1);
  EXPECT_EQ(g.concatenated, 16u);
  EXPECT_EQ(g.table_bytes(1), 16 * k4K);
  g = TableGeometry::stage2(12, 40, 2);
  EXPECT_EQ(g.start_level, 0);
  EXPECT_EQ(g.concatenated, 1u);
  g = TableGeometry::stage2(14, 40, 1);
  EXPECT_EQ(g.start_level, 2);
  EXPECT_EQ(g.concatenated, 16u);
  g = TableGeometry::stage2(16, 25, 0);
  EXPECT_EQ(g.start_level, 3);
  g = TableGeometry::stage2(16, 48, 2);
  EXPECT_EQ(g.start_level, 1);
  // AArch64.S2InvalidSL: 64K level 1 and 4K level 0 need PAMax >= 44, 16K
  // level 1 PAMax >= 42; SL0 = 0b11 is reserved without TTST/DS.
  EXPECT_THROW(TableGeometry::stage2(16, 42, 2, 42), std::invalid_argument);
  EXPECT_THROW(TableGeometry::stage2(12, 42, 2, 42), std::invalid_argument);
  EXPECT_THROW(TableGeometry::stage2(14, 40, 2, 40), std::invalid_argument);
  EXPECT_NO_THROW(TableGeometry::stage2(14, 40, 2, 42));
  EXPECT_THROW(TableGeometry::stage2(12, 40, 3), std::invalid_argument);
  // AArch64.S2InconsistentSL.
  EXPECT_THROW(TableGeometry::stage2(12, 44, 1), std::invalid_argument);
  EXPECT_THROW(TableGeometry::stage2(12, 39, 2), std::invalid_argument);
  EXPECT_EQ(TableGeometry::legal_stage2_sl0(12, 40), (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(TableGeometry::legal_stage2_sl0(16, 44), (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(TableGeometry::legal_stage2_sl0(16, 44, 44), (std::vector<unsigned>{1, 2}));
}

TEST(TranslationBuilder, MapPicksTheLargestLegalLeafAndLookupFindsIt) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 48));
  // 1 GiB + 2 MiB + 4 KiB, aligned for a level-1 block first.
  tt.map(k1G, 0x80'0000'0000, k1G + k2M + k4K);
  const auto& m = tt.mappings();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at(k1G).level, 1);
  EXPECT_EQ(m.at(2 * k1G).level, 2);
  EXPECT_EQ(m.at(2 * k1G + k2M).level, 3);
  EXPECT_EQ(tt.translate(k1G + 0x1234), 0x80'0000'1234u);
  EXPECT_EQ(tt.translate(2 * k1G + k2M + 0xabc), 0x80'0000'0000u + k1G + k2M + 0xabc);
  EXPECT_FALSE(tt.translate(2 * k1G + k2M + k4K));
  EXPECT_FALSE(tt.translate(0));
  // The level-1 descriptor is a block (0b01), the level-3 one a page (0b11).
  EXPECT_EQ(tt.read_descriptor(k1G, 1) & 3, 1u);
  EXPECT_EQ(tt.read_descriptor(2 * k1G + k2M, 3) & 3, 3u);
  EXPECT_EQ(tt.read_descriptor(2 * k1G + k2M, 3) & smmu::mask_bits(47, 12), 0x80'0000'0000u + k1G + k2M);
  // Overlaps and misalignment are refused.
  EXPECT_THROW(tt.map(k1G + k4K, 0, k4K), std::invalid_argument);
  EXPECT_THROW(tt.map(0x800, 0, k4K), std::invalid_argument);
  EXPECT_THROW(tt.map(0, 0, k4K, {}, MapOptions{0, false}), std::invalid_argument);  // no L0 blocks at 4K
}

TEST(TranslationBuilder, UnmapSplitsBlocksAndKeepsTheRest) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 39));
  tt.map(0, 0x1000'0000, k2M);
  ASSERT_EQ(tt.mappings().size(), 1u);
  tt.unmap(0x5000, k4K);
  EXPECT_EQ(tt.mappings().size(), 511u);
  EXPECT_FALSE(tt.translate(0x5000));
  EXPECT_EQ(tt.translate(0x6000), 0x1000'6000u);
  EXPECT_EQ(tt.read_descriptor(0x5000, 3), 0u);
  EXPECT_EQ(tt.read_descriptor(0x4000, 3) & 3, 3u);
  tt.remap(0x4000, 0x2000'0000, k4K);
  EXPECT_EQ(tt.translate(0x4abc), 0x2000'0abcu);
}

TEST(TranslationBuilder, ContiguousRunsCoverAlignedRunsOnly) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 39));
  // 20 pages from a 64K-aligned base: one run of 16 plus 4 plain pages.
  tt.map(0x10000, 0x3000'0000, 20 * k4K, {}, MapOptions{3, true});
  unsigned hinted = 0;
  for (const auto& [va, m] : tt.mappings()) {
    const bool bit52 = (tt.read_descriptor(va, 3) >> 52) & 1;
    EXPECT_EQ(bit52, m.contiguous);
    hinted += m.contiguous;
  }
  EXPECT_EQ(hinted, 16u);
  // Unmapping one page of the run clears the hint on the rest of it.
  tt.unmap(0x10000, k4K);
  for (const auto& [va, m] : tt.mappings()) {
    EXPECT_FALSE(m.contiguous);
    EXPECT_EQ((tt.read_descriptor(va, 3) >> 52) & 1, 0u);
  }
}

TEST(TranslationBuilder, TableAttributesAndRawDescriptors) {
  Rig rig;
  PageTableBuilder& tt = rig.tables(TableGeometry::stage1(12, 39));
  tt.map(0, 0x1000'0000, k4K);
  tt.set_table_attributes(0, 1, TableAttributes{0b10, true, true});
  const std::uint64_t d = tt.read_descriptor(0, 1);
  EXPECT_EQ(extract(d, 62, 61), 0b10u);
  EXPECT_EQ(extract(d, 60, 59), 0b11u);
  EXPECT_EQ(d & 3, 3u);
  EXPECT_EQ(tt.translate(0x10), 0x1000'0010u);  // still reachable through the table
  tt.write_descriptor(0, 3, 0x1);  // reserved encoding at level 3
  EXPECT_FALSE(tt.lookup(0));
  EXPECT_EQ(tt.read_descriptor(0, 3), 1u);
}

TEST(TranslationBuilder, StreamTableLayouts) {
  PageAllocator a(0x10'0000, 0x1000'0000);
  TestMemory memory;
  tables::MemoryPortSpace space(memory);
  tables::StreamTableBuilder linear({smmu::StreamTableFormat::Linear, 6, 8}, a, space);
  EXPECT_EQ(linear.base() % (64 << 6), 0u);
  EXPECT_EQ(linear.strtab_base_cfg(), 6u);
  EXPECT_EQ(linear.ste_address(5), linear.base() + 5 * 64);
  EXPECT_THROW(linear.ste_address(64), std::out_of_range);

  for (unsigned split : {6u, 8u, 10u}) {
    tables::StreamTableBuilder two({smmu::StreamTableFormat::TwoLevel, 16, split}, a, space);
    EXPECT_EQ(two.strtab_base_cfg(), 16u | (split << 6) | (1u << 16));
    const std::uint32_t sid = (3u << split) | 5;
    const std::uint64_t ste = two.ste_address(sid);
    const std::uint64_t l1 = space.read64(two.l1_descriptor_address(sid));
    EXPECT_EQ(l1 & 0x1f, split + 1);  // Span covers the whole level-2 table
    EXPECT_EQ(ste, (l1 & smmu::mask_bits(51, 6)) + 5 * 64);
    EXPECT_EQ(two.l1_descriptor_address(sid), two.base() + 3 * 8);
  }
  tables::StreamTableBuilder narrow({smmu::StreamTableFormat::TwoLevel, 12, 8}, a, space);
  narrow.add_l2_table(0x100, 3);  // 4 STEs
  EXPECT_NO_THROW(narrow.ste_address(0x103));
  EXPECT_THROW(narrow.ste_address(0x104), std::out_of_range);
}

TEST(TranslationBuilder, CdTableLayouts) {
  PageAllocator a(0x10'0000, 0x1000'0000);
  TestMemory memory;
  tables::MemoryPortSpace space(memory);
  CdTableBuilder linear({CdTableFormat::Linear, 4}, a, space);
  EXPECT_EQ(linear.s1fmt(), 0u);
  EXPECT_EQ(linear.cd_address(15), linear.base() + 15 * 64);
  EXPECT_THROW(linear.cd_address(16), std::out_of_range);

  CdTableBuilder small({CdTableFormat::TwoLevel4K, 12}, a, space);
  EXPECT_EQ(small.s1fmt(), 1u);
  const std::uint64_t cd = small.cd_address(0x345);
  const std::uint64_t l1 = space.read64(small.l1_descriptor_address(0x345));
  EXPECT_EQ(small.l1_descriptor_address(0x345), small.base() + (0x345 >> 6) * 8);
  EXPECT_EQ(l1 & 1, 1u);
  EXPECT_EQ((l1 & smmu::mask_bits(51, 12)) + (0x345 & 63) * 64, cd);

  CdTableBuilder big({CdTableFormat::TwoLevel64K, 14}, a, space);
  EXPECT_EQ(big.s1fmt(), 2u);
  const std::uint64_t cd2 = big.cd_address(0x1abc);
  EXPECT_EQ(cd2 % 64, 0u);
  EXPECT_EQ((space.read64(big.l1_descriptor_address(0x1abc)) & smmu::mask_bits(51, 12)) + (0x1abc & 1023) * 64, cd2);
}

TEST(TranslationBuilder, TranslatedSpaceWritesThroughTheStage2Map) {
  Rig rig;
  PageTableBuilder& s2 = rig.tables(TableGeometry::stage2(12, 40, 1));
  IpaWindow& w = rig.ipa_window(s2, 0x1'0000'0000, k2M);
  const std::uint64_t ipa = w.allocator.allocate(k4K, k4K);
  w.space.write64(ipa + 8, 0x1122334455667788);
  const auto pa = s2.translate(ipa + 8);
  ASSERT_TRUE(pa);
  std::uint64_t value = 0;
  ASSERT_TRUE(rig.memory.read64(*pa, value, AccessPurpose::Stage1Walk));
  EXPECT_EQ(value, 0x1122334455667788u);
  EXPECT_THROW(w.space.write64(0x9'0000'0000, 1), std::runtime_error);
}

}  // namespace
}  // namespace smmuv3tlm::translation_test
