#include "node/excerpt/excerpt_builder.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/strings/numbers.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/json_string.h"
#include "node/core/record_view.h"

namespace threatmesh {

namespace {

// Wire bytes of a repeated field entry of `size` bytes: tag, length, payload.
std::size_t EntryBytes(std::size_t size) {
  return size + 1 + (size < 128 ? 1 : size < 16384 ? 2 : 3);
}

}  // namespace

ExcerptBuilder::ExcerptBuilder(ExcerptBuilderOptions options, Sanitizer& sanitizer,
                               const LogParser& parser, PartSink sink)
    : options_(std::move(options)),
      sanitizer_(sanitizer),
      parser_(parser),
      sink_(std::move(sink)) {}

absl::Status ExcerptBuilder::Add(v1::LogEvent& event, std::string_view line) {
  // A time before 2000 or after 9999 is no event's: a garbled date can parse as one (found by
  // fuzzing: year 12222220 became INT64_MAX, and the part's window end overflowed).
  constexpr int64_t kFirstMs = 946684800000, kLastMs = 253402300799999;
  if (event.time() < kFirstMs || event.time() > kLastMs ||
      (options_.window_end > 0 &&
       (event.time() < options_.window_start || event.time() >= options_.window_end))) {
    ++outside_;
    return absl::OkStatus();
  }
  if (options_.propose_indicators) Propose(event);
  std::string sanitized = sanitizer_.Sanitize(event, line);
  // Records hold text as protobuf strings, which must be UTF-8.
  bool repaired = MakeValidUtf8(sanitized);
  for (v1::EventField& f : *event.mutable_fields()) {
    repaired = MakeValidUtf8(*f.mutable_value()) || repaired;
  }
  utf8_repaired_ += repaired;
  const std::size_t bytes = EntryBytes(sanitized.size()) + EntryBytes(event.ByteSizeLong());
  const std::size_t budget =
      std::max(options_.max_record_bytes, kMinExcerptRecordBytes) - kExcerptPartHeadroom;
  if (bytes > budget) {
    return absl::InvalidArgumentError(StrCat("one event is ", bytes,
                                             " bytes sanitized, more than a part of a record of ",
                                             options_.max_record_bytes,
                                             " bytes can hold; raise --max-record-bytes or leave "
                                             "the line out"));
  }
  if (part_bytes_ + bytes > budget) {
    if (absl::Status s = FlushPart(); !s.ok()) return s;
  }
  v1::LogExcerpt* x = part_.mutable_log_excerpt();
  if (x->events_size() == 0) {
    part_first_ = event.time();
    part_last_ = event.time();
  }
  part_first_ = std::min(part_first_, event.time());
  part_last_ = std::max(part_last_, event.time());
  x->add_lines(std::move(sanitized));
  x->add_events()->Swap(&event);
  part_bytes_ += bytes;
  ++events_;
  return absl::OkStatus();
}

absl::Status ExcerptBuilder::Finish() {
  if (events_ == 0) {
    return absl::FailedPreconditionError(StrCat("no event",
                                                options_.window_end > 0 ? " inside the window" : "",
                                                " (", outside_, " outside it)"));
  }
  if (part_.log_excerpt().events_size() == 0) return absl::OkStatus();
  return FlushPart();
}

absl::Status ExcerptBuilder::FlushPart() {
  v1::RecordBody& body = part_;
  part_bytes_ = 0;
  v1::LogExcerpt* x = body.mutable_log_excerpt();
  x->set_source_format(std::string(parser_.format()));
  x->set_window_start(options_.window_end > 0 ? options_.window_start : part_first_);
  x->set_window_end(options_.window_end > 0 ? options_.window_end : part_last_ + 1);
  x->set_original_utc_offset_minutes(parser_.utc_offset_minutes());
  x->set_contact(options_.contact);
  x->set_collection_method(options_.collection_method);
  x->set_part(static_cast<uint32_t>(parts_));
  for (v1::SanitizationStep& step : sanitizer_.TakeManifest()) *x->add_manifest() = std::move(step);
  body.set_tlp(options_.tlp);
  ExcerptCheckOptions check = options_.check;
  check.max_record_bytes = options_.max_record_bytes;
  for (v1::ChecklistItem& item : CheckExcerpt(body, check)) {
    all_passed_ = all_passed_ && item.passed();
    *x->add_checklist() = std::move(item);
  }
  ++parts_;
  absl::Status taken = sink_(body);
  // Cleared, not freed: the next part's lines, events and fields reuse this storage.
  part_.mutable_log_excerpt()->Clear();
  return taken;
}

void ExcerptBuilder::Propose(const v1::LogEvent& event) {
  const int64_t t = event.time();
  // The first value of each field proposals come from, found in one pass over the fields.
  const std::string *ip = nullptr, *name = nullptr, *host = nullptr, *path = nullptr,
                    *agent = nullptr;
  for (const v1::EventField& f : event.fields()) {
    const std::string_view n = f.name();  // compared as a view: sizes first
    if (n == "http_request.referrer" || n == "url.path" || n == "http_request.raw") {
      NoteUriAddresses(f.value(), f.name(), t);
    }
    const std::string** slot = n == "src_endpoint.ip"           ? &ip
                               : n == "query.hostname"          ? &name
                               : n == "url.hostname"            ? &host
                               : n == "url.path"                ? &path
                               : n == "http_request.user_agent" ? &agent
                                                                : nullptr;
    if (slot != nullptr && *slot == nullptr) *slot = &f.value();
  }
  if (ip != nullptr && !ip->empty() && !sanitizer_.IsInternalAddress(*ip)) {
    const bool v6 = ip->find(':') != std::string::npos;
    Note(v6 ? v1::INDICATOR_TYPE_IPV6 : v1::INDICATOR_TYPE_IPV4, *ip, "src_endpoint.ip", t);
  }
  if (name != nullptr && !name->empty() && !sanitizer_.IsInternalName(*name)) {
    Note(v1::INDICATOR_TYPE_DOMAIN, *name, "query.hostname", t);
  }
  if (host != nullptr && !host->empty()) NoteAddress(*host, "url.hostname", t);
  if (host != nullptr && !host->empty() && !sanitizer_.IsInternalName(*host) &&
      !sanitizer_.IsInternalAddress(*host)) {
    Note(v1::INDICATOR_TYPE_URL, StrCat("http://", *host, path ? *path : std::string("/")),
         "url.hostname,url.path", t);
  }
  if (agent != nullptr && !agent->empty() && *agent != "-") {
    Note(v1::INDICATOR_TYPE_USER_AGENT, *agent, "http_request.user_agent", t);
  }
}

void ExcerptBuilder::NoteAddress(std::string_view text, const std::string& field, int64_t time) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {  // [v6] in a URL
    text = text.substr(1, text.size() - 2);
  }
  const bool v6 = text.find(':') != std::string_view::npos;
  const std::string address(text);
  // Not an address: Note's normalization refuses it, and nothing is proposed.
  if (sanitizer_.IsInternalAddress(address)) return;
  Note(v6 ? v1::INDICATOR_TYPE_IPV6 : v1::INDICATOR_TYPE_IPV4, address, field.c_str(), time);
}

