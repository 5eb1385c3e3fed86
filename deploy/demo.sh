#!/usr/bin/env bash
# The main job: installs the dependencies, builds threatmesh, and runs a local mesh of three
# nodes in a line, A - B - C, on loopback with temporary data directories. It drives node A
# through the CLI (publish, search, sight, a read-only token, the audit trail), shows a GREEN
# indicator and a sanitized log excerpt arriving at C with their verified custody chains
# A -> B -> C while an AMBER indicator stops at B, and leaves the mesh running with the
# commands to explore and stop it.
# Peering is over TLS with the self-signed certificate each node makes at init; the peer
# handshake binds it to the node's Ed25519 key.
# Usage: deploy/demo.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

bash deploy/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target threatmesh
tm="$(cd "$build_dir" && pwd)/threatmesh"

mesh="$(mktemp -d -t threatmesh-mesh.XXXXXX)"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }

pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'stop_all' ERR INT

start() {  # start NAME: init and serve a node, API and peer port on free loopback ports
  local n=$1
  "$tm" init --data-dir "$mesh/$n" >/dev/null
  "$tm" serve --data-dir "$mesh/$n" --listen 127.0.0.1:0 --peer-listen 127.0.0.1:0 \
    >"$mesh/$n.out" 2>"$mesh/$n.err" &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q "peers connect to" "$mesh/$n.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "peers connect to" "$mesh/$n.out" || { cat "$mesh/$n.err" >&2; exit 1; }
}
api() { sed -n 's/.*serving on \(.*\)$/\1/p' "$mesh/$1.out"; }
peer_port() { sed -n 's/.*peers connect to \(.*\)$/\1/p' "$mesh/$1.out"; }
on() { local n=$1; shift; "$tm" "$@" --node "$(api "$n")" --data-dir "$mesh/$n"; }
key() { on "$1" status --json | sed -n 's/.*"public_key":"\([^"]*\)".*/\1/p'; }

say "three nodes, each with its own key, store and admin token"
for n in a b c; do start $n; echo "node $n: API $(api $n), peers $(peer_port $n)"; done

say "peering like WireGuard: a name, an address, a key (A dials B, B dials C; TLS)"
step on a peers add --name b --address "$(peer_port b)" --key "$(key b)"
step on b peers add --name a --key "$(key a)"
step on b peers add --name c --address "$(peer_port c)" --key "$(key c)"
step on c peers add --name b --key "$(key b)"

say "publish at A: a GREEN indicator that may be relayed, and an AMBER one"
green=$(on a publish --type domain --value "C2.Evil-Example.COM." --tlp green --may-relay \
  --label apt-demo --confidence 80 --json | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p')
echo "green: $green"
amber=$(on a publish --type cidr --value 203.0.113.77/24 --tlp amber --label apt-demo --json \
  | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p')
echo "amber: $amber"
step on a sight --type ipv4 --value 203.0.113.9 --count 3 --tlp green

say "a log excerpt from A's resolver: parsed, sanitized (internal addresses and names), checked"
(umask 077 && head -c 32 /dev/urandom >"$mesh/sanitize.key")
cat >"$mesh/query.log" <<'LOG'
20-Nov-2026 11:00:00.123 queries: info: client @0x7f3a2c0a1b40 10.0.0.5#53124 (db01.corp.example): query: db01.corp.example IN A +E(0)K (10.0.0.53)
20-Nov-2026 11:00:01.456 queries: info: client @0x7f3a2c0a1b40 10.0.0.5#53125 (c2.evil-example.com): query: c2.evil-example.com IN A +E(0)K (10.0.0.53)
20-Nov-2026 11:00:02.789 queries: info: client @0x7f3a2c0a1b40 192.168.7.20#40001 (c2.evil-example.com): query: c2.evil-example.com IN AAAA +E(0)K (10.0.0.53)
LOG
step "$tm" ingest-log "$mesh/query.log" --format bind-query --timezone Europe/Berlin \
  --sanitize-key "$mesh/sanitize.key" --internal-suffix corp.example --tlp green \
  --contact soc@a.example --out "$mesh/excerpt.json"
excerpt=$(on a publish --excerpt "$mesh/excerpt.json" --may-relay --json \
  | sed -n 's/.*"id":"\([0-9a-f]\{64\}\)".*/\1/p')
echo "log excerpt: $excerpt"

say "the GREEN record at C, two hops away, with its custody chain checked"
for _ in $(seq 1 100); do on c get "$green" >/dev/null 2>&1 && break; sleep 0.1; done
step on c get "$green"
say "the log excerpt at C too: sanitized lines, OCSF-aligned events, its manifest"
for _ in $(seq 1 100); do on c get "$excerpt" >/dev/null 2>&1 && break; sleep 0.1; done
step on c get "$excerpt"
say "AMBER goes to direct peers only: B has it, C does not"
step on b search --ip 203.0.113.5
step on c search --ip 203.0.113.5

say "search, tokens and the audit trail at A"
step on a search --domain-suffix evil-example.com
reader=$(on a token create --name demo-reader --role read --json | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
step on a search --token "$reader" --tag apt-demo
printf '\n\033[1m$ threatmesh publish --token $reader ...  (a read token may not publish)\033[0m\n'
on a publish --token "$reader" --type md5 --value 0123456789abcdef0123456789abcdef || true
step on a audit verify
step on b peers list

cat <<EOT

The mesh is running in $mesh (node processes ${pids[*]}). Explore it, e.g.
  $tm search --kind indicator --node $(api c) --data-dir $mesh/c
  $tm subscribe --node $(api b) --data-dir $mesh/b
  $tm publish --type domain --value new.example.com --tlp green --may-relay --node $(api a) --data-dir $mesh/a
Stop it with:
  kill ${pids[*]}; rm -rf $mesh
EOT
