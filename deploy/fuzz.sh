#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for as long as asked.
#   deploy/fuzz.sh [SECONDS] [HARNESS ...]     default: 300 seconds each, every harness
# Harnesses: validate log_parsers offline_file config proposal (tests/fuzz/fuzz_NAME.cc).
# They run as many at a time as there are cores. What a harness learns goes to
# build-sanitize/fuzz-work/NAME (the seed corpus in tests/fuzz/corpus stays as it is); a finding
# is written as build-sanitize/fuzz-work/crash-* and the script exits 1, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(validate log_parsers offline_file config proposal)

bash deploy/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHREATMESH_BUILD_BENCHMARKS=OFF -DTHREATMESH_FUZZ=ON "-DTHREATMESH_SANITIZE=address;undefined" \
  >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build build-sanitize -j"$(nproc)" --target "${targets[@]}"

work=build-sanitize/fuzz-work
mkdir -p "$work"
run() {
  local h="$1"
  mkdir -p "$work/$h"
  build-sanitize/tests/fuzz_"$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -artifact_prefix="$work/" -print_final_stats=1 \
    "$work/$h" "tests/fuzz/corpus/$h" >"$work/$h.log" 2>&1
}
pids=()
names=()
failed=0
for h in "${harnesses[@]}"; do
  run "$h" &
  pids+=($!)
  names+=("$h")
  if [ ${#pids[@]} -ge "$(nproc)" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
for h in "${harnesses[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$h.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$work/$h.log" | tail -1 || true)
  echo "fuzz $h: $runs runs in ${seconds} s, $cov"
done
if [ "$failed" -ne 0 ] || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
  echo "fuzz: a harness found a problem; see $work/*.log and the files named there" >&2
  exit 1
fi
echo "fuzz: no finding"
