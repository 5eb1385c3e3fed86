#!/usr/bin/env bash
# The main job, for now on one node: installs the dependencies, builds threatmesh, creates a
# node in a temporary data directory, runs it (`threatmesh serve` on a free loopback port),
# and drives it through the CLI: publish, get, search, sight, subscribe, a read-only token,
# the audit trail. Stops the node with SIGTERM at the end. (It becomes the local mesh demo
# once peering lands.)
# Usage: deploy/demo.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

bash deploy/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target threatmesh
tm="$(cd "$build_dir" && pwd)/threatmesh"

data_dir="$(mktemp -d -t threatmesh-demo.XXXXXX)"
node_dir="$data_dir/node-a"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$tm" init --data-dir "$node_dir"

# Serve on a free port; the first line of output names it.
"$tm" serve --data-dir "$node_dir" --listen 127.0.0.1:0 >"$data_dir/serve.out" 2>"$data_dir/serve.err" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  grep -q "serving on" "$data_dir/serve.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$data_dir/serve.err" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/.*serving on \(.*\)$/\1/p' "$data_dir/serve.out")
[ -n "$addr" ] || { echo "threatmesh serve did not start" >&2; cat "$data_dir/serve.err" >&2; exit 1; }
cat "$data_dir/serve.out"
# Every command below finds the node through these, and the admin token in the data dir.
export THREATMESH_NODE="$addr" THREATMESH_DATA_DIR="$node_dir"

step "$tm" status
step "$tm" publish --type domain --value "C2.Evil-Example.COM." \
  --tlp green --label apt-demo --confidence 80 --description "beaconing seen from a web server"
step "$tm" publish --type cidr --value 203.0.113.77/24 --tlp clear --label apt-demo
id=$("$tm" search --type domain --value c2.evil-example.com --json \
  | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p' | head -n 1)
step "$tm" get "$id"
step "$tm" search --domain-suffix evil-example.com
step "$tm" search --ip 203.0.113.5
step "$tm" sight --type ipv4 --value 203.0.113.9 --count 3 --tlp green
step "$tm" search --tag apt-demo --max-tlp green
step "$tm" subscribe --cursor 0 --no-follow

reader=$("$tm" token create --name demo-reader --role read --json \
  | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
printf '\n\033[1m$ %s\033[0m\n' "threatmesh token create --name demo-reader --role read  (token kept in \$reader)"
step "$tm" search --token "$reader" --kind indicator
printf '\n\033[1m$ %s\033[0m\n' "threatmesh publish --token \$reader ...  (a read token may not publish)"
"$tm" publish --token "$reader" --type md5 --value 0123456789abcdef0123456789abcdef || true
step "$tm" audit show
step "$tm" audit verify

printf '\n\033[1m$ kill -TERM %s\033[0m\n' "$server_pid"
kill -TERM "$server_pid"
wait "$server_pid"
trap - EXIT
cat "$data_dir/serve.out" | tail -n 2

printf '\nThe node lives in %s; run it again with\n  %s serve --data-dir %s\nand remove it with: rm -rf %s\n' \
  "$data_dir" "$tm" "$node_dir" "$data_dir"
