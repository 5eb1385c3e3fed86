// The fixture of the serve tests: a real `threatmesh serve` process on an ephemeral loopback
// port, initialised by the CLI, with an admin, a reader and a publisher client; and the
// helpers the tests share (the CLI binary, indicator requests, raw gRPC calls).
#ifndef THREATMESH_TESTS_NODE_SERVE_SERVER_FIXTURE_H_
#define THREATMESH_TESTS_NODE_SERVE_SERVER_FIXTURE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "node/api/grpc/client.h"
#include "node/local_node.h"
#include "testing/serve_process.h"
#include "testing/test_util.h"
#include "threatmesh/v1/api.grpc.pb.h"

namespace threatmesh::testing {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

inline std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Runs the CLI binary; returns its exit code, with stdout and stderr in `out`.
inline int RunCli(const std::string& args, std::string* out, const std::string& scratch) {
  std::string cmd = "timeout 120 " + testing::ThreatmeshBinary() + " " + args + " >" + scratch +
                    " 2>&1 </dev/null";
  int status = std::system(cmd.c_str());
  std::ifstream in(scratch);
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline PublishRequest Indicator(IndicatorType type, const std::string& value,
                                std::vector<std::string> labels = {}, Tlp tlp = TLP_GREEN) {
  PublishRequest r;
  r.mutable_body()->set_tlp(tlp);
  r.mutable_body()->mutable_indicator()->set_type(type);
  r.mutable_body()->mutable_indicator()->set_value(value);
  for (const std::string& l : labels) r.mutable_body()->add_labels(l);
  return r;
}

inline CreateTokenRequest Token(const std::string& name, Role role) {
  CreateTokenRequest r;
  r.set_name(name);
  r.set_role(role);
  return r;
}

// The bytes of a gRPC message buffer, joined.
inline std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// A unary call with raw request bytes and an optional token; its status, and the response's
// bytes in `response` when given.
inline grpc::Status RawUnaryCall(const std::string& address, const std::string& method,
                                 const std::string& bytes, const std::string& token,
                                 std::string* response = nullptr) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1), answer;
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      generic.PrepareUnaryCall(&ctx, method, request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&answer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (response != nullptr && status.ok()) *response = BufferBytes(answer);
  return status;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(RunCli("init --data-dir " + data_, &out, dir_.Sub("cli.out")), 0) << out;
    admin_token_ = FirstLine(AdminTokenPath(data_));
    Start();
    admin_ = Client(admin_token_);
    absl::StatusOr<CreateTokenResponse> reader = admin_->CreateToken(Token("reader", ROLE_READ));
    ASSERT_TRUE(reader.ok()) << reader.status();
    reader_token_ = reader->token();
    reader_ = Client(reader->token());
    absl::StatusOr<CreateTokenResponse> publisher =
        admin_->CreateToken(Token("publisher", ROLE_PUBLISH));
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    publisher_token_ = publisher->token();
    publisher_ = Client(publisher_token_);
  }

  void Start() {
    absl::StatusOr<std::unique_ptr<ServeProcess>> server = ServeProcess::Start(data_, serve_args_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // SIGTERM, and the exit code. The test's own clients go first: an idle gRPC client
  // channel answers the server's shutdown ping only on its next backup poll (5 s).
  int StopNode() {
    admin_.reset();
    reader_.reset();
    publisher_.reset();
    return server_->Stop();
  }

  std::unique_ptr<NodeClient> Client(const std::string& token) {
    ClientOptions options;
    options.address = server_->address();
    options.token = token;
    return *NodeClient::Connect(options);
  }

  uint64_t Stored() { return admin_->Status()->next_seq() - 1; }

  // Every audit entry, parsed.
  std::vector<AuditEntry> Audit() {
    std::vector<AuditEntry> out;
    ReadAuditRequest request;
    request.set_from_seq(1);
    for (;;) {
      absl::StatusOr<ReadAuditResponse> page = admin_->ReadAudit(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const StoredAuditEntry& e : page->entries())
        out.emplace_back().ParseFromString(e.entry());
      if (page->entries_size() < 1000) break;
      request.set_from_seq(page->next_seq());
    }
    return out;
  }

  testing::TempDir dir_;
  const std::string data_ = dir_.Sub("node");
  std::string admin_token_, publisher_token_, reader_token_;
  // Arguments `serve` gets beside --data-dir and --listen.
  std::vector<std::string> serve_args_;
  std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<NodeClient> admin_, reader_, publisher_;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_NODE_SERVE_SERVER_FIXTURE_H_
