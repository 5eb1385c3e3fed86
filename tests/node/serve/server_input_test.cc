// What callers send the API, on a real node process: TLP limits of client tokens, request
// bytes that do not decode, and requests over the documented limits.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "node/serve/server_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::Indicator;
using testing::RawUnaryCall;
using testing::ServerTest;
using testing::Token;

// TLP 2.0: AMBER may reach the organization's clients, AMBER+STRICT and RED never do. A token
// made with audience client never sees those records in Get, Search, Subscribe or a proof
// export (answered as if absent); a member token sees them all.
TEST_F(ServerTest, ClientTokensNeverSeeAmberStrictOrRed) {
  const std::string self = admin_->Status()->public_key();
  std::map<Tlp, std::string> ids;
  for (Tlp tlp : {TLP_GREEN, TLP_AMBER, TLP_AMBER_STRICT, TLP_RED}) {
    PublishRequest r =
        Indicator(INDICATOR_TYPE_DOMAIN,
                  "t" + std::to_string(static_cast<int>(tlp)) + ".aud.example", {"aud"}, tlp);
    if (tlp == TLP_RED) {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(self);
      ASSERT_TRUE(key.ok()) << key.status();
      r.mutable_body()->mutable_handling()->add_recipients(std::string(key->bytes()));
    }
    absl::StatusOr<PublishResponse> published = publisher_->Publish(r);
    ASSERT_TRUE(published.ok()) << published.status();
    ids[tlp] = published->id();
  }
  CreateTokenRequest create = Token("portal", ROLE_READ);
  create.set_audience(AUDIENCE_CLIENT);
  absl::StatusOr<CreateTokenResponse> token = admin_->CreateToken(create);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->info().audience(), AUDIENCE_CLIENT);
  std::unique_ptr<NodeClient> client = Client(token->token());

  for (const auto& [tlp, id] : ids) {
    const bool visible = tlp <= TLP_AMBER;
    GetRequest get;
    get.set_id(id);
    absl::StatusOr<GetResponse> got = client->Get(get);
    EXPECT_EQ(got.ok(), visible) << tlp << " " << got.status();
    if (!visible) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
    }
    EXPECT_TRUE(reader_->Get(get).ok()) << tlp;  // a member token sees it
    ExportProofRequest proof;
    proof.set_record_id(id);
    EXPECT_EQ(client->ExportProof(proof).ok(), visible) << tlp;
  }
  auto tlps_of = [](const google::protobuf::RepeatedPtrField<StoredRecord>& records) {
    std::set<int> out;
    for (const StoredRecord& r : records) out.insert(r.body().tlp());
    return out;
  };
  SearchRequest search;
  search.set_tag("aud");
  EXPECT_EQ(tlps_of(client->Search(search)->records()), (std::set<int>{TLP_GREEN, TLP_AMBER}));
  search.mutable_filter()->set_max_tlp(TLP_RED);  // asking for more changes nothing
  EXPECT_EQ(tlps_of(client->Search(search)->records()), (std::set<int>{TLP_GREEN, TLP_AMBER}));
  EXPECT_EQ(tlps_of(reader_->Search(search)->records()).size(), 4u);

  SubscribeRequest subscribe;
  subscribe.mutable_filter()->add_tags("aud");
  std::set<int> seen;
  absl::Status s = client->Subscribe(subscribe, [&](const SubscribeEvent& e) {
    if (e.has_record()) seen.insert(e.record().body().tlp());
    // The last record published is RED: stop at the first event past it.
    return e.cursor() < Stored();
  });
  EXPECT_EQ(seen, (std::set<int>{TLP_GREEN, TLP_AMBER}));
}

