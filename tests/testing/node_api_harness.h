// A node and the NodeApi over it, opened in a temporary directory, for the tests of the API
// logic and of what is built on it (TAXII) without any server.
#ifndef THREATMESH_TESTS_TESTING_NODE_API_HARNESS_H_
#define THREATMESH_TESTS_TESTING_NODE_API_HARNESS_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "node/api/api.h"
#include "testing/test_util.h"

namespace threatmesh::testing {

struct NodeApiHarness {
  // Initializes and opens a node under `data_dir` with `clock`.
  void Open(const std::string& data_dir, Clock clock) {
    ASSERT_TRUE(LocalNode::Init(data_dir, {}).ok());
    NodeConfig config;
    config.data_dir = data_dir;
    config.clock = clock;
    node = std::move(*LocalNode::Open(config));
    tokens = std::move(*TokenStore::Load(node->store()));
    audit = std::move(*AuditLog::Open(node->store(), node->key(), clock));
    peers = std::move(
        *PeerRegistry::Load(node->store(), std::string(node->key().public_key().bytes())));
    api = std::make_unique<NodeApi>(*node, *tokens, *audit, *peers, "test");
  }

  // Publishes a domain indicator signed by the node (RED ones addressed to the node itself).
  absl::StatusOr<threatmesh::v1::PublishResponse> PublishDomain(
      const std::string& value, threatmesh::v1::Tlp tlp, const std::string& supersedes = "") {
    threatmesh::v1::PublishRequest request;
    request.mutable_body()->set_tlp(tlp);
    request.mutable_body()->set_supersedes(supersedes);
    if (tlp == threatmesh::v1::TLP_RED) {
      request.mutable_body()->mutable_handling()->add_recipients(
          std::string(node->key().public_key().bytes()));
    }
    request.mutable_body()->mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
    request.mutable_body()->mutable_indicator()->set_value(value);
    threatmesh::v1::AuditEntry audit;
    return api->Publish(request, audit);
  }

  std::unique_ptr<LocalNode> node;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<PeerRegistry> peers;
  std::unique_ptr<NodeApi> api;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_TESTING_NODE_API_HARNESS_H_
