// A TAXII 2.1 client for one collection's objects (docs/TAXII.md, "Pulling"), over libcurl:
// GET pages of an API root's collection, with Basic or Bearer credentials and a CA to trust.
// Each page is checked before it is handed over: JSON, an envelope, no larger than asked.
// One client per thread.
#ifndef THREATMESH_NODE_TAXII_TAXII_CLIENT_H_
#define THREATMESH_NODE_TAXII_TAXII_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace threatmesh::taxii {

struct ClientOptions {
  // The API root's URL ("https://feeds.example.org/api1/"; a missing final '/' is added).
  std::string api_root;
  std::string collection;
  // HTTP Basic (user and password), or a Bearer token; neither: no credentials.
  std::string user;
  std::string password;
  std::string bearer;
  // PEM file of the CA (or certificate) to trust for HTTPS; empty: the system's.
  std::string ca_file;
  // Objects asked per page.
  std::size_t limit = 1000;
  // The most a page may be; a larger answer is refused (the server ignored `limit`).
  std::size_t max_page_bytes = 64u << 20;
  std::chrono::seconds timeout{120};
};

struct ObjectsPage {
  std::string envelope;     // the body: {"more": ..., "next": ..., "objects": [...]}
  std::size_t objects = 0;  // how many it holds
  bool more = false;
  std::string next;             // empty when the server gave none
  std::string date_added_last;  // X-TAXII-Date-Added-Last; empty when absent
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();

  // One page of the collection's objects: after `added_after` (a TAXII timestamp, or empty
  // for the first), or at `next` (a value the previous page gave) with the same added_after.
  // Unavailable for a server that cannot be reached; FailedPrecondition naming the HTTP
  // status and the server's error message; DataLoss for a page that is not a TAXII envelope
  // or is larger than asked.
  [[nodiscard]] absl::StatusOr<ObjectsPage> Objects(const std::string& added_after,
                                                    const std::string& next);

 private:
  ClientOptions options_;
  void* curl_;  // CURL*
};

}  // namespace threatmesh::taxii

#endif  // THREATMESH_NODE_TAXII_TAXII_CLIENT_H_
