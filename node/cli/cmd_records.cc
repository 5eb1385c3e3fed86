// publish, get, search, subscribe, sight, retract: records through the node's API.
#include <map>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/api/search_options.h"
#include "node/cli/commands.h"
#include "node/cli/excerpt_options.h"
#include "node/cli/node_access.h"
#include "node/core/custody.h"
#include "node/core/indicator.h"
#include "node/core/printable.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/core/record_view.h"
#include "node/excerpt/excerpt_builder.h"
#include "node/excerpt/excerpt_check.h"
#include "node/excerpt/excerpt_files.h"

namespace threatmesh::cli {
namespace {

void IdOption(po::options_description& d) {
  d.add_options()("id", po::value<std::string>()->required(), "record id (64 hex)");
}

// ---- publish ---------------------------------------------------------------------------

void PublishOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>(),
                  ("indicator type: " + IndicatorTypeNames()).c_str())(
      "value", po::value<std::string>(), "indicator value (normalized on publish)")(
      "excerpt", po::value<std::string>(),
      "instead of an indicator: a log excerpt file from 'threatmesh ingest-log', published "
      "only if its checklist passes (with --tlp, --may-relay, --max-hops...)")(
      "indicators", po::value<std::string>(),
      "with --excerpt: reviewed indicator proposals from 'ingest-log --emit-indicators', "
      "published first and listed in the excerpt")(
      "tlp", po::value<std::string>()->default_value("amber"),
      "TLP 2.0 label: clear, green, amber, amber+strict, red")(
      "label", po::value<std::vector<std::string>>()->composing(), "tag (repeatable)")(
      "confidence", po::value<uint32_t>(), "confidence 0..100")(
      "description", po::value<std::string>()->default_value(""), "free text")(
      "valid-from", po::value<std::string>(), "start of validity (YYYY-MM-DD[THH:MM:SSZ])")(
      "valid-until", po::value<std::string>(), "end of validity")(
      "max-hops", po::value<uint32_t>()->default_value(0),
      "most hops from this node (0: the TLP's default)")("may-relay", po::bool_switch(),
                                                         "let receivers pass the record on")(
      "recipient", po::value<std::vector<std::string>>()->composing(),
      "public key that may receive a RED record (repeatable)")(
      "community", po::value<std::vector<std::string>>()->composing(),
      "community a GREEN record may reach (repeatable)")(
      "supersedes", po::value<std::string>(),
      "id of an earlier record of this node that this one replaces (64 hex)");
}

int RunPublishExcerpt(const po::variables_map& vm, Io& io);

