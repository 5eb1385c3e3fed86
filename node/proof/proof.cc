#include "node/proof/proof.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "node/core/record_builder.h"
#include "node/core/record_view.h"
#include "node/core/validate.h"
#include "node/proof/audit_trail.h"

namespace threatmesh {

namespace {

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void AppendU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
// A length-prefixed item of the statement.
void AppendItem(std::string& out, std::string_view bytes) {
  AppendU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

std::string EnvelopeJson(const v1::Signed& s) {
  return StrCat("{\"payload\":\"", crypto::HexEncode(s.payload()), "\",\"signature\":\"",
                crypto::HexEncode(s.signature()), "\"}");
}

// Reading the file: every problem is a failure naming the field.
class Reader {
 public:
  explicit Reader(std::vector<ProofFailure>& failures) : failures_(failures) {}

  const google::protobuf::Value* Field(const google::protobuf::Struct& s, const std::string& name,
                                       const std::string& path) {
    auto it = s.fields().find(name);
    if (it == s.fields().end()) {
      Fail(path, "missing");
      return nullptr;
    }
    return &it->second;
  }
  std::optional<std::string> Text(const google::protobuf::Struct& s, const std::string& name,
                                  const std::string& path) {
    const google::protobuf::Value* v = Field(s, name, path);
    if (v == nullptr) return std::nullopt;
    if (!v->has_string_value()) {
      Fail(path, "must be a string");
      return std::nullopt;
    }
    return v->string_value();
  }
  // Lower-case hex of `size` bytes (any size when 0).
  std::optional<std::string> Hex(const google::protobuf::Struct& s, const std::string& name,
                                 const std::string& path, std::size_t size = 0) {
    std::optional<std::string> text = Text(s, name, path);
    if (!text) return std::nullopt;
    // docs/PROOF-FORMAT.md requires lower case: one value, one spelling.
    if (std::any_of(text->begin(), text->end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
      Fail(path, "must be lower-case hex digits");
      return std::nullopt;
    }
    std::optional<std::string> raw = crypto::HexDecode(*text);
    if (!raw || (size > 0 && raw->size() != size)) {
      Fail(path, size > 0 ? StrCat("must be ", size * 2, " hex digits") : "must be hex digits");
      return std::nullopt;
    }
    return raw;
  }
  std::optional<v1::Signed> Envelope(const google::protobuf::Value& v, const std::string& path) {
    if (!v.has_struct_value()) {
      Fail(path, "must be an object with payload and signature");
      return std::nullopt;
    }
    std::optional<std::string> payload = Hex(v.struct_value(), "payload", path + ".payload");
    std::optional<std::string> signature =
        Hex(v.struct_value(), "signature", path + ".signature", crypto::kSignatureSize);
    if (!payload || !signature) return std::nullopt;
    v1::Signed s;
    s.set_payload(*payload);
    s.set_signature(*signature);
    return s;
  }
  const google::protobuf::ListValue* List(const google::protobuf::Struct& s,
                                          const std::string& name, const std::string& path) {
    const google::protobuf::Value* v = Field(s, name, path);
    if (v == nullptr) return nullptr;
    if (!v->has_list_value()) {
      Fail(path, "must be a list");
      return nullptr;
    }
    return &v->list_value();
  }
  void Fail(const std::string& path, const std::string& message) {
    failures_.push_back({path, message, ""});
  }

 private:
  std::vector<ProofFailure>& failures_;
};

// How the story names a key: its fingerprint, and the holder's name for it when it has one.
class KeyNames {
 public:
  KeyNames(const ProofMaterial& m, std::string_view holder) : holder_(holder) {
    for (const auto& [key, name] : m.names) names_[key] = name;
  }
  std::string operator()(std::string_view key) const {
    std::string out = crypto::FingerprintOf(key);
    auto it = names_.find(std::string(key));
    if (it != names_.end() && !it->second.empty()) {
      out += " (" + it->second + ")";
    } else if (key == holder_) {
      out += " (the holder)";
    }
    return out;
  }

 private:
  std::string holder_;
  std::map<std::string, std::string> names_;
};

}  // namespace

std::string ProofStatement(const ProofMaterial& m, std::string_view holder_key,
                           int64_t exported_at_ms) {
  std::string out(holder_key);
  AppendU64(out, static_cast<uint64_t>(exported_at_ms));
  AppendItem(out, m.kind);
  AppendItem(out, m.record.payload());
  AppendItem(out, m.record.signature());
  AppendU32(out, static_cast<uint32_t>(m.chains.size()));
  for (const v1::CustodyChain& chain : m.chains) {
    AppendU32(out, static_cast<uint32_t>(chain.hops_size()));
    for (const v1::Signed& hop : chain.hops()) {
      AppendItem(out, hop.payload());
      AppendItem(out, hop.signature());
    }
  }
  AppendU32(out, static_cast<uint32_t>(m.marks.size()));
  for (const v1::Signed& mark : m.marks) {
    AppendItem(out, mark.payload());
    AppendItem(out, mark.signature());
  }
  AppendU32(out, static_cast<uint32_t>(m.names.size()));
  for (const auto& [key, name] : m.names) {
    AppendItem(out, key);
    AppendItem(out, name);
  }
  if (m.version >= 2) {
    AppendU32(out, static_cast<uint32_t>(m.key_statements.size()));
    for (const v1::Signed& s : m.key_statements) {
      AppendItem(out, s.payload());
      AppendItem(out, s.signature());
    }
  }
  return out;
}

std::string ExportProofBundle(const ProofMaterial& m, const crypto::KeyPair& holder,
                              int64_t now_ms) {
  const std::string holder_key(holder.public_key().bytes());
  const std::string signature = holder.Sign(kProofDomain, ProofStatement(m, holder_key, now_ms));
  std::string out = StrCat(
      "{\n  \"format\": ", JsonString(kProofFormat), ",\n  \"kind\": ", JsonString(m.kind),
      ",\n  \"holder\": \"", crypto::HexEncode(holder_key), "\",\n  \"exported_at\": \"",
      FormatTime(now_ms), "\",\n  \"record\": ", EnvelopeJson(m.record), ",\n  \"chains\": [");
  for (std::size_t i = 0; i < m.chains.size(); ++i) {
    out += i ? ",\n    [" : "\n    [";
    for (int j = 0; j < m.chains[i].hops_size(); ++j) {
      out += StrCat(j ? ",\n      " : "\n      ", EnvelopeJson(m.chains[i].hops(j)));
    }
    out += m.chains[i].hops_size() > 0 ? "\n    ]" : "]";
  }
  out += m.chains.empty() ? "],\n  \"marks\": [" : "\n  ],\n  \"marks\": [";
  for (std::size_t i = 0; i < m.marks.size(); ++i) {
    out += StrCat(i ? ",\n    " : "\n    ", EnvelopeJson(m.marks[i]));
  }
  out += m.marks.empty() ? "],\n  \"keys\": [" : "\n  ],\n  \"keys\": [";
  for (std::size_t i = 0; i < m.names.size(); ++i) {
    out += StrCat(i ? ",\n    " : "\n    ", "{\"key\": \"", crypto::HexEncode(m.names[i].first),
                  "\", \"name\": ", JsonString(m.names[i].second), "}");
  }
  out += m.names.empty() ? "],\n  \"key_statements\": [" : "\n  ],\n  \"key_statements\": [";
  for (std::size_t i = 0; i < m.key_statements.size(); ++i) {
    out += StrCat(i ? ",\n    " : "\n    ", EnvelopeJson(m.key_statements[i]));
  }
  out += m.key_statements.empty() ? "],\n" : "\n  ],\n";
  out += StrCat("  \"signature\": \"", crypto::HexEncode(signature), "\"\n}\n");
  return out;
}

namespace {

// The file as a JSON object, or nullopt with the failure noted in `r`.
std::optional<google::protobuf::Struct> ParseFile(std::string_view json, ProofResult& r) {
  google::protobuf::Struct file;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &file).ok()) {
    r.failures.push_back({"file", "not a JSON object", ""});
    return std::nullopt;
  }
  return file;
}

ProofResult VerifyBundle(const google::protobuf::Struct& file);
ProofResult VerifyAuditFile(const google::protobuf::Struct& file);

}  // namespace

ProofResult VerifyProofBundle(std::string_view json) {
  ProofResult r;
  std::optional<google::protobuf::Struct> file = ParseFile(json, r);
  return file ? VerifyBundle(*file) : r;
}

ProofResult VerifyOfflineFile(std::string_view json) {
  ProofResult r;
  std::optional<google::protobuf::Struct> file = ParseFile(json, r);
  if (!file) return r;
  auto format = file->fields().find("format");
  const bool audit = format != file->fields().end() && format->second.has_string_value() &&
                     format->second.string_value() == kAuditFormat;
  return audit ? VerifyAuditFile(*file) : VerifyBundle(*file);
}

namespace {

ProofResult VerifyBundle(const google::protobuf::Struct& file) {
  ProofResult r;
  // 1. Read every field; any problem makes the file unusable.
  Reader read(r.failures);
  ProofMaterial m;
  std::optional<std::string> format = read.Text(file, "format", "format");
  if (format && *format == kProofFormatV1) {
    m.version = 1;
  } else if (format && *format != kProofFormat) {
    read.Fail("format", StrCat("is \"", *format, "\"; this verifier reads ", kProofFormat, " and ",
                               kProofFormatV1));
  }
  std::optional<std::string> kind = read.Text(file, "kind", "kind");
  if (kind && *kind != "record" && *kind != "violation") {
    read.Fail("kind", "must be \"record\" or \"violation\"");
  }
  std::optional<std::string> holder = read.Hex(file, "holder", "holder", crypto::kPublicKeySize);
  std::optional<std::string> exported_text = read.Text(file, "exported_at", "exported_at");
  std::optional<int64_t> exported_at;
  if (exported_text) {
    absl::StatusOr<int64_t> t = ParseTime(*exported_text);
    if (t.ok()) {
      exported_at = *t;
    } else {
      read.Fail("exported_at", std::string(t.status().message()));
    }
  }
  if (const google::protobuf::Value* v = read.Field(file, "record", "record")) {
    if (std::optional<v1::Signed> s = read.Envelope(*v, "record")) m.record = *s;
  }
  if (const google::protobuf::ListValue* chains = read.List(file, "chains", "chains")) {
    for (int i = 0; i < chains->values_size(); ++i) {
      const std::string path = StrCat("chains[", i, "]");
      v1::CustodyChain& chain = m.chains.emplace_back();
      if (!chains->values(i).has_list_value()) {
        read.Fail(path, "must be a list of hops");
        continue;
      }
      const google::protobuf::ListValue& hops = chains->values(i).list_value();
      for (int j = 0; j < hops.values_size(); ++j) {
        if (std::optional<v1::Signed> s =
                read.Envelope(hops.values(j), StrCat(path, "[", j, "]"))) {
          *chain.add_hops() = *s;
        }
      }
    }
  }
  if (const google::protobuf::ListValue* marks = read.List(file, "marks", "marks")) {
    for (int i = 0; i < marks->values_size(); ++i) {
      if (std::optional<v1::Signed> s = read.Envelope(marks->values(i), StrCat("marks[", i, "]"))) {
        m.marks.push_back(*s);
      }
    }
  }
  if (const google::protobuf::ListValue* keys = read.List(file, "keys", "keys")) {
    for (int i = 0; i < keys->values_size(); ++i) {
      const std::string path = StrCat("keys[", i, "]");
      if (!keys->values(i).has_struct_value()) {
        read.Fail(path, "must be an object with key and name");
        continue;
      }
      std::optional<std::string> key =
          read.Hex(keys->values(i).struct_value(), "key", path + ".key", crypto::kPublicKeySize);
      std::optional<std::string> name =
          read.Text(keys->values(i).struct_value(), "name", path + ".name");
      if (key && name) m.names.emplace_back(*key, *name);
    }
  }
  if (m.version >= 2) {
    if (const google::protobuf::ListValue* list =
            read.List(file, "key_statements", "key_statements")) {
      for (int i = 0; i < list->values_size(); ++i) {
        if (std::optional<v1::Signed> s =
                read.Envelope(list->values(i), StrCat("key_statements[", i, "]"))) {
          m.key_statements.push_back(*s);
        }
      }
    }
  }
  std::optional<std::string> signature =
      read.Hex(file, "signature", "signature", crypto::kSignatureSize);
  if (!r.failures.empty()) return r;  // unusable
  m.kind = *kind;
  r.kind = m.kind;
  r.verdict = ProofResult::Verdict::kInvalid;
  const KeyNames name(m, *holder);
  auto fail = [&](std::string element, std::string message, std::string key = "") {
    r.failures.push_back({std::move(element), std::move(message), std::move(key)});
  };

  // 2. The holder's signature over the whole bundle.
  absl::StatusOr<crypto::PublicKey> holder_key = crypto::PublicKey::FromBytes(*holder);
  if (!holder_key.ok()) {
    fail("holder", "is not a valid Ed25519 public key");
  } else if (!crypto::Verify(*holder_key, m.version >= 2 ? kProofDomain : kProofDomainV1,
                             ProofStatement(m, *holder, *exported_at), *signature)) {
    fail("signature",
         "the holder's signature over the bundle does not verify: the bundle was changed "
         "after export, or not exported by the holder",
         *holder);
  }

  // 3. The key statements, rotations before revocations (a revocation may be signed by a key
  // a rotation names): each a valid record; together the table the rest is checked against.
  ValidationOptions options;
  options.max_record_bytes = std::size_t{64} << 20;
  KeyTable keys;
  options.keys = &keys;
  std::vector<std::string> key_story;
  for (bool rotations : {true, false}) {
    for (std::size_t k = 0; k < m.key_statements.size(); ++k) {
      const std::string path = StrCat("key_statements[", k, "]");
      v1::RecordBody guess;
      const bool parsed = guess.ParseFromString(m.key_statements[k].payload());
      if (parsed && (guess.kind_case() == v1::RecordBody::kKeyRotation) != rotations) continue;
      if (!rotations && !parsed) continue;  // reported in the first pass
      absl::StatusOr<VerifiedRecord> st =
          ValidateRecord(m.key_statements[k].SerializeAsString(), options, *exported_at);
      if (!st.ok()) {
        fail(path, StrCat("does not verify: ", st.status().message()), guess.author());
        continue;
      }
      if (!IsKeyStatement(st->body)) {
        fail(path, "is not a key rotation or revocation", st->body.author());
        continue;
      }
      if (absl::Status added = keys.Add(st->id, st->body); !added.ok()) {
        fail(path, std::string(added.message()), st->body.author());
        continue;
      }
      const v1::RecordBody& sb = st->body;
      key_story.push_back(sb.has_key_rotation()
                              ? StrCat("key ", name(sb.author()), " rotated to ",
                                       name(sb.key_rotation().new_key()), " at ",
                                       FormatTime(sb.created_at()), " (record ",
                                       crypto::HexEncode(st->id), ")")
                              : StrCat("key ", name(sb.key_revocation().key()), " revoked by ",
                                       name(sb.author()), " as not to be trusted from ",
                                       FormatTime(sb.key_revocation().compromised_since()),
                                       " on: \"", sb.key_revocation().reason(), "\" (record ",
                                       crypto::HexEncode(st->id), ")"));
    }
  }

  if (absl::Status s = keys.CheckKeyAt(*holder, *exported_at); !s.ok()) {
    fail("holder", StrCat("signed the bundle with a key it may no longer use: ", s.message()),
         *holder);
  }

  // 4. The record: its id, its author's signature, every rule of its kind, and the key
  // statements.
  absl::StatusOr<VerifiedRecord> record =
      ValidateRecord(m.record.SerializeAsString(), options, *exported_at);
  if (!record.ok()) {
    v1::RecordBody guess;
    const bool parsed = guess.ParseFromString(m.record.payload());
    fail("record", StrCat("does not verify: ", record.status().message()),
         parsed ? guess.author() : "");
    return r;
  }
  const v1::RecordBody& body = record->body;
  r.record_id = record->id;
  r.story.push_back(StrCat("record ", crypto::HexEncode(record->id), ": ", KindSummary(body),
                           ", TLP:", TlpName(body.tlp())));
  r.story.push_back(StrCat("authored by ", name(body.author()), " at ",
                           FormatTime(body.created_at()), "; its signature verifies"));
  r.story.insert(r.story.end(), key_story.begin(), key_story.end());

  // 5. The chains: each sound (signed, linked, for this record, ending at the holder), then
  // judged against the author's handling.
  if (m.chains.empty()) fail("chains", "no copy: a bundle holds at least one chain");
  int violations_proven = 0;
  for (std::size_t i = 0; i < m.chains.size(); ++i) {
    const v1::CustodyChain& chain = m.chains[i];
    const std::string path = StrCat("chains[", i, "]");
    if (chain.hops_size() == 0) {
      if (*holder != body.author() && !keys.Succeeds(body.author(), *holder)) {
        fail(path, "an empty chain is the author's own copy, but the holder is not the author",
             *holder);
      } else {
        r.story.push_back(
            StrCat("copy ", i + 1, ": the author's own",
                   *holder == body.author() ? "" : ", held under the key the author rotated to"));
      }
      continue;
    }
    // The node's own chain check decides; a chain that is not sound is pinned to its hop and
    // that hop's sender, or to the holder when only the last receiver differs.
    int bad_hop = -1;
    absl::StatusOr<ChainVerdict> verdict =
        CheckChain(record->id, body, chain, *holder, &keys, &bad_hop);
    if (!verdict.ok()) {
      if (bad_hop == chain.hops_size()) {
        fail("holder", StrCat("chain ", i, ": ", verdict.status().message()), *holder);
      } else {
        v1::Hop hop;
        const bool parsed = bad_hop >= 0 && hop.ParseFromString(chain.hops(bad_hop).payload());
        fail(bad_hop >= 0 ? StrCat(path, "[", bad_hop, "]") : path,
             std::string(verdict.status().message()), parsed ? hop.from() : "");
      }
      continue;
    }
    std::vector<std::string> steps;
    for (const v1::Signed& envelope : chain.hops()) {
      v1::Hop hop;
      hop.ParseFromString(envelope.payload());  // CheckChain parsed it already
      steps.push_back(StrCat("sent by ", name(hop.from()), " to ", name(hop.to()), " at ",
                             FormatTime(hop.at()), " under policy \"", hop.policy(), "\""));
    }
    for (std::size_t s = 0; s < steps.size(); ++s) {
      r.story.push_back(StrCat("copy ", i + 1, ", hop ", s, ": ", steps[s]));
    }
    if (verdict->violation) {
      const std::string offender_path = StrCat(path, "[", verdict->offender, "]");
      v1::Hop hop;
      hop.ParseFromString(chain.hops(verdict->offender).payload());
      if (m.kind == "violation") {
        ++violations_proven;
        r.story.push_back(StrCat("VIOLATION in copy ", i + 1, ": hop ", verdict->offender,
                                 ", signed by ", name(hop.from()),
                                 ", broke the author's handling: ", verdict->rule));
      } else {
        fail(offender_path, StrCat("broke the author's handling: ", verdict->rule), hop.from());
      }
    } else if (!verdict->accepted) {
      fail(path, verdict->rule.empty() ? "refused" : verdict->rule);
    } else if (m.kind == "violation") {
      fail(path, "shows no violation: this copy respects the author's handling");
    }
  }

  // 6. Retractions and supersessions: each a valid record by the same author, naming it.
  bool withdrawn = false;
  for (std::size_t k = 0; k < m.marks.size(); ++k) {
    const std::string path = StrCat("marks[", k, "]");
    absl::StatusOr<VerifiedRecord> mark =
        ValidateRecord(m.marks[k].SerializeAsString(), options, *exported_at);
    if (!mark.ok()) {
      v1::RecordBody guess;
      guess.ParseFromString(m.marks[k].payload());
      fail(path, StrCat("does not verify: ", mark.status().message()), guess.author());
      continue;
    }
    const v1::RecordBody& mb = mark->body;
    const bool retracts = mb.has_retraction() && mb.retraction().target() == record->id;
    const bool supersedes = mb.supersedes() == record->id;
    if (!retracts && !supersedes) {
      fail(path, "neither retracts nor supersedes this record", mb.author());
    } else if (mb.author() != body.author()) {
      fail(path,
           StrCat("is by ", name(mb.author()),
                  ", not by the record's author: only the author "
                  "may withdraw a record"),
           mb.author());
    } else {
      withdrawn = true;
      r.story.push_back(
          retracts ? StrCat("retracted by its author at ", FormatTime(mb.created_at()), " (record ",
                            crypto::HexEncode(mark->id), "): \"", mb.retraction().reason(), "\"")
                   : StrCat("superseded by its author at ", FormatTime(mb.created_at()),
                            " with record ", crypto::HexEncode(mark->id)));
    }
  }
  r.story.push_back(StrCat("held by ", name(*holder), "; ",
                           withdrawn ? "withdrawn" : "not retracted or superseded",
                           " as of the export at ", FormatTime(*exported_at)));
  if (m.kind == "violation" && violations_proven == 0 && r.failures.empty()) {
    fail("chains", "no chain proves a violation");
  }
  if (r.failures.empty()) r.verdict = ProofResult::Verdict::kValid;
  return r;
}

}  // namespace

std::string ExportAuditTrail(std::string_view node_key,
                             const std::vector<v1::StoredAuditEntry>& entries,
                             const std::vector<v1::Signed>& checkpoints) {
  std::string out = StrCat("{\n  \"format\": ", JsonString(kAuditFormat), ",\n  \"node_key\": \"",
                           crypto::HexEncode(node_key), "\",\n  \"entries\": [");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    out += StrCat(i ? ",\n    " : "\n    ", "{\"seq\": ", entries[i].seq(), ", \"entry\": \"",
                  crypto::HexEncode(entries[i].entry()), "\"}");
  }
  out += entries.empty() ? "],\n  \"checkpoints\": [" : "\n  ],\n  \"checkpoints\": [";
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    out += StrCat(i ? ",\n    " : "\n    ", EnvelopeJson(checkpoints[i]));
  }
  out += checkpoints.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

