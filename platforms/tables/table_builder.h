// The table builder: lays out SMMUv3 configuration structures and VMSAv8-64
// translation tables in memory, the way host software would. A library of its
// own (like the RISC-V IOMMU reference model's `libtables`), shared by the unit
// tests, the driver model and the trace tools. Plain C++17, no SystemC.
//
// Pieces:
//  - TableSpace: where 64-bit table words are written (a MemoryPort, or an
//    IPA view translated through a stage-2 map for nested stage-1 tables);
//  - PageAllocator: a bump allocator over an address range;
//  - TableGeometry / PageTableBuilder: one stage of VMSAv8-64 tables (4K, 16K,
//    64K granules; stage-1 start level derived from the input size, stage-2
//    start level from S2SL0 with up to 16 concatenated start tables), with a
//    flat reference map that tests compare the SMMU's translations against;
//  - SteFields / CdFields with encode_ste() / encode_cd();
//  - StreamTableBuilder (linear, 2-level) and CdTableBuilder (linear, 2-level).
//
// Formats: IHI 0070 §5.1-5.4 (L1STD, STE, L1CD, CD) and Arm ARM D8 (VMSAv8-64
// descriptors), without LPA/LPA2 (output addresses of at most 48 bits).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/context_descriptor.h"
#include "smmuv3tlm/models/smmu/arch/memory_port.h"
#include "smmuv3tlm/models/smmu/arch/stream_table.h"

namespace smmuv3tlm::tables {

// ---------------------------------------------------------------------------
// Table space

// Where table words live. Implementations throw std::runtime_error when an
// access cannot be made (a bus error, an unmapped IPA).
class TableSpace {
 public:
  virtual ~TableSpace() = default;
  virtual void write64(std::uint64_t address, std::uint64_t value) = 0;
  virtual std::uint64_t read64(std::uint64_t address) = 0;
  // Zeroes [address, address + bytes); both multiples of 8.
  virtual void zero(std::uint64_t address, std::uint64_t bytes);
};

// A TableSpace over a MemoryPort (physical addresses). `purpose` tags every
// access so a checker wrapping the port can tell builder writes apart.
class MemoryPortSpace final : public TableSpace {
 public:
  explicit MemoryPortSpace(smmu::MemoryPort& port,
                           smmu::AccessPurpose purpose = smmu::AccessPurpose::HardwareUpdate);
  void write64(std::uint64_t address, std::uint64_t value) override;
  std::uint64_t read64(std::uint64_t address) override;

 private:
  smmu::MemoryPort& port_;
  smmu::AccessPurpose purpose_;
};

// An IPA view of another space: every address is translated (typically by a
// stage-2 PageTableBuilder's reference map) before the access. Nested stage-1
// tables and CD tables are written through one of these.
class TranslatedSpace final : public TableSpace {
 public:
  using Translate = std::function<std::optional<std::uint64_t>(std::uint64_t)>;
  TranslatedSpace(TableSpace& target, Translate translate);
  void write64(std::uint64_t address, std::uint64_t value) override;
  std::uint64_t read64(std::uint64_t address) override;

 private:
  std::uint64_t to_target(std::uint64_t address) const;
  TableSpace& target_;
  Translate translate_;
};

// ---------------------------------------------------------------------------
// Allocation

// Bump allocator over [base, limit). Throws std::bad_alloc when exhausted and
// std::invalid_argument for a zero size or an alignment that is not a power of 2.
class PageAllocator {
 public:
  PageAllocator(std::uint64_t base, std::uint64_t limit);
  std::uint64_t allocate(std::uint64_t bytes, std::uint64_t alignment);
  std::uint64_t base() const { return base_; }
  std::uint64_t limit() const { return limit_; }
  std::uint64_t next() const { return next_; }
  std::uint64_t used() const { return next_ - base_; }
  void reset() { next_ = base_; }

