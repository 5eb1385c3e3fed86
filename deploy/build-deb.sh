#!/usr/bin/env bash
# Builds the Debian package: a release build of the node, packaged by CPack under /usr into
# build-deb/threatmesh_VERSION_ARCH.deb (maintainer scripts: deploy/debian/).
# Install it with 'sudo apt install ./build-deb/threatmesh_*.deb' (README, "Installing the
# package").
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release \
  -DTHREATMESH_BUILD_TESTS=OFF -DTHREATMESH_BUILD_BENCHMARKS=OFF \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON
cmake --build build-deb -j2 --target threatmesh
(cd build-deb && cpack -G DEB)
ls build-deb/threatmesh_*.deb
