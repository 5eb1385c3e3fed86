// Bytes, hex, time and the protobuf wire format, as much of each as the console needs to read
// a proof bundle (docs/PROOF-FORMAT.md, "The payloads a verifier reads").

const HEX = /^(?:[0-9a-f]{2})*$/;

// Lower-case hex to bytes; null when `text` is not the format's hex (upper case included).
export function fromHex(text) {
  if (typeof text !== 'string' || !HEX.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const utf8 = (text) => new TextEncoder().encode(text);

export function u32(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
}

// A signed or unsigned 64-bit big-endian integer (a Number or BigInt).
export function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)), false);
  return out;
}

// item(x) = u32(length of x) || x.
export const item = (bytes) => concat([u32(bytes.length), bytes]);

// "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z" to Unix milliseconds; null otherwise.
export function parseTime(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/.exec(
    typeof text === 'string' ? text : '',
  );
  if (!m) return null;
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms);
  const d = new Date(t);
  // Date.UTC rolls 2026-02-30 over to March: refuse what does not read back.
  if (d.getUTCDate() !== +m[3] || d.getUTCHours() !== +m[4] || d.getUTCMinutes() !== +m[5]) {
    return null;
  }
  return t;
}

export function formatTime(ms) {
  if (!Number.isFinite(ms)) return String(ms);
  try {
    return new Date(ms).toISOString();
  } catch {
    return String(ms);
  }
}

// A protobuf message as {field number: [values]}: varints as BigInt, length-delimited
// values as Uint8Array (fixed 32/64-bit values as their bytes). Throws on malformed input.
export function fields(data) {
  const out = new Map();
  let i = 0;
  const varint = () => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= data.length || shift > 63n) throw new Error('truncated varint');
      const b = data[i++];
      value |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return value;
    }
  };
  while (i < data.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (number === 0) throw new Error('field 0');
    let value;
    if (wire === 0) {
      value = varint();
    } else if (wire === 2) {
      const n = Number(varint());
      if (i + n > data.length) throw new Error('truncated bytes');
      value = data.subarray(i, i + n);
      i += n;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > data.length) throw new Error('truncated fixed value');
      value = data.subarray(i, i + n);
      i += n;
    } else {
      throw new Error(`wire type ${wire}`);
    }
    if (!out.has(number)) out.set(number, []);
    out.get(number).push(value);
  }
  return out;
}

const EMPTY = new Uint8Array(0);

// The last value of field `number` (proto3: the last one wins), or the type's default.
export const bytesOf = (f, number) => (f.has(number) ? lastOf(f, number, EMPTY) : EMPTY);
export const uintOf = (f, number) => {
  const v = lastOf(f, number, 0n);
  return typeof v === 'bigint' ? v : 0n;
};
// An int64 field as a Number (Unix milliseconds fit).
export const int64Of = (f, number) => Number(BigInt.asIntN(64, uintOf(f, number)));
export const stringOf = (f, number) => new TextDecoder().decode(bytesOf(f, number));

function lastOf(f, number, fallback) {
  const values = f.get(number);
  if (!values || values.length === 0) return fallback;
  const v = values[values.length - 1];
  // A bytes field read where a number was expected (or the other way round) is malformed;
  // it counts as the default, and the checks that need it fail.
  if (typeof v !== typeof fallback || v instanceof Uint8Array !== fallback instanceof Uint8Array) {
    return fallback;
  }
  return v;
}