 private:
  std::uint64_t base_;
  std::uint64_t limit_;
  std::uint64_t next_;
};

// ---------------------------------------------------------------------------
// Encodings

// TG0 / S2TG: 4K 0b00, 64K 0b01, 16K 0b10. TG1: 16K 0b01, 4K 0b10, 64K 0b11.
unsigned tg0_encoding(unsigned granule_log2);
unsigned tg1_encoding(unsigned granule_log2);
// IPS / S2PS: 32 0, 36 1, 40 2, 42 3, 44 4, 48 5, 52 6.
unsigned ps_encoding(unsigned address_bits);
// Lowest level at which a block descriptor is legal without LPA/LPA2: 4K level
// 1, 16K and 64K level 2 (Arm ARM AArch64.BlockDescSupported).
int first_block_level(unsigned granule_log2);
// Number of adjacent descriptors a Contiguous hint spans (Arm ARM D8.6.1):
// 4K 16 at every level; 16K 128 at level 3, 32 at level 2; 64K 32.
unsigned contiguous_entries(unsigned granule_log2, int level);

enum class Stage : std::uint8_t { Stage1 = 1, Stage2 = 2 };

// One stage's table geometry.
struct TableGeometry {
  Stage stage = Stage::Stage1;
  unsigned granule_log2 = 12;
  unsigned input_bits = 48;   // 64 - TxSZ
  int start_level = 0;
  unsigned concatenated = 1;  // stage-2 concatenated start tables (1..16)
  unsigned s2_sl0 = 0;        // stage 2: the S2SL0 encoding

  unsigned stride() const { return granule_log2 - 3; }
  unsigned tsz() const { return 64 - input_bits; }
  // Lowest input bit resolved by a lookup at `level`; also log2 of the size a
  // block or page descriptor at that level maps.
  unsigned level_shift(int level) const;
  // Index bits resolved at `level` (the start level includes concatenation).
  unsigned index_bits(int level) const;
  std::uint64_t table_bytes(int level) const { return 8ull << index_bits(level); }

  // Stage 1: the start level follows from the input size (Arm ARM
  // AArch64.S1StartLevel: 4 - ceil((IA - granule) / stride)). Throws
  // std::invalid_argument for a granule other than 12/14/16 or IA outside
  // granule+1..48.
  static TableGeometry stage1(unsigned granule_log2, unsigned input_bits);
  // Stage 2: the start level follows from S2SL0 (VTCR_EL2.SL0 encoding); throws
  // std::invalid_argument when AArch64.S2InvalidSL or AArch64.S2InconsistentSL
  // holds for this granule, input size and PA size.
  static TableGeometry stage2(unsigned granule_log2, unsigned input_bits, unsigned sl0,
                              unsigned pa_bits = 48);
  // Every S2SL0 value that is legal for this granule, input size and PA size.
  static std::vector<unsigned> legal_stage2_sl0(unsigned granule_log2, unsigned input_bits,
                                                unsigned pa_bits = 48);
};

// Leaf (page/block) descriptor attributes. Fields of the other stage are ignored.
struct PageAttributes {
  // Both stages.
  bool af = true;         // bit 10
  unsigned sh = 0b11;     // bits 9:8
  bool dbm = false;       // bit 51
  // Stage 1.
  unsigned ap = 0b01;     // AP[2:1], bits 7:6: 00 RW EL1, 01 RW any, 10 RO EL1, 11 RO any
  bool ng = false;        // bit 11
  bool pxn = false;       // bit 53
  bool uxn = false;       // bit 54: UXN, or XN in a single-privilege (EL2) regime
  unsigned attr_index = 0;  // AttrIndx, bits 4:2
  // Stage 2.
  unsigned s2ap = 0b11;   // S2AP, bits 7:6: bit 0 read, bit 1 write
  unsigned s2xn = 0;      // XN[1:0], bits 54:53 (bit 54 alone without FEAT_XNX)
  unsigned memattr = 0b1111;  // MemAttr, bits 5:2
};
bool operator==(const PageAttributes& a, const PageAttributes& b);

// Hierarchical attributes of a stage-1 table descriptor.
struct TableAttributes {
  unsigned ap_table = 0;   // APTable, bits 62:61: bit 0 no EL0 access, bit 1 no write
  bool pxn_table = false;  // bit 59
  bool uxn_table = false;  // bit 60 (XNTable in a single-privilege regime)
};

// The AArch64 descriptors (Arm ARM D8.3): a page (level 3) or block leaf of
// `geometry`'s stage, and a table descriptor. Shared by the builder and the
// driver model's io-pgtable.
std::uint64_t encode_leaf_descriptor(const TableGeometry& geometry, std::uint64_t output, int level,
                                     const PageAttributes& attributes, bool contiguous = false);
std::uint64_t encode_table_descriptor(std::uint64_t next_table, const TableAttributes& attributes = {});

struct MapOptions {
  // Level of the leaf descriptors; -1 picks, at each step, the largest block
  // that alignment and remaining size allow (blocks only at legal levels).
  int level = -1;
  // Set the Contiguous hint on every whole, input- and output-aligned run of
  // contiguous_entries() leaves inside the mapped range.
  bool contiguous = false;
};

// One leaf of the reference map.
struct Mapping {
  std::uint64_t input = 0;   // VA or IPA of the leaf (aligned to its size)
  std::uint64_t output = 0;
  std::uint64_t size = 0;
  int level = 3;
  bool contiguous = false;
  PageAttributes attributes;
};

// Builds one stage of translation tables in a TableSpace and keeps the flat
// reference map of what it mapped. Tables are allocated from `allocator`
// (addresses in the space's address space: PAs, or IPAs for nested stage 1).
class PageTableBuilder {
 public:
  PageTableBuilder(const TableGeometry& geometry, PageAllocator& allocator, TableSpace& space);