void ExcerptBuilder::NoteUriAddresses(std::string_view text, const std::string& field,
                                      int64_t time) {
  for (std::size_t at = text.find("://"); at != std::string_view::npos;
       at = text.find("://", at + 3)) {
    std::size_t start = at + 3;
    const std::size_t end = text.find_first_of("/?#", start);
    std::string_view authority =
        text.substr(start, end == std::string_view::npos ? end : end - start);
    if (const std::size_t user = authority.rfind('@'); user != std::string_view::npos) {
      authority.remove_prefix(user + 1);
    }
    // host[:port], [v6][:port]
    if (!authority.empty() && authority.front() == '[') {
      const std::size_t close = authority.find(']');
      if (close != std::string_view::npos) authority = authority.substr(0, close + 1);
    } else if (const std::size_t colon = authority.find(':');
               colon != std::string_view::npos &&
               authority.find(':', colon + 1) == std::string_view::npos) {
      authority = authority.substr(0, colon);
    }
    NoteAddress(authority, field, time);
  }
}

void ExcerptBuilder::Note(v1::IndicatorType type, const std::string& raw, const char* field,
                          int64_t time) {
  proposal_key_.assign(1, static_cast<char>(type));
  proposal_key_.append(raw);
  auto it = proposals_.find(proposal_key_);
  if (it == proposals_.end()) {
    if (proposals_.size() >= options_.max_proposals) {
      ++proposals_dropped_;
      return;
    }
    absl::StatusOr<std::string> value = NormalizeIndicator(type, raw);
    if (!value.ok()) return;  // not a valid indicator of its type: nothing to propose
    IndicatorProposal p;
    p.type = type;
    p.value = *value;
    p.field = field;
    p.first_seen = time;
    p.last_seen = time;
    it = proposals_.emplace(proposal_key_, std::move(p)).first;
  }
  IndicatorProposal& p = it->second;
  ++p.count;
  p.first_seen = std::min(p.first_seen, time);
  p.last_seen = std::max(p.last_seen, time);
}

