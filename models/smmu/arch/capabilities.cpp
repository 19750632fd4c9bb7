#include "smmuv3tlm/models/smmu/arch/capabilities.h"

#include <fmt/format.h>

#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::smmu {

namespace {

// IDR5.OAS encodings (IHI 0070 §6.3.6): index = encoding, value = bits.
constexpr std::array<unsigned, 7> kOasBitsByEncoding = {32, 36, 40, 42, 44, 48, 52};
// Widest output address the model implements: 52-bit (LPA) needs the 52-bit
// descriptor formats, which the table walker does not decode.
constexpr unsigned kMaxImplementedOasBits = 48;

// A set ID register bit (or field) the model does not implement, with the reason.
struct UnimplementedField {
  const char* register_name;
  const char* field_name;
  RegisterField field;
  const char* reason;
};

// IDR bits that must read as zero because the model has no such feature.
const UnimplementedField kUnimplemented[] = {
    {"IDR0", "DORMHINT", reg::idr0::DORMHINT, "no dormant state is modelled"},
    {"IDR0", "NS1ATS", reg::idr0::NS1ATS, "ATS is not implemented (NS1ATS: stage-1-only ATS)"},
    {"IDR0", "VATOS", reg::idr0::VATOS, "virtual ATOS is not implemented"},
    {"IDR0", "ATSRECERR", reg::idr0::ATSRECERR, "ATS error recording is not implemented"},
    {"IDR0", "bit 29", RegisterField{29, 29}, "reserved"},
    {"IDR0", "RME_IMPL", reg::idr0::RME_IMPL, "the Realm Management Extension is not implemented"},
    {"IDR0", "bit 31", RegisterField{31, 31}, "reserved"},
    {"IDR1", "REL", reg::idr1::REL, "relative base pointers are not implemented"},
    {"IDR1", "QUEUES_PRESET", reg::idr1::QUEUES_PRESET,
     "queue base registers are always programmable"},
    {"IDR1", "TABLES_PRESET", reg::idr1::TABLES_PRESET,
     "table base registers are always programmable"},
    {"IDR1", "ECMDQ", reg::idr1::ECMDQ, "enhanced command queues are not implemented"},
    {"IDR3", "bits 1:0", RegisterField{1, 0}, "reserved"},
    {"IDR3", "PBHA", reg::idr3::PBHA, "page-based hardware attributes are not implemented"},
    {"IDR3", "PPS", reg::idr3::PPS, "PRI page-response PASID control is not implemented"},
    {"IDR3", "bit 6", RegisterField{6, 6}, "reserved"},
    {"IDR3", "MPAM", reg::idr3::MPAM, "MPAM is not implemented"},
    {"IDR3", "FWB", reg::idr3::FWB, "stage-2 forced write-back is not implemented"},
    {"IDR3", "STT", reg::idr3::STT, "small translation tables are not implemented"},
    {"IDR3", "E0PD", reg::idr3::E0PD, "E0PD is not implemented"},
    {"IDR3", "PTWNNC", reg::idr3::PTWNNC, "non-cacheable walk override is not implemented"},
    {"IDR3", "DPT", reg::idr3::DPT, "device permission tables are not implemented"},
    {"IDR3", "bits 31:16", RegisterField{31, 16}, "not implemented (later architecture features)"},
    {"IDR5", "bit 3", RegisterField{3, 3}, "reserved"},
    {"IDR5", "bits 9:7", RegisterField{9, 7}, "reserved"},
    {"IDR5", "VAX", reg::idr5::VAX, "52-bit virtual addresses are not implemented"},
    {"IDR5", "bits 15:12", RegisterField{15, 12}, "reserved"},
    {"IDR5", "STALL_MAX", reg::idr5::STALL_MAX, "stalling faults are not implemented"},
    {"AIDR", "bits 31:8", RegisterField{31, 8}, "reserved"},
    {"AIDR", "ArchMajorRev", reg::aidr::ArchMajorRev, "only SMMUv3 (major revision 0) is modelled"},
};

// Every field the model encodes, for the round-trip check that names the field
// whose value would not survive.
struct EncodedField {
  int idr;  // 0, 1, 3, 5; -1 for AIDR
  const char* name;
  RegisterField field;
};

const EncodedField kEncodedFields[] = {
    {0, "S2P", reg::idr0::S2P},
    {0, "S1P", reg::idr0::S1P},
    {0, "TTF", reg::idr0::TTF},
    {0, "COHACC", reg::idr0::COHACC},
    {0, "BTM", reg::idr0::BTM},
    {0, "HTTU", reg::idr0::HTTU},
    {0, "HYP", reg::idr0::HYP},
    {0, "ATS", reg::idr0::ATS},
    {0, "ASID16", reg::idr0::ASID16},
    {0, "MSI", reg::idr0::MSI},
    {0, "SEV", reg::idr0::SEV},
    {0, "PRI", reg::idr0::PRI},
    {0, "VMW", reg::idr0::VMW},
    {0, "VMID16", reg::idr0::VMID16},
    {0, "CD2L", reg::idr0::CD2L},
    {0, "TTENDIAN", reg::idr0::TTENDIAN},
    {0, "STALL_MODEL", reg::idr0::STALL_MODEL},
    {0, "TERM_MODEL", reg::idr0::TERM_MODEL},
    {0, "ST_LEVEL", reg::idr0::ST_LEVEL},
    {1, "SIDSIZE", reg::idr1::SIDSIZE},
    {1, "SSIDSIZE", reg::idr1::SSIDSIZE},
    {1, "PRIQS", reg::idr1::PRIQS},
    {1, "EVENTQS", reg::idr1::EVENTQS},
    {1, "CMDQS", reg::idr1::CMDQS},
    {1, "ATTR_PERMS_OVR", reg::idr1::ATTR_PERMS_OVR},
    {1, "ATTR_TYPES_OVR", reg::idr1::ATTR_TYPES_OVR},
    {3, "HAD", reg::idr3::HAD},
    {3, "XNX", reg::idr3::XNX},
    {3, "RIL", reg::idr3::RIL},
    {3, "BBML", reg::idr3::BBML},
    {5, "OAS", reg::idr5::OAS},
    {5, "GRAN4K", reg::idr5::GRAN4K},
    {5, "GRAN16K", reg::idr5::GRAN16K},
    {5, "GRAN64K", reg::idr5::GRAN64K},
    {-1, "ArchMinorRev", reg::aidr::ArchMinorRev},
};

std::uint32_t put(std::uint32_t value, const RegisterField& field, std::uint64_t field_value) {
  return static_cast<std::uint32_t>(field.set(value, field_value));
}

unsigned get(std::uint32_t value, const RegisterField& field) {
  return static_cast<unsigned>(field.get(value));
}

}  // namespace

