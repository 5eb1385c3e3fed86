#include "node/api/api.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/mutex.h"
#include "crypto/str_cat.h"
#include "node/api/api_internal.h"
#include "node/core/custody.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/proof/proof.h"
#include "storage/column_families.h"
#include "storage/index_keys.h"
#include "threatmesh/v1/peer.pb.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types, used throughout.

constexpr std::string_view kBearer = "Bearer ";
// A Search page with a filter examines at most this many index entries, then returns what
// it found with a token, so that a filter matching little cannot hold a thread for long.
constexpr std::size_t kMaxExaminedPerPage = 5000;

}  // namespace

absl::StatusOr<std::string> CheckId(std::string_view id, std::string_view field) {
  if (id.size() != crypto::kRecordIdSize) {
    return absl::InvalidArgumentError(
        StrCat(field, " is ", id.size(), " bytes; a record id is 32 bytes (64 hex digits)"));
  }
  return std::string(id);
}

std::optional<storage::RecordKind> StoreKind(threatmesh::v1::RecordKind kind) {
  return storage::KindOf(BodyCaseOf(kind));
}

void AuditIds(AuditEntry& audit, std::string_view id) {
  if (static_cast<std::size_t>(audit.record_ids_size()) < kMaxAuditIds) {
    audit.add_record_ids(std::string(id));
  } else {
    audit.set_ids_omitted(audit.ids_omitted() + 1);
  }
}

// InvalidArgument naming `field` when `text` is over kMaxQueryBytes.
absl::Status CheckQueryBytes(std::string_view field, std::string_view text) {
  if (text.size() <= kMaxQueryBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      StrCat(field, " is ", text.size(), " bytes, over the limit of ", kMaxQueryBytes));
}

