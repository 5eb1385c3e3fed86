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
#include <map>
#include <string>
#include <vector>

#include "node/api/api.h"
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
};

// The default collection's id: everything up to AMBER+STRICT, read-only.
std::string DefaultCollectionId();

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
  http::Response Route(Call& call);
  http::Response Discovery(Call& call);
  http::Response ApiRootInfo(Call& call);
  http::Response Collections(Call& call);
  http::Response Objects(Call& call, bool manifest);

  NodeApi& api_;
  const TaxiiOptions options_;
};

// A TAXII error message (section 3.6.1 of TAXII 2.1) with its HTTP status.
http::Response TaxiiError(int status, const std::string& title, const std::string& description);

}  // namespace threatmesh::taxii

#endif  // THREATMESH_NODE_TAXII_TAXII_H_