// ---- Encoding (IHI 0070 §6.3.1-6.3.6, §6.3.8) -------------------------------------

std::uint32_t Capabilities::idr0() const {
  namespace f = reg::idr0;
  std::uint32_t v = 0;
  v = put(v, f::S2P, stage2);
  v = put(v, f::S1P, stage1);
  v = put(v, f::TTF, (aarch64_tables ? 2u : 0u) | (aarch32_tables ? 1u : 0u));
  v = put(v, f::COHACC, coherent_access);
  v = put(v, f::BTM, broadcast_tlb);
  v = put(v, f::HTTU, static_cast<unsigned>(httu));
  v = put(v, f::HYP, hyp);
  v = put(v, f::ATS, ats);
  v = put(v, f::ATOS, atos);
  v = put(v, f::ASID16, asid16);
  v = put(v, f::MSI, msi);
  v = put(v, f::SEV, sev);
  v = put(v, f::PRI, pri);
  v = put(v, f::VMW, vmid_wildcard);
  v = put(v, f::VMID16, vmid16);
  v = put(v, f::CD2L, cd2l);
  v = put(v, f::TTENDIAN, static_cast<unsigned>(tt_endian));
  v = put(v, f::STALL_MODEL, static_cast<unsigned>(stall_model));
  v = put(v, f::TERM_MODEL, term_model);
  v = put(v, f::ST_LEVEL, two_level_stream_table ? 1u : 0u);
  return v;
}

