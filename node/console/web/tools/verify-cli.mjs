#!/usr/bin/env node
// The console's verifier (src/proof.js) from the command line, for the tests that hold it to
// `threatmesh verify` and to the second verifier (tests/node/proof/verify_proof.py).
// Usage: node tools/verify-cli.mjs BUNDLE...
// Prints one line per bundle: "<verdict> <file> <elements at fault, comma separated>".
import { readFileSync } from 'node:fs';

import { verifyBundle } from '../src/proof.js';

for (const path of process.argv.slice(2)) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(path));
  } catch {
    console.log(`unusable ${path} file`);
    continue;
  }
  const r = verifyBundle(text);
  console.log(`${r.verdict} ${path} ${r.failures.map((f) => f.element).join(',')}`);
}
