#include "node/core/policy.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/core/custody.h"
#include "node/core/indicator.h"
#include "node/core/key_table.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

std::string Join(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Decision Allow(std::string rule) { return {true, std::move(rule)}; }
Decision Refuse(std::string rule) { return {false, std::move(rule)}; }

// The indicator type a record is about (indicator or sighting), or 0.
int IndicatorTypeOf(const RecordBody& body) {
  if (body.has_indicator()) return body.indicator().type();
  if (body.has_sighting()) return body.sighting().type();
  return 0;
}

absl::Status Bad(std::string_view policy, std::string_view setting, std::string_view value,
                 std::string_view expected) {
  return absl::InvalidArgumentError(
      StrCat("policy \"", policy, "\": ", setting, " = \"", value, "\": expected ", expected));
}

absl::StatusOr<bool> ParseBool(std::string_view policy, std::string_view setting,
                               const std::string& v) {
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  return Bad(policy, setting, v, "true or false");
}

absl::StatusOr<uint64_t> ParseNumber(std::string_view policy, std::string_view setting,
                                     const std::string& v, uint64_t min, uint64_t max) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(v, &n) || n < min || n > max) {
    return Bad(policy, setting, v, StrCat("a whole number from ", min, " to ", max));
  }
  return n;
}

}  // namespace

Decision ExplainOutbound(const OutboundPolicy& policy, const RecordBody& body,
                         const threatmesh::v1::CustodyChain& chain, std::string_view self,
                         std::string_view peer, const KeyTable* keys) {
  const std::string p = StrCat("policy \"", policy.name, "\": ");
  if (absl::Status custody = MayForward(body, chain, self, peer); !custody.ok()) {
    return Refuse(StrCat("custody: ", custody.message()));
  }
  if (body.tlp() == threatmesh::v1::TLP_GREEN && body.handling().communities_size() > 0) {
    bool shared = false;
    for (const std::string& c : body.handling().communities())
      shared |= policy.communities.count(c) > 0;
    if (!shared) {
      return Refuse(StrCat("TLP:GREEN: the record is for communities the peer is not in (", p,
                           "peer communities: ",
                           policy.communities.empty() ? "none" : Join(policy.communities), ")"));
    }
  }
  if (body.tlp() > policy.max_tlp) {
    return Refuse(StrCat(p, "TLP:", TlpName(body.tlp()),
                         " is above the highest sent, TLP:", TlpName(policy.max_tlp)));
  }
  const bool statement = IsKeyStatement(body);
  if (!statement && !policy.kinds.empty() && !policy.kinds.count(body.kind_case())) {
    return Refuse(StrCat(p, "kind ", RecordKindName(body.kind_case()), " is not sent"));
  }
  if (const int type = IndicatorTypeOf(body);
      type != 0 && !policy.indicator_types.empty() && !policy.indicator_types.count(type)) {
    return Refuse(StrCat(p, "indicator type ",
                         IndicatorTypeName(static_cast<threatmesh::v1::IndicatorType>(type)),
                         " is not sent"));
  }
  if (!statement && !policy.tags_include.empty()) {
    bool any = false;
    for (const std::string& t : body.labels()) any |= policy.tags_include.count(t) > 0;
    if (!any) {
      return Refuse(
          StrCat(p, "the record carries none of the tags sent (", Join(policy.tags_include), ")"));
    }
  }
  for (const std::string& t : body.labels()) {
    if (policy.tags_exclude.count(t)) return Refuse(StrCat(p, "tag \"", t, "\" is excluded"));
  }
  if (!statement && policy.min_confidence > 0) {
    if (!body.has_confidence()) {
      return Refuse(StrCat(p, "the record states no confidence; the policy needs at least ",
                           policy.min_confidence));
    }
    if (body.confidence() < policy.min_confidence) {
      return Refuse(StrCat(p, "confidence ", body.confidence(), " is below the minimum of ",
                           policy.min_confidence));
    }
  }
  if (policy.own_only && body.author() != self &&
      (keys == nullptr || !keys->Succeeds(body.author(), self))) {
    return Refuse(StrCat(p, "only records authored by this node are sent"));
  }
  return Allow(StrCat(p, "sent (TLP:", TlpName(body.tlp()), ", hop ", chain.hops_size() + 1,
                      " of at most ", EffectiveMaxHops(body), ")"));
}

