// The node's TAXII 2.1 server (docs/TAXII.md): discovery, one API root, its collections, and
// each collection's objects and manifest, paged by the node's change feed so that paging
// stays correct while records keep arriving. Objects are the records as STIX 2.1
// (docs/STIX.md). Every request is authenticated with the node's tokens (Bearer, or HTTP
// Basic with the token as password), checked for its role, and written to the audit trail.
//
// No sockets here: Handle() answers one request (node/http/http_server.h carries them), so
// tests can drive it directly. Thread-safe.
#ifndef THREATMESH_NODE_TAXII_TAXII_H_
#define THREATMESH_NODE_TAXII_TAXII_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "crypto/mutex.h"
#include "node/api/api.h"
#include "node/config.h"
#include "node/http/http_server.h"

namespace threatmesh::taxii {

// TAXII's media type, and STIX's, with the versions this server speaks.
inline constexpr std::string_view kTaxiiMediaType = "application/taxii+json;version=2.1";
inline constexpr std::string_view kStixMediaType = "application/stix+json;version=2.1";
// The API root's path.
inline constexpr std::string_view kApiRoot = "/threatmesh/";

struct TaxiiOptions {
  std::string title = "threatmesh";
  // "https" when the listener speaks TLS: the discovery resource names the API root by URL.
  std::string scheme = "http";
  // The most objects a page holds (a larger `limit` is lowered to it; advertised at the API
  // root as max_content_length's companion in docs/TAXII.md).
  std::size_t max_page = 1000;
  // Log entries one request looks at, at most, per object a page may hold: a filter that
  // matches little answers early with `more` and a `next` instead of reading the whole feed.
  std::size_t scan_per_object = 20;
  // The largest request body (POST), advertised as max_content_length.
  std::size_t max_content_length = 4 << 20;
  // The collections ([taxii.collection.NAME]); "default" is added unless one is named so.
  std::vector<TaxiiCollectionConfig> collections;
  // Status resources of POSTs kept for GET status/ID/, the newest.
  std::size_t max_statuses = 1000;
};

// The default collection's id: everything up to AMBER+STRICT, read-only.
std::string DefaultCollectionId();
// A collection's id: UUIDv5 of "taxii-collection:NAME" (DefaultCollectionId for "default").
std::string CollectionId(const std::string& name);

class TaxiiService {
 public:
  TaxiiService(NodeApi& api, TaxiiOptions options);

  http::Response Handle(const http::Request& request);

 private:
  // One request as it is answered: who asked, what, and what the audit trail will say.
  struct Call {
    const http::Request& request;
    std::string path;
    std::map<std::string, std::vector<std::string>> query;
    Caller caller;
    threatmesh::v1::AuditEntry audit;
    uint64_t objects = 0;
  };
  struct Collection {
    TaxiiCollectionConfig config;
    std::string id;
  };
  // Handle, before it is counted.
  http::Response Answer(const http::Request& request);
  static bool CanRead(const Collection& c, const Caller& caller);
  static bool CanWrite(const Collection& c, const Caller& caller);
  http::Response Route(Call& call);
  http::Response Discovery(Call& call);
  http::Response ApiRootInfo(Call& call);
  // All collections the caller may use, or `one`.
  http::Response Collections(Call& call, const Collection* one);
  http::Response Objects(Call& call, const Collection& c, bool manifest);
  // objects/{id}/ (the object's versions as objects), or objects/{id}/versions/.
  http::Response Object(Call& call, const Collection& c, const std::string& id, bool versions);
  // POST of an envelope: imported as records of this node (node/interop's STIX import).
  http::Response Post(Call& call, const Collection& c);
  http::Response Status(Call& call, const std::string& id_and_slash);

  NodeApi& api_;
  const TaxiiOptions options_;
  std::vector<Collection> collections_;
  Mutex statuses_mu_;
  // Status resources by id, and their ids oldest first (at most max_statuses).
  std::map<std::string, std::string> statuses_ ABSL_GUARDED_BY(statuses_mu_);
  std::deque<std::string> status_order_ ABSL_GUARDED_BY(statuses_mu_);
};

// The kind of resource a request path names, for counting requests (a bounded set of names:
// discovery, api_root, status, collections, collection, objects, manifest, object, versions,
// other).
std::string TaxiiResource(std::string path);

// A TAXII error message (section 3.6.1 of TAXII 2.1) with its HTTP status.
http::Response TaxiiError(int status, const std::string& title, const std::string& description);

}  // namespace threatmesh::taxii

#endif  // THREATMESH_NODE_TAXII_TAXII_H_