// The sizes of a Search's query strings and page token (docs/FORMAT.md, "Request limits").
absl::Status CheckQuerySizes(const SearchRequest& request) {
  if (request.page_token().size() > kMaxPageTokenBytes) {
    return absl::InvalidArgumentError(StrCat("page_token is ", request.page_token().size(),
                                             " bytes, over the limit of ", kMaxPageTokenBytes));
  }
  for (const auto& [field, text] :
       {std::pair<const char*, std::string_view>{"indicator.value", request.indicator().value()},
        {"domain_suffix", request.domain_suffix()},
        {"ip", request.ip()},
        {"tag", request.tag()}}) {
    if (absl::Status s = CheckQueryBytes(field, text); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckFilter(const Filter& filter) {
  if (static_cast<std::size_t>(filter.kinds_size()) > kMaxFilterKinds) {
    return absl::InvalidArgumentError(StrCat("filter.kinds has ", filter.kinds_size(),
                                             " entries, over the limit of ", kMaxFilterKinds));
  }
  if (static_cast<std::size_t>(filter.tags_size()) > kMaxFilterTags) {
    return absl::InvalidArgumentError(StrCat("filter.tags has ", filter.tags_size(),
                                             " entries, over the limit of ", kMaxFilterTags));
  }
  for (const std::string& tag : filter.tags()) {
    if (absl::Status s = CheckQueryBytes("a filter.tags entry", tag); !s.ok()) return s;
  }
  for (int k : filter.kinds()) {
    if (!StoreKind(static_cast<RecordKind>(k))) {
      return absl::InvalidArgumentError(
          StrCat("filter.kinds holds ", k,
                 ", not a record kind (1..6: indicator, log excerpt, sighting, retraction, key "
                 "rotation, key revocation)"));
    }
  }
  if (filter.max_tlp() < TLP_UNSPECIFIED || filter.max_tlp() > TLP_RED) {
    return absl::InvalidArgumentError(
        StrCat("filter.max_tlp is ", static_cast<int>(filter.max_tlp()), ", not a TLP label"));
  }
  if (!filter.author().empty() && filter.author().size() != crypto::kPublicKeySize) {
    return absl::InvalidArgumentError(
        StrCat("filter.author is ", filter.author().size(), " bytes, expected a 32-byte key"));
  }
  if (filter.created_from() != 0 && filter.created_to() != 0 &&
      filter.created_to() < filter.created_from()) {
    return absl::InvalidArgumentError("filter.created_to is before filter.created_from");
  }
  return absl::OkStatus();
}

bool Matches(const Filter& filter, const RecordBody& body) {
  if (filter.kinds_size() > 0 && std::find(filter.kinds().begin(), filter.kinds().end(),
                                           ApiKindOf(body)) == filter.kinds().end()) {
    return false;
  }
  if (filter.max_tlp() != TLP_UNSPECIFIED && body.tlp() > filter.max_tlp()) return false;
  for (const std::string& tag : filter.tags()) {
    if (std::find(body.labels().begin(), body.labels().end(), tag) == body.labels().end()) {
      return false;
    }
  }
  if (!filter.author().empty() && body.author() != filter.author()) return false;
  if (filter.created_from() != 0 && body.created_at() < filter.created_from()) return false;
  if (filter.created_to() != 0 && body.created_at() > filter.created_to()) return false;
  return true;
}

NodeApi::NodeApi(LocalNode& node, TokenStore& tokens, AuditLog& audit, PeerRegistry& peers,
                 std::string version)
    : node_(node),
      tokens_(tokens),
      audit_(audit),
      peers_(peers),
      version_(std::move(version)),
      started_ms_(node.Now()) {}

std::string BearerFromHttp(std::string authorization) {
  if (authorization.rfind("Basic ", 0) != 0) return authorization;
  std::optional<std::string> pair = crypto::Base64Decode(authorization.substr(6));
  const std::size_t colon = pair ? pair->find(':') : std::string::npos;
  return colon == std::string::npos ? "Bearer -" : StrCat("Bearer ", pair->substr(colon + 1));
}

absl::StatusOr<Caller> NodeApi::Authenticate(std::string_view authorization) const {
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "no token: send 'authorization: Bearer tmt_...' (threatmesh: --token, THREATMESH_TOKEN "
        "or --token-file)");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return absl::UnauthenticatedError(
        "the authorization header must be 'Bearer ' followed by a threatmesh token");
  }
  std::optional<TokenInfo> info = tokens_.Authenticate(authorization.substr(kBearer.size()));
  if (!info) {
    return absl::UnauthenticatedError(
        "unknown or revoked token; ask the node's admin for a token ('threatmesh token create')");
  }
  return Caller{info->name(), info->role(),
                info->audience() == AUDIENCE_CLIENT ? AUDIENCE_CLIENT : AUDIENCE_MEMBER};
}

absl::Status NodeApi::Require(const Caller& caller, Role need, std::string_view method) {
  if (caller.role >= need) return absl::OkStatus();
  return absl::PermissionDeniedError(StrCat("token \"", caller.name, "\" has role ",
                                            RoleName(caller.role), "; ", method, " needs role ",
                                            RoleName(need), " or higher"));
}

absl::StatusOr<StoredRecord> NodeApi::Load(std::string_view id, bool custody) {
  absl::StatusOr<VerifiedRecord> record = node_.Get(id);
  if (!record.ok()) return record.status();
  return Complete(*std::move(record), custody);
}

std::vector<absl::StatusOr<StoredRecord>> NodeApi::LoadMany(
    const std::vector<std::string_view>& ids, bool custody) {
  std::vector<absl::StatusOr<VerifiedRecord>> records = node_.GetMany(ids);
  std::vector<absl::StatusOr<StoredRecord>> out;
  out.reserve(records.size());
  for (absl::StatusOr<VerifiedRecord>& record : records) {
    if (!record.ok()) {
      out.push_back(record.status());
    } else {
      out.push_back(Complete(*std::move(record), custody));
    }
  }
  return out;
}

absl::StatusOr<StoredRecord> NodeApi::Complete(VerifiedRecord record, bool custody) {
  StoredRecord out;
  out.set_id(record.id);
  out.set_signed_record(std::move(record.signed_bytes));
  *out.mutable_body() = std::move(record.body);
  if (custody) {
    absl::StatusOr<CustodyChains> chains = node_.store().GetCustody(out.id());
    if (!chains.ok()) return chains.status();
    *out.mutable_custody() = std::move(*chains);
  }
  absl::StatusOr<LocalNode::Withdrawal> withdrawn = node_.WithdrawnBy(out.id(), out.body());
  if (!withdrawn.ok()) return withdrawn.status();
  if (withdrawn->retracted_by) out.set_retracted_by(*withdrawn->retracted_by);
  if (withdrawn->superseded_by) out.set_superseded_by(*withdrawn->superseded_by);
  if (withdrawn->distrusted_by) out.set_distrusted_by(*withdrawn->distrusted_by);
  return out;
}

absl::StatusOr<PublishResponse> NodeApi::PublishBody(RecordBody body, AuditEntry& audit) {
  absl::StatusOr<VerifiedRecord> record = node_.Publish(std::move(body));
  if (!record.ok()) return record.status();
  AuditIds(audit, record->id);
  PublishResponse out;
  out.set_id(record->id);
  out.set_seq(record->seq);
  return out;
}

absl::StatusOr<RecordBody> NodeApi::PreparePublish(const PublishRequest& request) {
  const RecordBody& body = request.body();
  if (!body.author().empty() || body.created_at() != 0) {
    return absl::InvalidArgumentError(
        "leave body.author and body.created_at empty: the node signs as itself, now");
  }
  RecordBody out = body;
  if (body.has_indicator()) {
    absl::StatusOr<std::string> value =
        NormalizeIndicator(body.indicator().type(), body.indicator().value());
    if (!value.ok()) {
      return absl::InvalidArgumentError(StrCat("body.indicator.value: ", value.status().message()));
    }
    out.mutable_indicator()->set_value(*value);
  }
  return out;
}

absl::Status NodeApi::ClaimSourceRef(const std::string& ref) {
  if (ref.size() > 512) {
    return absl::InvalidArgumentError(
        StrCat("source_ref is ", ref.size(), " bytes, over the limit of 512"));
  }
  {
    // Claimed first, so that no other call publishes it meanwhile; then the store says
    // whether an earlier call did.
    MutexLock lock(&refs_mu_);
    if (!refs_in_flight_.insert(ref).second) {
      return absl::AlreadyExistsError(StrCat(ref, " is being imported by another call"));
    }
  }
  absl::StatusOr<std::string> known = node_.store().GetAux(storage::kImports, ref);
  if (known.ok() || !absl::IsNotFound(known.status())) {
    MutexLock lock(&refs_mu_);
    refs_in_flight_.erase(ref);
  }
  if (known.ok()) {
    return absl::AlreadyExistsError(
        StrCat(ref, " was imported already, as record ", crypto::HexEncode(*known)));
  }
  if (!absl::IsNotFound(known.status())) return known.status();
  return absl::OkStatus();
}

void NodeApi::SettleSourceRef(const std::string& ref, const absl::StatusOr<std::string>& id) {
  // Not synced: the record itself is. A crash between the two leaves the reference unknown,
  // and a later import of it stores the object again.
  if (id.ok()) (void)node_.store().PutAux(storage::kImports, ref, *id, /*sync=*/false);
  MutexLock lock(&refs_mu_);
  refs_in_flight_.erase(ref);
}

absl::StatusOr<PublishResponse> NodeApi::Publish(const PublishRequest& request, AuditEntry& audit) {
  const auto* kind_field =
      RecordBody::GetDescriptor()->FindFieldByNumber(request.body().kind_case());
  audit.set_params(StrCat("kind=", kind_field ? kind_field->name() : std::string("none")));
  absl::StatusOr<RecordBody> body = PreparePublish(request);
  if (!body.ok()) return body.status();
  if (request.source_ref().empty()) return PublishBody(std::move(*body), audit);
  if (absl::Status claimed = ClaimSourceRef(request.source_ref()); !claimed.ok()) return claimed;
  absl::StatusOr<PublishResponse> out = PublishBody(std::move(*body), audit);
  SettleSourceRef(request.source_ref(),
                  out.ok() ? absl::StatusOr<std::string>(out->id()) : out.status());
  return out;
}

namespace {

// At most this many records of one stream wait for their sync at a time.
constexpr int kMaxInFlight = 1024;
// At most this many records of a stream are signed and stored together.
constexpr std::size_t kPublishChunk = 64;
constexpr int kMaxErrors = 100;
// What a PublishStream's puts, finishing on the store's writer thread, report.
struct StreamProgress {
  Mutex mu;
  int in_flight ABSL_GUARDED_BY(mu) = 0;
  PublishStreamResponse out ABSL_GUARDED_BY(mu);

  void Refuse(uint64_t index, const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (absl::IsAlreadyExists(s)) {
      out.set_duplicates(out.duplicates() + 1);
      return;
    }
    out.set_refused(out.refused() + 1);
    if (out.errors_size() < kMaxErrors) {
      PublishError* e = out.add_errors();
      e->set_index(index);
      e->set_code(static_cast<int>(s.code()));
      e->set_message(std::string(s.message()));
    }
  }
  // Source references of the records published, and what each became.
  std::vector<std::pair<std::string, absl::StatusOr<std::string>>> settled ABSL_GUARDED_BY(mu);
  bool HasRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight < kMaxInFlight; }
  // What reports the outcome of the record at `index` (with source reference `ref`), on the
  // store's writer thread, which must not write to the store itself: the references are
  // settled once the stream is drained.
  LocalNode::PublishCallback Done(uint64_t index, std::string ref, AuditEntry& audit) {
    return [this, &audit, index, ref = std::move(ref)](absl::StatusOr<LocalNode::Published> r) {
      MutexLock lock(&mu);
      if (!ref.empty()) {
        settled.emplace_back(ref, r.ok() ? absl::StatusOr<std::string>(r->id) : r.status());
      }
      if (r.ok()) {
        out.set_stored(out.stored() + 1);
        out.set_last_seq(std::max(out.last_seq(), r->seq));
        AuditIds(audit, r->id);
      } else {
        Refuse(index, r.status());
      }
      --in_flight;
    };
  }
  bool Drained() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight == 0; }
};

}  // namespace

