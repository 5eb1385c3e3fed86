#include "node/core/record_view.h"

#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "absl/status/status.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/printable.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"

namespace threatmesh {
namespace {

std::string AuthorText(const threatmesh::v1::RecordBody& body) {
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(body.author());
  return key.ok() ? key->ToText() : crypto::HexEncode(body.author());
}

std::string AuthorFingerprint(const threatmesh::v1::RecordBody& body) {
  return crypto::FingerprintOf(body.author());
}

std::string KeyFingerprint(std::string_view bytes) { return crypto::FingerprintOf(bytes); }

std::string KindName(const threatmesh::v1::RecordBody& body) {
  return std::string(RecordKindName(body.kind_case()));
}

}  // namespace

std::string FormatTime(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

absl::StatusOr<int64_t> ParseTime(std::string_view text) {
  std::string s(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(StrCat("time \"", text,
                                             "\" is not unix milliseconds, YYYY-MM-DD or "
                                             "YYYY-MM-DDTHH:MM:SS[.mmm]Z"));
  };
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    if (s.size() > 15) return bad();
    return static_cast<int64_t>(std::stoll(s));
  }
  std::tm tm{};
  int ms = 0;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) !=
      3) {
    return bad();
  }
  std::string_view rest = std::string_view(s).substr(consumed);
  if (!rest.empty()) {
    int hms_consumed = 0;
    std::string r(rest);
    if (std::sscanf(r.c_str(), "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                    &hms_consumed) != 3) {
      return bad();
    }
    rest.remove_prefix(hms_consumed);
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      int digits = 0;
      while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
        if (digits < 3) ms = ms * 10 + (rest.front() - '0');
        ++digits;
        rest.remove_prefix(1);
      }
      for (; digits < 3; ++digits) ms *= 10;
    }
    if (rest != "Z") return bad();
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string KindSummary(const threatmesh::v1::RecordBody& body) {
  switch (body.kind_case()) {
    case threatmesh::v1::RecordBody::kIndicator:
      return StrCat("indicator ", IndicatorTypeName(body.indicator().type()), " ",
                    Printable(body.indicator().value()));
    case threatmesh::v1::RecordBody::kSighting:
      return StrCat("sighting ", IndicatorTypeName(body.sighting().type()), " ",
                    Printable(body.sighting().value()), " x", body.sighting().count());
    case threatmesh::v1::RecordBody::kRetraction:
      return StrCat("retraction of ", crypto::HexEncode(body.retraction().target()));
    case threatmesh::v1::RecordBody::kKeyRotation:
      return StrCat("key rotation to ", KeyFingerprint(body.key_rotation().new_key()));
    case threatmesh::v1::RecordBody::kKeyRevocation:
      return StrCat("key revocation of ", KeyFingerprint(body.key_revocation().key()), " since ",
                    FormatTime(body.key_revocation().compromised_since()));
    case threatmesh::v1::RecordBody::kLogExcerpt:
      return StrCat("log-excerpt ", Printable(body.log_excerpt().source_format()), " ",
                    body.log_excerpt().lines_size(), " lines",
                    body.log_excerpt().part_count() > 1
                        ? StrCat(" (part ", body.log_excerpt().part() + 1, " of ",
                                 body.log_excerpt().part_count(), ")")
                        : "");
    default:
      return "unknown";
  }
}

std::string RecordLine(const VerifiedRecord& record) {
  return StrCat(crypto::HexEncode(record.id), "  ", FormatTime(record.body.created_at()), "  ",
                TlpName(record.body.tlp()), "  ", KindSummary(record.body));
}

