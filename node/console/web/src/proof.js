// The console's verifier of proof bundles, written from docs/PROOF-FORMAT.md ("Checks, in
// order"): the same rules as `threatmesh verify`, run in the browser from the bundle alone.
// Besides the verdict and the failures (each naming its element and key), it returns what
// the custody graph draws: the record, each copy's hops, the breach of each chain and the
// withdrawals.
import * as ed from '@noble/ed25519';
import { sha256 } from '@noble/hashes/sha256';
import { sha512 } from '@noble/hashes/sha512';

import {
  bytesOf,
  concat,
  equalBytes,
  fields,
  fromHex,
  int64Of,
  item,
  parseTime,
  stringOf,
  toHex,
  u32,
  u64,
  uintOf,
  utf8,
} from './wire.js';

ed.etc.sha512Sync = (...m) => sha512(ed.etc.concatBytes(...m));

const FORMATS = {
  'threatmesh-proof/1': [1, 'threatmesh/proof/v1'],
  'threatmesh-proof/2': [2, 'threatmesh/proof/v2'],
  'threatmesh-proof/3': [3, 'threatmesh/proof/v3'],
};
const ONE_HOP_TLPS = [3, 4, 5]; // AMBER, AMBER+STRICT, RED
const DEFAULT_MAX_HOPS = 8;
const SKEW_MS = 5 * 60 * 1000;
export const TLP_NAMES = ['UNSPECIFIED', 'CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const KIND_FIELDS = {
  16: 'indicator',
  17: 'log-excerpt',
  18: 'sighting',
  19: 'retraction',
  20: 'key-rotation',
  21: 'key-revocation',
};
const INDICATOR_TYPES = [
  '',
  'ipv4',
  'ipv6',
  'cidr',
  'domain',
  'url',
  'email',
  'md5',
  'sha1',
  'sha256',
  'asn',
  'ja3',
  'user-agent',
];

// A key's short name, as threatmesh prints it: the first 8 bytes of SHA-256(key) in hex,
// four groups of four.
export function fingerprint(key) {
  const h = toHex(sha256(key).subarray(0, 8));
  return `${h.slice(0, 4)}:${h.slice(4, 8)}:${h.slice(8, 12)}:${h.slice(12, 16)}`;
}

function verifySig(key, domain, message, signature) {
  if (key.length !== 32 || signature.length !== 64) return false;
  try {
    return ed.verify(signature, concat([utf8(domain), new Uint8Array([0]), message]), key, {
      zip215: false,
    });
  } catch {
    return false;
  }
}

function tryFields(bytes) {
  try {
    return fields(bytes);
  } catch {
    return null;
  }
}

class Unusable extends Error {}

function hexField(obj, name, size, element = name) {
  const raw = obj && typeof obj === 'object' ? fromHex(obj[name]) : null;
  if (raw === null || (size !== undefined && raw.length !== size)) {
    throw new Unusable(element);
  }
  return raw;
}

function envelope(obj, element) {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Unusable(element);
  return {
    payload: hexField(obj, 'payload', undefined, element),
    signature: hexField(obj, 'signature', 64, element),
  };
}

function hopEnvelope(obj, version) {
  if (version < 3 || !obj || typeof obj !== 'object' || !('batch' in obj)) {
    return { ...envelope(obj, 'chains'), batch: null };
  }
  const b = obj.batch;
  if (!b || typeof b !== 'object' || !Array.isArray(b.path)) throw new Unusable('chains');
  const index = b.index;
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 32) throw new Unusable('chains');
  const path = b.path.map((h) => hexField({ h }, 'h', 32, 'chains'));
  return {
    payload: hexField(obj, 'payload', undefined, 'chains'),
    signature: new Uint8Array(0),
    batch: {
      statement: hexField(b, 'statement', undefined, 'chains'),
      signature: hexField(b, 'signature', 64, 'chains'),
      index,
      path,
    },
  };
}