std::uint32_t Capabilities::idr1() const {
  namespace f = reg::idr1;
  std::uint32_t v = 0;
  v = put(v, f::SIDSIZE, sid_bits);
  v = put(v, f::SSIDSIZE, ssid_bits);
  // PRIQS describes the PRI queue, which exists only when IDR0.PRI is set.
  v = put(v, f::PRIQS, pri ? priq_log2 : 0u);
  v = put(v, f::EVENTQS, eventq_log2);
  v = put(v, f::CMDQS, cmdq_log2);
  v = put(v, f::ATTR_PERMS_OVR, attr_perms_override);
  v = put(v, f::ATTR_TYPES_OVR, attr_types_override);
  return v;
}

// IDR2.BA_VATOS: VATOS is not implemented.
std::uint32_t Capabilities::idr2() const { return 0; }

std::uint32_t Capabilities::idr3() const {
  namespace f = reg::idr3;
  std::uint32_t v = 0;
  v = put(v, f::HAD, had);
  v = put(v, f::XNX, xnx);
  v = put(v, f::RIL, ril);
  v = put(v, f::BBML, bbml);
  return v;
}

// IDR4 is IMPLEMENTATION DEFINED.
std::uint32_t Capabilities::idr4() const { return 0; }

std::uint32_t Capabilities::idr5() const {
  namespace f = reg::idr5;
  std::uint32_t v = 0;
  v = put(v, f::OAS, oas_encoding(oas_bits));
  v = put(v, f::GRAN4K, granule_4k);
  v = put(v, f::GRAN16K, granule_16k);
  v = put(v, f::GRAN64K, granule_64k);
  return v;
}

std::uint32_t Capabilities::aidr() const { return put(0, reg::aidr::ArchMinorRev, arch_minor); }

unsigned Capabilities::oas_encoding(unsigned bits) {
  // The widest architectural size not above `bits` (32 bits at least).
  unsigned encoding = 0;
  for (unsigned e = 0; e < kOasBitsByEncoding.size(); ++e) {
    if (kOasBitsByEncoding[e] <= bits) encoding = e;
  }
  return encoding;
}

unsigned Capabilities::oas_from_encoding(unsigned encoding) {
  return encoding < kOasBitsByEncoding.size() ? kOasBitsByEncoding[encoding] : 0;
}

// ---- What the model implements ---------------------------------------------------

