#include "node/core/validate.h"

#include "absl/status/status.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/key_table.h"
#include "node/core/printable.h"

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

constexpr std::size_t kMaxLabelBytes = 128;
// Times before 2000-01-01T00:00:00Z are no event threatmesh can have seen; validity ends
// after 9999-12-31 are not times at all (INT64_MAX was once accepted).
constexpr int64_t kMinTimeMs = 946684800000;
constexpr int64_t kMaxValidityMs = 253402300799999;
constexpr uint64_t kMaxSightingCount = 1000000000000;  // 10^12

// InvalidArgument naming `field` when `ms` (not 0) is before 2000 or after `latest`.
absl::Status CheckTime(std::string_view field, int64_t ms, int64_t latest,
                       std::string_view latest_is) {
  if (ms == 0) return absl::OkStatus();
  if (ms < kMinTimeMs) {
    return absl::InvalidArgumentError(
        StrCat(field, " is ", ms, " ms, before 2000-01-01T00:00:00Z; give Unix milliseconds"));
  }
  if (ms > latest) {
    return absl::InvalidArgumentError(StrCat(field, " is ", ms, " ms, after ", latest_is));
  }
  return absl::OkStatus();
}
constexpr uint32_t kMaxHopsLimit = 64;

// A record's free text reaches analysts' terminals: no control character, no bidirectional
// override (node/core/printable.h).
absl::Status HasControlChar(std::string_view what, std::string_view s) {
  if (const char* found = UnsafeTextCharacter(s)) {
    return absl::InvalidArgumentError(StrCat(what, " contains ", found));
  }
  return absl::OkStatus();
}

