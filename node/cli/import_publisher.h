// What `threatmesh import` and `threatmesh taxii pull` share: the summary of what became of
// the objects read, and the publisher that sends their records to the node in batches.
#ifndef THREATMESH_NODE_CLI_IMPORT_PUBLISHER_H_
#define THREATMESH_NODE_CLI_IMPORT_PUBLISHER_H_

#include <cstdint>
#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/command.h"
#include "node/interop/stix_import.h"

namespace threatmesh::cli {

// Object ids listed per reason in the text summary, and kept per reason for --json.
inline constexpr std::size_t kIdsShown = 5;
inline constexpr std::size_t kIdsKept = 1000;

// What became of the objects: by outcome, the ids of the objects.
struct ImportSummary {
  uint64_t read = 0, imported = 0, present = 0;
  struct Reason {
    uint64_t count = 0;
    std::vector<std::string> ids;  // the first kIdsKept
  };
  std::map<std::string, Reason> not_imported;

  void NotImported(const std::string& why, const std::string& id) {
    Reason& r = not_imported[why];
    ++r.count;
    if (r.ids.size() < kIdsKept) r.ids.push_back(id);
  }
};

// The summary on io.out: a line per outcome, or one JSON object with --json.
void PrintSummary(const ImportSummary& s, bool json, Io& io);

// Publishes batches of imported requests and counts what became of them. One batch is
// published on a thread of its own while the caller reads the next, so that the node does
// not wait for the file.
class Publisher {
 public:
  Publisher(NodeClient& client, ImportSummary& summary) : client_(client), summary_(summary) {}
  ~Publisher() { (void)Drain(); }

  absl::Status Start() {
    absl::StatusOr<v1::StatusResponse> status = client_.Status();
    if (!status.ok()) return status.status();
    absl::StatusOr<crypto::PublicKey> self = crypto::PublicKey::FromText(status->public_key());
    if (!self.ok()) return self.status();
    self_ = std::string(self->bytes());
    return absl::OkStatus();
  }

  // Counts the batch's skipped objects and starts publishing its requests, once the batch
  // before it is done; an error of an earlier batch.
  absl::Status Submit(interop::StixImport& batch) {
    for (const auto& [id, why] : batch.skipped) summary_.NotImported(why, id);
    summary_.read += batch.requests.size() + batch.skipped.size();
    if (batch.requests.empty()) return absl::OkStatus();
    if (absl::Status s = Drain(); !s.ok()) return s;
    std::vector<v1::PublishRequest> requests;
    requests.reserve(batch.requests.size());
    ids_.clear();
    for (auto& [id, r] : batch.requests) {
      ids_.push_back(std::move(id));
      requests.push_back(std::move(r));
      // A RED object stays with this node: its record names the node as its one recipient.
      v1::RecordBody* body = requests.back().mutable_body();
      if (body->tlp() == v1::TLP_RED && body->handling().recipients().empty()) {
        body->mutable_handling()->add_recipients(self_);
      }
    }
    in_flight_ = std::async(std::launch::async, [this, requests = std::move(requests)] {
      return client_.PublishStream(requests);
    });
    return absl::OkStatus();
  }

  // Waits for the batch in flight and counts what became of it.
  absl::Status Drain() {
    if (!in_flight_.valid()) return absl::OkStatus();
    absl::StatusOr<v1::PublishStreamResponse> published = in_flight_.get();
    if (!published.ok()) return published.status();
    summary_.imported += published->stored();
    summary_.present += published->duplicates();
    std::set<uint64_t> listed;
    for (const v1::PublishError& e : published->errors()) {
      if (e.index() >= ids_.size()) continue;
      listed.insert(e.index());
      summary_.NotImported(StrCat("refused by the node: ", e.message()), ids_[e.index()]);
    }
    // Refusals beyond the errors the node lists are counted without their reason.
    for (uint64_t i = listed.size(); i < published->refused(); ++i) {
      summary_.NotImported("refused by the node (reason not listed)", "?");
    }
    return absl::OkStatus();
  }

 private:
  NodeClient& client_;
  ImportSummary& summary_;
  std::string self_;
  std::future<absl::StatusOr<v1::PublishStreamResponse>> in_flight_;
  std::vector<std::string> ids_;  // the object ids of the batch in flight
};

}  // namespace threatmesh::cli

#endif  // THREATMESH_NODE_CLI_IMPORT_PUBLISHER_H_