PublishStreamResponse NodeApi::PublishMany(const std::function<bool(PublishRequest&)>& next,
                                           AuditEntry& audit, const std::function<bool()>& ready) {
  StreamProgress progress;
  PublishRequest request;
  uint64_t index = 0;
  // The body of the request at `at`, unless it is refused (then counted as such).
  auto take = [&](uint64_t at) -> std::optional<RecordBody> {
    absl::StatusOr<RecordBody> body = PreparePublish(request);
    absl::Status s = body.status();
    if (s.ok() && !request.source_ref().empty()) s = ClaimSourceRef(request.source_ref());
    if (s.ok()) return std::move(*body);
    MutexLock lock(&progress.mu);
    progress.Refuse(at, s);
    return std::nullopt;
  };
  for (bool more = true; more;) {
    std::vector<RecordBody> bodies;
    std::vector<LocalNode::PublishCallback> dones;
    // The next record, and those that are there already.
    while (bodies.size() < kPublishChunk && (bodies.empty() || !ready || ready())) {
      if (!next(request)) {
        more = false;
        break;
      }
      const uint64_t at = index++;
      if (std::optional<RecordBody> body = take(at)) {
        bodies.push_back(std::move(*body));
        dones.push_back(progress.Done(at, request.source_ref(), audit));
      }
    }
    if (bodies.empty()) continue;
    {
      MutexLock lock(&progress.mu);
      progress.mu.Await(Condition(&progress, &StreamProgress::HasRoom));
      progress.in_flight += static_cast<int>(bodies.size());
    }
    node_.PublishAllAsync(std::move(bodies), std::move(dones), pool_);
  }
  std::vector<std::pair<std::string, absl::StatusOr<std::string>>> settled;
  PublishStreamResponse out;
  {
    MutexLock lock(&progress.mu);
    progress.mu.Await(Condition(&progress, &StreamProgress::Drained));
    settled = std::move(progress.settled);
    out = std::move(progress.out);
  }
  // Outside the progress lock: settling takes the store's lock, which the writer thread
  // holds while it reports to `progress`.
  for (const auto& [ref, id] : settled) SettleSourceRef(ref, id);
  audit.set_params(StrCat("records=", index, " stored=", out.stored(), " refused=", out.refused()));
  return out;
}

