// smmu-entry-update: the host driver's hitless STE/CD writer on entries given
// as JSON lines, one report line each (platforms/driver/entry_update_json.h),
// to check the algorithm against the Linux driver's own test expectations.
// A malformed line is reported on stderr with its line number and key; the
// other lines still run; the exit status is 1 when any line was malformed.
#include <fstream>
#include <iostream>
#include <string>

#include "smmuv3tlm/platforms/driver/entry_update_json.h"

int main(int argc, char* argv[]) {
  if (argc > 2 || (argc == 2 && std::string(argv[1]).rfind("-", 0) == 0)) {
    std::cerr << "usage: smmu-entry-update [FILE]   (JSON lines on FILE or standard input)\n";
    return 2;
  }
  std::ifstream file;
  if (argc == 2) {
    file.open(argv[1]);
    if (!file) {
      std::cerr << "smmu-entry-update: cannot read " << argv[1] << "\n";
      return 2;
    }
  }
  std::istream& in = argc == 2 ? static_cast<std::istream&>(file) : std::cin;
  const std::string source = argc == 2 ? argv[1] : "<stdin>";
  std::string line;
  unsigned number = 0;
  bool failed = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      std::cout << smmuv3tlm::driver::entry_update_json(line) << "\n";
    } catch (const std::exception& e) {
      std::cerr << source << ":" << number << ": " << e.what() << "\n";
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