std::string Capabilities::unsupported_reason() const {
  if (!stage1 && !stage2) return "IDR0.S1P/S2P: at least one translation stage must be implemented";
  if (!aarch64_tables) return "IDR0.TTF: AArch64 translation tables are required";
  if (aarch32_tables) return "IDR0.TTF: AArch32 (LPAE) translation tables are not implemented";
  if (static_cast<unsigned>(httu) > 2) return "IDR0.HTTU: reserved value 3";
  if (ats) return "IDR0.ATS: ATS translation requests and ATC invalidation are not modelled";
  if (tt_endian != TtEndian::LittleOnly) {
    return fmt::format(
        "IDR0.TTENDIAN: {} translation tables are not implemented (little-endian only)",
        to_string(tt_endian));
  }
  if (stall_model != StallModel::TerminateOnly) {
    return fmt::format(
        "IDR0.STALL_MODEL: {} is not implemented (stalling faults are not modelled; "
        "use terminate-only)",
        to_string(stall_model));
  }
  if (sid_bits > 32)
    return fmt::format("IDR1.SIDSIZE: {} exceeds the architectural maximum 32", sid_bits);
  if (ssid_bits > 20) {
    return fmt::format("IDR1.SSIDSIZE: {} exceeds the architectural maximum 20", ssid_bits);
  }
  const unsigned max_queue = reg::queue_pointer::kMaxLog2Entries;
  if (cmdq_log2 > max_queue) {
    return fmt::format("IDR1.CMDQS: {} exceeds the architectural maximum {}", cmdq_log2, max_queue);
  }
  if (eventq_log2 > max_queue) {
    return fmt::format("IDR1.EVENTQS: {} exceeds the architectural maximum {}", eventq_log2,
                       max_queue);
  }
  if (pri && priq_log2 > max_queue) {
    return fmt::format("IDR1.PRIQS: {} exceeds the architectural maximum {}", priq_log2, max_queue);
  }
  if (bbml > 2) return fmt::format("IDR3.BBML: reserved value {}", bbml);
  if (oas_bits > kMaxImplementedOasBits && oas_bits <= 52) {
    return fmt::format("IDR5.OAS: {}-bit output addresses (LPA) are not implemented", oas_bits);
  }
  if (kOasBitsByEncoding[oas_encoding(oas_bits)] != oas_bits) {
    return fmt::format("IDR5.OAS: {} bits is not an architectural output address size", oas_bits);
  }
  if (!granule_4k && !granule_16k && !granule_64k) {
    return "IDR5.GRAN4K/16K/64K: at least one translation granule must be implemented";
  }
  if (arch_minor > 15)
    return fmt::format("AIDR.ArchMinorRev: {} does not fit in 4 bits", arch_minor);
  return {};
}

