#include "node/core/record_builder.h"

#include <algorithm>
#include <cctype>

#include "absl/status/status.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"

namespace threatmesh {

absl::StatusOr<threatmesh::v1::Tlp> ParseTlp(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.rfind("tlp:", 0) == 0) n.erase(0, 4);
  if (n == "clear") return threatmesh::v1::TLP_CLEAR;
  if (n == "green") return threatmesh::v1::TLP_GREEN;
  if (n == "amber") return threatmesh::v1::TLP_AMBER;
  if (n == "amber+strict" || n == "amber-strict") return threatmesh::v1::TLP_AMBER_STRICT;
  if (n == "red") return threatmesh::v1::TLP_RED;
  if (n == "white") {
    return absl::InvalidArgumentError("TLP:WHITE is TLP:CLEAR in TLP 2.0; use --tlp clear");
  }
  return absl::InvalidArgumentError(
      StrCat("unknown TLP \"", name, "\"; use clear, green, amber, amber+strict or red"));
}

std::string TlpName(threatmesh::v1::Tlp tlp) {
  switch (tlp) {
    case threatmesh::v1::TLP_CLEAR:
      return "CLEAR";
    case threatmesh::v1::TLP_GREEN:
      return "GREEN";
    case threatmesh::v1::TLP_AMBER:
      return "AMBER";
    case threatmesh::v1::TLP_AMBER_STRICT:
      return "AMBER+STRICT";
    case threatmesh::v1::TLP_RED:
      return "RED";
    default:
      return StrCat("TLP-", static_cast<int>(tlp));
  }
}

absl::StatusOr<threatmesh::v1::RecordBody> BuildIndicator(const IndicatorSpec& spec,
                                                          const crypto::PublicKey& author,
                                                          int64_t now_ms) {
  absl::StatusOr<threatmesh::v1::IndicatorType> type = ParseIndicatorType(spec.type);
  if (!type.ok()) return type.status();
  absl::StatusOr<std::string> value = NormalizeIndicator(*type, spec.value);
  if (!value.ok()) return value.status();
  absl::StatusOr<threatmesh::v1::Tlp> tlp = ParseTlp(spec.tlp);
  if (!tlp.ok()) return tlp.status();
  if (spec.confidence && *spec.confidence > 100) {
    return absl::InvalidArgumentError(
        StrCat("confidence ", *spec.confidence, " is outside 0..100"));
  }

  threatmesh::v1::RecordBody body;
  body.set_author(std::string(author.bytes()));
  body.set_created_at(now_ms);
  body.set_tlp(*tlp);
  for (const std::string& label : spec.labels) body.add_labels(label);
  if (spec.confidence) body.set_confidence(*spec.confidence);
  body.set_valid_from(spec.valid_from);
  body.set_valid_until(spec.valid_until);
  threatmesh::v1::Handling* h = body.mutable_handling();
  h->set_max_hops(spec.max_hops);
  h->set_may_relay(spec.may_relay);
  for (const std::string& r : spec.recipients) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(r);
    if (!key.ok()) return key.status();
    h->add_recipients(std::string(key->bytes()));
  }
  for (const std::string& c : spec.communities) h->add_communities(c);
  threatmesh::v1::Indicator* ind = body.mutable_indicator();
  ind->set_type(*type);
  ind->set_value(*value);
  ind->set_description(spec.description);
  return body;
}

std::string SealRecord(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key) {
  threatmesh::v1::Signed envelope;
  envelope.set_payload(body.SerializeAsString());
  envelope.set_signature(key.Sign(crypto::kRecordDomain, envelope.payload()));
  return envelope.SerializeAsString();
}

}  // namespace threatmesh
