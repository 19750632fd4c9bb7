#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine:
#   bash tools/bootstrap.sh run    install what is missing, build, run the reference platform
#   bash tools/bootstrap.sh test   install what is missing, build, run every test
# Installs only missing Debian packages (idempotent); needs root or sudo for that.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mode="${1:-}"
case "$mode" in
  run|test) ;;
  *) echo "usage: bash tools/bootstrap.sh run|test" >&2; exit 2 ;;
esac

packages=(g++ cmake make pkg-config libsystemc-dev nlohmann-json3-dev libcli11-dev libfmt-dev
          libgtest-dev libgmock-dev googletest libbenchmark-dev libboost-dev python3
          python3-matplotlib python3-distributed)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs="$(nproc)"
build="${SMMU_BUILD_DIR:-build}"
# Optimised, without debug information: the test command's time is mostly
# compilation (-g costs a quarter of it); configure a build of your own for -g.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g0 -DNDEBUG" >/dev/null
cmake --build "$build" -j"$jobs"

if [ "$mode" = run ]; then
  exec "$build/platforms/smmu-sim" --trace traces/default.trace
fi

ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300
# The same suites once more under AddressSanitizer + UndefinedBehaviorSanitizer.
if [ "${SMMU_SKIP_SANITIZERS:-0}" != 1 ]; then
  # Line tables only (-g1): enough for symbolized sanitizer reports, and much
  # less to compile and link than full debug information.
  cmake -S . -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DSMMU_SANITIZE=ON \
    -DSMMU_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build "$build-asan" -j"$jobs"
  ASAN_OPTIONS=detect_leaks=0 ctest --test-dir "$build-asan" --output-on-failure -j"$jobs" --timeout 600
fi
# Timed libFuzzer runs of every fuzz target when clang is present (the replay
# builds of the same targets ran above in every case).
if command -v clang++ >/dev/null 2>&1 && [ "${SMMU_SKIP_FUZZING:-0}" != 1 ]; then
  SMMU_JOBS="$jobs" bash tests/fuzz/run_libfuzzer.sh "$build-fuzz"
else
  echo "clang++ not found (or SMMU_SKIP_FUZZING=1): timed libFuzzer runs skipped"
fi