namespace {

ProofResult VerifyAuditFile(const google::protobuf::Struct& file) {
  ProofResult r;
  r.kind = "audit";
  Reader read(r.failures);
  std::optional<std::string> format = read.Text(file, "format", "format");
  if (format && *format != kAuditFormat) {
    read.Fail("format", StrCat("is \"", *format, "\"; expected ", kAuditFormat));
  }
  std::optional<std::string> key = read.Hex(file, "node_key", "node_key", crypto::kPublicKeySize);
  std::vector<v1::StoredAuditEntry> entries;
  if (const google::protobuf::ListValue* list = read.List(file, "entries", "entries")) {
    for (int i = 0; i < list->values_size(); ++i) {
      const std::string path = StrCat("entries[", i, "]");
      const google::protobuf::Value& v = list->values(i);
      if (!v.has_struct_value()) {
        read.Fail(path, "must be an object with seq and entry");
        continue;
      }
      auto seq = v.struct_value().fields().find("seq");
      std::optional<std::string> bytes = read.Hex(v.struct_value(), "entry", path + ".entry");
      // A JSON number is a double: whole numbers are exact up to 2^53, and a larger one
      // (found by fuzzing) does not fit the cast below.
      if (seq == v.struct_value().fields().end() || !seq->second.has_number_value() ||
          !(seq->second.number_value() >= 1 && seq->second.number_value() <= 9007199254740992.0) ||
          seq->second.number_value() != std::floor(seq->second.number_value())) {
        read.Fail(path + ".seq", "must be a whole number from 1 to 2^53");
        continue;
      }
      if (!bytes) continue;
      v1::StoredAuditEntry& e = entries.emplace_back();
      e.set_seq(static_cast<uint64_t>(seq->second.number_value()));
      e.set_entry(*bytes);
    }
  }
  std::vector<v1::Signed> checkpoints;
  if (const google::protobuf::ListValue* list = read.List(file, "checkpoints", "checkpoints")) {
    for (int i = 0; i < list->values_size(); ++i) {
      if (std::optional<v1::Signed> s =
              read.Envelope(list->values(i), StrCat("checkpoints[", i, "]"))) {
        checkpoints.push_back(*s);
      }
    }
  }
  if (!r.failures.empty()) return r;
  r.verdict = ProofResult::Verdict::kInvalid;
  absl::StatusOr<crypto::PublicKey> node = crypto::PublicKey::FromBytes(*key);
  if (!node.ok()) {
    r.failures.push_back({"node_key", "is not a valid Ed25519 public key", *key});
    return r;
  }
  uint64_t unsealed = 0;
  absl::Status ok = VerifyAuditTrail(entries, checkpoints, *node, &unsealed);
  if (!ok.ok()) {
    r.failures.push_back({"entries", std::string(ok.message()), *key});
    return r;
  }
  r.story.push_back(StrCat("audit trail of node ", node->Fingerprint(), ": ", entries.size(),
                           " entries, hash-chained without a gap"));
  if (!checkpoints.empty()) {
    v1::AuditCheckpoint head;
    head.ParseFromString(checkpoints.back().payload());
    r.story.push_back(StrCat(checkpoints.size(), " checkpoints signed by the node; the last, at ",
                             FormatTime(head.at()), ", seals entries 1..", head.seq()));
  } else {
    r.story.push_back("no signed checkpoint yet: nothing in it is sealed by the node");
  }
  r.story.push_back(
      StrCat(unsealed, " newest entries follow the last checkpoint: chained, not yet signed"));
  r.verdict = ProofResult::Verdict::kValid;
  return r;
}

}  // namespace

std::string ProofResultJson(const ProofResult& r) {
  const char* verdict = r.verdict == ProofResult::Verdict::kValid     ? "valid"
                        : r.verdict == ProofResult::Verdict::kInvalid ? "invalid"
                                                                      : "unusable";
  std::string out = StrCat("{\"verdict\":\"", verdict, "\",\"kind\":", JsonString(r.kind),
                           ",\"record_id\":\"", crypto::HexEncode(r.record_id), "\",\"story\":[");
  for (std::size_t i = 0; i < r.story.size(); ++i) {
    out += StrCat(i ? "," : "", JsonString(r.story[i]));
  }
  out += "],\"failures\":[";
  for (std::size_t i = 0; i < r.failures.size(); ++i) {
    const ProofFailure& f = r.failures[i];
    out += StrCat(i ? "," : "", "{\"element\":", JsonString(f.element),
                  ",\"message\":", JsonString(f.message), ",\"key\":\"", crypto::HexEncode(f.key),
                  "\"}");
  }
  return out + "]}";
}

}  // namespace threatmesh