  const TableGeometry& geometry() const { return geometry_; }
  Stage stage() const { return geometry_.stage; }
  // The start table (TTBx / S2TTB).
  std::uint64_t root() const { return root_; }

  // Maps [input, input + size) to [output, output + size). Throws
  // std::invalid_argument when the range is not granule-aligned, leaves the
  // input range, overlaps an existing mapping, or cannot be built at the
  // requested level.
  void map(std::uint64_t input, std::uint64_t output, std::uint64_t size,
           const PageAttributes& attributes = {}, const MapOptions& options = {});
  // Unmaps every mapped part of [input, input + size) (granule-aligned),
  // splitting blocks that straddle the range and clearing the Contiguous hint
  // of runs it breaks. No TLB maintenance: that is the caller's job.
  void unmap(std::uint64_t input, std::uint64_t size);
  // unmap + map.
  void remap(std::uint64_t input, std::uint64_t output, std::uint64_t size,
             const PageAttributes& attributes = {}, const MapOptions& options = {});

  // Sets the hierarchical attributes of the table descriptor read at `level`
  // on the walk for `input` (stage 1). Throws std::logic_error when that
  // descriptor is not a table descriptor.
  void set_table_attributes(std::uint64_t input, int level, const TableAttributes& attributes);
  // Writes a raw descriptor at `level` for `input`, creating the tables above
  // it. The reference map forgets whatever that descriptor covered. For
  // negative tests (reserved encodings, blocks at illegal levels, addresses
  // beyond the output size).
  void write_descriptor(std::uint64_t input, int level, std::uint64_t raw);
  std::uint64_t read_descriptor(std::uint64_t input, int level);
  // Address (in the table space) of the descriptor read at `level` for
  // `input`, when the walk reaches that level.
  std::optional<std::uint64_t> descriptor_address(std::uint64_t input, int level);

  // The reference map.
  std::optional<Mapping> lookup(std::uint64_t input) const;
  std::optional<std::uint64_t> translate(std::uint64_t input) const;
  const std::map<std::uint64_t, Mapping>& mappings() const { return mappings_; }
  // Every table this builder allocated (start table first), with its size.
  const std::vector<std::pair<std::uint64_t, std::uint64_t>>& tables() const { return tables_; }

  // Descriptor encoders.
  std::uint64_t encode_leaf(std::uint64_t output, int level, const PageAttributes& attributes,
                            bool contiguous) const;
  static std::uint64_t encode_table(std::uint64_t next_table, const TableAttributes& attributes = {});

 private:
  std::uint64_t descriptor_slot(std::uint64_t table, int level, std::uint64_t input) const;
  // Walks to `level`, creating table descriptors on the way; returns the
  // address of the descriptor at `level`. Throws std::logic_error when a
  // block or page sits above `level`.
  std::uint64_t walk_create(std::uint64_t input, int level);
  std::uint64_t new_table();
  int pick_level(std::uint64_t input, std::uint64_t output, std::uint64_t remaining) const;
  void install_leaf(std::uint64_t input, std::uint64_t output, int level,
                    const PageAttributes& attributes, bool contiguous);
  void split_block(const Mapping& block);
  void clear_contiguous_run(const Mapping& leaf);
  void forget_range(std::uint64_t input, std::uint64_t size);

