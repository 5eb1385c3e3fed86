#!/usr/bin/python3
"""An independent verifier of threatmesh proof bundles, written from docs/PROOF-FORMAT.md
alone, with Debian's python3-nacl (Ed25519) and hashlib (SHA-256).

Usage: verify_proof.py BUNDLE...
Prints one line per bundle: "<verdict> <file> <elements at fault, comma separated>", where
the verdict is valid, invalid or unusable. Exit 0 when every bundle was read.
"""
import datetime
import hashlib
import json
import struct
import sys

import nacl.exceptions
import nacl.signing

# Format -> (version, domain of the holder's signature).
FORMATS = {"threatmesh-proof/1": (1, "threatmesh/proof/v1"),
           "threatmesh-proof/2": (2, "threatmesh/proof/v2"),
           "threatmesh-proof/3": (3, "threatmesh/proof/v3")}
ONE_HOP_TLPS = (3, 4, 5)  # AMBER, AMBER+STRICT, RED
DEFAULT_MAX_HOPS = 8
SKEW_MS = 5 * 60 * 1000


class Unusable(Exception):
    pass


def fields(data):
    """Decodes a protobuf message into {field number: [values]} (varints as ints,
    length-delimited as bytes); raises ValueError on malformed input."""
    out, i = {}, 0
    def varint():
        nonlocal i
        shift = value = 0
        while True:
            if i >= len(data) or shift > 63:
                raise ValueError("truncated varint")
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value
    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field 0")
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            if i + n > len(data):
                raise ValueError("truncated bytes")
            value, i = data[i:i + n], i + n
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        if i > len(data):
            raise ValueError("truncated")
        out.setdefault(number, []).append(value)
    return out


def one(f, number, default):
    values = f.get(number)
    return values[-1] if values else default


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def verify(key, domain, message, signature):
    try:
        nacl.signing.VerifyKey(key).verify(domain.encode() + b"\0" + message, signature)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False


def hexfield(obj, name, size=None):
    value = obj.get(name)
    if not isinstance(value, str) or any(c not in "0123456789abcdef" for c in value) or len(value) % 2:
        raise Unusable(name)
    raw = bytes.fromhex(value)
    if size is not None and len(raw) != size:
        raise Unusable(name)
    return raw


def envelope(obj, name):
    if not isinstance(obj, dict):
        raise Unusable(name)
    return hexfield(obj, "payload"), hexfield(obj, "signature", 64)


def hop_envelope(obj, version):
    """A hop: (payload, signature, batch), batch None for a hop signed alone, else
    (statement, signature, index, [path hashes])."""
    if version < 3 or not isinstance(obj, dict) or "batch" not in obj:
        payload, sig = envelope(obj, "chains")
        return payload, sig, None
    b = obj["batch"]
    if not isinstance(b, dict) or not isinstance(b.get("path"), list):
        raise Unusable("chains")
    index = b.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1 << 32:
        raise Unusable("chains")
    path = [hexfield({"h": h}, "h", 32) for h in b["path"]]
    return (hexfield(obj, "payload"), b"",
            (hexfield(b, "statement"), hexfield(b, "signature", 64), index, path))


def merkle_root(leaf, index, size, path):
    """The root a leaf hash reaches by its inclusion path (RFC 9162 section 2.1.3.2), or None."""
    if index >= size:
        return None
    node = lambda left, right: hashlib.sha256(b"\x01" + left + right).digest()
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def hop_signed(payload, sig, batch, h, frm):
    """Whether the hop is signed by its sender: alone, or as a leaf of its signed batch."""
    if batch is None:
        return verify(frm, "threatmesh/hop/v1", payload, sig)
    statement, batch_sig, index, path = batch
    try:
        s = fields(statement)
    except ValueError:
        return False
    if (one(s, 1, b"") != frm or one(s, 2, b"") != one(h, 3, b"")
            or one(s, 3, 0) != one(h, 4, 0) or one(s, 4, b"") != one(h, 5, b"")):
        return False
    leaf = hashlib.sha256(b"\x00" + payload).digest()
    size = one(s, 6, 0)
    if size < 1 or merkle_root(leaf, index, size, path) != one(s, 5, b""):
        return False
    return verify(frm, "threatmesh/hop-batch/v1", statement, batch_sig)


def item(b):
    return struct.pack(">I", len(b)) + b