std::vector<IndicatorProposal> ExcerptBuilder::Proposals() const {
  // Raw values that normalize alike (a name in two cases) become one proposal.
  std::map<std::pair<int, std::string>, IndicatorProposal> merged;
  for (const auto& [key, p] : proposals_) {
    auto [it, added] = merged.emplace(std::make_pair(static_cast<int>(p.type), p.value), p);
    if (added) continue;
    it->second.count += p.count;
    it->second.first_seen = std::min(it->second.first_seen, p.first_seen);
    it->second.last_seen = std::max(it->second.last_seen, p.last_seen);
  }
  std::vector<IndicatorProposal> out;
  out.reserve(merged.size());
  for (auto& [key, p] : merged) out.push_back(std::move(p));
  std::stable_sort(
      out.begin(), out.end(),
      [](const IndicatorProposal& a, const IndicatorProposal& b) { return a.count > b.count; });
  return out;
}

absl::Status CheckExcerptParts(std::vector<v1::RecordBody>& parts) {
  if (parts.empty()) return absl::InvalidArgumentError("no excerpt given");
  for (const v1::RecordBody& p : parts) {
    if (!p.has_log_excerpt()) return absl::InvalidArgumentError("a part is not a log excerpt");
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const v1::RecordBody& a, const v1::RecordBody& b) {
                     return a.log_excerpt().part() < b.log_excerpt().part();
                   });
  const std::size_t n = parts.size();
  const v1::LogExcerpt& first = parts.front().log_excerpt();
  for (std::size_t i = 0; i < n; ++i) {
    const v1::LogExcerpt& x = parts[i].log_excerpt();
    const uint32_t count = x.part_count();
    if (count != 0 && count != n) {
      return absl::InvalidArgumentError(
          StrCat("part ", x.part() + 1, " says the excerpt has ", count, " parts, but ", n,
                 " were given; give every part file of the excerpt, once"));
    }
    if (x.part() != i) {
      return absl::InvalidArgumentError(StrCat("part ", i + 1, " of ", n, " is ",
                                               x.part() < i ? "given twice" : "missing",
                                               "; give every part file of the excerpt, once"));
    }
    if (x.source_format() != first.source_format()) {
      return absl::InvalidArgumentError(StrCat("part ", i + 1, " is from a ", x.source_format(),
                                               " log, part 1 from a ", first.source_format(),
                                               " log: not one excerpt"));
    }
  }
  return absl::OkStatus();
}

namespace {

std::string PrintJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

}  // namespace

void AppendExcerptPartJson(v1::RecordBody& part, std::string& out) {
  v1::LogExcerpt* excerpt = part.mutable_log_excerpt();
  google::protobuf::RepeatedPtrField<std::string> lines;
  google::protobuf::RepeatedPtrField<v1::LogEvent> events;
  lines.Swap(excerpt->mutable_lines());
  events.Swap(excerpt->mutable_events());
  std::string rest = PrintJson(*excerpt);  // "{...}" without lines and events
  std::string body;                        // "{...}" without the excerpt
  {
    v1::LogExcerpt set_aside;
    set_aside.Swap(excerpt);
    part.clear_log_excerpt();
    body = PrintJson(part);
    part.mutable_log_excerpt()->Swap(&set_aside);
  }
  std::size_t bytes = body.size() + rest.size() + 64;
  for (const std::string& line : lines) bytes += line.size() + 8;
  for (const v1::LogEvent& e : events) {
    bytes += 64;
    for (const v1::EventField& f : e.fields()) bytes += f.name().size() + f.value().size() + 24;
  }
  out.reserve(out.size() + bytes);
  out.append(body, 0, body.size() - 1);
  if (body.size() > 2) out.push_back(',');
  out.append("\"logExcerpt\":{\"lines\":[");
  for (int i = 0; i < lines.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, lines.Get(i));
  }
  out.append("],\"events\":[");
  for (int i = 0; i < events.size(); ++i) {
    const v1::LogEvent& e = events.Get(i);
    out.append(i > 0 ? ",{\"time\":\"" : "{\"time\":\"");
    out.append(std::to_string(e.time()));
    out.append("\",\"className\":");
    AppendJsonString(out, e.class_name());
    out.append(",\"fields\":[");
    for (int f = 0; f < e.fields_size(); ++f) {
      out.append(f > 0 ? ",{\"name\":" : "{\"name\":");
      AppendJsonString(out, e.fields(f).name());
      out.append(",\"value\":");
      AppendJsonString(out, e.fields(f).value());
      out.push_back('}');
    }
    out.append("]}");
  }
  out.push_back(']');
  if (rest.size() > 2) {
    out.push_back(',');
    out.append(rest, 1, std::string::npos);  // its fields and its closing brace
  } else {
    out.push_back('}');
  }
  out.push_back('}');
  excerpt = part.mutable_log_excerpt();
  excerpt->mutable_lines()->Swap(&lines);
  excerpt->mutable_events()->Swap(&events);
}

