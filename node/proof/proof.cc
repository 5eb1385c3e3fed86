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

// The format string of a bundle version, and the domain its holder signs under.
std::pair<std::string_view, std::string_view> FormatOf(int version) {
  if (version >= 3) return {kProofFormat, kProofDomain};
  if (version == 2) return {kProofFormatV2, kProofDomainV2};
  return {kProofFormatV1, kProofDomainV1};
}

std::string EnvelopeJson(const v1::Signed& s) {
  if (s.has_batch()) {  // a hop signed as one of a batch (version 3)
    const v1::BatchInclusion& b = s.batch();
    std::string path;
    for (const std::string& hash : b.path()) {
      path += StrCat(path.empty() ? "\"" : ",\"", crypto::HexEncode(hash), "\"");
    }
    return StrCat("{\"payload\":\"", crypto::HexEncode(s.payload()),
                  "\",\"batch\":{\"statement\":\"", crypto::HexEncode(b.statement()),
                  "\",\"signature\":\"", crypto::HexEncode(b.signature()),
                  "\",\"index\":", b.index(), ",\"path\":[", path, "]}}");
  }
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
  // A hop: an envelope, or (from version 3) a payload with the proof of its batch.
  std::optional<v1::Signed> HopEnvelope(const google::protobuf::Value& v, const std::string& path,
                                        bool batches) {
    if (!batches || !v.has_struct_value() || !v.struct_value().fields().contains("batch")) {
      return Envelope(v, path);
    }
    const google::protobuf::Struct& hop = v.struct_value();
    std::optional<std::string> payload = Hex(hop, "payload", path + ".payload");
    const google::protobuf::Value& b = hop.fields().at("batch");
    if (!b.has_struct_value()) {
      Fail(path + ".batch", "must be an object with statement, signature, index and path");
      return std::nullopt;
    }
    const google::protobuf::Struct& batch = b.struct_value();
    std::optional<std::string> statement = Hex(batch, "statement", path + ".batch.statement");
    std::optional<std::string> signature =
        Hex(batch, "signature", path + ".batch.signature", crypto::kSignatureSize);
    const google::protobuf::Value* index = Field(batch, "index", path + ".batch.index");
    const google::protobuf::ListValue* hashes = List(batch, "path", path + ".batch.path");
    if (index != nullptr && (!index->has_number_value() || index->number_value() < 0 ||
                             index->number_value() > 4294967295.0 ||
                             index->number_value() != static_cast<double>(static_cast<uint64_t>(
                                                          index->number_value())))) {
      Fail(path + ".batch.index", "must be a whole number from 0");
      return std::nullopt;
    }
    if (!payload || !statement || !signature || index == nullptr || hashes == nullptr) {
      return std::nullopt;
    }
    v1::Signed s;
    s.set_payload(*payload);
    s.mutable_batch()->set_statement(*statement);
    s.mutable_batch()->set_signature(*signature);
    s.mutable_batch()->set_index(static_cast<uint32_t>(index->number_value()));
    for (int k = 0; k < hashes->values_size(); ++k) {
      const std::string at = StrCat(path, ".batch.path[", k, "]");
      const std::string text =
          hashes->values(k).has_string_value() ? hashes->values(k).string_value() : "";
      std::optional<std::string> hash = crypto::HexDecode(text);
      if (!hash || hash->size() != crypto::kDigestSize ||
          text.find_first_of("ABCDEF") != std::string::npos) {
        Fail(at, "must be 64 lower-case hex digits");
        return std::nullopt;
      }
      s.mutable_batch()->add_path(*hash);
    }
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
      if (m.version >= 3) {  // the batch proof (all empty for a hop signed alone)
        AppendItem(out, hop.batch().statement());
        AppendItem(out, hop.batch().signature());
        AppendU32(out, hop.batch().index());
        AppendU32(out, static_cast<uint32_t>(hop.batch().path_size()));
        for (const std::string& hash : hop.batch().path()) AppendItem(out, hash);
      }
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
  // The current format; an earlier one only when asked for (tests of old files).
  const auto [format, domain] = FormatOf(m.version);
  const std::string signature = holder.Sign(domain, ProofStatement(m, holder_key, now_ms));
  std::string out = StrCat(
      "{\n  \"format\": ", JsonString(format), ",\n  \"kind\": ", JsonString(m.kind),
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

// Checks one bundle in the steps docs/PROOF-FORMAT.md numbers ("Checks, in order"): each
// step adds to the result's story and failures.
class BundleCheck {
 public:
  explicit BundleCheck(const google::protobuf::Struct& file) : file_(file) {}

  ProofResult Run() {
    if (!Read()) return r_;  // 1: unusable
    r_.verdict = ProofResult::Verdict::kInvalid;
    CheckHolderSignature();         // 2
    CheckKeyStatements();           // 3
    if (!CheckRecord()) return r_;  // 4
    if (m_.chains.empty()) Fail("chains", "no copy: a bundle holds at least one chain");
    for (std::size_t i = 0; i < m_.chains.size(); ++i) CheckCopy(i);  // 5 and 6
    CheckMarks();                                                     // 7
    Conclude();                                                       // 8
    return r_;
  }

 private:
  void Fail(std::string element, std::string message, std::string key = "") {
    r_.failures.push_back({std::move(element), std::move(message), std::move(key)});
  }
  std::string Name(std::string_view key) const { return (*names_)(key); }

  // 1. Read every field; any problem makes the file unusable.
  bool Read() {
    Reader read(r_.failures);
    const google::protobuf::Struct& file = file_;
    std::optional<std::string> format = read.Text(file, "format", "format");
    if (format && *format == kProofFormatV1) {
      m_.version = 1;
    } else if (format && *format == kProofFormatV2) {
      m_.version = 2;
    } else if (format && *format != kProofFormat) {
      read.Fail("format", StrCat("is \"", *format, "\"; this verifier reads ", kProofFormat, ", ",
                                 kProofFormatV2, " and ", kProofFormatV1));
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
      if (std::optional<v1::Signed> s = read.Envelope(*v, "record")) m_.record = *s;
    }
    ReadChains(read);
    ReadLists(read);
    std::optional<std::string> signature =
        read.Hex(file, "signature", "signature", crypto::kSignatureSize);
    if (!r_.failures.empty()) return false;
    m_.kind = *kind;
    r_.kind = m_.kind;
    holder_ = *holder;
    exported_at_ = *exported_at;
    signature_ = *signature;
    names_.emplace(m_, holder_);
    options_.max_record_bytes = std::size_t{64} << 20;
    options_.keys = &keys_;
    return true;
  }

  void ReadChains(Reader& read) {
    const google::protobuf::Struct& file = file_;
    if (const google::protobuf::ListValue* chains = read.List(file, "chains", "chains")) {
      for (int i = 0; i < chains->values_size(); ++i) {
        const std::string path = StrCat("chains[", i, "]");
        v1::CustodyChain& chain = m_.chains.emplace_back();
        if (!chains->values(i).has_list_value()) {
          read.Fail(path, "must be a list of hops");
          continue;
        }
        const google::protobuf::ListValue& hops = chains->values(i).list_value();
        for (int j = 0; j < hops.values_size(); ++j) {
          if (std::optional<v1::Signed> s =
                  read.HopEnvelope(hops.values(j), StrCat(path, "[", j, "]"), m_.version >= 3)) {
            *chain.add_hops() = *s;
          }
        }
      }
    }
  }

  // The marks, key names and (from version 2) key statements.
  void ReadLists(Reader& read) {
    const google::protobuf::Struct& file = file_;
    if (const google::protobuf::ListValue* marks = read.List(file, "marks", "marks")) {
      for (int i = 0; i < marks->values_size(); ++i) {
        if (std::optional<v1::Signed> s =
                read.Envelope(marks->values(i), StrCat("marks[", i, "]"))) {
          m_.marks.push_back(*s);
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
        if (key && name) m_.names.emplace_back(*key, *name);
      }
    }
    if (m_.version >= 2) {
      if (const google::protobuf::ListValue* list =
              read.List(file, "key_statements", "key_statements")) {
        for (int i = 0; i < list->values_size(); ++i) {
          if (std::optional<v1::Signed> s =
                  read.Envelope(list->values(i), StrCat("key_statements[", i, "]"))) {
            m_.key_statements.push_back(*s);
          }
        }
      }
    }
  }

  // 2. The holder's signature over the whole bundle.
  void CheckHolderSignature() {
    absl::StatusOr<crypto::PublicKey> holder_key = crypto::PublicKey::FromBytes(holder_);
    if (!holder_key.ok()) {
      Fail("holder", "is not a valid Ed25519 public key");
    } else if (!crypto::Verify(*holder_key, FormatOf(m_.version).second,
                               ProofStatement(m_, holder_, exported_at_), signature_)) {
      Fail("signature",
           "the holder's signature over the bundle does not verify: the bundle was changed "
           "after export, or not exported by the holder",
           holder_);
    }
  }

  // 3. The key statements, rotations before revocations (a revocation may be signed by a key
  // a rotation names): each a valid record; together the table the rest is checked against.
  void CheckKeyStatements() {
    for (bool rotations : {true, false}) {
      for (std::size_t k = 0; k < m_.key_statements.size(); ++k) {
        const std::string path = StrCat("key_statements[", k, "]");
        v1::RecordBody guess;
        const bool parsed = guess.ParseFromString(m_.key_statements[k].payload());
        if (parsed && (guess.kind_case() == v1::RecordBody::kKeyRotation) != rotations) continue;
        if (!rotations && !parsed) continue;  // reported in the first pass
        absl::StatusOr<VerifiedRecord> st =
            ValidateRecord(m_.key_statements[k].SerializeAsString(), options_, exported_at_);
        if (!st.ok()) {
          Fail(path, StrCat("does not verify: ", st.status().message()), guess.author());
          continue;
        }
        if (!IsKeyStatement(st->body)) {
          Fail(path, "is not a key rotation or revocation", st->body.author());
          continue;
        }
        if (absl::Status added = keys_.Add(st->id, st->body); !added.ok()) {
          Fail(path, std::string(added.message()), st->body.author());
          continue;
        }
        const v1::RecordBody& sb = st->body;
        key_story_.push_back(sb.has_key_rotation()
                                 ? StrCat("key ", Name(sb.author()), " rotated to ",
                                          Name(sb.key_rotation().new_key()), " at ",
                                          FormatTime(sb.created_at()), " (record ",
                                          crypto::HexEncode(st->id), ")")
                                 : StrCat("key ", Name(sb.key_revocation().key()), " revoked by ",
                                          Name(sb.author()), " as not to be trusted from ",
                                          FormatTime(sb.key_revocation().compromised_since()),
                                          " on: \"", sb.key_revocation().reason(), "\" (record ",
                                          crypto::HexEncode(st->id), ")"));
      }
    }

    if (absl::Status s = keys_.CheckKeyAt(holder_, exported_at_); !s.ok()) {
      Fail("holder", StrCat("signed the bundle with a key it may no longer use: ", s.message()),
           holder_);
    }
  }

  // 4. The record: its id, its author's signature, every rule of its kind, and the key
  // statements. False when it does not verify (nothing else can be judged).
  bool CheckRecord() {
    absl::StatusOr<VerifiedRecord> verified =
        ValidateRecord(m_.record.SerializeAsString(), options_, exported_at_);
    if (!verified.ok()) {
      v1::RecordBody guess;
      const bool parsed = guess.ParseFromString(m_.record.payload());
      Fail("record", StrCat("does not verify: ", verified.status().message()),
           parsed ? guess.author() : "");
      return false;
    }
    record_ = std::move(*verified);
    const v1::RecordBody& body = record_->body;
    r_.record_id = record_->id;
    r_.story.push_back(StrCat("record ", crypto::HexEncode(record_->id), ": ", KindSummary(body),
                              ", TLP:", TlpName(body.tlp())));
    r_.story.push_back(StrCat("authored by ", Name(body.author()), " at ",
                              FormatTime(body.created_at()), "; its signature verifies"));
    r_.story.insert(r_.story.end(), key_story_.begin(), key_story_.end());
    return true;
  }

  // 5. Chain i: sound (signed, linked, for this record, ending at the holder); then 6, judged
  // against the author's handling.
  void CheckCopy(std::size_t i) {
    const v1::RecordBody& body = record_->body;
    const v1::CustodyChain& chain = m_.chains[i];
    const std::string path = StrCat("chains[", i, "]");
    if (chain.hops_size() == 0) {
      if (holder_ != body.author() && !keys_.Succeeds(body.author(), holder_)) {
        Fail(path, "an empty chain is the author's own copy, but the holder is not the author",
             holder_);
      } else {
        r_.story.push_back(
            StrCat("copy ", i + 1, ": the author's own",
                   holder_ == body.author() ? "" : ", held under the key the author rotated to"));
      }
      return;
    }
    // The node's own chain check decides; a chain that is not sound is pinned to its hop and
    // that hop's sender, or to the holder when only the last receiver differs.
    int bad_hop = -1;
    absl::StatusOr<ChainVerdict> verdict =
        threatmesh::CheckChain(record_->id, body, chain, holder_, &keys_, &bad_hop);
    if (!verdict.ok()) {
      if (bad_hop == chain.hops_size()) {
        Fail("holder", StrCat("chain ", i, ": ", verdict.status().message()), holder_);
      } else {
        v1::Hop hop;
        const bool parsed = bad_hop >= 0 && hop.ParseFromString(chain.hops(bad_hop).payload());
        Fail(bad_hop >= 0 ? StrCat(path, "[", bad_hop, "]") : path,
             std::string(verdict.status().message()), parsed ? hop.from() : "");
      }
      return;
    }
    std::vector<std::string> steps;
    for (const v1::Signed& envelope : chain.hops()) {
      v1::Hop hop;
      hop.ParseFromString(envelope.payload());  // CheckChain parsed it already
      steps.push_back(StrCat("sent by ", Name(hop.from()), " to ", Name(hop.to()), " at ",
                             FormatTime(hop.at()), " under policy \"", hop.policy(), "\"",
                             BatchNote(envelope)));
    }
    for (std::size_t s = 0; s < steps.size(); ++s) {
      r_.story.push_back(StrCat("copy ", i + 1, ", hop ", s, ": ", steps[s]));
    }
    JudgeHandling(i, *verdict);
  }

  // ", signed in a batch of N (root R...)" for a hop signed as one of a batch: the sender's
  // own signed statement is what the hop rests on; "" for a hop signed alone.
  static std::string BatchNote(const v1::Signed& envelope) {
    if (!envelope.has_batch()) return "";
    v1::HopBatch statement;
    statement.ParseFromString(envelope.batch().statement());  // CheckChain parsed it already
    return StrCat(", signed in its batch statement of ", statement.size(), " hops (root ",
                  crypto::HexEncode(statement.root()).substr(0, 16), "...)");
  }

  void JudgeHandling(std::size_t i, const ChainVerdict& verdict) {
    const v1::CustodyChain& chain = m_.chains[i];
    const std::string path = StrCat("chains[", i, "]");
    if (verdict.violation) {
      const std::string offender_path = StrCat(path, "[", verdict.offender, "]");
      v1::Hop hop;
      hop.ParseFromString(chain.hops(verdict.offender).payload());
      if (m_.kind == "violation") {
        ++violations_proven_;
        r_.story.push_back(StrCat("VIOLATION in copy ", i + 1, ": hop ", verdict.offender,
                                  ", signed by ", Name(hop.from()),
                                  BatchNote(chain.hops(verdict.offender)),
                                  ", broke the author's handling: ", verdict.rule));
      } else {
        Fail(offender_path, StrCat("broke the author's handling: ", verdict.rule), hop.from());
      }
    } else if (!verdict.accepted) {
      Fail(path, verdict.rule.empty() ? "refused" : verdict.rule);
    } else if (m_.kind == "violation") {
      Fail(path, "shows no violation: this copy respects the author's handling");
    }
  }

  // 7. Retractions and supersessions: each a valid record by the same author, naming it.
  void CheckMarks() {
    const v1::RecordBody& body = record_->body;
    for (std::size_t k = 0; k < m_.marks.size(); ++k) {
      const std::string path = StrCat("marks[", k, "]");
      absl::StatusOr<VerifiedRecord> mark =
          ValidateRecord(m_.marks[k].SerializeAsString(), options_, exported_at_);
      if (!mark.ok()) {
        v1::RecordBody guess;
        guess.ParseFromString(m_.marks[k].payload());
        Fail(path, StrCat("does not verify: ", mark.status().message()), guess.author());
        continue;
      }
      const v1::RecordBody& mb = mark->body;
      const bool retracts = mb.has_retraction() && mb.retraction().target() == record_->id;
      const bool supersedes = mb.supersedes() == record_->id;
      if (!retracts && !supersedes) {
        Fail(path, "neither retracts nor supersedes this record", mb.author());
      } else if (mb.author() != body.author()) {
        Fail(path,
             StrCat("is by ", Name(mb.author()),
                    ", not by the record's author: only the author "
                    "may withdraw a record"),
             mb.author());
      } else {
        withdrawn_ = true;
        r_.story.push_back(retracts
                               ? StrCat("retracted by its author at ", FormatTime(mb.created_at()),
                                        " (record ", crypto::HexEncode(mark->id), "): \"",
                                        mb.retraction().reason(), "\"")
                               : StrCat("superseded by its author at ", FormatTime(mb.created_at()),
                                        " with record ", crypto::HexEncode(mark->id)));
      }
    }
  }

  // 8. The verdict.
  void Conclude() {
    r_.story.push_back(StrCat("held by ", Name(holder_), "; ",
                              withdrawn_ ? "withdrawn" : "not retracted or superseded",
                              " as of the export at ", FormatTime(exported_at_)));
    if (m_.kind == "violation" && violations_proven_ == 0 && r_.failures.empty()) {
      Fail("chains", "no chain proves a violation");
    }
    if (r_.failures.empty()) r_.verdict = ProofResult::Verdict::kValid;
  }

  const google::protobuf::Struct& file_;
  ProofResult r_;
  ProofMaterial m_;
  std::string holder_;
  int64_t exported_at_ = 0;
  std::string signature_;
  std::optional<KeyNames> names_;
  KeyTable keys_;
  ValidationOptions options_;
  std::vector<std::string> key_story_;  // what the key statements say, told after the record
  std::optional<VerifiedRecord> record_;
  int violations_proven_ = 0;
  bool withdrawn_ = false;
};

ProofResult VerifyBundle(const google::protobuf::Struct& file) { return BundleCheck(file).Run(); }

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