  TableGeometry geometry_;
  PageAllocator& allocator_;
  TableSpace& space_;
  std::uint64_t root_ = 0;
  std::map<std::uint64_t, Mapping> mappings_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> tables_;
};

// ---------------------------------------------------------------------------
// Stream table entries and context descriptors

// STE fields by their architectural names (IHI 0070 §5.2). Defaults describe a
// valid bypass STE; set config and the stage fields as needed.
struct SteFields {
  // Dword 0.
  bool v = true;
  unsigned config = 0b100;            // 0b000 abort, 0b100 bypass, 0b101 S1, 0b110 S2, 0b111 nested
  unsigned s1fmt = 0;                 // 0 linear, 1 2-level 4KB leaves, 2 2-level 64KB leaves
  std::uint64_t s1_context_ptr = 0;   // bits 51:6
  unsigned s1cdmax = 0;               // bits 63:59
  // Dword 1.
  unsigned s1dss = 0;                 // 0 terminate, 1 bypass, 2 substream 0
  unsigned s1cir = 0b01;
  unsigned s1cor = 0b01;
  unsigned s1csh = 0b11;
  bool s1stalld = false;              // bit 27
  unsigned eats = 0;                  // bits 29:28
  unsigned strw = 0;                  // bits 31:30: 0 NS-EL1, 2 EL2
  unsigned memattr = 0;               // bits 35:32
  bool mtcfg = false;                 // bit 36
  unsigned alloccfg = 0;              // bits 40:37
  unsigned shcfg = 0b01;              // bits 45:44
  unsigned nscfg = 0;                 // bits 47:46
  unsigned privcfg = 0;               // bits 49:48
  unsigned instcfg = 0;               // bits 51:50
  // Dword 2.
  std::uint16_t s2vmid = 0;           // bits 15:0
  unsigned s2t0sz = 0;                // bits 37:32
  unsigned s2sl0 = 0;                 // bits 39:38
  unsigned s2ir0 = 0b01;              // bits 41:40
  unsigned s2or0 = 0b01;              // bits 43:42
  unsigned s2sh0 = 0b11;              // bits 45:44
  unsigned s2tg = 0;                  // bits 47:46
  unsigned s2ps = 0b101;              // bits 50:48
  bool s2aa64 = true;                 // bit 51
  bool s2endi = false;                // bit 52
  bool s2affd = false;                // bit 53
  bool s2ptw = false;                 // bit 54
  bool s2hd = false;                  // bit 55
  bool s2ha = false;                  // bit 56
  bool s2s = false;                   // bit 57
  bool s2r = true;                    // bit 58
  // Dword 3.
  std::uint64_t s2ttb = 0;            // bits 51:4
};

// CD fields by their architectural names (IHI 0070 §5.4). Defaults describe a
// valid CD with TTB0 enabled (4K, 48-bit) and TTB1 disabled.
struct CdFields {
  // Dword 0.
  unsigned t0sz = 16;       // bits 5:0
  unsigned tg0 = 0;         // bits 7:6
  unsigned ir0 = 0b01;      // bits 9:8
  unsigned or0 = 0b01;      // bits 11:10
  unsigned sh0 = 0b11;      // bits 13:12
  bool epd0 = false;        // bit 14
  bool endi = false;        // bit 15
  unsigned t1sz = 16;       // bits 21:16
  unsigned tg1 = 0b10;      // bits 23:22
  unsigned ir1 = 0b01;      // bits 25:24
  unsigned or1 = 0b01;      // bits 27:26
  unsigned sh1 = 0b11;      // bits 29:28
  bool epd1 = true;         // bit 30
  bool v = true;            // bit 31
  unsigned ips = 0b101;     // bits 34:32
  bool affd = false;        // bit 35
  bool wxn = false;         // bit 36
  bool uwxn = false;        // bit 37
  bool tbi0 = false;        // bit 38
  bool tbi1 = false;        // bit 39
  bool pan = false;         // bit 40
  bool aa64 = true;         // bit 41
  bool hd = false;          // bit 42
  bool ha = false;          // bit 43
  bool s = false;           // bit 44
  bool r = true;            // bit 45
  bool a = true;            // bit 46
  bool aset = false;        // bit 47
  std::uint16_t asid = 0;   // bits 63:48
  // Dword 1.
  bool nscfg0 = false;      // bit 0
  bool had0 = false;        // bit 1
  std::uint64_t ttb0 = 0;   // bits 51:4
  // Dword 2.
  bool nscfg1 = false;
  bool had1 = false;
  std::uint64_t ttb1 = 0;
  // Dword 3.
  std::uint64_t mair = 0;
};

std::array<std::uint64_t, 8> encode_ste(const SteFields& fields);
std::array<std::uint64_t, 8> encode_cd(const CdFields& fields);
// Level-1 stream table descriptor: Span bits 4:0, L2Ptr bits 51:6.
std::uint64_t encode_l1_std(std::uint64_t l2_table, unsigned span);
// Level-1 CD descriptor: V bit 0, L2Ptr bits 51:12.
std::uint64_t encode_l1_cd(std::uint64_t l2_table, bool valid = true);

class CdTableBuilder;

// Points the CD's TTB0 (TTB1) range at the tables: TxSZ, TGx, TTBx, EPDx=0.
void attach_ttb0(CdFields& cd, const PageTableBuilder& tables);
void attach_ttb1(CdFields& cd, const PageTableBuilder& tables);
// Sets S2T0SZ, S2SL0, S2TG and S2TTB from stage-2 tables.
void attach_stage2(SteFields& ste, const PageTableBuilder& tables);
// Sets S1ContextPtr, S1Fmt and S1CDMax from a CD table.
void attach_cd_table(SteFields& ste, const CdTableBuilder& cds);

// ---------------------------------------------------------------------------
// Stream tables

struct StreamTableGeometry {
  smmu::StreamTableFormat format = smmu::StreamTableFormat::Linear;
  unsigned log2size = 8;  // STRTAB_BASE_CFG.LOG2SIZE
  unsigned split = 8;     // STRTAB_BASE_CFG.SPLIT: 6, 8 or 10 (2-level only)
};

class StreamTableBuilder {
 public:
  // Writes (zeroes) the linear table or the level-1 table. `space` holds PAs.
  StreamTableBuilder(const StreamTableGeometry& geometry, PageAllocator& allocator, TableSpace& space);