std::string ExcerptPartJson(v1::RecordBody& part) {
  std::string out;
  AppendExcerptPartJson(part, out);
  return out;
}

bool MakeValidUtf8(std::string& text) {
  // Fast path: plain ASCII, as most log lines are.
  // Eight bytes at a time: no byte has its high bit set.
  uint64_t high = 0;
  std::size_t at = 0;
  for (; at + 8 <= text.size(); at += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + at, 8);
    high |= word;
  }
  for (; at < text.size(); ++at) high |= static_cast<unsigned char>(text[at]);
  if ((high & 0x8080808080808080ull) == 0) return false;
  std::string out;
  out.reserve(text.size() + 8);
  bool changed = false;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    std::size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xc0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    ok = ok && !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
         !(cp >= 0xd800 && cp <= 0xdfff);
    if (ok) {
      out.append(text, i, len);
      i += len;
    } else {
      out.append("\xef\xbf\xbd");  // U+FFFD
      changed = true;
      ++i;
    }
  }
  if (changed) text = std::move(out);
  return changed;
}

std::string ProposalToJson(const IndicatorProposal& p) {
  return StrCat("{\"type\":", JsonString(IndicatorTypeName(p.type)),
                ",\"value\":", JsonString(p.value), ",\"count\":", p.count,
                ",\"first_seen\":", JsonString(FormatTime(p.first_seen)),
                ",\"last_seen\":", JsonString(FormatTime(p.last_seen)),
                ",\"field\":", JsonString(p.field), "}");
}

absl::StatusOr<IndicatorProposal> ProposalFromJson(std::string_view line) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  auto text = [&](const char* name) -> const std::string* {
    auto it = object.fields().find(name);
    if (it == object.fields().end() || !it->second.has_string_value()) return nullptr;
    return &it->second.string_value();
  };
  const std::string* type_name = text("type");
  const std::string* value = text("value");
  if (!type_name || !value) {
    return absl::InvalidArgumentError("needs \"type\" and \"value\" strings");
  }
  absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(*type_name);
  if (!type.ok()) return type.status();
  absl::StatusOr<std::string> normalized = NormalizeIndicator(*type, *value);
  if (!normalized.ok()) return normalized.status();
  IndicatorProposal p;
  p.type = *type;
  p.value = *normalized;
  if (const std::string* field = text("field")) p.field = *field;
  if (auto it = object.fields().find("count"); it != object.fields().end()) {
    const double c = it->second.number_value();
    if (!it->second.has_number_value() || c < 0 || c > 1e15 || c != static_cast<uint64_t>(c)) {
      return absl::InvalidArgumentError("\"count\" must be a whole number");
    }
    p.count = static_cast<uint64_t>(c);
  }
  for (auto [name, out] :
       {std::pair{"first_seen", &p.first_seen}, std::pair{"last_seen", &p.last_seen}}) {
    const std::string* t = text(name);
    if (!t) continue;
    absl::StatusOr<int64_t> ms = ParseTime(*t);
    if (!ms.ok())
      return absl::InvalidArgumentError(StrCat("\"", name, "\": ", ms.status().message()));
    *out = *ms;
  }
  return p;
}

}  // namespace threatmesh