absl::StatusOr<GetResponse> NodeApi::Get(const GetRequest& request, AuditEntry& audit,
                                         Tlp max_tlp) {
  absl::StatusOr<std::string> id = CheckId(request.id(), "id");
  if (!id.ok()) return id.status();
  audit.set_params(StrCat("id=", crypto::HexEncode(*id)));
  absl::StatusOr<StoredRecord> record = Load(*id);
  if (!record.ok()) return record.status();
  if (record->body().tlp() > max_tlp) {  // as if absent: a client token learns nothing of it
    return absl::NotFoundError(StrCat("no record ", crypto::HexEncode(*id)));
  }
  AuditIds(audit, *id);
  GetResponse out;
  *out.mutable_record() = std::move(*record);
  return out;
}

namespace {

// The one store query a Search asks for, resumable by page token; its parameters go to
// `audit`.
using StoreQuery = std::function<absl::StatusOr<storage::Page>(const storage::PageRequest&)>;
absl::StatusOr<StoreQuery> QueryFor(const SearchRequest& request, storage::Store& store,
                                    AuditEntry& audit) {
  switch (request.query_case()) {
    case SearchRequest::kIndicator: {
      absl::StatusOr<std::string> value =
          NormalizeIndicator(request.indicator().type(), request.indicator().value());
      if (!value.ok()) {
        return absl::InvalidArgumentError(StrCat("indicator.value: ", value.status().message()));
      }
      audit.set_params(
          StrCat("indicator=", IndicatorTypeName(request.indicator().type()), ":", *value));
      const int type = request.indicator().type();
      return StoreQuery([&store, type, v = *value](const storage::PageRequest& p) {
        return store.FindIndicator(type, v, p);
      });
    }
    case SearchRequest::kDomainSuffix: {
      absl::StatusOr<std::string> domain =
          NormalizeIndicator(INDICATOR_TYPE_DOMAIN, request.domain_suffix());
      if (!domain.ok()) {
        return absl::InvalidArgumentError(StrCat("domain_suffix: ", domain.status().message()));
      }
      audit.set_params(StrCat("domain_suffix=", *domain));
      return StoreQuery([&store, d = *domain](const storage::PageRequest& p) {
        return store.FindDomainSuffix(d, p);
      });
    }
    case SearchRequest::kIp:
      audit.set_params(StrCat("ip=", request.ip()));
      return StoreQuery([&store, ip = request.ip()](const storage::PageRequest& p) {
        return store.FindContainingIp(ip, p);
      });
    case SearchRequest::kAuthor: {
      const AuthorQuery& a = request.author();
      if (a.author().size() != crypto::kPublicKeySize) {
        return absl::InvalidArgumentError(
            StrCat("author.author is ", a.author().size(), " bytes, expected a 32-byte key"));
      }
      const int64_t from = a.from(), to = a.to() == 0 ? INT64_MAX : a.to();
      audit.set_params(StrCat("author=", crypto::HexEncode(a.author()).substr(0, 16)));
      return StoreQuery([&store, author = a.author(), from, to](const storage::PageRequest& p) {
        return store.FindByAuthor(author, from, to, p);
      });
    }
    case SearchRequest::kTag:
      audit.set_params(StrCat("tag=", request.tag()));
      return StoreQuery([&store, tag = request.tag()](const storage::PageRequest& p) {
        return store.FindByTag(tag, p);
      });
    case SearchRequest::kKind: {
      std::optional<storage::RecordKind> kind = StoreKind(request.kind());
      if (!kind) {
        return absl::InvalidArgumentError(
            StrCat("kind ", static_cast<int>(request.kind()),
                   " is not a record kind (1..6: indicator, log excerpt, sighting, retraction, key "
                   "rotation, key revocation)"));
      }
      audit.set_params(StrCat("kind=", static_cast<int>(request.kind())));
      return StoreQuery(
          [&store, k = *kind](const storage::PageRequest& p) { return store.FindByKind(k, p); });
    }
    case SearchRequest::QUERY_NOT_SET:
      return absl::InvalidArgumentError(
          "no query: set one of indicator, domain_suffix, ip, author, tag, kind");
  }
  return absl::InvalidArgumentError("unknown query");
}

}  // namespace