  const StreamTableGeometry& geometry() const { return geometry_; }
  std::uint64_t base() const { return base_; }
  // SMMU_STRTAB_BASE (ADDR, RA=1) and SMMU_STRTAB_BASE_CFG (FMT, SPLIT, LOG2SIZE).
  std::uint64_t strtab_base() const;
  std::uint32_t strtab_base_cfg() const;

  // 2-level: the level-2 table covering `stream_id`, allocated and pointed to
  // by its L1STD with `span` (0 = SPLIT + 1) when not present yet.
  std::uint64_t add_l2_table(std::uint32_t stream_id, unsigned span = 0);
  std::uint64_t l1_descriptor_address(std::uint32_t stream_id) const;
  void write_l1_descriptor(std::uint32_t stream_id, std::uint64_t raw);

  // Address of the STE for `stream_id` (allocating its level-2 table).
  std::uint64_t ste_address(std::uint32_t stream_id);
  std::uint64_t write_ste(std::uint32_t stream_id, const SteFields& fields);
  std::uint64_t write_ste_words(std::uint32_t stream_id, const std::array<std::uint64_t, 8>& words);

 private:
  StreamTableGeometry geometry_;
  PageAllocator& allocator_;
  TableSpace& space_;
  std::uint64_t base_ = 0;
  std::map<std::uint32_t, std::pair<std::uint64_t, unsigned>> l2_tables_;  // L1 index -> (table, span)
};

enum class CdTableFormat : std::uint8_t { Linear = 0, TwoLevel4K = 1, TwoLevel64K = 2 };

struct CdTableGeometry {
  CdTableFormat format = CdTableFormat::Linear;
  unsigned s1cdmax = 0;  // log2 of the number of CDs (0: one CD, substreams disabled)
};

class CdTableBuilder {
 public:
  // `space` holds PAs, or IPAs (a TranslatedSpace) for a nested stream.
  CdTableBuilder(const CdTableGeometry& geometry, PageAllocator& allocator, TableSpace& space);

  const CdTableGeometry& geometry() const { return geometry_; }
  std::uint64_t base() const { return base_; }  // STE.S1ContextPtr
  unsigned s1fmt() const;
  unsigned s1cdmax() const { return geometry_.s1cdmax; }

  // 2-level: the leaf table holding `substream_id`, allocated when not present.
  std::uint64_t add_l2_table(std::uint32_t substream_id);
  std::uint64_t l1_descriptor_address(std::uint32_t substream_id) const;
  void write_l1_descriptor(std::uint32_t substream_id, std::uint64_t raw);

  std::uint64_t cd_address(std::uint32_t substream_id);
  std::uint64_t write_cd(std::uint32_t substream_id, const CdFields& fields);
  std::uint64_t write_cd_words(std::uint32_t substream_id, const std::array<std::uint64_t, 8>& words);

 private:
  unsigned split() const { return geometry_.format == CdTableFormat::TwoLevel64K ? 10 : 6; }
  CdTableGeometry geometry_;
  PageAllocator& allocator_;
  TableSpace& space_;
  std::uint64_t base_ = 0;
  std::map<std::uint32_t, std::uint64_t> l2_tables_;  // L1 index -> leaf table
};

}  // namespace smmuv3tlm::tables
