// Fuzz target: arbitrary bytes as a conformance case file. The reader must
// either load a case or return an error naming the file; never crash or throw.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "smmuv3tlm/platforms/conformance/conformance_case.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/smmu-fuzz-case-" + std::to_string(getpid()) + ".json";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  const auto result = smmuv3tlm::conformance::load_case(path);
  if (!result.ok() && result.error().file != path) std::abort();
  return 0;
}