// Every free-text field of `body` but the log lines and event values (log bytes as they were,
// escaped when shown).
absl::Status CheckFreeText(const RecordBody& body) {
  std::vector<std::pair<std::string_view, const std::string*>> texts;
  if (body.has_indicator()) {
    const auto& i = body.indicator();
    texts.insert(texts.end(), {{"indicator value", &i.value()},
                               {"indicator description", &i.description()},
                               {"indicator stix_pattern", &i.stix_pattern()}});
    for (const auto& phase : i.kill_chain_phases()) {
      texts.insert(texts.end(), {{"a kill chain name", &phase.kill_chain_name()},
                                 {"a kill chain phase", &phase.phase_name()}});
    }
  }
  if (body.has_sighting()) texts.push_back({"sighting value", &body.sighting().value()});
  if (body.has_retraction()) texts.push_back({"retraction reason", &body.retraction().reason()});
  if (body.has_key_revocation()) {
    texts.push_back({"key revocation reason", &body.key_revocation().reason()});
  }
  if (body.has_log_excerpt()) {
    const auto& x = body.log_excerpt();
    texts.insert(texts.end(), {{"log excerpt source_format", &x.source_format()},
                               {"log excerpt collection_method", &x.collection_method()},
                               {"log excerpt contact", &x.contact()}});
    for (const auto& step : x.manifest()) {
      texts.insert(texts.end(), {{"a manifest field", &step.field()},
                                 {"a manifest method", &step.method()},
                                 {"a manifest algorithm", &step.algorithm()},
                                 {"a manifest key_id", &step.key_id()}});
    }
    for (const auto& item : x.checklist()) {
      texts.insert(texts.end(),
                   {{"a checklist item", &item.item()}, {"a checklist reason", &item.reason()}});
    }
    for (const auto& event : x.events()) {
      texts.push_back({"an event class_name", &event.class_name()});
      for (const auto& field : event.fields())
        texts.push_back({"an event field name", &field.name()});
    }
  }
  for (const auto& [what, text] : texts) {
    if (absl::Status s = HasControlChar(what, *text); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckId(std::string_view what, std::string_view id, bool optional) {
  if (optional && id.empty()) return absl::OkStatus();
  if (id.size() != crypto::kRecordIdSize) {
    return absl::InvalidArgumentError(
        StrCat(what, " is ", id.size(), " bytes, expected a 32-byte record id"));
  }
  return absl::OkStatus();
}

absl::Status CheckIndicatorValue(std::string_view what, threatmesh::v1::IndicatorType type,
                                 const std::string& value) {
  absl::StatusOr<std::string> normalized = NormalizeIndicator(type, value);
  if (!normalized.ok()) {
    return absl::InvalidArgumentError(StrCat(what, ": ", normalized.status().message()));
  }
  if (*normalized != value) {
    return absl::InvalidArgumentError(StrCat(what, " \"", value,
                                             "\" is not in normalized form; the author must "
                                             "sign \"",
                                             *normalized, "\""));
  }
  return absl::OkStatus();
}

// Required fields: present and of the right shape.
absl::Status CheckRequired(const RecordBody& body) {
  if (body.author().size() != crypto::kPublicKeySize) {
    return absl::InvalidArgumentError(
        StrCat("author is ", body.author().size(), " bytes, expected a 32-byte Ed25519 key"));
  }
  if (body.created_at() <= 0) return absl::InvalidArgumentError("created_at is missing");
  if (body.tlp() < threatmesh::v1::TLP_CLEAR || body.tlp() > threatmesh::v1::TLP_RED) {
    return absl::InvalidArgumentError(StrCat("TLP is ", static_cast<int>(body.tlp()),
                                             ", expected CLEAR, GREEN, AMBER, "
                                             "AMBER+STRICT or RED"));
  }
  if (body.kind_case() == RecordBody::KIND_NOT_SET) {
    return absl::InvalidArgumentError(
        "record has no kind (indicator, log excerpt, sighting, retraction, key rotation or "
        "revocation)");
  }
  return absl::OkStatus();
}

// The times besides created_at, and a sighting's count: validity and excerpt windows within
// 2000-01-01..9999-12-31, sighting times not past the clock skew (docs/FORMAT.md, step 5).
absl::Status CheckTimes(const RecordBody& body, const ValidationOptions& options, int64_t now_ms) {
  for (const auto& [field, ms] : {std::pair<const char*, int64_t>{"valid_from", body.valid_from()},
                                  {"valid_until", body.valid_until()}}) {
    if (absl::Status s = CheckTime(field, ms, kMaxValidityMs, "9999-12-31"); !s.ok()) return s;
  }
  if (body.has_sighting()) {
    const auto& sighting = body.sighting();
    const int64_t latest = now_ms + options.max_clock_skew_ms;
    for (const auto& [field, ms] :
         {std::pair<const char*, int64_t>{"sighting first_seen", sighting.first_seen()},
          {"sighting last_seen", sighting.last_seen()}}) {
      if (absl::Status s = CheckTime(field, ms, latest, "now and the allowed clock skew");
          !s.ok()) {
        return s;
      }
    }
    if (sighting.count() > kMaxSightingCount) {
      return absl::InvalidArgumentError(StrCat("sighting count ", sighting.count(),
                                               " is above the limit of ", kMaxSightingCount));
    }
  }
  if (body.has_log_excerpt()) {
    const auto& x = body.log_excerpt();
    if (absl::Status s =
            CheckTime("log excerpt window_start", x.window_start(), kMaxValidityMs, "9999-12-31");
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            CheckTime("log excerpt window_end", x.window_end(), kMaxValidityMs, "9999-12-31");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCommon(const RecordBody& body, const ValidationOptions& options, int64_t now_ms) {
  if (body.created_at() < kMinTimeMs) {
    return absl::InvalidArgumentError(StrCat("created_at is ", body.created_at(),
                                             " ms, before 2000-01-01T00:00:00Z; give Unix "
                                             "milliseconds"));
  }
  if (body.created_at() > now_ms + options.max_clock_skew_ms) {
    return absl::InvalidArgumentError(
        StrCat("created_at is ", (body.created_at() - now_ms) / 1000,
               " s in the future, more than the allowed clock skew of ",
               options.max_clock_skew_ms / 1000, " s; check the author's clock"));
  }
  if (body.has_confidence() && body.confidence() > 100) {
    return absl::InvalidArgumentError(
        StrCat("confidence ", body.confidence(), " is outside 0..100"));
  }
  if (body.valid_from() < 0 || body.valid_until() < 0) {
    return absl::InvalidArgumentError("valid_from and valid_until must not be negative");
  }
  if (body.valid_until() != 0 && body.valid_until() < body.valid_from()) {
    return absl::InvalidArgumentError("valid_until is before valid_from");
  }
  if (absl::Status s = CheckTimes(body, options, now_ms); !s.ok()) return s;
  if (absl::Status s = CheckId("supersedes", body.supersedes(), true); !s.ok()) return s;
  if (static_cast<std::size_t>(body.labels_size()) > kMaxRecordLabels) {
    return absl::InvalidArgumentError(StrCat("the record has ", body.labels_size(),
                                             " labels, over the limit of ", kMaxRecordLabels));
  }
  for (const std::string& label : body.labels()) {
    if (label.empty() || label.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError(
          StrCat("label \"", label, "\" must be 1..", kMaxLabelBytes, " bytes"));
    }
    if (absl::Status s = HasControlChar(StrCat("label \"", label, "\""), label); !s.ok()) {
      return s;
    }
  }
  const threatmesh::v1::Handling& h = body.handling();
  if (h.max_hops() > kMaxHopsLimit) {
    return absl::InvalidArgumentError(
        StrCat("handling.max_hops ", h.max_hops(), " is above ", kMaxHopsLimit));
  }
  for (const std::string& r : h.recipients()) {
    if (r.size() != crypto::kPublicKeySize) {
      return absl::InvalidArgumentError(
          StrCat("a handling recipient is ", r.size(), " bytes, expected a 32-byte Ed25519 key"));
    }
  }
  if (body.tlp() == threatmesh::v1::TLP_RED && h.recipients_size() == 0) {
    return absl::InvalidArgumentError(
        "TLP:RED record names no recipients; RED goes only to the keys listed in "
        "handling.recipients");
  }
  if (body.tlp() != threatmesh::v1::TLP_RED && h.recipients_size() != 0) {
    return absl::InvalidArgumentError("handling.recipients is only for TLP:RED records");
  }
  for (const std::string& c : h.communities()) {
    if (c.empty()) return absl::InvalidArgumentError("a handling community is empty");
    if (absl::Status s = HasControlChar("a handling community", c); !s.ok()) return s;
  }
  return CheckFreeText(body);
}

absl::Status CheckKind(const RecordBody& body, const ValidationOptions& options) {
  switch (body.kind_case()) {
    case RecordBody::kIndicator:
      return CheckIndicatorValue("indicator", body.indicator().type(), body.indicator().value());
    case RecordBody::kSighting: {
      const auto& s = body.sighting();
      if (absl::Status st = CheckIndicatorValue("sighting", s.type(), s.value()); !st.ok()) {
        return st;
      }
      if (s.count() == 0) return absl::InvalidArgumentError("sighting count is 0");
      if (s.last_seen() < s.first_seen()) {
        return absl::InvalidArgumentError("sighting last_seen is before first_seen");
      }
      return CheckId("sighting indicator_id", s.indicator_id(), true);
    }
    case RecordBody::kRetraction:
      return CheckId("retraction target", body.retraction().target(), false);
    case RecordBody::kLogExcerpt: {
      const auto& e = body.log_excerpt();
      if (e.source_format().empty()) {
        return absl::InvalidArgumentError("log excerpt has no source_format");
      }
      if (e.window_start() <= 0 || e.window_end() <= e.window_start()) {
        return absl::InvalidArgumentError("log excerpt window is missing or ends before it starts");
      }
      for (const std::string& id : e.indicator_ids()) {
        if (absl::Status s = CheckId("log excerpt indicator id", id, false); !s.ok()) return s;
      }
      if (e.part_count() > 0 && e.part() >= e.part_count()) {
        return absl::InvalidArgumentError("log excerpt part is not below part_count");
      }
      return CheckId("log excerpt first_part", e.first_part(), true);
    }
    case RecordBody::kKeyRotation:
    case RecordBody::kKeyRevocation:
      return CheckKeyStatement(body, options.keys);
    case RecordBody::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("record has no kind");
}

absl::Status WithId(std::string_view id, const absl::Status& s) {
  return absl::Status(s.code(), StrCat("record ", ShortId(id), ": ", s.message()));
}

}  // namespace

std::string ShortId(std::string_view id) { return crypto::HexEncode(id.substr(0, 4)); }

absl::StatusOr<VerifiedRecord> ValidateRecord(std::string_view bytes,
                                              const ValidationOptions& options, int64_t now_ms) {
  if (bytes.empty()) return absl::InvalidArgumentError("record is empty");
  if (bytes.size() > options.max_record_bytes) {
    return absl::InvalidArgumentError(StrCat("record is ", bytes.size(),
                                             " bytes, above the limit of ",
                                             options.max_record_bytes, " bytes"));
  }
  threatmesh::v1::Signed envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        "record is not a Signed envelope (truncated or not a threatmesh record)");
  }
  if (envelope.payload().empty()) {
    return absl::InvalidArgumentError("record envelope has no payload");
  }
  if (envelope.signature().size() != crypto::kSignatureSize) {
    return absl::InvalidArgumentError(
        StrCat("record signature is ", envelope.signature().size(), " bytes, expected 64"));
  }
  if (envelope.has_batch()) {
    return absl::InvalidArgumentError(
        "record envelope carries a batch proof; only custody hops are signed in batches");
  }
  VerifiedRecord out;
  out.id = crypto::RecordId(envelope.payload());
  if (!out.body.ParseFromString(envelope.payload())) {
    return WithId(
        out.id, absl::InvalidArgumentError("payload is not a RecordBody (truncated or corrupted)"));
  }
  if (absl::Status s = CheckRequired(out.body); !s.ok()) return WithId(out.id, s);

  absl::StatusOr<crypto::PublicKey> author = crypto::PublicKey::FromBytes(out.body.author());
  if (!author.ok()) return WithId(out.id, author.status());
  if (!crypto::Verify(*author, crypto::kRecordDomain, envelope.payload(), envelope.signature())) {
    return WithId(out.id, absl::InvalidArgumentError(
                              StrCat("signature does not verify for author ", author->Fingerprint(),
                                     ": the record was altered or not signed by its author")));
  }
  if (absl::Status s = CheckCommon(out.body, options, now_ms); !s.ok()) return WithId(out.id, s);
  if (absl::Status s = CheckKind(out.body, options); !s.ok()) return WithId(out.id, s);
  // A revocation only withdraws trust, so a key may sign one whatever the table says of it
  // (a revoked key moving its compromise earlier, a rotated key revoking itself).
  if (options.keys != nullptr && out.body.kind_case() != RecordBody::kKeyRevocation) {
    if (absl::Status s = options.keys->CheckKeyAt(out.body.author(), out.body.created_at());
        !s.ok()) {
      return WithId(out.id, s);
    }
  }
  out.signed_bytes = std::string(bytes);
  return out;
}

}  // namespace threatmesh
