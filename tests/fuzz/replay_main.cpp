// Runs a fuzz target without libFuzzer: each file named on the command line,
// then `--random N` seeded pseudo-random inputs. Used by CTest so every build
// exercises the targets; `-DSMMU_BUILD_FUZZERS=ON` with clang builds the real
// libFuzzer binaries from the same sources.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  unsigned random_inputs = 0;
  unsigned files = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--random") == 0 && i + 1 < argc) {
      random_inputs = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
      continue;
    }
    ++files;
    std::ifstream in(argv[i], std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::mt19937_64 rng(0x5eed);
  for (unsigned n = 0; n < random_inputs; ++n) {
    std::vector<std::uint8_t> bytes(16 + rng() % 2048);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replayed %u files and %u random inputs\n", files, random_inputs);
  return 0;
}
