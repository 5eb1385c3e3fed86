#!/usr/bin/env bash
# Installs every package threatmesh needs to build, test and benchmark on Debian 12.
# Idempotent: when everything is already present it only checks and returns.
set -euo pipefail

packages=(
  cmake g++ make pkg-config git
  libgrpc++-dev libabsl-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libsodium-dev libboost-program-options-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format
  clang  # clang 14 with libFuzzer and the sanitizer runtimes: the sanitizer and fuzz builds
  time  # /usr/bin/time, which measures the peak memory of ingest-log in a test
  systemd  # systemd-analyze, which checks deploy/threatmesh.service in a test
  tzdata   # time zones, for logs written in local time (BIND query logs)
  python3 python3-nacl  # the independent proof-bundle verifier in tests/proof
  nlohmann-json3-dev  # JSON for STIX and MISP (node/interop)
  bind9 bind9-utils bind9-dnsutils  # named, named-checkzone and dig: the RPZ export's tests
  libboost-dev  # Boost.Beast and Asio (headers): the node's HTTP server (node/http, TAXII)
  curl  # the HTTP client of the TAXII tests
  libcurl4-openssl-dev  # libcurl: the TAXII client of 'threatmesh taxii pull'
  iproute2  # ss: the ISAC benchmark reads the TCP byte counters of peer connections
  libjemalloc-dev  # jemalloc, the node binary's allocator (less CPU per record than glibc's malloc)
  prometheus  # promtool: the tests check /metrics and deploy/prometheus-alerts.yml with it
  lintian  # checks the .deb that CPack makes (a test lists its findings)
  nodejs  # Node.js: bundles the web console (node/console/web) and drives its browser tests
  chromium  # headless Chromium: the console's browser tests (no browser download from npm)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# The npm packages the console bundles and its tests use (node/console/web/package-lock.json),
# installed by `npm ci` unless the installed set is already the locked one.
console_packages() {
  "$(dirname "$0")/../node/console/web/build.sh" --deps-only
}

if [ ${#missing[@]} -eq 0 ] && command -v npm >/dev/null 2>&1; then
  echo "install-deps: all ${#packages[@]} packages present"
  console_packages
  exit 0
fi
# npm comes with some builds of the nodejs package; Debian's comes as a package of its own.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and no sudo; run this as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
# The project needs only promtool from the prometheus package: the Prometheus server it
# installed (and, under systemd, started on port 9090) is stopped and disabled again, unless
# it was there before.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
console_packages
