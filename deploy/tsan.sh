#!/usr/bin/env bash
# Builds the tests with clang under ThreadSanitizer (in build-tsan) and runs the ones that
# exercise threads: the store's concurrent writers, the exchange sessions and the mesh.
#   deploy/tsan.sh [CTEST-REGEX]    default: the store concurrency, exchange and mesh tests
# Not part of the test command (a third build would double its time); run it after changing
# anything that locks or starts a thread.
set -euo pipefail
cd "$(dirname "$0")/.."
regex="${1:-^(StoreConcurrencyTest|MeshTest|MeshHostileTest|KeyRotationTest|PeerAuthTest|ExchangeSessionTest)[.]}"

bash deploy/install-deps.sh
CC=clang CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHREATMESH_BUILD_BENCHMARKS=OFF -DTHREATMESH_WERROR=ON -DTHREATMESH_SANITIZE=thread >/dev/null
cmake --build build-tsan -j2 --target threatmesh storage_tests exchange_tests mesh_tests
# halt_on_error: the first race fails its test, with both stacks in the output. The
# suppressions leave out what happens inside the uninstrumented libraries (tests/tsan.supp).
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan -j2 --output-on-failure --timeout 900 -R "$regex"