std::optional<Capabilities> Capabilities::from_idrs(std::uint32_t idr0, std::uint32_t idr1,
                                                    std::uint32_t idr3, std::uint32_t idr5,
                                                    std::uint32_t aidr, std::string& error) {
  const auto value_of = [&](const char* register_name) -> std::uint32_t {
    const std::string r = register_name;
    if (r == "IDR0") return idr0;
    if (r == "IDR1") return idr1;
    if (r == "IDR3") return idr3;
    if (r == "IDR5") return idr5;
    return aidr;
  };
  for (const UnimplementedField& u : kUnimplemented) {
    const std::uint64_t field = u.field.get(value_of(u.register_name));
    if (field != 0) {
      error = fmt::format("{}.{} = {:#x}: {}", u.register_name, u.field_name, field, u.reason);
      return std::nullopt;
    }
  }

  namespace f0 = reg::idr0;
  const unsigned ttf = get(idr0, f0::TTF);
  if (ttf == 0) {
    error = "IDR0.TTF = 0: reserved encoding";
    return std::nullopt;
  }
  const unsigned ttendian = get(idr0, f0::TTENDIAN);
  if (ttendian == 1) {
    error = "IDR0.TTENDIAN = 1: reserved encoding";
    return std::nullopt;
  }
  const unsigned stall = get(idr0, f0::STALL_MODEL);
  if (stall == 3) {
    error = "IDR0.STALL_MODEL = 3: reserved encoding";
    return std::nullopt;
  }
  const unsigned st_level = get(idr0, f0::ST_LEVEL);
  if (st_level > 1) {
    error = fmt::format("IDR0.ST_LEVEL = {}: reserved encoding", st_level);
    return std::nullopt;
  }
  const unsigned oas = get(idr5, reg::idr5::OAS);
  if (oas >= kOasBitsByEncoding.size()) {
    error = fmt::format("IDR5.OAS = {}: reserved encoding", oas);
    return std::nullopt;
  }
  if (!get(idr0, f0::PRI) && get(idr1, reg::idr1::PRIQS) != 0) {
    error =
        "IDR1.PRIQS is non-zero but IDR0.PRI is 0: the model has a PRI queue only when PRI is "
        "advertised";
    return std::nullopt;
  }

  Capabilities c;
  c.stage2 = get(idr0, f0::S2P);
  c.stage1 = get(idr0, f0::S1P);
  c.aarch64_tables = (ttf & 2u) != 0;
  c.aarch32_tables = (ttf & 1u) != 0;
  c.coherent_access = get(idr0, f0::COHACC);
  c.broadcast_tlb = get(idr0, f0::BTM);
  c.httu = static_cast<HttuSupport>(get(idr0, f0::HTTU));
  c.hyp = get(idr0, f0::HYP);
  c.ats = get(idr0, f0::ATS);
  c.atos = get(idr0, f0::ATOS);
  c.asid16 = get(idr0, f0::ASID16);
  c.msi = get(idr0, f0::MSI);
  c.sev = get(idr0, f0::SEV);
  c.pri = get(idr0, f0::PRI);
  c.vmid_wildcard = get(idr0, f0::VMW);
  c.vmid16 = get(idr0, f0::VMID16);
  c.cd2l = get(idr0, f0::CD2L);
  c.tt_endian = static_cast<TtEndian>(ttendian);
  c.stall_model = static_cast<StallModel>(stall);
  c.term_model = get(idr0, f0::TERM_MODEL);
  c.two_level_stream_table = st_level == 1;

  namespace f1 = reg::idr1;
  c.sid_bits = get(idr1, f1::SIDSIZE);
  c.ssid_bits = get(idr1, f1::SSIDSIZE);
  c.priq_log2 = get(idr1, f1::PRIQS);
  c.eventq_log2 = get(idr1, f1::EVENTQS);
  c.cmdq_log2 = get(idr1, f1::CMDQS);
  c.attr_perms_override = get(idr1, f1::ATTR_PERMS_OVR);
  c.attr_types_override = get(idr1, f1::ATTR_TYPES_OVR);

  c.had = get(idr3, reg::idr3::HAD);
  c.xnx = get(idr3, reg::idr3::XNX);
  c.ril = get(idr3, reg::idr3::RIL);
  c.bbml = get(idr3, reg::idr3::BBML);

  c.oas_bits = kOasBitsByEncoding[oas];
  c.granule_4k = get(idr5, reg::idr5::GRAN4K);
  c.granule_16k = get(idr5, reg::idr5::GRAN16K);
  c.granule_64k = get(idr5, reg::idr5::GRAN64K);

  c.arch_minor = get(aidr, reg::aidr::ArchMinorRev);

  if (std::string why = c.unsupported_reason(); !why.empty()) {
    error = why;
    return std::nullopt;
  }

  // Safety net: every advertised bit must survive the round trip.
  const std::array<std::pair<std::uint32_t, std::uint32_t>, 5> pairs = {
      std::pair{idr0, c.idr0()}, std::pair{idr1, c.idr1()}, std::pair{idr3, c.idr3()},
      std::pair{idr5, c.idr5()}, std::pair{aidr, c.aidr()}};
  for (const EncodedField& e : kEncodedFields) {
    const std::size_t slot = e.idr == 0 ? 0 : e.idr == 1 ? 1 : e.idr == 3 ? 2 : e.idr == 5 ? 3 : 4;
    const auto [given, encoded] = pairs[slot];
    if (e.field.get(given) != e.field.get(encoded)) {
      error =
          fmt::format("{}.{}: value {:#x} cannot be represented by the model",
                      e.idr < 0 ? "AIDR" : fmt::format("IDR{}", e.idr), e.name, e.field.get(given));
      return std::nullopt;
    }
  }
  for (const auto& [given, encoded] : pairs) {
    if (given != encoded) {
      error = fmt::format("ID register value {:#010x} re-encodes as {:#010x}", given, encoded);
      return std::nullopt;
    }
  }
  return c;
}

