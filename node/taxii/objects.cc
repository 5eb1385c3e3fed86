// TAXII objects and manifest: a page of the collection's objects, read from the node's change
// feed (docs/TAXII.md, "Paging").
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/interop/stix.h"
#include "node/taxii/taxii.h"
#include "storage/index_keys.h"

namespace threatmesh::taxii {
namespace {

namespace v1 = ::threatmesh::v1;

// The most versions of one object objects/{id} follows (as the STIX writer does).
constexpr int kMaxVersionsServed = 64;
// Feed entries read beyond the room left on a page, for the entries that make no object.
constexpr std::size_t kReadAhead = 16;

// The value of `"key":"` at its first place in an object's JSON text (the writer puts type,
// spec_version, id, created and modified before any nested object).
std::string FirstString(std::string_view json, std::string_view key) {
  const std::string needle = StrCat("\"", key, "\":\"");
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return "";
  const std::size_t begin = at + needle.size();
  const std::size_t end = json.find('"', begin);
  return std::string(json.substr(begin, end - begin));
}

// A time added as TAXII writes it: UTC, with microseconds ("2026-12-05T01:34:02.098123Z").
std::string TaxiiTime(int64_t us) {
  const std::string ms = interop::StixTime(us / 1000);  // "...:02.098Z"
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, "%06ld", static_cast<long>(us % 1000000));
  return StrCat(ms.substr(0, ms.find('.') + 1), fraction, "Z");
}

// A TAXII timestamp in microseconds (any number of fraction digits; past six are dropped).
absl::StatusOr<int64_t> ParseTaxiiTime(const std::string& text) {
  const std::size_t dot = text.find('.');
  absl::StatusOr<int64_t> ms =
      ParseTime(dot == std::string::npos ? text : text.substr(0, dot) + "Z");
  if (!ms.ok() || text.size() < 20) {
    return absl::InvalidArgumentError(
        StrCat("a timestamp like 2026-12-01T00:00:00.000000Z; not ", text));
  }
  int64_t us = *ms * 1000;
  if (dot != std::string::npos) {
    const std::string digits = text.substr(dot + 1, text.size() - dot - 2);
    if (digits.empty() || text.back() != 'Z' ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return absl::InvalidArgumentError(
          StrCat("a timestamp like 2026-12-01T00:00:00.000000Z; not ", text));
    }
    int64_t fraction = 0;
    for (std::size_t i = 0; i < 6; ++i)
      fraction = fraction * 10 + (i < digits.size() ? digits[i] - '0' : 0);
    us += fraction;
  }
  return us;
}

// What a request's match[...] parameters ask for.
struct Filters {
  std::set<std::string> ids, types, times;
  enum class Versions { kLast, kFirst, kAll } versions = Versions::kLast;
  bool spec_2_1 = true;  // match[spec_version] absent or naming 2.1
};

// The page's position and size from the query; a 400's reason when a value is wrong.
struct Paging {
  uint64_t from_seq = 1;
  std::size_t limit = 0;
};

absl::StatusOr<Filters> ReadFilters(const std::map<std::string, std::vector<std::string>>& query) {
  Filters f;
  for (const auto& [key, values] : query) {
    if (key.rfind("match[", 0) != 0) continue;
    if (key == "match[id]") {
      f.ids.insert(values.begin(), values.end());
    } else if (key == "match[type]") {
      f.types.insert(values.begin(), values.end());
    } else if (key == "match[spec_version]") {
      f.spec_2_1 = std::find(values.begin(), values.end(), "2.1") != values.end();
    } else if (key == "match[version]") {
      for (const std::string& v : values) {
        if (v == "last" || v == "first" || v == "all") {
          if (v == "first") f.versions = Filters::Versions::kFirst;
          if (v == "all") f.versions = Filters::Versions::kAll;
        } else if (absl::StatusOr<int64_t> t = ParseTime(v); t.ok()) {
          f.times.insert(interop::StixTime(*t));
          f.versions = Filters::Versions::kAll;
        } else {
          return absl::InvalidArgumentError(
              StrCat("match[version] is last, first, all or timestamps like "
                     "2026-12-01T00:00:00.000Z; not ",
                     v));
        }
      }
    } else {
      return absl::InvalidArgumentError(
          StrCat(key,
                 " is not a filter of this endpoint (match[id], match[type], "
                 "match[version], match[spec_version])"));
    }
  }
  return f;
}

// The first sequence whose record was added after `t` (binary search of the feed: the times
// never decrease).
absl::StatusOr<uint64_t> FirstAddedAfter(storage::Store& store, int64_t t) {
  uint64_t lo = 1, hi = store.NextSeq();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    absl::StatusOr<storage::LogPage> page = store.ReadLog(mid, 1);
    if (!page.ok()) return page.status();
    if (page->entries.empty() || page->entries[0].added_us > t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

absl::StatusOr<Paging> ReadPaging(const std::map<std::string, std::vector<std::string>>& query,
                                  storage::Store& store, std::size_t max_page) {
  Paging p;
  p.limit = max_page;
  auto one = [&](const char* key) -> const std::string* {
    auto it = query.find(key);
    return it == query.end() || it->second.empty() ? nullptr : &it->second.front();
  };
  if (const std::string* limit = one("limit")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(limit->c_str(), &end, 10);
    if (limit->empty() || *end != '\0' || n == 0) {
      return absl::InvalidArgumentError(StrCat("limit is a whole number from 1; not ", *limit));
    }
    p.limit = std::min<std::size_t>(n, max_page);
  }
  if (const std::string* next = one("next")) {
    char* end = nullptr;
    p.from_seq = std::strtoull(next->c_str(), &end, 10);
    if (next->empty() || *end != '\0' || p.from_seq == 0) {
      return absl::InvalidArgumentError(
          StrCat("next is the value a previous page gave; not ", *next));
    }
  } else if (const std::string* after = one("added_after")) {
    absl::StatusOr<int64_t> t = ParseTaxiiTime(*after);
    if (!t.ok()) return absl::InvalidArgumentError(StrCat("added_after is ", t.status().message()));
    absl::StatusOr<uint64_t> seq = FirstAddedAfter(store, *t);
    if (!seq.ok()) return seq.status();
    p.from_seq = *seq;
  }
  return p;
}

bool HasStixForm(const v1::RecordBody& body) {
  return body.has_indicator() || body.has_sighting() || body.has_log_excerpt();
}

template <typename Items>
bool AnyIn(const Items& items, const std::set<std::string>& wanted) {
  for (const std::string& item : items) {
    if (wanted.count(item)) return true;
  }
  return false;
}

// Whether a collection shows a record (docs/TAXII.md, "Collections").
bool InView(const TaxiiCollectionConfig& c, const Caller& caller, const v1::RecordBody& body) {
  if (!HasStixForm(body) || body.tlp() == v1::TLP_UNSPECIFIED) return false;
  if (body.tlp() > std::min(c.max_tlp, caller.max_tlp())) return false;
  if (!c.kinds.empty() && !c.kinds.count(ApiKindOf(body))) return false;
  if (!c.types.empty()) {
    const v1::IndicatorType type = body.has_indicator()  ? body.indicator().type()
                                   : body.has_sighting() ? body.sighting().type()
                                                         : v1::INDICATOR_TYPE_UNSPECIFIED;
    if (!c.types.count(type)) return false;
  }
  if (!c.tags.empty() && !AnyIn(body.labels(), c.tags)) return false;
  if (!c.communities.empty() && !AnyIn(body.handling().communities(), c.communities)) {
    return false;
  }
  return c.authors.empty() || c.authors.count(body.author()) > 0;
}

// Which version of which object a feed entry adds, if any (docs/TAXII.md, "Versions").
std::optional<v1::StoredRecord> VersionAt(NodeApi& api, const storage::LogEntry& entry,
                                          v1::StoredRecord record, Filters::Versions versions) {
  std::optional<v1::StoredRecord> version;
  if (record.body().has_retraction()) {
    if (versions == Filters::Versions::kFirst) return version;
    absl::StatusOr<v1::StoredRecord> target =
        api.Load(record.body().retraction().target(), /*custody=*/false);
    if (target.ok() && target->retracted_by() == entry.id && target->superseded_by().empty()) {
      version = *std::move(target);  // its revoked version
    }
  } else if (versions == Filters::Versions::kLast) {
    if (record.superseded_by().empty() && record.retracted_by().empty()) {
      version = std::move(record);
    }
  } else if (versions == Filters::Versions::kAll || record.body().supersedes().empty()) {
    version = std::move(record);
    version->clear_retracted_by();  // the version as it was added
    version->clear_superseded_by();
  }
  return version;
}

// What a page lists: the objects, a manifest entry per object, or only the versions (the
// `modified` of each).
enum class Listing { kObjects, kManifest, kVersions };

// A page as it fills: the objects (or manifest entries, or versions) that pass the filters,
// and the dates added of its first and last entries.
class PageOut {
 public:
  PageOut(const Filters& filters, Listing listing, std::size_t limit)
      : filters_(filters), listing_(listing) {
    if (listing == Listing::kObjects) objects_.reserve(limit * 1536);  // about an indicator's
  }

  // One object the writer made for the entry added at `added_us`; whether it passed.
  bool Take(const std::string& json, int64_t added_us) {
    const std::string type = FirstString(json, "type");
    const std::string id = FirstString(json, "id");
    std::string version = FirstString(json, "modified");
    if (version.empty()) version = FirstString(json, "created");
    if ((!filters_.types.empty() && !filters_.types.count(type)) ||
        (!filters_.ids.empty() && !filters_.ids.count(id)) ||
        (!filters_.times.empty() && !filters_.times.count(version)) || !filters_.spec_2_1) {
      return false;
    }
    ++count_;
    if (listing_ == Listing::kManifest) {
      nlohmann::ordered_json m;
      m["id"] = id;
      m["date_added"] = TaxiiTime(added_us);
      m["version"] = version;
      m["media_type"] = std::string(kStixMediaType);
      items_.push_back(std::move(m));
    } else if (listing_ == Listing::kVersions) {
      items_.push_back(version);
    } else {
      if (!objects_.empty()) objects_ += ",";
      objects_ += json;
    }
    return true;
  }
  // Where the page stood before an entry's objects, to take them back out.
  void BeginEntry() {
    mark_objects_ = objects_.size();
    mark_items_ = items_.size();
    mark_count_ = count_;
  }
  void TakeBackEntry() {
    objects_.resize(mark_objects_);
    items_.resize(mark_items_);
    count_ = mark_count_;
  }
  // Objects (or manifest entries, or versions) on the page.
  std::size_t count() const { return count_; }
  void EntryDone(int64_t added_us) {
    if (entries_++ == 0) first_added_ = added_us;
    last_added_ = added_us;
  }
  std::size_t entries() const { return entries_; }

  // The answer; the page's objects move into it (a page is a megabyte or so: copied once).
  http::Response Answer(bool more, uint64_t next_seq) {
    http::Response r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", std::string(kTaxiiMediaType));
    if (entries_ > 0) {
      r.headers.emplace_back("X-TAXII-Date-Added-First", TaxiiTime(first_added_));
      r.headers.emplace_back("X-TAXII-Date-Added-Last", TaxiiTime(last_added_));
    }
    std::string head = StrCat("{\"more\":", more ? "true" : "false");
    if (more) head += StrCat(",\"next\":\"", next_seq, "\"");
    const char* list = listing_ == Listing::kVersions ? "versions" : "objects";
    if (listing_ != Listing::kObjects && !items_.empty()) {
      r.body = StrCat(head, ",\"", list, "\":", nlohmann::ordered_json(items_).dump(), "}");
    } else if (listing_ == Listing::kObjects && !objects_.empty()) {
      // "{"more":...,"objects":[" ahead of the objects, in place.
      objects_.insert(0, head + ",\"objects\":[");
      objects_ += "]}";
      r.body = std::move(objects_);
    } else {
      r.body = head + "}";
    }
    return r;
  }

 private:
  const Filters& filters_;
  const Listing listing_;
  std::vector<nlohmann::ordered_json> items_;  // manifest entries or versions
  std::string objects_;                        // the objects, comma-separated JSON
  std::size_t entries_ = 0, count_ = 0;
  std::size_t mark_objects_ = 0, mark_items_ = 0, mark_count_ = 0;
  int64_t first_added_ = 0, last_added_ = 0;
};

// Fills a page entry by entry: each feed entry's version (VersionAt), if the collection
// shows it, written as STIX and offered to the page.
class PageFiller {
 public:
  enum class Outcome { kSkipped, kTaken, kFull };

  PageFiller(NodeApi& api, const TaxiiCollectionConfig& collection, const Caller& caller,
             const Filters& filters, Listing listing, std::size_t limit, v1::AuditEntry& audit)
      : api_(api),
        collection_(collection),
        caller_(caller),
        filters_(filters),
        limit_(limit),
        audit_(audit),
        out_(filters, listing, limit),
        writer_(
            [this](const std::string& json) {
              if (!on_object_ || on_object_(json)) entry_taken_ |= out_.Take(json, entry_added_);
            },
            [&api](const std::string& id) -> std::optional<v1::StoredRecord> {
              absl::StatusOr<v1::StoredRecord> r = api.Load(id, /*custody=*/false);
              if (!r.ok()) return std::nullopt;
              return *std::move(r);
            }) {}

  // Each object written sees `filter` first; one it refuses is not offered to the page.
  void set_object_filter(std::function<bool(const std::string&)> filter) {
    on_object_ = std::move(filter);
  }

  // The entry's objects onto the page: kFull when they do not fit (the page is then done and
  // the entry is the next page's first) or when they fill it.
  Outcome Offer(const storage::LogEntry& entry) {
    return Offer(entry, api_.Load(entry.id, /*custody=*/false));
  }
  // The same with the entry's record loaded already.
  Outcome Offer(const storage::LogEntry& entry, absl::StatusOr<v1::StoredRecord> record) {
    last_taken_ = false;
    if (!record.ok()) return Outcome::kSkipped;
    std::optional<v1::StoredRecord> version =
        VersionAt(api_, entry, *std::move(record), filters_.versions);
    if (!version || !InView(collection_, caller_, version->body())) return Outcome::kSkipped;
    entry_added_ = entry.added_us;
    entry_taken_ = false;
    out_.BeginEntry();
    std::string why;
    (void)writer_.Add(*version, &why);
    if (!entry_taken_) return Outcome::kSkipped;
    if (out_.count() > limit_ && out_.entries() > 0) {
      out_.TakeBackEntry();
      return Outcome::kFull;
    }
    AuditIds(audit_, entry.id);
    out_.EntryDone(entry.added_us);
    last_taken_ = true;
    return out_.count() >= limit_ ? Outcome::kFull : Outcome::kTaken;
  }
  // Whether the entry last offered is on the page (one that returned kFull may not be).
  bool last_taken() const { return last_taken_; }

  PageOut& out() { return out_; }

 private:
  NodeApi& api_;
  const TaxiiCollectionConfig& collection_;
  const Caller& caller_;
  const Filters& filters_;
  const std::size_t limit_;
  v1::AuditEntry& audit_;
  PageOut out_;
  std::function<bool(const std::string&)> on_object_;
  int64_t entry_added_ = 0;
  bool entry_taken_ = false;
  bool last_taken_ = false;
  interop::StixBundleWriter writer_;
};

// The feed entries of one object's versions, in feed order: the record its id's UUID names,
// each record that supersedes it in turn, and the retraction of the newest (docs/TAXII.md,
// "Versions"). Empty when no record has that UUID.
absl::StatusOr<std::vector<storage::LogEntry>> VersionEntries(NodeApi& api,
                                                              const std::string& uuid) {
  storage::Store& store = api.node().store();
  std::vector<storage::LogEntry> entries;
  absl::StatusOr<storage::LogEntry> first = store.FindByUuid(uuid);
  if (absl::IsNotFound(first.status())) return entries;
  if (!first.ok()) return first.status();
  std::string id = first->id;
  entries.push_back(*std::move(first));
  for (int i = 0; i < kMaxVersionsServed; ++i) {
    absl::StatusOr<v1::StoredRecord> record = api.Load(id, /*custody=*/false);
    if (!record.ok()) break;
    const std::string& next =
        record->superseded_by().empty() ? record->retracted_by() : record->superseded_by();
    if (next.empty()) break;
    absl::StatusOr<storage::LogEntry> entry = store.FindByUuid(storage::RecordUuid(next));
    if (!entry.ok()) break;
    entries.push_back(*std::move(entry));
    if (record->superseded_by().empty()) break;  // the retraction ends the chain
    id = next;
  }
  std::sort(entries.begin(), entries.end(),
            [](const storage::LogEntry& a, const storage::LogEntry& b) { return a.seq < b.seq; });
  return entries;
}

}  // namespace

http::Response TaxiiService::Objects(Call& call, const Collection& c, bool manifest) {
  absl::StatusOr<Filters> filters = ReadFilters(call.query);
  if (!filters.ok()) return TaxiiError(400, "Bad Request", std::string(filters.status().message()));
  storage::Store& store = api_.node().store();
  absl::StatusOr<Paging> paging = ReadPaging(call.query, store, options_.max_page);
  if (!paging.ok()) return TaxiiError(400, "Bad Request", std::string(paging.status().message()));
  PageFiller filler(api_, c.config, call.caller, *filters,
                    manifest ? Listing::kManifest : Listing::kObjects, paging->limit, call.audit);
  const uint64_t end = store.NextSeq();
  uint64_t seq = paging->from_seq;
  std::size_t budget = paging->limit * options_.scan_per_object;
  // A page holds at most `limit` objects, the identities and markings they refer to included;
  // an entry whose objects would not fit goes on the next page (unless the page is empty).
  bool full = false;
  while (seq < end && !full && budget > 0) {
    // Entries are read a little past what the page still has room for (most entries make
    // one object), and their records in one read of the store.
    const std::size_t room = paging->limit - filler.out().count();
    absl::StatusOr<storage::LogPage> page =
        store.ReadLog(seq, std::min({budget, room + kReadAhead, storage::kMaxLimit}));
    if (!page.ok()) {
      return TaxiiError(500, "Internal Server Error", std::string(page.status().message()));
    }
    if (page->entries.empty()) break;
    std::vector<std::string_view> ids;
    ids.reserve(page->entries.size());
    for (const storage::LogEntry& entry : page->entries) ids.push_back(entry.id);
    std::vector<absl::StatusOr<v1::StoredRecord>> records = api_.LoadMany(ids, /*custody=*/false);
    for (std::size_t i = 0; i < page->entries.size(); ++i) {
      const storage::LogEntry& entry = page->entries[i];
      seq = entry.seq + 1;
      --budget;
      if (filler.Offer(entry, std::move(records[i])) == PageFiller::Outcome::kFull) {
        if (!filler.last_taken()) seq = entry.seq;
        full = true;
        break;
      }
      if (budget == 0) break;
    }
  }
  call.objects = filler.out().count();
  return filler.out().Answer(seq < store.NextSeq(), seq);
}

http::Response TaxiiService::Object(Call& call, const Collection& c, const std::string& id,
                                    bool versions) {
  absl::StatusOr<Filters> filters = ReadFilters(call.query);
  if (!filters.ok()) return TaxiiError(400, "Bad Request", std::string(filters.status().message()));
  if (versions) filters->versions = Filters::Versions::kAll;
  storage::Store& store = api_.node().store();
  absl::StatusOr<Paging> paging = ReadPaging(call.query, store, options_.max_page);
  if (!paging.ok()) return TaxiiError(400, "Bad Request", std::string(paging.status().message()));
  const std::size_t dashes = id.find("--");
  const std::optional<std::string> uuid =
      dashes == std::string::npos ? std::nullopt : crypto::ParseUuid(id.substr(dashes + 2));
  absl::StatusOr<std::vector<storage::LogEntry>> entries =
      uuid ? VersionEntries(api_, *uuid) : std::vector<storage::LogEntry>();
  if (!entries.ok()) {
    return TaxiiError(500, "Internal Server Error", std::string(entries.status().message()));
  }
  PageFiller filler(api_, c.config, call.caller, *filters,
                    versions ? Listing::kVersions : Listing::kObjects, paging->limit, call.audit);
  // Every version is written, those before the page's start only to learn whether the
  // collection shows the object at all (a 404 if not).
  bool exists = false, on_page = false;
  filler.set_object_filter([&](const std::string& json) {
    if (FirstString(json, "id") != id) return false;
    exists = true;
    return on_page;
  });
  bool more = false;
  uint64_t next = 0;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const storage::LogEntry& entry = (*entries)[i];
    on_page = entry.seq >= paging->from_seq && !more;
    if (filler.Offer(entry) != PageFiller::Outcome::kFull || !on_page) continue;
    more = !filler.last_taken() || i + 1 < entries->size();
    next = filler.last_taken() ? entry.seq + 1 : entry.seq;
  }
  if (!exists) {
    return TaxiiError(404, "Not Found",
                      StrCat("no object ", id, " in collection ", c.config.name,
                             " that this token may see (objects by id are indicators, "
                             "sightings and observed-data)"));
  }
  call.objects = filler.out().count();
  return filler.out().Answer(more, next);
}

}  // namespace threatmesh::taxii