// The root a leaf hash reaches by its inclusion path (RFC 9162, section 2.1.3.2), or null.
function merkleRoot(leaf, index, size, path) {
  if (index >= size) return null;
  const node = (l, r) => sha256(concat([new Uint8Array([1]), l, r]));
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if (fn & 1n || fn === sn) {
      r = node(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// Whether hop `h` (its payload parsed) is signed by `from`: alone, or as a leaf of its batch.
function hopSigned(hop, h, from) {
  if (hop.batch === null) return verifySig(from, 'threatmesh/hop/v1', hop.payload, hop.signature);
  const { statement, signature, index, path } = hop.batch;
  const s = tryFields(statement);
  if (s === null) return false;
  if (
    !equalBytes(bytesOf(s, 1), from) ||
    !equalBytes(bytesOf(s, 2), bytesOf(h, 3)) ||
    uintOf(s, 3) !== uintOf(h, 4) ||
    !equalBytes(bytesOf(s, 4), bytesOf(h, 5))
  ) {
    return false;
  }
  const leaf = sha256(concat([new Uint8Array([0]), hop.payload]));
  const size = uintOf(s, 6);
  if (size < 1n || size >= 2n ** 32n) return false;
  const root = merkleRoot(leaf, index, Number(size), path);
  if (root === null || !equalBytes(root, bytesOf(s, 5))) return false;
  return verifySig(from, 'threatmesh/hop-batch/v1', statement, signature);
}

// Rotations and revocations, with the rules of the format's step 3.
class KeyTable {
  constructor() {
    this.rotated = new Map(); // old key hex -> {to: hex, at}
    this.revoked = new Map(); // key hex -> earliest compromised_since
  }
  succeeds(earlier, later) {
    let key = toHex(earlier);
    const target = toHex(later);
    for (let steps = 0; this.rotated.has(key) && steps <= this.rotated.size; steps++) {
      key = this.rotated.get(key).to;
      if (key === target) return true;
    }
    return false;
  }
  maySign(key, at) {
    const k = toHex(key);
    if (this.revoked.has(k) && at >= this.revoked.get(k)) return false;
    if (this.rotated.has(k) && at > this.rotated.get(k).at) return false;
    return true;
  }
}

function readBundle(text) {
  let b;
  try {
    b = JSON.parse(text);
  } catch {
    throw new Unusable('file');
  }
  if (!b || typeof b !== 'object' || Array.isArray(b) || !(b.format in FORMATS)) {
    throw new Unusable('format');
  }
  const [version, domain] = FORMATS[b.format];
  if (b.kind !== 'record' && b.kind !== 'violation') throw new Unusable('kind');
  const holder = hexField(b, 'holder', 32);
  const exportedAt = parseTime(b.exported_at);
  if (exportedAt === null) throw new Unusable('exported_at');
  const record = envelope(b.record, 'record');
  if (!Array.isArray(b.chains) || !b.chains.every(Array.isArray)) throw new Unusable('chains');
  const chains = b.chains.map((c) => c.map((h) => hopEnvelope(h, version)));
  if (!Array.isArray(b.marks)) throw new Unusable('marks');
  const marks = b.marks.map((m) => envelope(m, 'marks'));
  if (!Array.isArray(b.keys)) throw new Unusable('keys');
  const keys = b.keys.map((k) => {
    if (!k || typeof k !== 'object' || typeof k.name !== 'string') throw new Unusable('keys');
    return { key: hexField(k, 'key', 32, 'keys'), name: k.name };
  });
  let statements = [];
  if (version >= 2) {
    if (!Array.isArray(b.key_statements)) throw new Unusable('key_statements');
    statements = b.key_statements.map((s) => envelope(s, 'key_statements'));
  }
  const signature = hexField(b, 'signature', 64);
  return {
    version,
    domain,
    kind: b.kind,
    holder,
    exportedAt,
    record,
    chains,
    marks,
    keys,
    statements,
    signature,
  };
}

// The byte string the holder signs (the format's "The statement").
function holderStatement(p) {
  const parts = [
    p.holder,
    u64(p.exportedAt),
    item(utf8(p.kind)),
    item(p.record.payload),
    item(p.record.signature),
    u32(p.chains.length),
  ];
  for (const c of p.chains) {
    parts.push(u32(c.length));
    for (const h of c) {
      parts.push(item(h.payload), item(h.signature));
      if (p.version >= 3) {
        const b = h.batch ?? {
          statement: new Uint8Array(0),
          signature: new Uint8Array(0),
          index: 0,
          path: [],
        };
        parts.push(item(b.statement), item(b.signature), u32(b.index), u32(b.path.length));
        for (const x of b.path) parts.push(item(x));
      }
    }
  }
  parts.push(u32(p.marks.length));
  for (const m of p.marks) parts.push(item(m.payload), item(m.signature));
  parts.push(u32(p.keys.length));
  for (const k of p.keys) parts.push(item(k.key), item(utf8(k.name)));
  if (p.version >= 2) {
    parts.push(u32(p.statements.length));
    for (const s of p.statements) parts.push(item(s.payload), item(s.signature));
  }
  return concat(parts);
}

// What a record's payload says, for the page: kind, TLP, handling and a one-line summary.
export function describeBody(f) {
  const kindField = Object.keys(KIND_FIELDS).find((n) => f.has(Number(n)));
  const kind = kindField ? KIND_FIELDS[kindField] : 'unknown';
  const tlp = Number(uintOf(f, 3));
  const handling = tryFields(bytesOf(f, 4)) ?? new Map();
  let summary = kind;
  const sub = kindField ? tryFields(bytesOf(f, Number(kindField))) : null;
  if (sub && (kind === 'indicator' || kind === 'sighting')) {
    summary = `${kind} ${INDICATOR_TYPES[Number(uintOf(sub, 1))] ?? 'type'} ${stringOf(sub, 2)}`;
  } else if (sub && kind === 'log-excerpt') {
    summary = `log excerpt from ${stringOf(sub, 1)}`;
  } else if (sub && kind === 'retraction') {
    summary = `retraction of ${toHex(bytesOf(sub, 1))}`;
  }
  return {
    kind,
    summary,
    tlp,
    tlpName: TLP_NAMES[tlp] ?? `label ${tlp}`,
    author: bytesOf(f, 1),
    createdAt: int64Of(f, 2),
    maxHops: Number(uintOf(handling, 1)),
    mayRelay: uintOf(handling, 2) === 1n,
    recipients: (handling.get(3) ?? []).filter((r) => r instanceof Uint8Array).map(toHex),
  };
}

// Verifies a proof bundle's text. Returns {verdict: 'valid' | 'invalid' | 'unusable', kind,
// failures: [{element, message, key}], and, once the bundle reads, what the graph draws}.
export function verifyBundle(text) {
  let p;
  try {
    p = readBundle(text);
  } catch (e) {
    if (!(e instanceof Unusable)) throw e;
    return {
      verdict: 'unusable',
      kind: '',
      failures: [{ element: e.message, message: `${e.message} is missing or malformed`, key: '' }],
    };
  }
  const out = {
    verdict: 'valid',
    kind: p.kind,
    failures: [],
    holder: toHex(p.holder),
    exportedAt: p.exportedAt,
    names: Object.fromEntries(p.keys.map((k) => [toHex(k.key), k.name])),
    record: null,
    chains: [],
    marks: [],
    keyEvents: [],
  };
  const fail = (element, message, key) =>
    out.failures.push({ element, message, key: key ? toHex(key) : '' });
  if (!verifySig(p.holder, p.domain, holderStatement(p), p.signature)) {
    fail('signature', "the holder's signature over the bundle does not verify", p.holder);
  }
  const table = new KeyTable();
  checkKeyStatements(p, table, out, fail);
  if (!table.maySign(p.holder, p.exportedAt)) {
    fail(
      'holder',
      'the holder may not sign at the export time (its key was rotated or revoked)',
      p.holder,
    );
  }
  const body = checkRecord(p.record, p, table, fail, 'record');
  if (body !== null) {
    checkChains(p, body, table, out, fail);
    checkMarks(p, body, table, out, fail);
  }
  if (out.failures.length > 0) out.verdict = 'invalid';
  return out;
}

// Step 4's rules for a record, a mark or a key statement: the parsed payload, or null after
// naming `element` (with the author's key when the payload parses).
function checkRecord(env, p, table, fail, element) {
  const f = tryFields(env.payload);
  if (f === null) {
    fail(element, 'the payload is not a record', null);
    return null;
  }
  const author = bytesOf(f, 1);
  const created = int64Of(f, 2);
  if (author.length !== 32) {
    fail(element, 'the author is not a 32-byte key', null);
    return null;
  }
  if (!verifySig(author, 'threatmesh/record/v1', env.payload, env.signature)) {
    fail(element, "the author's signature does not verify", author);
    return null;
  }
  if (created > p.exportedAt + SKEW_MS) {
    fail(element, 'created after the export (more than 5 minutes)', author);
    return null;
  }
  // A revocation only withdraws trust: any key may sign one, whatever is known of it.
  if (!f.has(21) && !table.maySign(author, created)) {
    fail(element, 'the author may not sign at its created_at (rotated or revoked)', author);
    return null;
  }
  return f;
}

function checkKeyStatements(p, table, out, fail) {
  for (const rotations of [true, false]) {
    p.statements.forEach((env, k) => {
      const parsed = tryFields(env.payload);
      const isRotation = parsed === null || parsed.has(20); // a malformed one: in the first pass
      if (isRotation !== rotations) return;
      const element = `key_statements[${k}]`;
      const f = checkRecord(env, p, table, fail, element);
      if (f === null) return;
      const author = bytesOf(f, 1);
      const created = int64Of(f, 2);
      if (!f.has(20) && !f.has(21)) {
        fail(element, 'not a key rotation or revocation', author);
        return;
      }
      if (f.has(20)) {
        const r = tryFields(bytesOf(f, 20)) ?? new Map();
        const next = bytesOf(r, 1);
        const consent = concat([author, next, u64(created)]);
        const current = table.rotated.get(toHex(author));
        const ok =
          next.length === 32 &&
          !equalBytes(next, author) &&
          verifySig(next, 'threatmesh/key-rotation/v1', consent, bytesOf(r, 2)) &&
          !table.succeeds(next, author) &&
          (current === undefined || current.to === toHex(next));
        if (!ok) {
          fail(
            element,
            'the rotation is not consented by its new key, or rotates back or twice',
            author,
          );
          return;
        }
        if (current === undefined)
          table.rotated.set(toHex(author), { to: toHex(next), at: created });
        out.keyEvents.push({ type: 'rotation', key: toHex(author), to: toHex(next), at: created });
      } else {
        const r = tryFields(bytesOf(f, 21)) ?? new Map();
        const key = bytesOf(r, 1);
        const since = int64Of(r, 2);
        const ok =
          key.length === 32 &&
          since > 0 &&
          since <= created &&
          (equalBytes(key, author) || table.succeeds(key, author));
        if (!ok) {
          fail(
            element,
            'the revocation is not by the key or its successor, or its time is wrong',
            author,
          );
          return;
        }
        const k = toHex(key);
        table.revoked.set(k, Math.min(since, table.revoked.get(k) ?? since));
        out.keyEvents.push({ type: 'revocation', key: k, at: since });
      }
    });
  }
}

// Steps 5 and 6: each chain hop by hop, then the handling of each sound chain.
function checkChains(p, body, table, out, fail) {
  const recordId = sha256(p.record.payload);
  const d = describeBody(body);
  const author = d.author;
  out.record = { ...d, id: toHex(recordId), author: toHex(author), createdAt: d.createdAt };
  const oneHop = ONE_HOP_TLPS.includes(d.tlp);
  const limit = oneHop ? 1 : d.maxHops || DEFAULT_MAX_HOPS;
  const relayable = d.mayRelay && !oneHop;
  const rotationTo = body.has(20) ? bytesOf(tryFields(bytesOf(body, 20)) ?? new Map(), 1) : null;
  if (p.chains.length === 0) fail('chains', 'the bundle holds no copy', null);
  let proven = 0;
  p.chains.forEach((chain, i) => {
    const drawn = { hops: [], sound: true, breach: null };
    out.chains.push(drawn);
    if (chain.length === 0) {
      if (!equalBytes(p.holder, author) && !table.succeeds(author, p.holder)) {
        drawn.sound = false;
        fail(`chains[${i}]`, "an empty chain, but the holder is not the record's author", p.holder);
      }
      return;
    }
    let expected = author;
    let prevPayload = null;
    const seen = new Set([toHex(author)]);
    for (let j = 0; j < chain.length; j++) {
      const element = `chains[${i}][${j}]`;
      const hop = chain[j];
      const h = tryFields(hop.payload);
      if (h === null) {
        fail(element, 'the hop does not parse', null);
        drawn.sound = false;
        return;
      }
      const from = bytesOf(h, 2);
      const to = bytesOf(h, 3);
      const at = int64Of(h, 4);
      drawn.hops.push({
        from: toHex(from),
        to: toHex(to),
        at,
        policy: stringOf(h, 5),
        batch: hop.batch !== null,
        ok: false,
      });
      const successor =
        j === 0 &&
        !equalBytes(from, expected) &&
        (table.succeeds(author, from) || (rotationTo !== null && equalBytes(rotationTo, from)));
      if (successor) seen.add(toHex(from));
      const why = hopFault(hop, h, {
        from,
        to,
        at,
        j,
        expected,
        successor,
        recordId,
        prevPayload,
        seen,
        table,
      });
      if (why !== null) {
        fail(element, why, from.length === 32 ? from : null);
        drawn.sound = false;
        return;
      }
      drawn.hops[j].ok = true;
      seen.add(toHex(to));
      expected = to;
      prevPayload = hop.payload;
    }
    if (!equalBytes(expected, p.holder)) {
      drawn.sound = false;
      fail('holder', `copy ${i + 1} ends at a key that is not the holder`, p.holder);
      return;
    }
    const breach = findBreach(drawn.hops, { limit, relayable, oneHop, d });
    if (breach !== null) {
      drawn.breach = breach;
      if (p.kind === 'violation') proven++;
      else
        fail(
          `chains[${i}][${breach.hop}]`,
          `${breach.rule}: the relay broke the author's handling`,
          fromHex(breach.relay),
        );
    } else if (p.kind === 'violation') {
      fail(`chains[${i}]`, 'this copy of a violation bundle shows no breach', null);
    }
  });
  if (p.kind === 'violation' && proven === 0 && out.failures.length === 0) {
    fail('chains', 'the violation bundle proves no breach', null);
  }
}

// Why hop j fails step 5, or null when it passes.
function hopFault(hop, h, c) {
  if (c.from.length !== 32) return 'the sender is not a 32-byte key';
  if (!hopSigned(hop, h, c.from)) return "the sender's signature over the hop does not verify";
  if (!c.table.maySign(c.from, c.at))
    return 'the sender may not sign at the hop time (rotated or revoked)';
  if (!equalBytes(bytesOf(h, 1), c.recordId)) return 'the hop names another record';
  if (!equalBytes(c.from, c.expected) && !c.successor) {
    return c.j === 0
      ? "not sent by the record's author"
      : 'not sent by the receiver of the hop before';
  }
  const prev = bytesOf(h, 6);
  const want = c.j === 0 ? new Uint8Array(0) : sha256(c.prevPayload);
  if (!equalBytes(prev, want)) return 'prev_hop is not the hash of the hop before';
  if (c.to.length !== 32) return 'the receiver is not a 32-byte key';
  if (c.seen.has(toHex(c.to))) return 'a loop: the receiver already held the record';
  return null;
}

// Step 6: the first hop that broke the author's handling, with the rule and the relay.
function findBreach(hops, { limit, relayable, oneHop, d }) {
  for (let j = 0; j < hops.length; j++) {
    let rule = null;
    if (j + 1 > limit) rule = `hop ${j + 1} is beyond the hop limit of ${limit}`;
    else if (j > 0 && !relayable) {
      rule = oneHop ? `TLP:${d.tlpName} may not be relayed` : 'the author did not allow relaying';
    } else if (d.tlp === 5 && !d.recipients.includes(hops[j].to)) {
      rule = 'TLP:RED sent to a key that is not among its recipients';
    }
    if (rule !== null) return { hop: j, relay: hops[j].from, rule };
  }
  return null;
}

// Step 7: retractions and supersessions by the record's author.
function checkMarks(p, body, table, out, fail) {
  const recordId = sha256(p.record.payload);
  const author = bytesOf(body, 1);
  p.marks.forEach((mark, k) => {
    const element = `marks[${k}]`;
    const f = checkRecord(mark, p, table, fail, element);
    if (f === null) return;
    if (!equalBytes(bytesOf(f, 1), author)) {
      fail(element, "the mark is not by the record's author", bytesOf(f, 1));
      return;
    }
    const retraction = f.has(19) ? tryFields(bytesOf(f, 19)) : null;
    const retracts = retraction !== null && equalBytes(bytesOf(retraction, 1), recordId);
    const supersedes = equalBytes(bytesOf(f, 5), recordId);
    if (!retracts && !supersedes) {
      fail(element, 'the mark neither retracts nor supersedes this record', bytesOf(f, 1));
      return;
    }
    out.marks.push({
      type: retracts ? 'retraction' : 'supersession',
      id: toHex(sha256(mark.payload)),
      at: int64Of(f, 2),
    });
  });
}