std::string RecordText(const VerifiedRecord& record) {
  const threatmesh::v1::RecordBody& b = record.body;
  std::string out =
      StrCat("id          ", crypto::HexEncode(record.id), "\n", "author      ", AuthorText(b),
             " (", AuthorFingerprint(b), ")\n", "created     ", FormatTime(b.created_at()), "\n",
             "tlp         ", TlpName(b.tlp()), "\n", "kind        ", KindSummary(b), "\n");
  if (b.has_indicator() && !b.indicator().description().empty()) {
    StrAppend(&out, "description ", Printable(b.indicator().description()), "\n");
  }
  if (b.labels_size() > 0) {
    std::string labels;
    for (const std::string& l : b.labels()) {
      StrAppend(&labels, labels.empty() ? "" : ", ", Printable(l));
    }
    StrAppend(&out, "labels      ", labels, "\n");
  }
  if (b.has_confidence()) StrAppend(&out, "confidence  ", b.confidence(), "\n");
  if (b.valid_from() != 0) StrAppend(&out, "valid from  ", FormatTime(b.valid_from()), "\n");
  if (b.valid_until() != 0) StrAppend(&out, "valid until ", FormatTime(b.valid_until()), "\n");
  StrAppend(&out, "handling    max_hops ", b.handling().max_hops(), ", ",
            b.handling().may_relay() ? "may relay" : "no relay");
  for (const std::string& r : b.handling().recipients()) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(r);
    if (key.ok()) StrAppend(&out, ", to ", key->Fingerprint());
  }
  for (const std::string& c : b.handling().communities()) {
    StrAppend(&out, ", community ", Printable(c));
  }
  StrAppend(&out, "\n");
  if (!b.supersedes().empty()) {
    StrAppend(&out, "supersedes  ", crypto::HexEncode(b.supersedes()), "\n");
  }
  if (b.has_log_excerpt()) {
    const threatmesh::v1::LogExcerpt& x = b.log_excerpt();
    StrAppend(&out, "window      ", FormatTime(x.window_start()), " .. ",
              FormatTime(x.window_end()), " (source UTC offset ", x.original_utc_offset_minutes(),
              " min)\n");
    if (!x.contact().empty()) StrAppend(&out, "contact     ", Printable(x.contact()), "\n");
    if (x.part_count() > 1) {
      StrAppend(&out, "part        ", x.part() + 1, " of ", x.part_count(),
                x.first_part().empty() ? "" : ", first part " + crypto::HexEncode(x.first_part()),
                "\n");
    }
    for (const std::string& id : x.indicator_ids()) {
      StrAppend(&out, "indicator   ", crypto::HexEncode(id), " (drawn from this excerpt)\n");
    }
    for (const threatmesh::v1::SanitizationStep& step : x.manifest()) {
      StrAppend(&out, "sanitized   ", Printable(step.field()), ": ", Printable(step.method()),
                step.algorithm().empty() ? "" : " " + Printable(step.algorithm()),
                step.key_id().empty() ? "" : " key " + Printable(step.key_id()), "\n");
    }
    int passed = 0;
    for (const threatmesh::v1::ChecklistItem& item : x.checklist()) passed += item.passed();
    if (x.checklist_size() > 0) {
      StrAppend(&out, "checklist   ", passed, " of ", x.checklist_size(), " items passed\n");
    }
    constexpr int kShown = 10;
    for (int i = 0; i < x.lines_size() && i < kShown; ++i) {
      // Log bytes as they were, escaped: a log cannot rewrite the analyst's terminal.
      StrAppend(&out, "line ", i + 1, std::string(i + 1 < 10 ? 6 : 5, ' '), Printable(x.lines(i)),
                "\n");
    }
    if (x.lines_size() > kShown) {
      StrAppend(&out, "            ... ", x.lines_size() - kShown,
                " more lines (--json for all)\n");
    }
  }
  return out;
}

std::string RecordJson(const VerifiedRecord& record) {
  std::string body_json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(record.body, &body_json, options).ok()) {
    body_json = "null";
  }
  return StrCat("{\"id\":", JsonString(crypto::HexEncode(record.id)),
                ",\"author\":", JsonString(AuthorText(record.body)),
                ",\"fingerprint\":", JsonString(AuthorFingerprint(record.body)),
                ",\"created_at\":", JsonString(FormatTime(record.body.created_at())),
                ",\"tlp\":", JsonString(TlpName(record.body.tlp())),
                ",\"kind\":", JsonString(KindName(record.body)),
                ",\"summary\":", JsonString(KindSummary(record.body)), ",\"body\":", body_json,
                ",\"signed_hex\":", JsonString(crypto::HexEncode(record.signed_bytes)), "}");
}

VerifiedRecord ToVerified(const threatmesh::v1::StoredRecord& r) {
  VerifiedRecord out;
  out.id = r.id();
  out.signed_bytes = r.signed_record();
  out.body = r.body();
  return out;
}

}  // namespace threatmesh