int RunPublish(const po::variables_map& vm, Io& io) {
  if (vm.count("excerpt")) return RunPublishExcerpt(vm, io);
  if (!vm.count("type") || !vm.count("value")) {
    io.err << "threatmesh: error: publish needs --type and --value (an indicator) or --excerpt "
              "FILE; see 'threatmesh publish --help'\n";
    return kExitUsage;
  }
  IndicatorSpec spec;
  spec.type = vm["type"].as<std::string>();
  spec.value = vm["value"].as<std::string>();
  spec.tlp = vm["tlp"].as<std::string>();
  if (vm.count("label")) spec.labels = vm["label"].as<std::vector<std::string>>();
  if (vm.count("confidence")) spec.confidence = vm["confidence"].as<uint32_t>();
  spec.description = vm["description"].as<std::string>();
  for (auto [flag, field] :
       {std::pair{"valid-from", &spec.valid_from}, std::pair{"valid-until", &spec.valid_until}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok())
      return Fail(io, absl::InvalidArgumentError(StrCat("--", flag, ": ", t.status().message())));
    *field = *t;
  }
  spec.max_hops = vm["max-hops"].as<uint32_t>();
  spec.may_relay = vm["may-relay"].as<bool>();
  if (vm.count("recipient")) spec.recipients = vm["recipient"].as<std::vector<std::string>>();
  if (vm.count("community")) spec.communities = vm["community"].as<std::vector<std::string>>();

  // The node sets author and creation time; the builder needs a key only to fill them.
  static const crypto::PublicKey kPlaceholder =
      *crypto::PublicKey::FromBytes(std::string(crypto::kPublicKeySize, '\0'));
  absl::StatusOr<threatmesh::v1::RecordBody> body = BuildIndicator(spec, kPlaceholder, 1);
  if (!body.ok()) return Fail(io, body.status());
  body->clear_author();
  body->clear_created_at();
  if (vm.count("supersedes")) {
    std::optional<std::string> old_id = crypto::HexDecode(vm["supersedes"].as<std::string>());
    if (!old_id || old_id->size() != crypto::kRecordIdSize) {
      return Fail(
          io, absl::InvalidArgumentError("--supersedes: expected a record id, 64 hex characters"));
    }
    body->set_supersedes(*old_id);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::PublishRequest request;
  *request.mutable_body() = std::move(*body);
  absl::StatusOr<v1::PublishResponse> published = (*client)->Publish(request);
  if (!published.ok()) return Fail(io, published.status());
  v1::GetRequest get;
  get.set_id(published->id());
  absl::StatusOr<v1::GetResponse> stored = (*client)->Get(get);
  if (!stored.ok()) return Fail(io, stored.status());
  VerifiedRecord record = ToVerified(stored->record());
  if (vm.count("json")) {
    io.out << RecordJson(record) << "\n";
  } else {
    io.out << "published " << crypto::HexEncode(record.id) << "\n" << RecordText(record);
  }
  return kExitOk;
}

// ---- get -------------------------------------------------------------------------------

int RunGet(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  v1::GetRequest request;
  request.set_id(*id);
  absl::StatusOr<v1::GetResponse> r = (*client)->Get(request);
  if (!r.ok()) return Fail(io, r.status());
  VerifiedRecord record = ToVerified(r->record());
  if (vm.count("json")) {
    io.out << RecordJson(record) << "\n";
    return kExitOk;
  }
  io.out << RecordText(record);
  if (!r->record().retracted_by().empty()) {
    io.out << "retracted   by its author, in record "
           << crypto::HexEncode(r->record().retracted_by()) << "\n";
  }
  if (!r->record().superseded_by().empty()) {
    io.out << "superseded  by its author's newer record "
           << crypto::HexEncode(r->record().superseded_by()) << "\n";
  }
  if (!r->record().distrusted_by().empty()) {
    io.out << "distrusted  its author's key may not sign at its time, by key statement "
           << crypto::HexEncode(r->record().distrusted_by()) << "\n";
  }
  // The custody of this copy, checked here against the node's key: who passed it to whom.
  const v1::CustodyChains& custody = r->record().custody();
  if (custody.chains_size() == 0 || custody.chains(0).hops_size() == 0) {
    io.out << "custody     authored by this node\n";
    return kExitOk;
  }
  absl::StatusOr<v1::StatusResponse> status = (*client)->Status();
  absl::StatusOr<crypto::PublicKey> holder =
      status.ok() ? crypto::PublicKey::FromText(status->public_key())
                  : absl::StatusOr<crypto::PublicKey>(status.status());
  const v1::CustodyChain& chain = custody.chains(0);
  std::string path;
  for (int i = 0; i < chain.hops_size(); ++i) {
    v1::Hop hop;
    hop.ParseFromString(chain.hops(i).payload());
    auto fp = [](const std::string& k) { return crypto::FingerprintOf(k); };
    if (i == 0) path = fp(hop.from());
    path += " -> " + fp(hop.to());
    io.out << "hop " << i << "       " << fp(hop.from()) << " -> " << fp(hop.to()) << "  "
           << FormatTime(hop.at()) << "  policy " << hop.policy() << "\n";
  }
  if (!holder.ok()) return Fail(io, holder.status());
  absl::StatusOr<ChainVerdict> verdict = CheckChain(record.id, record.body, chain, holder->bytes());
  if (!verdict.ok()) {
    io.out << "custody     NOT VERIFIED: " << verdict.status().message() << "\n";
  } else if (!verdict->accepted) {
    io.out << "custody     VIOLATION: " << verdict->rule << "\n";
  } else {
    io.out << "custody     verified: " << path << " (every hop signed by its sender)\n";
  }
  return kExitOk;
}

// ---- search ----------------------------------------------------------------------------

int RunSearch(const po::variables_map& vm, Io& io) {
  absl::StatusOr<v1::SearchRequest> request = SearchRequestFrom(vm);
  if (!request.ok()) return Fail(io, request.status());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  absl::StatusOr<v1::SearchResponse> page = (*client)->Search(*request);
  if (!page.ok()) return Fail(io, page.status());
  const bool json = vm.count("json") > 0;
  if (json) io.out << "{\"records\":[";
  bool first = true;
  for (const v1::StoredRecord& r : page->records()) {
    VerifiedRecord record = ToVerified(r);
    if (json) {
      io.out << (first ? "" : ",") << RecordJson(record);
    } else {
      io.out << RecordLine(record) << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_page_token\":" << JsonString(page->next_page_token()) << "}\n";
  } else if (page->records().empty()) {
    io.out << "no records\n";
  }
  if (!json && !page->next_page_token().empty()) {
    io.out << "more: repeat with --page-token " << page->next_page_token() << "\n";
  }
  return kExitOk;
}

// ---- subscribe -------------------------------------------------------------------------

void SubscribeOptions(po::options_description& d) {
  d.add_options()("cursor", po::value<uint64_t>()->default_value(0),
                  "resume after this cursor (the last one printed); 0 for the oldest record")(
      "from-now", po::bool_switch(), "only records stored from now on")(
      "no-follow", po::bool_switch(), "stop once caught up with the records stored now")(
      "max", po::value<uint64_t>()->default_value(0), "stop after this many records (0: no limit)");
  FilterOptions(d);
}

int RunSubscribe(const po::variables_map& vm, Io& io) {
  v1::SubscribeRequest request;
  request.set_cursor(vm["cursor"].as<uint64_t>());
  request.set_from_now(vm["from-now"].as<bool>());
  absl::StatusOr<v1::Filter> filter = ParseFilter(vm);
  if (!filter.ok()) return Fail(io, filter.status());
  *request.mutable_filter() = std::move(*filter);
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  uint64_t until = UINT64_MAX;
  if (vm["no-follow"].as<bool>()) {
    absl::StatusOr<v1::StatusResponse> status = (*client)->Status();
    if (!status.ok()) return Fail(io, status.status());
    until = status->next_seq() - 1;
    if (until <= request.cursor() || request.from_now()) return kExitOk;
  }
  const uint64_t max = vm["max"].as<uint64_t>();
  const bool json = vm.count("json") > 0;
  uint64_t shown = 0;
  absl::Status s = (*client)->Subscribe(request, [&](const v1::SubscribeEvent& event) {
    if (event.has_record()) {
      VerifiedRecord record = ToVerified(event.record());
      if (json) {
        io.out << "{\"cursor\":" << event.cursor() << ",\"record\":" << RecordJson(record) << "}\n";
      } else {
        io.out << "cursor " << event.cursor() << "  " << RecordLine(record) << "\n";
      }
      io.out.flush();
      ++shown;
    }
    return event.cursor() < until && (max == 0 || shown < max);
  });
  if (!s.ok()) return Fail(io, s);
  return kExitOk;
}

// ---- sight, retract --------------------------------------------------------------------

int RunSight(const po::variables_map& vm, Io& io) {
  v1::SightRequest request;
  absl::StatusOr<v1::IndicatorType> type = ParseIndicatorType(vm["type"].as<std::string>());
  if (!type.ok()) return Fail(io, type.status());
  request.set_type(*type);
  request.set_value(vm["value"].as<std::string>());
  request.set_count(vm["count"].as<uint64_t>());
  absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
  if (!tlp.ok()) return Fail(io, tlp.status());
  request.set_tlp(*tlp);
  if (vm.count("label")) {
    for (const std::string& l : vm["label"].as<std::vector<std::string>>()) request.add_labels(l);
  }
  for (auto [flag, set] : {std::pair<const char*, void (v1::SightRequest::*)(int64_t)>{
                               "first-seen", &v1::SightRequest::set_first_seen},
                           {"last-seen", &v1::SightRequest::set_last_seen}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok()) return Fail(io, t.status());
    (request.*set)(*t);
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  return PrintPublished(vm, io, (*client)->Sight(request), "sighting");
}

int RunRetract(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  v1::RetractRequest request;
  request.set_target(*id);
  request.set_reason(vm["reason"].as<std::string>());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  return PrintPublished(vm, io, (*client)->Retract(request), "retraction");
}

// Makes every part ready to publish (the handling given here wins over the file's) and
// checks it: nothing is published unless every part passes its release checklist.
absl::Status PrepareParts(const po::variables_map& vm, const ExcerptCheckOptions& check,
                          std::vector<v1::RecordBody>& parts) {
  const uint32_t count = static_cast<uint32_t>(parts.size());
  for (v1::RecordBody& body : parts) {
    // The handling given here wins over the file's.
    if (!vm["tlp"].defaulted() || body.tlp() == v1::TLP_UNSPECIFIED) {
      absl::StatusOr<v1::Tlp> tlp = ParseTlp(vm["tlp"].as<std::string>());
      if (!tlp.ok()) return tlp.status();
      body.set_tlp(*tlp);
    }
    if (vm["may-relay"].as<bool>()) body.mutable_handling()->set_may_relay(true);
    if (vm["max-hops"].as<uint32_t>() > 0) {
      body.mutable_handling()->set_max_hops(vm["max-hops"].as<uint32_t>());
    }
    std::vector<v1::ChecklistItem> items = CheckExcerpt(body, check);
    if (!AllPassed(items)) {
      std::string failed;
      for (const v1::ChecklistItem& item : items) {
        if (!item.passed())
          failed += StrCat(failed.empty() ? "" : "; ", Printable(item.item()), ": ",
                           Printable(item.reason()));
      }
      return absl::FailedPreconditionError(StrCat(
          "the excerpt", count > 1 ? StrCat(" (part ", body.log_excerpt().part() + 1, ")") : "",
          " fails its release checklist, nothing published: ", failed));
    }
    v1::LogExcerpt* x = body.mutable_log_excerpt();
    x->clear_checklist();
    for (const v1::ChecklistItem& item : items) *x->add_checklist() = item;
    x->set_part_count(count > 1 ? count : 0);
    body.clear_author();
    body.clear_created_at();
  }
  return absl::OkStatus();
}

// Publishes the reviewed indicators, with the handling of the excerpt's first part; their ids
// go to `indicator_ids`, for the excerpt to list (signed with it).
absl::Status PublishIndicators(const po::variables_map& vm, NodeClient& client,
                               const v1::RecordBody& first,
                               const std::vector<IndicatorProposal>& proposals,
                               std::vector<std::string>* indicator_ids, Io& io) {
  const v1::LogExcerpt& fx = first.log_excerpt();
  for (const IndicatorProposal& p : proposals) {
    v1::PublishRequest request;
    v1::RecordBody* body = request.mutable_body();
    body->set_tlp(first.tlp());
    *body->mutable_handling() = first.handling();
    body->add_labels("log-excerpt");
    v1::Indicator* ind = body->mutable_indicator();
    ind->set_type(p.type);
    ind->set_value(p.value);
    ind->set_description(
        StrCat("drawn from a ", fx.source_format(), " log excerpt",
               p.field.empty() ? "" : StrCat(" (", p.field, ")"),
               p.count > 0 ? StrCat(": ", p.count, " events from ", FormatTime(p.first_seen),
                                    " to ", FormatTime(p.last_seen))
                           : ""));
    absl::StatusOr<v1::PublishResponse> published = client.Publish(request);
    if (!published.ok()) {
      return absl::Status(published.status().code(),
                          StrCat("indicator ", IndicatorTypeName(p.type), " ", p.value, ": ",
                                 published.status().message(), " (", indicator_ids->size(),
                                 " indicators published before it; the excerpt is not)"));
    }
    indicator_ids->push_back(published->id());
    if (!vm.count("json")) {
      io.out << "published indicator " << crypto::HexEncode(published->id()) << " "
             << IndicatorTypeName(p.type) << " " << p.value << "\n";
    }
  }
  return absl::OkStatus();
}

// Publishes the parts in order, the first listing the indicators, the others naming the
// first; (id, seq) of each goes to `done`.
absl::Status PublishParts(const po::variables_map& vm, NodeClient& client,
                          std::vector<v1::RecordBody>& parts,
                          const std::vector<std::string>& indicator_ids,
                          std::vector<std::pair<std::string, uint64_t>>* done, Io& io) {
  const uint32_t count = static_cast<uint32_t>(parts.size());
  std::string first_id;
  for (v1::RecordBody& body : parts) {
    v1::LogExcerpt* x = body.mutable_log_excerpt();
    if (x->part() == 0) {
      for (const std::string& id : indicator_ids) x->add_indicator_ids(id);
    } else {
      x->set_first_part(first_id);
    }
    v1::PublishRequest request;
    *request.mutable_body() = std::move(body);
    absl::StatusOr<v1::PublishResponse> published = client.Publish(request);
    if (!published.ok()) {
      return absl::Status(
          published.status().code(),
          StrCat(count > 1 ? StrCat("part ", x->part() + 1, " of ", count, ": ") : "",
                 published.status().message(),
                 done->empty() ? "" : StrCat(" (", done->size(), " parts published before it)")));
    }
    if (first_id.empty()) first_id = published->id();
    done->emplace_back(published->id(), published->seq());
    if (!vm.count("json")) {
      io.out << "published log excerpt " << crypto::HexEncode(published->id());
      if (count > 1) io.out << " (part " << done->size() << " of " << count << ")";
      io.out << " (seq " << published->seq() << ")\n";
    }
  }
  return absl::OkStatus();
}

int RunPublishExcerpt(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::vector<v1::RecordBody>> parts =
      ReadExcerptParts(vm["excerpt"].as<std::string>());
  if (!parts.ok()) return Fail(io, parts.status());
  std::vector<IndicatorProposal> proposals;
  if (vm.count("indicators")) {
    absl::StatusOr<std::vector<IndicatorProposal>> read =
        ReadProposals(vm["indicators"].as<std::string>());
    if (!read.ok()) return Fail(io, read.status());
    proposals = std::move(*read);
  }
  absl::StatusOr<SanitizeOptions> internal = InternalOptions(vm);
  if (!internal.ok()) return Fail(io, internal.status());
  ExcerptCheckOptions check;
  check.internal = *internal;
  if (absl::Status s = PrepareParts(vm, check, *parts); !s.ok()) return Fail(io, s);
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  std::vector<std::string> indicator_ids;
  if (absl::Status s =
          PublishIndicators(vm, **client, parts->front(), proposals, &indicator_ids, io);
      !s.ok()) {
    return Fail(io, s);
  }
  std::vector<std::pair<std::string, uint64_t>> done;
  if (absl::Status s = PublishParts(vm, **client, *parts, indicator_ids, &done, io); !s.ok()) {
    return Fail(io, s);
  }
  if (vm.count("json")) {
    io.out << "{\"id\":" << JsonString(crypto::HexEncode(done.front().first))
           << ",\"seq\":" << done.front().second << ",\"parts\":[";
    for (std::size_t i = 0; i < done.size(); ++i) {
      io.out << (i ? "," : "") << JsonString(crypto::HexEncode(done[i].first));
    }
    io.out << "],\"indicators\":[";
    for (std::size_t i = 0; i < indicator_ids.size(); ++i) {
      io.out << (i ? "," : "") << JsonString(crypto::HexEncode(indicator_ids[i]));
    }
    io.out << "]}\n";
  }
  return kExitOk;
}

}  // namespace

Command PublishCommand() {
  return {"publish", "sign and store an indicator authored by the node",
          "threatmesh publish --type domain --value evil.example.com --tlp green --label apt29 "
          "--confidence 80",
          PublishOptions, RunPublish};
}

Command GetCommand() {
  return {"get", "show one record by id", "threatmesh get 4f1c...e9 --json", IdOption, RunGet,
          {"id"}};
}

Command SearchCommand() {
  return {"search", "query the node (one query per call, paged, optionally filtered)",
          "threatmesh search --type domain --value example.com | --domain-suffix example.com | "
          "--ip 10.1.2.3 | --author tmpk... | --tag apt29 | --kind indicator [--max-tlp amber]",
          SearchOptions, RunSearch};
}

Command SubscribeCommand() {
  return {"subscribe", "print records as the node stores them, from a cursor",
          "threatmesh subscribe --cursor 1200 --only-kind indicator --max-tlp green",
          SubscribeOptions, RunSubscribe};
}

Command SightCommand() {
  return {"sight", "publish a sighting of an indicator",
          "threatmesh sight --type ipv4 --value 192.0.2.7 --count 12 --tlp amber",
          [](po::options_description& d) {
            d.add_options()("type", po::value<std::string>()->required(), "indicator type")(
                "value", po::value<std::string>()->required(), "indicator value")(
                "count", po::value<uint64_t>()->default_value(1), "times seen")(
                "first-seen", po::value<std::string>(), "first seen (default now)")(
                "last-seen", po::value<std::string>(), "last seen (default now)")(
                "tlp", po::value<std::string>()->default_value("amber"), "TLP of the sighting")(
                "label", po::value<std::vector<std::string>>()->composing(), "tag (repeatable)");
          },
          RunSight};
}

Command RetractCommand() {
  return {"retract",
          "withdraw one of the node's own records",
          "threatmesh retract 4f1c...e9 --reason \"false positive\"",
          [](po::options_description& d) {
            IdOption(d);
            d.add_options()("reason", po::value<std::string>()->default_value(""), "why");
          },
          RunRetract,
          {"id"}};
}

}  // namespace threatmesh::cli
