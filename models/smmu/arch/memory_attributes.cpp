#include "smmuv3tlm/models/smmu/arch/memory_attributes.h"

#include <algorithm>

namespace smmuv3tlm::smmu {

namespace {

// One cache level of a Normal type. Cacheability in order of strength
// (§13.1.5: the stronger wins a combine): non-cacheable, write-through, write-back.
enum Cacheability : std::uint8_t { kNonCacheable = 1, kWriteThrough = 2, kWriteBack = 3 };

struct Level {
  std::uint8_t cacheability = kWriteBack;
  bool read_allocate = true;
  bool write_allocate = true;
  bool transient = false;

  bool cacheable() const { return cacheability != kNonCacheable; }
};

struct Decoded {
  bool device = false;
  unsigned device_type = 0;  // 0 nGnRnE, 1 nGnRE, 2 nGRE, 3 GRE: lower is stronger
  Level inner;
  Level outer;
  Shareability shareability = Shareability::NonShareable;
};

// A MAIR Attr nibble of a Normal type: 0b0100 NC; 0b00RW WT transient, 0b01RW
// WB transient (RW != 00), 0b10RW WT, 0b11RW WB. The UNPREDICTABLE encodings
// (0b0000 and 0b00/0b01 with RW == 00 but not 0b0100) are taken as NC.
Level decode_level(unsigned nibble) {
  Level level;
  const unsigned kind = (nibble >> 2) & 3;
  const bool ra = (nibble & 2) != 0;
  const bool wa = (nibble & 1) != 0;
  if (kind < 2 && !ra && !wa) {
    level.cacheability = kNonCacheable;
    level.read_allocate = level.write_allocate = false;
    return level;
  }
  level.cacheability = (kind & 1) != 0 ? kWriteBack : kWriteThrough;
  level.read_allocate = ra;
  level.write_allocate = wa;
  level.transient = kind < 2;
  return level;
}

unsigned encode_level(const Level& level) {
  if (!level.cacheable()) return 0b0100;
  const unsigned rw = (level.read_allocate ? 2u : 0u) | (level.write_allocate ? 1u : 0u);
  // A no-allocate level has no transient form (§13.1.7: it is non-transient).
  const bool transient = level.transient && rw != 0;
  const unsigned kind = (transient ? 0u : 2u) | (level.cacheability == kWriteBack ? 1u : 0u);
  return (kind << 2) | rw;
}

Decoded decode(const MemoryAttributes& a) {
  Decoded d;
  d.shareability = a.shareability;
  if (is_device(a.type)) {
    d.device = true;
    d.device_type = (a.type >> 2) & 3;
    return d;
  }
  d.outer = decode_level(a.type >> 4);
  d.inner = decode_level(a.type & 0xf);
  return d;
}

MemoryAttributes encode(const Decoded& d) {
  MemoryAttributes a;
  a.shareability = d.shareability;
  a.type = d.device ? static_cast<std::uint8_t>(d.device_type << 2)
                    : static_cast<std::uint8_t>((encode_level(d.outer) << 4) | encode_level(d.inner));
  return a;
}

// Strength of a shareability for a combine (§13.1.5): OSH > ISH > NSH.
unsigned strength(Shareability sh) {
  switch (sh) {
    case Shareability::OuterShareable: return 2;
    case Shareability::InnerShareable: return 1;
    case Shareability::NonShareable: break;
  }
  return 0;
}


// The hints of two cacheable levels combined: no-allocate and transient are
// the stronger values (§13.1.5).
void combine_hints(Level& into, const Level& other) {
  into.read_allocate = into.read_allocate && other.read_allocate;
  into.write_allocate = into.write_allocate && other.write_allocate;
  into.transient = into.transient || other.transient;
}

}  // namespace

const char* to_string(Shareability sh) {
  switch (sh) {
    case Shareability::NonShareable: return "non-shareable";
    case Shareability::OuterShareable: return "outer-shareable";
    case Shareability::InnerShareable: return "inner-shareable";
  }
  return "unknown";
}

std::uint8_t mair_type_from_stage2(unsigned memattr) {
  memattr &= 0xf;
  if ((memattr >> 2) == 0) return static_cast<std::uint8_t>((memattr & 3) << 2);  // Device
  // Each level: 0b01 NC, 0b10 WT, 0b11 WB (0b00 under a Normal outer is
  // reserved: NC). Stage 2's implicit hints are RA, WA, non-transient.
  auto level = [](unsigned bits) -> unsigned {
    switch (bits) {
      case 0b10: return 0b1011;
      case 0b11: return 0b1111;
      default: return 0b0100;
    }
  };
  return static_cast<std::uint8_t>((level(memattr >> 2) << 4) | level(memattr & 3));
}

MemoryAttributes apply_overrides(const MemoryAttributes& incoming, const AttributeOverrides& overrides) {
  Decoded out = decode(incoming);
  if (overrides.mtcfg) {
    const unsigned memattr = overrides.memattr & 0xf;
    // §5.2 STE.MemAttr: 0b0100, 0b1000 and 0b1100 are reserved and behave as
    // Device-nGnRnE.
    const bool reserved = (memattr & 3) == 0 && (memattr >> 2) != 0;
    Decoded replaced = decode(MemoryAttributes{reserved ? std::uint8_t{0} : mair_type_from_stage2(memattr),
                                               out.shareability});
    // §13.1.4: a level that was cacheable keeps its hints; one made cacheable
    // from a non-cacheable input takes RA, WA, non-transient.
    if (!out.device && !replaced.device) {
      for (auto [from, to] : {std::pair{&out.inner, &replaced.inner}, std::pair{&out.outer, &replaced.outer}}) {
        if (from->cacheable() && to->cacheable()) {
          to->read_allocate = from->read_allocate;
          to->write_allocate = from->write_allocate;
          to->transient = from->transient;
        }
      }
    }
    out = replaced;
  }
  if ((overrides.alloccfg & 0b1000) != 0 && !out.device) {
    // 0b1RWT, inner and outer alike; only cacheable levels have hints.
    for (Level* level : {&out.inner, &out.outer}) {
      if (!level->cacheable()) continue;
      level->read_allocate = (overrides.alloccfg & 0b100) != 0;
      level->write_allocate = (overrides.alloccfg & 0b010) != 0;
      level->transient = (overrides.alloccfg & 0b001) != 0;
    }
  }
  if ((overrides.shcfg & 3) != 0b01) out.shareability = shareability_from_sh(overrides.shcfg);
  return encode(out);
}

MemoryAttributes stage1_attributes(const MemoryAttributes& input, std::uint8_t mair_type, Shareability sh) {
  const Decoded in = decode(input);
  Decoded out = decode(MemoryAttributes{mair_type, sh});
  if (!in.device && !out.device) {
    // §13.4.2: a cacheable input's hints combine with stage 1's.
    if (in.inner.cacheable() && out.inner.cacheable()) combine_hints(out.inner, in.inner);
    if (in.outer.cacheable() && out.outer.cacheable()) combine_hints(out.outer, in.outer);
  }
  return encode(out);
}

MemoryAttributes combine_stage2(const MemoryAttributes& input, unsigned s2_memattr, Shareability s2_sh) {
  const Decoded in = decode(input);
  const Decoded s2 = decode(MemoryAttributes{mair_type_from_stage2(s2_memattr), s2_sh});
  Decoded out = in;
  out.shareability = strength(s2_sh) > strength(in.shareability) ? s2_sh : in.shareability;
  if (in.device || s2.device) {
    out.device = true;
    out.device_type = in.device && s2.device ? std::min(in.device_type, s2.device_type)
                                             : (in.device ? in.device_type : s2.device_type);
    return encode(out);
  }
  // The weaker cacheability of each level; hints pass unchanged.
  out.inner.cacheability = std::min(in.inner.cacheability, s2.inner.cacheability);
  out.outer.cacheability = std::min(in.outer.cacheability, s2.outer.cacheability);
  return encode(out);
}

MemoryAttributes consistent(const MemoryAttributes& attributes) {
  const Decoded d = decode(attributes);
  MemoryAttributes out = encode(d);  // drops hints of NC levels, TR of no-allocate levels
  if (d.device || (!d.inner.cacheable() && !d.outer.cacheable())) out.shareability = Shareability::OuterShareable;
  return out;
}

}  // namespace smmuv3tlm::smmu
