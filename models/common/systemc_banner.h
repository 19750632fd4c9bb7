// SystemC 2.3 prints its copyright banner from its own main(), before sc_main
// runs, unless SYSTEMC_DISABLE_COPYRIGHT_MESSAGE is set. A program keeps its
// output clean by setting it during static initialisation, which comes before
// main(): define, at namespace scope in the file with sc_main,
//   const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();
// A user's own setting of the variable is kept.
#pragma once

#include <cstdlib>

namespace smmuv3tlm {

inline bool suppress_systemc_banner() { return ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0) == 0; }

}  // namespace smmuv3tlm
