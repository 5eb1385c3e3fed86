#!/usr/bin/env bash
# The main job, for now on one node: installs the dependencies, builds threatmesh, creates a
# node in a temporary data directory, publishes an indicator, then fetches and searches it
# back. (It becomes the local mesh demo once peering lands.)
# Usage: deploy/demo.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

bash deploy/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target threatmesh
tm="$build_dir/threatmesh"

data_dir="$(mktemp -d -t threatmesh-demo.XXXXXX)"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$tm" init --data-dir "$data_dir/node-a"
step "$tm" publish --data-dir "$data_dir/node-a" --type domain --value "C2.Evil-Example.COM." \
  --tlp green --label apt-demo --confidence 80 --description "beaconing seen from a web server"
step "$tm" publish --data-dir "$data_dir/node-a" --type cidr --value 203.0.113.77/24 \
  --tlp clear --label apt-demo
id=$("$tm" search --data-dir "$data_dir/node-a" --type domain --value c2.evil-example.com --json \
  | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p' | head -n 1)
step "$tm" get --data-dir "$data_dir/node-a" "$id"
step "$tm" search --data-dir "$data_dir/node-a" --domain-suffix evil-example.com
step "$tm" search --data-dir "$data_dir/node-a" --ip 203.0.113.5
step "$tm" search --data-dir "$data_dir/node-a" --tag apt-demo
step "$tm" feed --data-dir "$data_dir/node-a" --from 1

printf '\nThe node lives in %s; explore it with\n  %s search --data-dir %s/node-a --kind indicator\nand remove it with: rm -rf %s\n' \
  "$data_dir" "$tm" "$data_dir" "$data_dir"