class KeyTable:
    """Key rotations and revocations, with the rules of PROOF-FORMAT.md."""

    def __init__(self):
        self.rotated = {}   # old key -> (new key, at)
        self.revoked = {}   # key -> earliest compromised_since

    def succeeds(self, earlier, later):
        key, steps = earlier, 0
        while key in self.rotated and steps <= len(self.rotated):
            key, steps = self.rotated[key][0], steps + 1
            if key == later:
                return True
        return False

    def may_sign(self, key, at):
        if key in self.revoked and at >= self.revoked[key]:
            return False
        if key in self.rotated and at > self.rotated[key][1]:
            return False
        return True


def check(text):
    """Returns (verdict, [elements at fault])."""
    try:
        b = json.loads(text)
    except ValueError:
        return "unusable", ["file"]
    try:
        if not isinstance(b, dict) or b.get("format") not in FORMATS:
            raise Unusable("format")
        version, domain = FORMATS[b["format"]]
        kind = b.get("kind")
        if kind not in ("record", "violation"):
            raise Unusable("kind")
        holder = hexfield(b, "holder", 32)
        t = b.get("exported_at")
        if not isinstance(t, str) or not t.endswith("Z"):
            raise Unusable("exported_at")
        try:
            when = datetime.datetime.fromisoformat(t[:-1]).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise Unusable("exported_at")
        exported_ms = round(when.timestamp() * 1000)
        record = envelope(b.get("record"), "record")
        if not isinstance(b.get("chains"), list) or not all(isinstance(c, list) for c in b["chains"]):
            raise Unusable("chains")
        chains = [[hop_envelope(h, version) for h in c] for c in b["chains"]]
        if not isinstance(b.get("marks"), list):
            raise Unusable("marks")
        marks = [envelope(m, "marks") for m in b["marks"]]
        if not isinstance(b.get("keys"), list):
            raise Unusable("keys")
        keys = []
        for k in b["keys"]:
            if not isinstance(k, dict) or not isinstance(k.get("name"), str):
                raise Unusable("keys")
            keys.append((hexfield(k, "key", 32), k["name"].encode()))
        statements = []
        if version >= 2:
            if not isinstance(b.get("key_statements"), list):
                raise Unusable("key_statements")
            statements = [envelope(s, "key_statements") for s in b["key_statements"]]
        signature = hexfield(b, "signature", 64)
    except Unusable as e:
        return "unusable", [str(e)]

    faults = []
    # 2. The holder's signature over the statement.
    statement = holder + struct.pack(">Q", exported_ms) + item(kind.encode())
    statement += item(record[0]) + item(record[1]) + struct.pack(">I", len(chains))
    for c in chains:
        statement += struct.pack(">I", len(c))
        for p, s, batch in c:
            statement += item(p) + item(s)
            if version >= 3:
                st, bs, index, path = batch if batch else (b"", b"", 0, [])
                statement += item(st) + item(bs) + struct.pack(">II", index, len(path))
                statement += b"".join(item(x) for x in path)
    statement += struct.pack(">I", len(marks))
    for p, s in marks:
        statement += item(p) + item(s)
    statement += struct.pack(">I", len(keys))
    for k, n in keys:
        statement += item(k) + item(n)
    if version >= 2:
        statement += struct.pack(">I", len(statements))
        for p, s in statements:
            statement += item(p) + item(s)
    if not verify(holder, domain, statement, signature):
        faults.append("signature")

    table = KeyTable()

    def record_body(env, revocation_ok=False):
        payload, sig = env
        try:
            f = fields(payload)
        except ValueError:
            return None
        author = one(f, 1, b"")
        created = signed64(one(f, 2, 0))
        if len(author) != 32 or not verify(author, "threatmesh/record/v1", payload, sig):
            return None
        if created > exported_ms + SKEW_MS:
            return None
        # A revocation only withdraws trust: any key may sign one, whatever is known of it.
        if not (revocation_ok and 21 in f) and not table.may_sign(author, created):
            return None
        return f

    # 3. Key statements: rotations first, then revocations.
    for rotations in (True, False):
        for k, env in enumerate(statements):
            try:
                is_rotation = 20 in fields(env[0])
            except ValueError:
                is_rotation = True  # reported in the first pass
            if is_rotation != rotations:
                continue
            f = record_body(env, revocation_ok=True)
            if f is None or (20 not in f and 21 not in f):
                faults.append("key_statements[%d]" % k)
                continue
            author, created = one(f, 1, b""), signed64(one(f, 2, 0))
            if 20 in f:
                r = fields(one(f, 20, b""))
                new = one(r, 1, b"")
                consent = author + new + struct.pack(">q", created)
                ok = (len(new) == 32 and new != author
                      and verify(new, "threatmesh/key-rotation/v1", consent, one(r, 2, b""))
                      and not table.succeeds(new, author)
                      and table.rotated.get(author, (new,))[0] == new)
                if not ok:
                    faults.append("key_statements[%d]" % k)
                    continue
                table.rotated.setdefault(author, (new, created))
            else:
                r = fields(one(f, 21, b""))
                key, since = one(r, 1, b""), signed64(one(r, 2, 0))
                ok = (len(key) == 32 and 0 < since <= created
                      and (key == author or table.succeeds(key, author)))
                if not ok:
                    faults.append("key_statements[%d]" % k)
                    continue
                table.revoked[key] = min(since, table.revoked.get(key, since))
    if not table.may_sign(holder, exported_ms):
        faults.append("holder")

    # 4. The record.
    body = record_body(record, revocation_ok=True)
    if body is None:
        return "invalid", faults + ["record"]
    record_id = hashlib.sha256(record[0]).digest()
    author = one(body, 1, b"")
    tlp = one(body, 3, 0)
    handling = fields(one(body, 4, b""))
    max_hops = one(handling, 1, 0)
    may_relay = one(handling, 2, 0) == 1
    recipients = handling.get(3, [])
    limit = 1 if tlp in ONE_HOP_TLPS else (max_hops or DEFAULT_MAX_HOPS)
    relayable = may_relay and tlp not in ONE_HOP_TLPS

    # 4 and 5. Chains and handling.
    if not chains:
        faults.append("chains")
    proven = 0
    for i, chain in enumerate(chains):
        if not chain:
            if holder != author and not table.succeeds(author, holder):
                faults.append("chains[%d]" % i)
            continue
        expected_from, prev_payload, seen, hops, sound = author, None, {author}, [], True
        for j, (payload, sig, batch) in enumerate(chain):
            element = "chains[%d][%d]" % (i, j)
            try:
                h = fields(payload)
            except ValueError:
                faults.append(element)
                sound = False
                break
            frm, to = one(h, 2, b""), one(h, 3, b"")
            prev = one(h, 6, b"")
            # Hop 0 may come from a key the author rotated to (or, for a rotation record,
            # from the new key it names).
            successor = j == 0 and frm != expected_from and (
                table.succeeds(author, frm)
                or (20 in body and one(fields(one(body, 20, b"")), 1, b"") == frm))
            if successor:
                seen.add(frm)
            ok = (len(frm) == 32 and hop_signed(payload, sig, batch, h, frm)
                  and table.may_sign(frm, signed64(one(h, 4, 0)))
                  and one(h, 1, b"") == record_id and (frm == expected_from or successor)
                  and prev == (b"" if j == 0 else hashlib.sha256(prev_payload).digest())
                  and len(to) == 32 and to not in seen)
            if not ok:
                faults.append(element)
                sound = False
                break
            seen.add(to)
            hops.append(to)
            expected_from, prev_payload = to, payload
        if not sound:
            continue
        if expected_from != holder:
            faults.append("holder")
            continue
        breach = None
        for j, to in enumerate(hops):
            if j + 1 > limit or (j > 0 and not relayable) or (tlp == 5 and to not in recipients):
                breach = j
                break
        if breach is not None:
            if kind == "violation":
                proven += 1
            else:
                faults.append("chains[%d][%d]" % (i, breach))
        elif kind == "violation":
            faults.append("chains[%d]" % i)

    # 6. Marks.
    for k, mark in enumerate(marks):
        f = record_body(mark, revocation_ok=True)
        if f is None or one(f, 1, b"") != author:
            faults.append("marks[%d]" % k)
            continue
        retraction = fields(one(f, 19, b"")) if 19 in f else None
        retracts = retraction is not None and one(retraction, 1, b"") == record_id
        if not retracts and one(f, 5, b"") != record_id:
            faults.append("marks[%d]" % k)
    if kind == "violation" and proven == 0 and not faults:
        faults.append("chains")
    return ("valid" if not faults else "invalid"), faults


def main(paths):
    for path in paths:
        with open(path, "rb") as f:
            text = f.read()
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            print("unusable", path, "file")
            continue
        verdict, faults = check(text)
        print(verdict, path, ",".join(faults))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