// Request bytes that do not decode: without a valid token the answer is UNAUTHENTICATED, with
// one INVALID_ARGUMENT naming the method (once an empty INTERNAL that skipped both the token
// check and the audit trail); each such call is in the audit trail.
TEST_F(ServerTest, UndecodableRequestsAreAuthenticatedAndAudited) {
  const std::string garbage("\x0a\xff\xff\xff\xff\x0f", 6);  // a length past the end
  const std::size_t before = Audit().size();
  grpc::Status anonymous =
      RawUnaryCall(server_->address(), "/threatmesh.v1.Records/Get", garbage, "");
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED) << anonymous.error_message();
  grpc::Status bad_token =
      RawUnaryCall(server_->address(), "/threatmesh.v1.Records/Get", garbage, "tmt_wrong");
  EXPECT_EQ(bad_token.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status reader =
      RawUnaryCall(server_->address(), "/threatmesh.v1.Records/Search", garbage, reader_token_);
  std::vector<AuditEntry> audit = Audit();
  ASSERT_GE(audit.size(), before + 3);
  int undecodable = 0;
  AuditEntry last_undecodable;
  for (std::size_t i = before; i < audit.size(); ++i) {
    if (audit[i].params() != "undecodable request") continue;
    ++undecodable;
    last_undecodable = audit[i];
  }
  EXPECT_EQ(undecodable, 3);
  EXPECT_EQ(last_undecodable.method(), "/threatmesh.v1.Records/Search");
  EXPECT_EQ(last_undecodable.code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(reader.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << reader.error_message();
  EXPECT_NE(reader.error_message().find("do not decode as the message "
                                        "/threatmesh.v1.Records/Search takes"),
            std::string::npos)
      << reader.error_message();
}

// A PublishStream whose fourth message does not decode: the three before it are stored and
// the call ends with INVALID_ARGUMENT naming the position and the counts (once it answered OK
// and silently dropped the rest); nothing after it is stored.
TEST_F(ServerTest, PublishStreamEndsAtAnUndecodableMessage) {
  const uint64_t before = Stored();
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  ctx.AddMetadata("authorization", "Bearer " + publisher_token_);
  grpc::CompletionQueue cq;
  auto next = [&] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, "/threatmesh.v1.Records/PublishStream", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next());
  std::vector<std::string> messages;
  for (int i = 0; i < 3; ++i) {
    messages.push_back(Indicator(INDICATOR_TYPE_DOMAIN, "s" + std::to_string(i) + ".stream.example")
                           .SerializeAsString());
  }
  messages.push_back(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
  messages.push_back(Indicator(INDICATOR_TYPE_DOMAIN, "after.stream.example").SerializeAsString());
  for (const std::string& m : messages) {
    grpc::Slice slice(m);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (!next()) break;  // the server may end the call before the last write
  }
  call->WritesDone(reinterpret_cast<void*>(3));
  next();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  next();
  cq.Shutdown();
  while (next()) {
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("message 3 of the stream (counting from 0) does not "
                                        "decode as threatmesh.v1.PublishRequest"),
            std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("3 were stored"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Stored(), before + 3);
  SearchRequest after;
  after.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
  after.mutable_indicator()->set_value("after.stream.example");
  EXPECT_EQ(reader_->Search(after)->records_size(), 0);
  // A good stream still works, through the same path.
  std::vector<PublishRequest> good = {Indicator(INDICATOR_TYPE_DOMAIN, "g1.stream.example"),
                                      Indicator(INDICATOR_TYPE_DOMAIN, "g2.stream.example")};
  absl::StatusOr<PublishStreamResponse> streamed = publisher_->PublishStream(good);
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(streamed->stored(), 2u);
}

// A read token cannot make a call do unbounded work: every repeated field and query string of
// a request has a documented limit, and more is refused at once with INVALID_ARGUMENT naming
// the field (600,000 copies of one tag once held a core for seconds).
TEST_F(ServerTest, OversizedRequestsAreRefusedNamingTheField) {
  ASSERT_TRUE(publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "x.example", {"a"})).ok());
  struct Case {
    const char* what;
    std::function<void(SearchRequest&)> make;
    const char* says;
  };
  const Case cases[] = {
      {"600,000 tags",
       [](SearchRequest& s) {
         for (int i = 0; i < 600000; ++i) s.mutable_filter()->add_tags("a");
       },
       "filter.tags has 600000 entries, over the limit of 32"},
      {"17 kinds",
       [](SearchRequest& s) {
         for (int i = 0; i < 17; ++i) s.mutable_filter()->add_kinds(RECORD_KIND_INDICATOR);
       },
       "filter.kinds has 17 entries, over the limit of 16"},
      {"a long filter tag",
       [](SearchRequest& s) { s.mutable_filter()->add_tags(std::string(2000, 't')); },
       "a filter.tags entry is 2000 bytes, over the limit of 1024"},
      {"a long tag query", [](SearchRequest& s) { s.set_tag(std::string(2000, 't')); },
       "tag is 2000 bytes"},
      {"a long domain", [](SearchRequest& s) { s.set_domain_suffix(std::string(2000, 'd')); },
       "domain_suffix is 2000 bytes"},
      {"a long page token", [](SearchRequest& s) { s.set_page_token(std::string(2000, 'p')); },
       "page_token is 2000 bytes"},
  };
  for (const Case& c : cases) {
    SearchRequest request;
    request.set_tag("a");
    c.make(request);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<SearchResponse> r = reader_->Search(request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << c.what;
  }
  std::vector<std::string> labels(65, "l");
  for (int i = 0; i < 65; ++i) labels[i] += std::to_string(i);
  absl::StatusOr<PublishResponse> many =
      publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "y.example", labels));
  EXPECT_EQ(many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(many.status().message().find("65 labels, over the limit of 64"), std::string::npos)
      << many.status();
}

}  // namespace
}  // namespace threatmesh
