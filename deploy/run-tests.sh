#!/usr/bin/env bash
# Installs the dependencies, builds threatmesh (tests and benchmarks included) and runs every
# test with CTest. Usage: deploy/run-tests.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

bash deploy/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j2
ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 600