absl::StatusOr<SearchResponse> NodeApi::Search(const SearchRequest& request, AuditEntry& audit) {
  if (request.limit() > kMaxSearchLimit) {
    return absl::InvalidArgumentError(
        StrCat("limit ", request.limit(), " is above ", kMaxSearchLimit, "; page with tokens"));
  }
  if (absl::Status f = CheckFilter(request.filter()); !f.ok()) return f;
  if (absl::Status s = CheckQuerySizes(request); !s.ok()) return s;
  const std::size_t limit = request.limit() == 0 ? storage::kDefaultLimit : request.limit();
  storage::Store& store = node_.store();

  absl::StatusOr<StoreQuery> query = QueryFor(request, store, audit);
  if (!query.ok()) return query.status();
  audit.set_params(StrCat(audit.params(), " limit=", limit));

  SearchResponse out;
  std::string token = request.page_token();
  std::size_t examined = 0;
  for (;;) {
    absl::StatusOr<storage::Page> page =
        (*query)(storage::PageRequest{limit - out.records_size(), token});
    if (!page.ok()) return page.status();
    for (const std::string& id : page->ids) {
      absl::StatusOr<StoredRecord> record = Load(id);
      if (!record.ok()) return record.status();
      if (!Matches(request.filter(), record->body())) continue;
      AuditIds(audit, id);
      *out.add_records() = std::move(*record);
    }
    examined += page->ids.size();
    token = std::move(page->next_token);
    if (token.empty() || static_cast<std::size_t>(out.records_size()) >= limit ||
        examined >= kMaxExaminedPerPage) {
      break;
    }
  }
  out.set_next_page_token(token);
  return out;
}

