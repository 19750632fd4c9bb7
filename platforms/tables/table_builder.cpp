#include "smmuv3tlm/platforms/tables/table_builder.h"

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

#include <algorithm>
#include <iterator>
#include <new>
#include <stdexcept>
#include <string>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/translation_table.h"
#include "smmuv3tlm/models/smmu/arch/entry_fields.h"

namespace smmuv3tlm::tables {

using smmu::bit;
using smmu::deposit;
using smmu::extract;
using smmu::mask_bits;

namespace {

std::string hex(std::uint64_t value) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + out;
}

bool is_power_of_two(std::uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

void check_granule(unsigned granule_log2) {
  if (granule_log2 != 12 && granule_log2 != 14 && granule_log2 != 16) {
    throw std::invalid_argument("granule must be 4K, 16K or 64K (log2 12, 14 or 16), not log2 " +
                                std::to_string(granule_log2));
  }
}

// Descriptor type bits[1:0].
constexpr std::uint64_t kTypeMask = 0b11;
constexpr std::uint64_t kTypeTableOrPage = 0b11;
constexpr std::uint64_t kTypeBlock = 0b01;

}  // namespace

// ---------------------------------------------------------------------------
// Table spaces

void TableSpace::zero(std::uint64_t address, std::uint64_t bytes) {
  for (std::uint64_t offset = 0; offset < bytes; offset += 8) write64(address + offset, 0);
}

MemoryPortSpace::MemoryPortSpace(smmu::MemoryPort& port, smmu::AccessPurpose purpose)
    : port_(port), purpose_(purpose) {}

void MemoryPortSpace::write64(std::uint64_t address, std::uint64_t value) {
  if (!port_.write64(address, value, purpose_)) {
    throw std::runtime_error("table write to " + hex(address) + " aborted");
  }
}

std::uint64_t MemoryPortSpace::read64(std::uint64_t address) {
  std::uint64_t value = 0;
  if (!port_.read64(address, value, purpose_)) {
    throw std::runtime_error("table read from " + hex(address) + " aborted");
  }
  return value;
}

TranslatedSpace::TranslatedSpace(TableSpace& target, Translate translate)
    : target_(target), translate_(std::move(translate)) {}

std::uint64_t TranslatedSpace::to_target(std::uint64_t address) const {
  const std::optional<std::uint64_t> pa = translate_(address);
  if (!pa) throw std::runtime_error("table address " + hex(address) + " is not mapped");
  return *pa;
}

void TranslatedSpace::write64(std::uint64_t address, std::uint64_t value) {
  target_.write64(to_target(address), value);
}

std::uint64_t TranslatedSpace::read64(std::uint64_t address) { return target_.read64(to_target(address)); }

// ---------------------------------------------------------------------------
// Allocation

PageAllocator::PageAllocator(std::uint64_t base, std::uint64_t limit) : base_(base), limit_(limit), next_(base) {
  if (limit <= base) throw std::invalid_argument("allocator range is empty");
}

std::uint64_t PageAllocator::allocate(std::uint64_t bytes, std::uint64_t alignment) {
  if (bytes == 0) throw std::invalid_argument("zero-sized allocation");
  if (!is_power_of_two(alignment)) throw std::invalid_argument("alignment must be a power of 2");
  const std::uint64_t start = (next_ + alignment - 1) & ~(alignment - 1);
  if (start < next_ || start > limit_ || limit_ - start < bytes) throw std::bad_alloc();
  next_ = start + bytes;
  return start;
}

// ---------------------------------------------------------------------------
// Encodings

unsigned tg0_encoding(unsigned granule_log2) {
  check_granule(granule_log2);
  return granule_log2 == 12 ? 0b00 : granule_log2 == 16 ? 0b01 : 0b10;
}

unsigned tg1_encoding(unsigned granule_log2) {
  check_granule(granule_log2);
  return granule_log2 == 14 ? 0b01 : granule_log2 == 12 ? 0b10 : 0b11;
}

unsigned ps_encoding(unsigned address_bits) {
  switch (address_bits) {
    case 32: return 0;
    case 36: return 1;
    case 40: return 2;
    case 42: return 3;
    case 44: return 4;
    case 48: return 5;
    case 52: return 6;
    default: throw std::invalid_argument("no PS encoding for " + std::to_string(address_bits) + " bits");
  }
}

int first_block_level(unsigned granule_log2) {
  check_granule(granule_log2);
  return smmu::first_block_level(granule_log2);
}

unsigned contiguous_entries(unsigned granule_log2, int level) {
  check_granule(granule_log2);
  return 1u << smmu::contiguous_run_log2(level, granule_log2);
}

unsigned TableGeometry::level_shift(int level) const {
  return granule_log2 + static_cast<unsigned>(3 - level) * stride();
}

unsigned TableGeometry::index_bits(int level) const {
  return level == start_level ? input_bits - level_shift(level) : stride();
}

TableGeometry TableGeometry::stage1(unsigned granule_log2, unsigned input_bits) {
  check_granule(granule_log2);
  if (input_bits <= granule_log2 || input_bits > 48) {
    throw std::invalid_argument("stage-1 input size " + std::to_string(input_bits) + " is not supported");
  }
  TableGeometry g;
  g.stage = Stage::Stage1;
  g.granule_log2 = granule_log2;
  g.input_bits = input_bits;
  // AArch64.S1StartLevel: 4 - RoundUp((IA - granule) / stride).
  const unsigned stride = granule_log2 - 3;
  const unsigned levels = (input_bits - granule_log2 + stride - 1) / stride;
  g.start_level = 4 - static_cast<int>(levels);
  return g;
}

TableGeometry TableGeometry::stage2(unsigned granule_log2, unsigned input_bits, unsigned sl0,
                                    unsigned pa_bits) {
  check_granule(granule_log2);
  const std::string where = "S2SL0=" + std::to_string(sl0) + " with a " +
                            std::to_string(1u << (granule_log2 - 10)) + "K granule and " +
                            std::to_string(input_bits) + "-bit IPA";
  // SMMU STE.S2T0SZ range (no STT, no DS): 25..min(48, IAS) input bits.
  if (input_bits < 25 || input_bits > std::min(48u, pa_bits)) {
    throw std::invalid_argument("stage-2 input size " + std::to_string(input_bits) + " is out of range");
  }
  // AArch64.S2InvalidSL (no FEAT_TTST, no FEAT_LPA2).
  bool invalid = sl0 > 2;
  if (sl0 == 2) {
    invalid = granule_log2 == 14 ? pa_bits < 42 : pa_bits < 44;
  }
  if (invalid) throw std::invalid_argument(where + ": AArch64.S2InvalidSL");
  TableGeometry g;
  g.stage = Stage::Stage2;
  g.granule_log2 = granule_log2;
  g.input_bits = input_bits;
  g.s2_sl0 = sl0;
  g.start_level = granule_log2 == 12 ? 2 - static_cast<int>(sl0) : 3 - static_cast<int>(sl0);
  // AArch64.S2InconsistentSL: the start level resolves 1..stride+4 bits (up
  // to 16 concatenated tables).
  const unsigned stride = granule_log2 - 3;
  const unsigned levels_below = static_cast<unsigned>(3 - g.start_level);
  const unsigned min_ia = levels_below * stride + granule_log2 + 1;
  const unsigned max_ia = min_ia + (stride - 1) + 4;
  if (input_bits < min_ia || input_bits > max_ia) {
    throw std::invalid_argument(where + ": AArch64.S2InconsistentSL");
  }
  const unsigned start_bits = input_bits - (levels_below * stride + granule_log2);
  g.concatenated = start_bits > stride ? 1u << (start_bits - stride) : 1u;
  return g;
}

std::vector<unsigned> TableGeometry::legal_stage2_sl0(unsigned granule_log2, unsigned input_bits,
                                                      unsigned pa_bits) {
  std::vector<unsigned> out;
  for (unsigned sl0 = 0; sl0 < 4; ++sl0) {
    try {
      (void)stage2(granule_log2, input_bits, sl0, pa_bits);
      out.push_back(sl0);
    } catch (const std::invalid_argument&) {
    }
  }
  return out;
}

bool operator==(const PageAttributes& a, const PageAttributes& b) {
  return a.af == b.af && a.sh == b.sh && a.dbm == b.dbm && a.ap == b.ap && a.ng == b.ng && a.pxn == b.pxn &&
         a.uxn == b.uxn && a.attr_index == b.attr_index && a.s2ap == b.s2ap && a.s2xn == b.s2xn &&
         a.memattr == b.memattr;
}

// ---------------------------------------------------------------------------
// Page tables

PageTableBuilder::PageTableBuilder(const TableGeometry& geometry, PageAllocator& allocator, TableSpace& space)
    : geometry_(geometry), allocator_(allocator), space_(space) {
  check_granule(geometry_.granule_log2);
  if (geometry_.start_level < 0 || geometry_.start_level > 3) {
    throw std::invalid_argument("start level " + std::to_string(geometry_.start_level) + " is not supported");
  }
  // The start table (all concatenated tables) is aligned to its size.
  const std::uint64_t bytes = geometry_.table_bytes(geometry_.start_level);
  root_ = allocator_.allocate(bytes, std::max<std::uint64_t>(bytes, 64));
  space_.zero(root_, bytes);
  tables_.emplace_back(root_, bytes);
}

std::uint64_t encode_table_descriptor(std::uint64_t next_table, const TableAttributes& attributes) {
  std::uint64_t d = (next_table & mask_bits(47, 12)) | kTypeTableOrPage;
  d = deposit(d, 59, 59, attributes.pxn_table);
  d = deposit(d, 60, 60, attributes.uxn_table);
  d = deposit(d, 62, 61, attributes.ap_table);
  return d;
}

std::uint64_t encode_leaf_descriptor(const TableGeometry& geometry, std::uint64_t output, int level,
                                     const PageAttributes& a, bool contiguous) {
  std::uint64_t d = (output & mask_bits(47, geometry.level_shift(level))) |
                    (level == 3 ? kTypeTableOrPage : kTypeBlock);
  d = deposit(d, 9, 8, a.sh);
  d = deposit(d, 10, 10, a.af);
  d = deposit(d, 51, 51, a.dbm);
  d = deposit(d, 52, 52, contiguous);
  if (geometry.stage == Stage::Stage1) {
    d = deposit(d, 4, 2, a.attr_index);
    d = deposit(d, 7, 6, a.ap);
    d = deposit(d, 11, 11, a.ng);
    d = deposit(d, 53, 53, a.pxn);
    d = deposit(d, 54, 54, a.uxn);
  } else {
    d = deposit(d, 5, 2, a.memattr);
    d = deposit(d, 7, 6, a.s2ap);
    d = deposit(d, 54, 53, a.s2xn);
  }
  return d;
}

std::uint64_t PageTableBuilder::encode_leaf(std::uint64_t output, int level, const PageAttributes& attributes,
                                            bool contiguous) const {
  return encode_leaf_descriptor(geometry_, output, level, attributes, contiguous);
}

std::uint64_t PageTableBuilder::encode_table(std::uint64_t next_table, const TableAttributes& attributes) {
  return encode_table_descriptor(next_table, attributes);
}

std::uint64_t PageTableBuilder::descriptor_slot(std::uint64_t table, int level, std::uint64_t input) const {
  const unsigned bits = geometry_.index_bits(level);
  const std::uint64_t index = (input >> geometry_.level_shift(level)) & ((1ull << bits) - 1);
  return table + index * 8;
}

std::uint64_t PageTableBuilder::new_table() {
  const std::uint64_t bytes = 1ull << geometry_.granule_log2;
  const std::uint64_t table = allocator_.allocate(bytes, bytes);
  space_.zero(table, bytes);
  tables_.emplace_back(table, bytes);
  return table;
}

std::uint64_t PageTableBuilder::walk_create(std::uint64_t input, int level) {
  if (level < geometry_.start_level || level > 3) {
    throw std::invalid_argument("level " + std::to_string(level) + " is outside this walk");
  }
  std::uint64_t table = root_;
  for (int l = geometry_.start_level; l < level; ++l) {
    const std::uint64_t slot = descriptor_slot(table, l, input);
    const std::uint64_t d = space_.read64(slot);
    if ((d & kTypeMask) == kTypeTableOrPage) {
      table = d & mask_bits(47, geometry_.granule_log2);
    } else if ((d & 1) == 0) {
      const std::uint64_t next = new_table();
      space_.write64(slot, encode_table(next));
      table = next;
    } else {
      throw std::logic_error("a block descriptor at level " + std::to_string(l) + " covers " + hex(input));
    }
  }
  return descriptor_slot(table, level, input);
}

std::optional<std::uint64_t> PageTableBuilder::descriptor_address(std::uint64_t input, int level) {
  if (level < geometry_.start_level || level > 3) return std::nullopt;
  std::uint64_t table = root_;
  for (int l = geometry_.start_level; l < level; ++l) {
    const std::uint64_t d = space_.read64(descriptor_slot(table, l, input));
    if ((d & kTypeMask) != kTypeTableOrPage) return std::nullopt;
    table = d & mask_bits(47, geometry_.granule_log2);
  }
  return descriptor_slot(table, level, input);
}

std::uint64_t PageTableBuilder::read_descriptor(std::uint64_t input, int level) {
  const std::optional<std::uint64_t> slot = descriptor_address(input, level);
  if (!slot) throw std::logic_error("the walk for " + hex(input) + " does not reach level " + std::to_string(level));
  return space_.read64(*slot);
}

int PageTableBuilder::pick_level(std::uint64_t input, std::uint64_t output, std::uint64_t remaining) const {
  const int first = std::max(geometry_.start_level, first_block_level(geometry_.granule_log2));
  for (int level = first; level < 3; ++level) {
    const std::uint64_t size = 1ull << geometry_.level_shift(level);
    if ((input & (size - 1)) == 0 && (output & (size - 1)) == 0 && remaining >= size) return level;
  }
  return 3;
}

void PageTableBuilder::install_leaf(std::uint64_t input, std::uint64_t output, int level,
                                    const PageAttributes& attributes, bool contiguous) {
  // A table left behind by earlier (now unmapped) leaves is replaced.
  const std::uint64_t slot = walk_create(input, level);
  space_.write64(slot, encode_leaf(output, level, attributes, contiguous));
  Mapping m;
  m.input = input;
  m.output = output;
  m.size = 1ull << geometry_.level_shift(level);
  m.level = level;
  m.contiguous = contiguous;
  m.attributes = attributes;
  mappings_[input] = m;
}

void PageTableBuilder::map(std::uint64_t input, std::uint64_t output, std::uint64_t size,
                           const PageAttributes& attributes, const MapOptions& options) {
  const std::uint64_t granule = 1ull << geometry_.granule_log2;
  if (size == 0 || ((input | output | size) & (granule - 1)) != 0) {
    throw std::invalid_argument("map(" + hex(input) + ", " + hex(output) + ", " + hex(size) +
                                ") is not granule-aligned");
  }
  if (input + size < input || (geometry_.input_bits < 64 && input + size > (1ull << geometry_.input_bits))) {
    throw std::invalid_argument("map(" + hex(input) + ") leaves the " + std::to_string(geometry_.input_bits) +
                                "-bit input range");
  }
  if (output + size < output || output + size > (1ull << 48)) {
    throw std::invalid_argument("map(" + hex(input) + ") output leaves the 48-bit range");
  }
  // No overlap with the reference map.
  auto it = mappings_.lower_bound(input);
  if (it != mappings_.begin()) {
    const Mapping& prev = std::prev(it)->second;
    if (prev.input + prev.size > input) throw std::invalid_argument("map(" + hex(input) + ") overlaps a mapping");
  }
  if (it != mappings_.end() && it->first < input + size) {
    throw std::invalid_argument("map(" + hex(input) + ") overlaps a mapping at " + hex(it->first));
  }
  if (options.level >= 0) {
    const int level = options.level;
    if (level < geometry_.start_level || level > 3) {
      throw std::invalid_argument("level " + std::to_string(level) + " is outside this walk");
    }
    if (level < 3 && level < first_block_level(geometry_.granule_log2)) {
      throw std::invalid_argument("block descriptors are not legal at level " + std::to_string(level) +
                                  " (use write_descriptor for negative tests)");
    }
    const std::uint64_t block = 1ull << geometry_.level_shift(level);
    if (((input | output | size) & (block - 1)) != 0) {
      throw std::invalid_argument("map(" + hex(input) + ") is not aligned to level-" + std::to_string(level) +
                                  " blocks");
    }
  }
  std::uint64_t done = 0;
  while (done < size) {
    const std::uint64_t in = input + done;
    const std::uint64_t out = output + done;
    const std::uint64_t remaining = size - done;
    const int level = options.level >= 0 ? options.level : pick_level(in, out, remaining);
    const std::uint64_t block = 1ull << geometry_.level_shift(level);
    if (options.contiguous) {
      const std::uint64_t entries = contiguous_entries(geometry_.granule_log2, level);
      const std::uint64_t run = entries * block;
      if ((in & (run - 1)) == 0 && (out & (run - 1)) == 0 && remaining >= run) {
        for (std::uint64_t i = 0; i < entries; ++i) install_leaf(in + i * block, out + i * block, level, attributes, true);
        done += run;
        continue;
      }
    }
    install_leaf(in, out, level, attributes, false);
    done += block;
  }
}

void PageTableBuilder::clear_contiguous_run(const Mapping& leaf) {
  const std::uint64_t run = contiguous_entries(geometry_.granule_log2, leaf.level) * leaf.size;
  const std::uint64_t base = leaf.input & ~(run - 1);
  for (std::uint64_t in = base; in < base + run; in += leaf.size) {
    auto it = mappings_.find(in);
    if (it == mappings_.end() || it->second.level != leaf.level || !it->second.contiguous) continue;
    Mapping& m = it->second;
    m.contiguous = false;
    const std::optional<std::uint64_t> slot = descriptor_address(in, m.level);
    if (slot) space_.write64(*slot, encode_leaf(m.output, m.level, m.attributes, false));
  }
}

void PageTableBuilder::split_block(const Mapping& block) {
  if (block.contiguous) clear_contiguous_run(block);
  const Mapping b = mappings_.at(block.input);
  const int level = b.level + 1;
  const std::uint64_t sub = 1ull << geometry_.level_shift(level);
  const std::optional<std::uint64_t> slot = descriptor_address(b.input, b.level);
  if (!slot) throw std::logic_error("block at " + hex(b.input) + " is not reachable");
  const std::uint64_t table = new_table();
  mappings_.erase(b.input);
  for (std::uint64_t offset = 0; offset < b.size; offset += sub) {
    space_.write64(descriptor_slot(table, level, b.input + offset),
                   encode_leaf(b.output + offset, level, b.attributes, false));
    Mapping m;
    m.input = b.input + offset;
    m.output = b.output + offset;
    m.size = sub;
    m.level = level;
    m.attributes = b.attributes;
    mappings_[m.input] = m;
  }
  space_.write64(*slot, encode_table(table));
}

void PageTableBuilder::unmap(std::uint64_t input, std::uint64_t size) {
  const std::uint64_t granule = 1ull << geometry_.granule_log2;
  if (size == 0 || ((input | size) & (granule - 1)) != 0) {
    throw std::invalid_argument("unmap(" + hex(input) + ", " + hex(size) + ") is not granule-aligned");
  }
  const std::uint64_t end = input + size;
  // Split blocks that straddle either end of the range.
  bool split = true;
  while (split) {
    split = false;
    for (const std::uint64_t edge : {input, end}) {
      auto it = mappings_.upper_bound(edge);
      if (it == mappings_.begin()) continue;
      const Mapping& m = std::prev(it)->second;
      if (m.input < edge && edge < m.input + m.size) {
        split_block(m);
        split = true;
        break;
      }
    }
  }
  std::vector<Mapping> doomed;
  for (auto it = mappings_.lower_bound(input); it != mappings_.end() && it->first < end; ++it) {
    doomed.push_back(it->second);
  }
  for (const Mapping& m : doomed) {
    if (mappings_.count(m.input) == 0) continue;
    if (mappings_.at(m.input).contiguous) clear_contiguous_run(mappings_.at(m.input));
    const std::optional<std::uint64_t> slot = descriptor_address(m.input, m.level);
    if (slot) space_.write64(*slot, 0);
    mappings_.erase(m.input);
  }
}

void PageTableBuilder::remap(std::uint64_t input, std::uint64_t output, std::uint64_t size,
                             const PageAttributes& attributes, const MapOptions& options) {
  unmap(input, size);
  map(input, output, size, attributes, options);
}

void PageTableBuilder::forget_range(std::uint64_t input, std::uint64_t size) {
  auto it = mappings_.upper_bound(input);
  if (it != mappings_.begin()) --it;
  while (it != mappings_.end() && it->first < input + size) {
    if (it->second.input + it->second.size > input) {
      it = mappings_.erase(it);
    } else {
      ++it;
    }
  }
}

void PageTableBuilder::write_descriptor(std::uint64_t input, int level, std::uint64_t raw) {
  const std::uint64_t slot = walk_create(input, level);
  const std::uint64_t span = 1ull << geometry_.level_shift(level);
  forget_range(input & ~(span - 1), span);
  space_.write64(slot, raw);
}

void PageTableBuilder::set_table_attributes(std::uint64_t input, int level, const TableAttributes& attributes) {
  const std::optional<std::uint64_t> slot = descriptor_address(input, level);
  if (!slot || level >= 3) throw std::logic_error("no table descriptor at level " + std::to_string(level));
  const std::uint64_t d = space_.read64(*slot);
  if ((d & kTypeMask) != kTypeTableOrPage) {
    throw std::logic_error("the level-" + std::to_string(level) + " descriptor for " + hex(input) +
                           " is not a table descriptor");
  }
  space_.write64(*slot, encode_table(d & mask_bits(47, 12), attributes));
}

std::optional<Mapping> PageTableBuilder::lookup(std::uint64_t input) const {
  auto it = mappings_.upper_bound(input);
  if (it == mappings_.begin()) return std::nullopt;
  --it;
  if (input - it->second.input >= it->second.size) return std::nullopt;
  return it->second;
}

std::optional<std::uint64_t> PageTableBuilder::translate(std::uint64_t input) const {
  const std::optional<Mapping> m = lookup(input);
  if (!m) return std::nullopt;
  return m->output + (input - m->input);
}

// ---------------------------------------------------------------------------
// STE / CD encoding

std::array<std::uint64_t, 8> encode_ste(const SteFields& f) {
  namespace field = smmu::ste;
  smmu::EntryWords w{};
  field::V.set(w, f.v);
  field::CONFIG.set(w, f.config);
  field::S1FMT.set(w, f.s1fmt);
  field::S1_CONTEXT_PTR.set(w, f.s1_context_ptr);
  field::S1CDMAX.set(w, f.s1cdmax);

  field::S1DSS.set(w, f.s1dss);
  field::S1CIR.set(w, f.s1cir);
  field::S1COR.set(w, f.s1cor);
  field::S1CSH.set(w, f.s1csh);
  field::S1STALLD.set(w, f.s1stalld);
  field::EATS.set(w, f.eats);
  field::STRW.set(w, f.strw);
  field::MEMATTR.set(w, f.memattr);
  field::MTCFG.set(w, f.mtcfg);
  field::ALLOCCFG.set(w, f.alloccfg);
  field::SHCFG.set(w, f.shcfg);
  field::NSCFG.set(w, f.nscfg);
  field::PRIVCFG.set(w, f.privcfg);
  field::INSTCFG.set(w, f.instcfg);

  field::S2VMID.set(w, f.s2vmid);
  field::S2T0SZ.set(w, f.s2t0sz);
  field::S2SL0.set(w, f.s2sl0);
  field::S2IR0.set(w, f.s2ir0);
  field::S2OR0.set(w, f.s2or0);
  field::S2SH0.set(w, f.s2sh0);
  field::S2TG.set(w, f.s2tg);
  field::S2PS.set(w, f.s2ps);
  field::S2AA64.set(w, f.s2aa64);
  field::S2ENDI.set(w, f.s2endi);
  field::S2AFFD.set(w, f.s2affd);
  field::S2PTW.set(w, f.s2ptw);
  field::S2HD.set(w, f.s2hd);
  field::S2HA.set(w, f.s2ha);
  field::S2S.set(w, f.s2s);
  field::S2R.set(w, f.s2r);

  field::S2TTB.set(w, f.s2ttb);
  return w;
}

std::array<std::uint64_t, 8> encode_cd(const CdFields& f) {
  namespace field = smmu::cd;
  smmu::EntryWords w{};
  field::T0SZ.set(w, f.t0sz);
  field::TG0.set(w, f.tg0);
  field::IR0.set(w, f.ir0);
  field::OR0.set(w, f.or0);
  field::SH0.set(w, f.sh0);
  field::EPD0.set(w, f.epd0);
  field::ENDI.set(w, f.endi);
  field::T1SZ.set(w, f.t1sz);
  field::TG1.set(w, f.tg1);
  field::IR1.set(w, f.ir1);
  field::OR1.set(w, f.or1);
  field::SH1.set(w, f.sh1);
  field::EPD1.set(w, f.epd1);
  field::V.set(w, f.v);
  field::IPS.set(w, f.ips);
  field::AFFD.set(w, f.affd);
  field::WXN.set(w, f.wxn);
  field::UWXN.set(w, f.uwxn);
  field::TBI0.set(w, f.tbi0);
  field::TBI1.set(w, f.tbi1);
  field::PAN.set(w, f.pan);
  field::AA64.set(w, f.aa64);
  field::HD.set(w, f.hd);
  field::HA.set(w, f.ha);
  field::S.set(w, f.s);
  field::R.set(w, f.r);
  field::A.set(w, f.a);
  field::ASET.set(w, f.aset);
  field::ASID.set(w, f.asid);

  field::NSCFG0.set(w, f.nscfg0);
  field::HAD0.set(w, f.had0);
  field::TTB0.set(w, f.ttb0);
  field::NSCFG1.set(w, f.nscfg1);
  field::HAD1.set(w, f.had1);
  field::TTB1.set(w, f.ttb1);
  field::MAIR.set(w, f.mair);
  return w;
}

std::uint64_t encode_l1_std(std::uint64_t l2_table, unsigned span) {
  return (l2_table & mask_bits(51, 6)) | deposit(0, 4, 0, span);
}

std::uint64_t encode_l1_cd(std::uint64_t l2_table, bool valid) {
  return (l2_table & mask_bits(51, 12)) | (valid ? 1u : 0u);
}

void attach_ttb0(CdFields& cd, const PageTableBuilder& tables) {
  if (tables.stage() != Stage::Stage1) throw std::invalid_argument("TTB0 needs stage-1 tables");
  cd.t0sz = tables.geometry().tsz();
  cd.tg0 = tg0_encoding(tables.geometry().granule_log2);
  cd.ttb0 = tables.root();
  cd.epd0 = false;
}

void attach_ttb1(CdFields& cd, const PageTableBuilder& tables) {
  if (tables.stage() != Stage::Stage1) throw std::invalid_argument("TTB1 needs stage-1 tables");
  cd.t1sz = tables.geometry().tsz();
  cd.tg1 = tg1_encoding(tables.geometry().granule_log2);
  cd.ttb1 = tables.root();
  cd.epd1 = false;
}

void attach_stage2(SteFields& ste, const PageTableBuilder& tables) {
  if (tables.stage() != Stage::Stage2) throw std::invalid_argument("S2TTB needs stage-2 tables");
  ste.s2t0sz = tables.geometry().tsz();
  ste.s2sl0 = tables.geometry().s2_sl0;
  ste.s2tg = tg0_encoding(tables.geometry().granule_log2);
  ste.s2ttb = tables.root();
}

void attach_cd_table(SteFields& ste, const CdTableBuilder& cds) {
  ste.s1_context_ptr = cds.base();
  ste.s1fmt = cds.s1fmt();
  ste.s1cdmax = cds.s1cdmax();
}

// ---------------------------------------------------------------------------
// Stream tables

StreamTableBuilder::StreamTableBuilder(const StreamTableGeometry& geometry, PageAllocator& allocator,
                                       TableSpace& space)
    : geometry_(geometry), allocator_(allocator), space_(space) {
  if (geometry_.log2size > 32) throw std::invalid_argument("LOG2SIZE above 32");
  std::uint64_t bytes = 0;
  if (geometry_.format == smmu::StreamTableFormat::Linear) {
    bytes = std::uint64_t{smmu::kSteBytes} << geometry_.log2size;
  } else {
    if (geometry_.split != 6 && geometry_.split != 8 && geometry_.split != 10) {
      throw std::invalid_argument("SPLIT must be 6, 8 or 10");
    }
    const unsigned l1_bits = geometry_.log2size > geometry_.split ? geometry_.log2size - geometry_.split : 0;
    bytes = std::uint64_t{smmu::kL1StdBytes} << l1_bits;
  }
  base_ = allocator_.allocate(bytes, std::max<std::uint64_t>(bytes, 64));
  space_.zero(base_, bytes);
}

std::uint64_t StreamTableBuilder::strtab_base() const { return (base_ & mask_bits(51, 6)) | (1ull << 62); }

std::uint32_t StreamTableBuilder::strtab_base_cfg() const {
  std::uint64_t cfg = deposit(0, 5, 0, geometry_.log2size);
  if (geometry_.format == smmu::StreamTableFormat::TwoLevel) {
    cfg = deposit(cfg, 10, 6, geometry_.split);
    cfg = deposit(cfg, 17, 16, 1);
  }
  return static_cast<std::uint32_t>(cfg);
}

std::uint64_t StreamTableBuilder::l1_descriptor_address(std::uint32_t stream_id) const {
  if (geometry_.format != smmu::StreamTableFormat::TwoLevel) throw std::logic_error("linear stream table");
  return base_ + std::uint64_t{stream_id >> geometry_.split} * smmu::kL1StdBytes;
}

void StreamTableBuilder::write_l1_descriptor(std::uint32_t stream_id, std::uint64_t raw) {
  space_.write64(l1_descriptor_address(stream_id), raw);
}

std::uint64_t StreamTableBuilder::add_l2_table(std::uint32_t stream_id, unsigned span) {
  if (geometry_.format != smmu::StreamTableFormat::TwoLevel) throw std::logic_error("linear stream table");
  const std::uint32_t index = stream_id >> geometry_.split;
  if (auto it = l2_tables_.find(index); it != l2_tables_.end()) return it->second.first;
  if (span == 0) span = geometry_.split + 1;
  const std::uint64_t bytes = std::uint64_t{smmu::kSteBytes} << (span - 1);
  const std::uint64_t table = allocator_.allocate(bytes, std::max<std::uint64_t>(bytes, 64));
  space_.zero(table, bytes);
  l2_tables_[index] = {table, span};
  write_l1_descriptor(stream_id, encode_l1_std(table, span));
  return table;
}

std::uint64_t StreamTableBuilder::ste_address(std::uint32_t stream_id) {
  if (geometry_.log2size < 32 && stream_id >= (1ull << geometry_.log2size)) {
    throw std::out_of_range("StreamID " + std::to_string(stream_id) + " is beyond LOG2SIZE");
  }
  if (geometry_.format == smmu::StreamTableFormat::Linear) {
    return base_ + std::uint64_t{stream_id} * smmu::kSteBytes;
  }
  const std::uint64_t table = add_l2_table(stream_id);
  const unsigned span = l2_tables_.at(stream_id >> geometry_.split).second;
  const std::uint64_t index = stream_id & ((1u << geometry_.split) - 1);
  if (index >= (1ull << (span - 1))) {
    throw std::out_of_range("StreamID " + std::to_string(stream_id) + " is beyond its L1STD.Span");
  }
  return table + index * smmu::kSteBytes;
}

std::uint64_t StreamTableBuilder::write_ste(std::uint32_t stream_id, const SteFields& fields) {
  return write_ste_words(stream_id, encode_ste(fields));
}

std::uint64_t StreamTableBuilder::write_ste_words(std::uint32_t stream_id, const std::array<std::uint64_t, 8>& words) {
  const std::uint64_t address = ste_address(stream_id);
  // Dword 0 (V, Config) last, as for a first install.
  for (unsigned i = 1; i < 8; ++i) space_.write64(address + 8ull * i, words[i]);
  space_.write64(address, words[0]);
  return address;
}

// ---------------------------------------------------------------------------
// CD tables

CdTableBuilder::CdTableBuilder(const CdTableGeometry& geometry, PageAllocator& allocator, TableSpace& space)
    : geometry_(geometry), allocator_(allocator), space_(space) {
  if (geometry_.s1cdmax > 20) throw std::invalid_argument("S1CDMax above 20");
  std::uint64_t bytes = 0;
  if (geometry_.format == CdTableFormat::Linear || geometry_.s1cdmax == 0) {
    // With S1CDMax == 0, S1Fmt is IGNORED and S1ContextPtr points at one CD.
    bytes = std::uint64_t{smmu::kCdBytes} << geometry_.s1cdmax;
  } else {
    const unsigned l1_bits = geometry_.s1cdmax > split() ? geometry_.s1cdmax - split() : 0;
    bytes = std::uint64_t{smmu::kL1CdBytes} << l1_bits;
  }
  base_ = allocator_.allocate(bytes, std::max<std::uint64_t>(bytes, 64));
  space_.zero(base_, bytes);
}

unsigned CdTableBuilder::s1fmt() const { return static_cast<unsigned>(geometry_.format); }

std::uint64_t CdTableBuilder::l1_descriptor_address(std::uint32_t substream_id) const {
  if (geometry_.format == CdTableFormat::Linear || geometry_.s1cdmax == 0) {
    throw std::logic_error("linear CD table");
  }
  return base_ + std::uint64_t{substream_id >> split()} * smmu::kL1CdBytes;
}

void CdTableBuilder::write_l1_descriptor(std::uint32_t substream_id, std::uint64_t raw) {
  space_.write64(l1_descriptor_address(substream_id), raw);
}

std::uint64_t CdTableBuilder::add_l2_table(std::uint32_t substream_id) {
  const std::uint32_t index = substream_id >> split();
  if (auto it = l2_tables_.find(index); it != l2_tables_.end()) return it->second;
  const std::uint64_t bytes = std::uint64_t{smmu::kCdBytes} << split();  // 4KB or 64KB
  const std::uint64_t table = allocator_.allocate(bytes, bytes);
  space_.zero(table, bytes);
  l2_tables_[index] = table;
  write_l1_descriptor(substream_id, encode_l1_cd(table, true));
  return table;
}

std::uint64_t CdTableBuilder::cd_address(std::uint32_t substream_id) {
  if (substream_id >= (1ull << geometry_.s1cdmax)) {
    throw std::out_of_range("SubstreamID " + std::to_string(substream_id) + " is beyond S1CDMax");
  }
  if (geometry_.format == CdTableFormat::Linear || geometry_.s1cdmax == 0) {
    return base_ + std::uint64_t{substream_id} * smmu::kCdBytes;
  }
  const std::uint64_t table = add_l2_table(substream_id);
  return table + std::uint64_t{substream_id & ((1u << split()) - 1)} * smmu::kCdBytes;
}

std::uint64_t CdTableBuilder::write_cd(std::uint32_t substream_id, const CdFields& fields) {
  return write_cd_words(substream_id, encode_cd(fields));
}

std::uint64_t CdTableBuilder::write_cd_words(std::uint32_t substream_id, const std::array<std::uint64_t, 8>& words) {
  const std::uint64_t address = cd_address(substream_id);
  // Dword 0 (V) last, as for a first install.
  for (unsigned i = 1; i < 8; ++i) space_.write64(address + 8ull * i, words[i]);
  space_.write64(address, words[0]);
  return address;
}

}  // namespace smmuv3tlm::tables
