#!/bin/sh
# Rebuilds dist/console.js, the console's browser code with its npm packages (dagre,
# @noble/ed25519, @noble/hashes) bundled in, from src/, and dist/licenses.txt, their
# licences. Both are committed: building threatmesh needs no npm. Run after changing src/ or
# package.json:
#   node/console/web/build.sh
# It installs the locked packages with `npm ci` when node_modules is missing or stale.
#   build.sh --deps-only   only that (deploy/install-deps.sh runs it)
#   build.sh --check       builds into a temporary directory and fails unless dist/ is what
#                          the sources make (a test runs it; it installs nothing)
set -eu
cd "$(dirname "$0")"
mode="${1:-build}"
locked() { [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.lockfile-copy; }
if [ "$mode" = "--check" ]; then
  if ! locked; then
    echo "build.sh: the console's npm packages are not the locked set: run deploy/install-deps.sh" >&2
    exit 1
  fi
elif locked; then
  echo "console packages: the locked set is installed"
else
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.lockfile-copy
fi
if [ "$mode" = "--deps-only" ]; then exit 0; fi

out=dist
if [ "$mode" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
node_modules/.bin/esbuild src/app.js --bundle --format=iife --target=es2020 --minify \
  --legal-comments=eof --charset=utf8 --outfile="$out/console.js" --log-level=warning
{
  echo "The threatmesh console bundles these npm packages (dist/console.js):"
  for p in @dagrejs/dagre @dagrejs/graphlib @noble/ed25519 @noble/hashes; do
    version=$(node -p "require('./node_modules/$p/package.json').version")
    printf '\n==== %s %s ====\n\n' "$p" "$version"
    cat "node_modules/$p/LICENSE"
  done
} > "$out/licenses.txt"
if [ "$mode" = "--check" ]; then
  for f in console.js licenses.txt; do
    if ! cmp -s "$out/$f" "dist/$f"; then
      echo "build.sh: dist/$f is not what src/ and package-lock.json make: run node/console/web/build.sh and commit dist/" >&2
      exit 1
    fi
  done
  echo "dist/ is what the sources make"
  exit 0
fi
echo "built $(pwd)/dist/console.js ($(wc -c < dist/console.js) bytes)"