Decision ExplainInbound(const InboundPolicy& policy, const RecordBody& body, std::size_t size,
                        std::string_view peer, const KeyTable* keys) {
  // The same node under another key: one it rotated from or to.
  auto same_node = [keys](std::string_view a, std::string_view b) {
    return a == b || (keys != nullptr && (keys->Succeeds(a, b) || keys->Succeeds(b, a)));
  };
  const std::string p = StrCat("inbound policy \"", policy.name, "\": ");
  if (size > policy.max_record_bytes) {
    return Refuse(
        StrCat(p, "the record is ", size, " bytes, above the limit of ", policy.max_record_bytes));
  }
  switch (policy.accept) {
    case AcceptAuthors::kAny:
      break;
    case AcceptAuthors::kPeerOnly:
      if (!same_node(body.author(), peer)) {
        return Refuse(StrCat(p, "only the peer's own records are taken"));
      }
      break;
    case AcceptAuthors::kListed:
      if (!policy.authors.count(body.author()) &&
          std::none_of(policy.authors.begin(), policy.authors.end(),
                       [&](const std::string& a) { return same_node(a, body.author()); })) {
        return Refuse(StrCat(p, "the record's author is not one of the accepted authors"));
      }
      break;
  }
  return Allow(StrCat(p, "taken"));
}

absl::StatusOr<OutboundPolicy> ParseOutboundPolicy(std::string_view name,
                                                   const PolicySettings& settings) {
  OutboundPolicy out;
  out.name = std::string(name);
  for (const auto& [setting, value] : settings) {
    if (setting == "max-tlp") {
      absl::StatusOr<threatmesh::v1::Tlp> tlp = ParseTlp(value);
      if (!tlp.ok()) return Bad(name, setting, value, "clear, green, amber, amber+strict or red");
      out.max_tlp = *tlp;
    } else if (setting == "communities") {
      for (std::string& c : SplitList(value)) out.communities.insert(std::move(c));
    } else if (setting == "kinds") {
      for (const std::string& k : SplitList(value)) {
        std::optional<RecordKindInfo> kind = FindRecordKind(k);
        if (!kind) return Bad(name, setting, k, "indicator, log-excerpt, sighting or retraction");
        out.kinds.insert(kind->body_case);
      }
    } else if (setting == "indicator-types") {
      for (const std::string& t : SplitList(value)) {
        absl::StatusOr<threatmesh::v1::IndicatorType> type = ParseIndicatorType(t);
        if (!type.ok()) return Bad(name, setting, t, StrCat("one of ", IndicatorTypeNames()));
        out.indicator_types.insert(*type);
      }
    } else if (setting == "tags-include") {
      for (std::string& t : SplitList(value)) out.tags_include.insert(std::move(t));
    } else if (setting == "tags-exclude") {
      for (std::string& t : SplitList(value)) out.tags_exclude.insert(std::move(t));
    } else if (setting == "min-confidence") {
      absl::StatusOr<uint64_t> n = ParseNumber(name, setting, value, 0, 100);
      if (!n.ok()) return n.status();
      out.min_confidence = static_cast<uint32_t>(*n);
    } else if (setting == "own-only") {
      absl::StatusOr<bool> b = ParseBool(name, setting, value);
      if (!b.ok()) return b.status();
      out.own_only = *b;
    } else {
      return absl::InvalidArgumentError(StrCat(
          "policy \"", name, "\": unknown setting \"", setting,
          "\" (outbound settings: max-tlp, communities, kinds, indicator-types, tags-include, "
          "tags-exclude, min-confidence, own-only)"));
    }
  }
  return out;
}

absl::StatusOr<InboundPolicy> ParseInboundPolicy(std::string_view name,
                                                 const PolicySettings& settings) {
  InboundPolicy out;
  out.name = std::string(name);
  for (const auto& [setting, value] : settings) {
    if (setting == "accept-authors") {
      if (value == "any") {
        out.accept = AcceptAuthors::kAny;
      } else if (value == "peer") {
        out.accept = AcceptAuthors::kPeerOnly;
      } else {
        out.accept = AcceptAuthors::kListed;
        for (const std::string& k : SplitList(value)) {
          absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(k);
          if (!key.ok()) {
            return Bad(name, setting, k, "any, peer, or public keys (tmpk...) separated by commas");
          }
          out.authors.insert(std::string(key->bytes()));
        }
        if (out.authors.empty()) return Bad(name, setting, value, "any, peer, or public keys");
      }
    } else if (setting == "max-record-bytes") {
      absl::StatusOr<uint64_t> n = ParseNumber(name, setting, value, 1024, 16u << 20);
      if (!n.ok()) return n.status();
      out.max_record_bytes = *n;
    } else if (setting == "max-records-per-second") {
      absl::StatusOr<uint64_t> n = ParseNumber(name, setting, value, 1, 1000000);
      if (!n.ok()) return n.status();
      out.max_records_per_second = static_cast<uint32_t>(*n);
    } else {
      return absl::InvalidArgumentError(
          StrCat("policy \"", name, "\": unknown setting \"", setting,
                 "\" (inbound settings: accept-authors, max-record-bytes, "
                 "max-records-per-second)"));
    }
  }
  return out;
}

}  // namespace threatmesh