std::optional<Capabilities> Capabilities::preset(const std::string& name) {
  if (name == "qemu-virt") {
    // QEMU's virt-machine SMMUv3 (stage 1 only, no MSI, linear CD tables).
    std::string error;
    auto caps = from_idrs(0x0d40101a, 0x02730010, 0x1404, 0x74, 0x1, error);
    return caps;
  }
  if (name == "mmu-600" || name == "mmu-700") {
    // Arm CoreLink MMU-600 / MMU-700 as far as the model implements them: no
    // stalling (terminate model), no PRI engine, no ATS, little-endian tables, 48-bit OAS.
    Capabilities c;
    c.stage1 = true;
    c.stage2 = true;
    c.aarch64_tables = true;
    c.aarch32_tables = false;
    c.coherent_access = true;
    c.broadcast_tlb = false;
    c.httu = HttuSupport::AccessAndDirty;
    c.hyp = true;
    c.ats = false;  // not modelled (the real MMU-600/700 implement ATS)
    c.asid16 = true;
    c.msi = true;
    c.sev = true;
    c.pri = false;
    c.vmid16 = true;
    c.vmid_wildcard = false;
    c.cd2l = true;
    c.tt_endian = TtEndian::LittleOnly;
    c.stall_model = StallModel::TerminateOnly;
    c.term_model = true;
    c.two_level_stream_table = true;
    c.sid_bits = 16;
    c.ssid_bits = 20;
    c.cmdq_log2 = 19;
    c.eventq_log2 = 19;
    c.priq_log2 = 0;
    c.attr_types_override = true;
    c.attr_perms_override = false;
    c.had = true;
    c.oas_bits = 48;
    c.granule_4k = c.granule_16k = c.granule_64k = true;
    if (name == "mmu-600") {
      // SMMUv3.1, IIDR = Arm (0x43B), product 0x483, r2p0.
      c.xnx = false;
      c.ril = false;
      c.bbml = 0;
      c.arch_minor = 1;
      c.iidr = (0x483u << 20) | (2u << 16) | (0u << 12) | 0x43Bu;
    } else {
      // SMMUv3.2 (range invalidation, break-before-make level 2), product 0x487, r1p1.
      c.xnx = true;
      c.ril = true;
      c.bbml = 2;
      c.arch_minor = 2;
      c.iidr = (0x487u << 20) | (1u << 16) | (1u << 12) | 0x43Bu;
    }
    return c;
  }
  return std::nullopt;
}

bool operator==(const Capabilities& a, const Capabilities& b) {
  return a.stage1 == b.stage1 && a.stage2 == b.stage2 && a.aarch64_tables == b.aarch64_tables &&
         a.aarch32_tables == b.aarch32_tables && a.coherent_access == b.coherent_access &&
         a.broadcast_tlb == b.broadcast_tlb && a.httu == b.httu && a.hyp == b.hyp &&
         a.ats == b.ats && a.atos == b.atos && a.asid16 == b.asid16 && a.msi == b.msi && a.sev == b.sev &&
         a.pri == b.pri && a.vmid16 == b.vmid16 && a.vmid_wildcard == b.vmid_wildcard &&
         a.cd2l == b.cd2l && a.tt_endian == b.tt_endian && a.stall_model == b.stall_model &&
         a.term_model == b.term_model && a.two_level_stream_table == b.two_level_stream_table &&
         a.sid_bits == b.sid_bits && a.ssid_bits == b.ssid_bits && a.cmdq_log2 == b.cmdq_log2 &&
         a.eventq_log2 == b.eventq_log2 && a.priq_log2 == b.priq_log2 &&
         a.attr_types_override == b.attr_types_override &&
         a.attr_perms_override == b.attr_perms_override && a.had == b.had && a.xnx == b.xnx &&
         a.ril == b.ril && a.bbml == b.bbml && a.oas_bits == b.oas_bits &&
         a.granule_4k == b.granule_4k && a.granule_16k == b.granule_16k &&
         a.granule_64k == b.granule_64k && a.arch_minor == b.arch_minor && a.iidr == b.iidr;
}

