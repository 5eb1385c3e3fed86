// TAXII POST of an envelope to a writable collection, and the status resources that answer
// it (docs/TAXII.md, "Adding objects").
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "crypto/str_cat.h"
#include "crypto/uuid.h"
#include "node/core/clock.h"
#include "node/interop/stix.h"
#include "node/interop/stix_import.h"
#include "node/taxii/taxii.h"

namespace threatmesh::taxii {
namespace {

namespace v1 = ::threatmesh::v1;
using Json = nlohmann::ordered_json;

// Whether a Content-Type names TAXII 2.1 JSON (with version 2.1 or none).
bool IsTaxiiContent(const std::string& content_type) {
  std::string t;
  for (char c : content_type) {
    if (c != ' ') t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return t.rfind("application/taxii+json", 0) == 0 &&
         (t.find("version=") == std::string::npos || t.find("version=2.1") != std::string::npos);
}

// What became of the envelope's objects: the STIX ids that gave requests, and per id the
// reasons it (or one of its values) was not imported.
struct Outcome {
  std::set<std::string> requested;
  std::map<std::string, std::vector<std::string>> failures;
};

}  // namespace

http::Response TaxiiService::Post(Call& call, const Collection& c) {
  if (!CanWrite(c, call.caller)) {
    return TaxiiError(403, "Forbidden",
                      StrCat("collection ", c.config.name, " is not writable with token \"",
                             call.caller.name, "\" (its writers, with role publish, may POST)"));
  }
  if (!IsTaxiiContent(call.request.Header("content-type"))) {
    return TaxiiError(415, "Unsupported Media Type",
                      StrCat("POST an envelope as ", kTaxiiMediaType, ", not ",
                             call.request.Header("content-type")));
  }
  absl::StatusOr<interop::StixImport> read = interop::ReadStix(
      call.request.body, StrCat("TAXII collection ", c.config.name), v1::TLP_AMBER);
  if (!read.ok()) {
    return TaxiiError(400, "Bad Request",
                      StrCat("not a TAXII envelope of STIX: ", read.status().message()));
  }
  Outcome outcome;
  for (const auto& [id, why] : read->skipped) outcome.failures[id].push_back(why);
  const std::string self(api_.node().key().public_key().bytes());
  std::size_t next = 0;
  v1::AuditEntry publish_audit;
  const v1::PublishStreamResponse published = api_.PublishMany(
      [&](v1::PublishRequest& r) {
        if (next >= read->requests.size()) return false;
        r = read->requests[next++].second;
        // A RED object stays with this node: its record names the node as its one recipient.
        if (r.body().tlp() == v1::TLP_RED && r.body().handling().recipients().empty()) {
          r.mutable_body()->mutable_handling()->add_recipients(self);
        }
        return true;
      },
      publish_audit);
  for (const v1::PublishError& e : published.errors()) {
    if (e.index() < read->requests.size()) {
      outcome.failures[read->requests[e.index()].first].push_back(e.message());
    }
  }
  for (const auto& [id, r] : read->requests) outcome.requested.insert(id);
  for (const std::string& id : publish_audit.record_ids()) AuditIds(call.audit, id);
  // The status resource, complete at once: the import is synchronous.
  Json status;
  status["id"] = crypto::RandomUuid4();
  status["status"] = "complete";
  status["request_timestamp"] = interop::StixTime(SystemNowMs());
  Json successes = Json::array(), failures = Json::array();
  for (const std::string& id : outcome.requested) {
    if (outcome.failures.count(id)) continue;
    successes.push_back({{"id", id}});
  }
  for (const auto& [id, why] : outcome.failures) {
    std::string message;
    for (const std::string& w : why) message += StrCat(message.empty() ? "" : "; ", w);
    failures.push_back({{"id", id}, {"message", message}});
  }
  status["total_count"] = successes.size() + failures.size();
  status["success_count"] = successes.size();
  status["successes"] = std::move(successes);
  status["failure_count"] = failures.size();
  status["failures"] = std::move(failures);
  status["pending_count"] = 0;
  call.objects = published.stored();
  const std::string text = status.dump();
  {
    MutexLock lock(&statuses_mu_);
    statuses_[status["id"]] = text;
    status_order_.push_back(status["id"]);
    while (status_order_.size() > options_.max_statuses) {
      statuses_.erase(status_order_.front());
      status_order_.pop_front();
    }
  }
  http::Response r;
  r.status = 202;
  r.headers.emplace_back("Content-Type", std::string(kTaxiiMediaType));
  r.body = text;
  return r;
}

http::Response TaxiiService::Status(Call& /*call*/, const std::string& id_and_slash) {
  const std::string id = id_and_slash.substr(0, id_and_slash.find('/'));
  MutexLock lock(&statuses_mu_);
  auto it = statuses_.find(id);
  if (it == statuses_.end()) {
    return TaxiiError(404, "Not Found",
                      StrCat("no status ", id, " (the node keeps the last ", options_.max_statuses,
                             ", until it restarts)"));
  }
  http::Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", std::string(kTaxiiMediaType));
  r.body = it->second;
  return r;
}

}  // namespace threatmesh::taxii
