#!/usr/bin/env bash
# Timed libFuzzer runs of every fuzz target: builds them with clang
# (-DSMMU_BUILD_FUZZERS=ON, ASan+UBSan+libFuzzer) in their own build tree and
# runs each for SMMU_FUZZ_SECONDS (default 20), starting from its seed corpus
# in tests/fuzz/corpus/<target>/ (read only: new inputs go to a temporary
# directory). Exits non-zero on the first crash, leak-free timeout or
# sanitizer report, leaving the reproducer in the fuzzer's working directory.
# The test command (tools/bootstrap.sh test) runs this when clang++ is present.
set -euo pipefail
seconds=${SMMU_FUZZ_SECONDS:-20}
jobs=${SMMU_JOBS:-2}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$src/build-fuzz}")  # absolute: each fuzzer runs in its own directory
targets=(fuzz_command_decode fuzz_translation fuzz_register_sequence fuzz_conformance_case)

CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMMU_BUILD_FUZZERS=ON \
  -DSMMU_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}"
for target in "${targets[@]}"; do
  work=$(mktemp -d)
  echo "fuzz: $target for ${seconds}s (corpus tests/fuzz/corpus/$target)"
  (cd "$work" && "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "$work" "$src/tests/fuzz/corpus/$target" 2>&1 | tail -n 12) || {
    echo "fuzz: $target FAILED; reproducer in $work" >&2
    exit 1
  }
  rm -rf "$work"
done
echo "fuzz: every target ran ${seconds}s without a finding"