bool operator!=(const Capabilities& a, const Capabilities& b) { return !(a == b); }

// ---- Names and JSON ----------------------------------------------------------------

const char* to_string(HttuSupport value) {
  switch (value) {
    case HttuSupport::None:
      return "none";
    case HttuSupport::AccessFlag:
      return "access-flag";
    case HttuSupport::AccessAndDirty:
      return "access-and-dirty";
  }
  return "reserved";
}

const char* to_string(TtEndian value) {
  switch (value) {
    case TtEndian::Mixed:
      return "mixed";
    case TtEndian::LittleOnly:
      return "little";
    case TtEndian::BigOnly:
      return "big";
  }
  return "reserved";
}

const char* to_string(StallModel value) {
  switch (value) {
    case StallModel::StallAndTerminate:
      return "stall-and-terminate";
    case StallModel::TerminateOnly:
      return "terminate-only";
    case StallModel::StallForced:
      return "stall-forced";
  }
  return "reserved";
}

namespace {

// One JSON key per member: how to write it and how to read it.
struct JsonKey {
  std::function<nlohmann::json(const Capabilities&)> to;
  std::function<void(const std::string& key, const nlohmann::json&, Capabilities&)> from;
};

template <typename Member>
JsonKey bool_key(Member member) {
  return {
      [member](const Capabilities& c) { return nlohmann::json(c.*member); },
      [member](const std::string& key, const nlohmann::json& j, Capabilities& c) {
        if (!j.is_boolean()) {
          throw std::invalid_argument(fmt::format("capabilities: key '{}' must be a boolean", key));
        }
        c.*member = j.get<bool>();
      }};
}

template <typename Member>
JsonKey unsigned_key(Member member) {
  return {[member](const Capabilities& c) { return nlohmann::json(c.*member); },
          [member](const std::string& key, const nlohmann::json& j, Capabilities& c) {
            if (!j.is_number_unsigned() || j.get<std::uint64_t>() > 0xFFFF'FFFFu) {
              throw std::invalid_argument(
                  fmt::format("capabilities: key '{}' must be a non-negative 32-bit integer", key));
            }
            c.*member = j.get<std::uint32_t>();
          }};
}

template <typename Enum, typename Member>
JsonKey enum_key(Member member, std::initializer_list<Enum> values) {
  std::vector<Enum> all(values);
  return {
      [member](const Capabilities& c) { return nlohmann::json(to_string(c.*member)); },
      [member, all](const std::string& key, const nlohmann::json& j, Capabilities& c) {
        if (!j.is_string()) {
          throw std::invalid_argument(fmt::format("capabilities: key '{}' must be a string", key));
        }
        const std::string text = j.get<std::string>();
        for (Enum v : all) {
          if (text == to_string(v)) {
            c.*member = v;
            return;
          }
        }
        std::string choices;
        for (Enum v : all)
          choices += fmt::format("{}'{}'", choices.empty() ? "" : ", ", to_string(v));
        throw std::invalid_argument(fmt::format(
            "capabilities: key '{}' has value '{}'; expected one of {}", key, text, choices));
      }};
}

const std::map<std::string, JsonKey>& json_keys() {
  static const std::map<std::string, JsonKey> keys = {
      {"stage1", bool_key(&Capabilities::stage1)},
      {"stage2", bool_key(&Capabilities::stage2)},
      {"aarch64_tables", bool_key(&Capabilities::aarch64_tables)},
      {"aarch32_tables", bool_key(&Capabilities::aarch32_tables)},
      {"coherent_access", bool_key(&Capabilities::coherent_access)},
      {"broadcast_tlb", bool_key(&Capabilities::broadcast_tlb)},
      {"httu", enum_key(&Capabilities::httu,
                        {HttuSupport::None, HttuSupport::AccessFlag, HttuSupport::AccessAndDirty})},
      {"hyp", bool_key(&Capabilities::hyp)},
      {"ats", bool_key(&Capabilities::ats)},
      {"atos", bool_key(&Capabilities::atos)},
      {"asid16", bool_key(&Capabilities::asid16)},
      {"msi", bool_key(&Capabilities::msi)},
      {"sev", bool_key(&Capabilities::sev)},
      {"pri", bool_key(&Capabilities::pri)},
      {"vmid16", bool_key(&Capabilities::vmid16)},
      {"vmid_wildcard", bool_key(&Capabilities::vmid_wildcard)},
      {"cd2l", bool_key(&Capabilities::cd2l)},
      {"tt_endian", enum_key(&Capabilities::tt_endian,
                             {TtEndian::Mixed, TtEndian::LittleOnly, TtEndian::BigOnly})},
      {"stall_model",
       enum_key(&Capabilities::stall_model, {StallModel::StallAndTerminate,
                                             StallModel::TerminateOnly, StallModel::StallForced})},
      {"term_model", bool_key(&Capabilities::term_model)},
      {"two_level_stream_table", bool_key(&Capabilities::two_level_stream_table)},
      {"sid_bits", unsigned_key(&Capabilities::sid_bits)},
      {"ssid_bits", unsigned_key(&Capabilities::ssid_bits)},
      {"cmdq_log2", unsigned_key(&Capabilities::cmdq_log2)},
      {"eventq_log2", unsigned_key(&Capabilities::eventq_log2)},
      {"priq_log2", unsigned_key(&Capabilities::priq_log2)},
      {"attr_types_override", bool_key(&Capabilities::attr_types_override)},
      {"attr_perms_override", bool_key(&Capabilities::attr_perms_override)},
      {"had", bool_key(&Capabilities::had)},
      {"xnx", bool_key(&Capabilities::xnx)},
      {"ril", bool_key(&Capabilities::ril)},
      {"bbml", unsigned_key(&Capabilities::bbml)},
      {"oas_bits", unsigned_key(&Capabilities::oas_bits)},
      {"granule_4k", bool_key(&Capabilities::granule_4k)},
      {"granule_16k", bool_key(&Capabilities::granule_16k)},
      {"granule_64k", bool_key(&Capabilities::granule_64k)},
      {"arch_minor", unsigned_key(&Capabilities::arch_minor)},
      {"iidr", unsigned_key(&Capabilities::iidr)},
  };
  return keys;
}

}  // namespace