absl::StatusOr<PublishResponse> NodeApi::Sight(const SightRequest& request, AuditEntry& audit) {
  absl::StatusOr<std::string> value = NormalizeIndicator(request.type(), request.value());
  if (!value.ok()) return absl::InvalidArgumentError(StrCat("value: ", value.status().message()));
  audit.set_params(StrCat("sighting=", IndicatorTypeName(request.type()), ":", *value));
  const int64_t now = node_.Now();
  RecordBody body;
  body.set_tlp(request.tlp() == TLP_UNSPECIFIED ? TLP_AMBER : request.tlp());
  for (const std::string& l : request.labels()) body.add_labels(l);
  Sighting* s = body.mutable_sighting();
  s->set_type(request.type());
  s->set_value(*value);
  s->set_count(request.count() == 0 ? 1 : request.count());
  s->set_first_seen(request.first_seen() == 0 ? now : request.first_seen());
  s->set_last_seen(request.last_seen() == 0 ? std::max(now, s->first_seen()) : request.last_seen());
  if (s->last_seen() < s->first_seen()) {
    return absl::InvalidArgumentError("last_seen is before first_seen");
  }
  return PublishBody(std::move(body), audit);
}

absl::StatusOr<PublishResponse> NodeApi::Retract(const RetractRequest& request, AuditEntry& audit) {
  absl::StatusOr<std::string> target = CheckId(request.target(), "target");
  if (!target.ok()) return target.status();
  audit.set_params(StrCat("target=", crypto::HexEncode(*target)));
  absl::StatusOr<VerifiedRecord> original = node_.Get(*target);
  if (!original.ok()) return original.status();
  if (original->body.author() != node_.key().public_key().bytes()) {
    return absl::PermissionDeniedError(StrCat("record ", ShortId(*target), " was authored by node ",
                                              crypto::FingerprintOf(original->body.author()),
                                              "; only its author may retract it"));
  }
  if (original->body.has_retraction()) {
    return absl::InvalidArgumentError(
        StrCat("record ", ShortId(*target), " is itself a retraction; it cannot be retracted"));
  }
  RecordBody body;
  body.set_tlp(request.tlp() == TLP_UNSPECIFIED ? original->body.tlp() : request.tlp());
  // The retraction follows its target: same handling, so it reaches every node the
  // target could reach (and RED recipients stay the same).
  *body.mutable_handling() = original->body.handling();
  if (body.tlp() != TLP_RED) body.mutable_handling()->clear_recipients();
  body.mutable_retraction()->set_target(*target);
  body.mutable_retraction()->set_reason(request.reason());
  AuditIds(audit, *target);
  return PublishBody(std::move(body), audit);
}

absl::StatusOr<uint64_t> NodeApi::SubscribeStart(const SubscribeRequest& request) {
  if (absl::Status f = CheckFilter(request.filter()); !f.ok()) return f;
  const uint64_t next = node_.store().NextSeq();
  if (request.from_now()) return next - 1;
  if (request.cursor() >= next) {
    return absl::InvalidArgumentError(
        StrCat("cursor ", request.cursor(), " is beyond the newest record (", next - 1,
               "); resubscribe with a cursor this node gave you, or 0"));
  }
  return request.cursor();
}

absl::StatusOr<NodeApi::SubscribeStep> NodeApi::SubscribeNext(const Filter& filter, uint64_t cursor,
                                                              std::chrono::milliseconds wait) {
  SubscribeStep step;
  step.cursor = cursor;
  storage::Store& store = node_.store();
  if (store.NextSeq() <= cursor + 1 && !store.WaitForSeq(cursor + 1, wait)) return step;
  absl::StatusOr<storage::LogPage> page = store.ReadLog(cursor + 1, storage::kDefaultLimit);
  if (!page.ok()) return page.status();
  bool skipped = false;
  for (const storage::LogEntry& e : page->entries) {
    absl::StatusOr<StoredRecord> record = Load(e.id);
    if (!record.ok()) return record.status();
    step.cursor = e.seq;
    if (!Matches(filter, record->body())) {
      skipped = true;
      continue;
    }
    SubscribeEvent& event = step.events.emplace_back();
    event.set_cursor(e.seq);
    *event.mutable_record() = std::move(*record);
    skipped = false;
  }
  if (skipped) step.events.emplace_back().set_cursor(step.cursor);
  return step;
}

}  // namespace threatmesh