void to_json(nlohmann::json& json, const Capabilities& caps) {
  json = nlohmann::json::object();
  for (const auto& [name, key] : json_keys()) json[name] = key.to(caps);
}

void from_json(const nlohmann::json& json, Capabilities& caps) {
  if (!json.is_object()) throw std::invalid_argument("capabilities: expected a JSON object");
  Capabilities result;
  if (const auto it = json.find("preset"); it != json.end()) {
    if (!it->is_string())
      throw std::invalid_argument("capabilities: key 'preset' must be a string");
    const auto base = Capabilities::preset(it->get<std::string>());
    if (!base) {
      throw std::invalid_argument(
          fmt::format("capabilities: unknown preset '{}' (expected mmu-600, mmu-700 or qemu-virt)",
                      it->get<std::string>()));
    }
    result = *base;
  }
  const auto& keys = json_keys();
  for (const auto& [name, value] : json.items()) {
    if (name == "preset") continue;
    const auto key = keys.find(name);
    if (key == keys.end()) {
      throw std::invalid_argument(fmt::format("capabilities: unknown key '{}'", name));
    }
    key->second.from(name, value, result);
  }
  if (std::string why = result.unsupported_reason(); !why.empty()) {
    throw std::invalid_argument("capabilities: " + why);
  }
  caps = result;
}

}  // namespace smmuv3tlm::smmu
