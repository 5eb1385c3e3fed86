// The API's calls as their callers meet them, on a real node process: each call with the
// role it needs succeeds; each error path answers with its exact code and stores nothing;
// each caller without a token, with an unknown one or below the call's role is refused.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "node/core/record_builder.h"
#include "node/core/version.h"
#include "node/serve/server_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::Indicator;
using testing::ServerTest;
using testing::Token;

// Every call of the API, with the role it needs, for EveryRpcRefusesBadCallersWithExactCodes.
struct Rpc {
  std::string name;
  Role needs;
  std::function<absl::Status(NodeClient&)> call;
};

std::vector<Rpc> RecordsRpcs(const std::string& own_id) {
  return {
      {"Publish", ROLE_PUBLISH,
       [](NodeClient& c) {
         return c.Publish(Indicator(INDICATOR_TYPE_DOMAIN, "x.example.com")).status();
       }},
      {"PublishStream", ROLE_PUBLISH,
       [](NodeClient& c) {
         return c.PublishStream({Indicator(INDICATOR_TYPE_DOMAIN, "y.example.com")}).status();
       }},
      {"Get", ROLE_READ,
       [own_id](NodeClient& c) {
         GetRequest r;
         r.set_id(own_id);
         return c.Get(r).status();
       }},
      {"Search", ROLE_READ,
       [](NodeClient& c) {
         SearchRequest r;
         r.set_kind(RECORD_KIND_INDICATOR);
         return c.Search(r).status();
       }},
      {"Subscribe", ROLE_READ,
       [](NodeClient& c) {
         return c.Subscribe(SubscribeRequest(), [](const SubscribeEvent&) { return false; });
       }},
      {"Sight", ROLE_PUBLISH,
       [](NodeClient& c) {
         SightRequest r;
         r.set_type(INDICATOR_TYPE_DOMAIN);
         r.set_value("z.example.com");
         return c.Sight(r).status();
       }},
      {"Retract", ROLE_PUBLISH,
       [own_id](NodeClient& c) {
         RetractRequest r;
         r.set_target(own_id);
         return c.Retract(r).status();
       }},
  };
}

std::vector<Rpc> AdminRpcs(const std::string& own_id) {
  return {
      {"Status", ROLE_READ, [](NodeClient& c) { return c.Status().status(); }},
      {"CreateToken", ROLE_ADMIN,
       [](NodeClient& c) { return c.CreateToken(Token("made", ROLE_READ)).status(); }},
      {"ListTokens", ROLE_ADMIN, [](NodeClient& c) { return c.ListTokens().status(); }},
      {"RevokeToken", ROLE_ADMIN,
       [](NodeClient& c) {
         RevokeTokenRequest r;
         r.set_name("reader");
         return c.RevokeToken(r);
       }},
      {"ReadAudit", ROLE_ADMIN, [](NodeClient& c) { return c.ReadAudit({}).status(); }},
      {"AddPeer", ROLE_ADMIN,
       [](NodeClient& c) {
         AddPeerRequest r;
         r.mutable_peer()->set_name("p");
         r.mutable_peer()->set_node_key(
             std::string(crypto::KeyPair::Generate().public_key().bytes()));
         return c.AddPeer(r);
       }},
      {"ListPeers", ROLE_ADMIN, [](NodeClient& c) { return c.ListPeers().status(); }},
      {"RemovePeer", ROLE_ADMIN,
       [](NodeClient& c) {
         RemovePeerRequest r;
         r.set_name("p");
         return c.RemovePeer(r);
       }},
      {"ExplainPolicy", ROLE_ADMIN,
       [own_id](NodeClient& c) {
         ExplainPolicyRequest r;
         r.set_record_id(own_id);
         r.set_peer("p");
         return c.ExplainPolicy(r).status();
       }},
      {"ReloadConfig", ROLE_ADMIN, [](NodeClient& c) { return c.ReloadConfig().status(); }},
      {"ResyncPeer", ROLE_ADMIN,
       [](NodeClient& c) {
         ResyncPeerRequest r;
         r.set_name("p");
         return c.ResyncPeer(r);
       }},
      {"ListViolations", ROLE_ADMIN, [](NodeClient& c) { return c.ListViolations({}).status(); }},
  };
}

// The steps of EveryRpcSucceedsWithItsRole, one call group each.
class ServerRpcTest : public ServerTest {
 protected:
  // Publishes the domain, then the addresses in one stream with one bad value among them;
  // `id` is the domain's.
  void PublishDomainAndStream(std::string* id) {
    absl::StatusOr<PublishResponse> domain = publisher_->Publish(
        Indicator(INDICATOR_TYPE_DOMAIN, "C2.Example.COM.", {"apt-x"}, TLP_AMBER));
    ASSERT_TRUE(domain.ok()) << domain.status();
    EXPECT_EQ(domain->id().size(), 32u);
    EXPECT_EQ(domain->seq(), 1u);
    *id = domain->id();

    std::vector<PublishRequest> bulk;
    for (int i = 0; i < 50; ++i) {
      bulk.push_back(Indicator(INDICATOR_TYPE_IPV4, "192.0.2." + std::to_string(i), {"bulk"}));
    }
    bulk.push_back(Indicator(INDICATOR_TYPE_IPV4, "not-an-ip"));
    absl::StatusOr<PublishStreamResponse> streamed = publisher_->PublishStream(bulk);
    ASSERT_TRUE(streamed.ok()) << streamed.status();
    EXPECT_EQ(streamed->stored(), 50u);
    EXPECT_EQ(streamed->refused(), 1u);
    ASSERT_EQ(streamed->errors_size(), 1);
    EXPECT_EQ(streamed->errors(0).index(), 50u);
    EXPECT_EQ(streamed->errors(0).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_EQ(streamed->last_seq(), 51u);
  }

  // Gets the domain as the reader; its signed bytes verify on their own. `author` is its
  // author.
  void GetAndVerify(const std::string& id, std::string* author) {
    GetRequest get;
    get.set_id(id);
    absl::StatusOr<GetResponse> got = reader_->Get(get);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->record().body().indicator().value(), "c2.example.com");
    EXPECT_EQ(got->record().custody().chains_size(), 1);
    absl::StatusOr<VerifiedRecord> verified =
        ValidateRecord(got->record().signed_record(), {}, SystemNowMs());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->id, id);
    *author = got->record().body().author();
  }

  struct SearchCase {
    std::string name;
    std::function<void(SearchRequest&)> query;
    std::size_t want;
  };

  static std::vector<SearchCase> SearchCases(const std::string& author) {
    return {
        {"indicator",
         [](SearchRequest& r) {
           r.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
           r.mutable_indicator()->set_value("c2.EXAMPLE.com");
         },
         1},
        {"domain suffix", [](SearchRequest& r) { r.set_domain_suffix("example.com"); }, 1},
        {"ip", [](SearchRequest& r) { r.set_ip("192.0.2.7"); }, 1},
        {"tag", [](SearchRequest& r) { r.set_tag("bulk"); }, 50},
        {"kind", [](SearchRequest& r) { r.set_kind(RECORD_KIND_INDICATOR); }, 51},
        {"author", [author](SearchRequest& r) { r.mutable_author()->set_author(author); }, 51},
        {"kind, filter max TLP green",
         [](SearchRequest& r) {
           r.set_kind(RECORD_KIND_INDICATOR);
           r.mutable_filter()->set_max_tlp(TLP_GREEN);
         },
         50},
        {"kind, filter tag",
         [](SearchRequest& r) {
           r.set_kind(RECORD_KIND_INDICATOR);
           r.mutable_filter()->add_tags("apt-x");
         },
         1},
        {"kind, filter sightings only",
         [](SearchRequest& r) {
           r.set_kind(RECORD_KIND_INDICATOR);
           r.mutable_filter()->add_kinds(RECORD_KIND_SIGHTING);
         },
         0},
    };
  }

  // Each search, read in pages of 7, finds its records once each.
  void ExpectSearchesFind(const std::vector<SearchCase>& cases) {
    for (const SearchCase& c : cases) {
      SearchRequest request;
      c.query(request);
      request.set_limit(7);
      std::set<std::string> ids;
      for (int pages = 0; pages < 100; ++pages) {
        absl::StatusOr<SearchResponse> page = reader_->Search(request);
        ASSERT_TRUE(page.ok()) << c.name << ": " << page.status();
        EXPECT_LE(page->records_size(), 7) << c.name;
        for (const StoredRecord& r : page->records()) {
          EXPECT_TRUE(ids.insert(r.id()).second) << c.name << ": a record came twice";
        }
        if (page->next_page_token().empty()) break;
        request.set_page_token(page->next_page_token());
      }
      EXPECT_EQ(ids.size(), c.want) << c.name;
    }
  }

  // A sighting of the domain, then its retraction: both found from the domain.
  void SightAndRetract(const std::string& domain_id) {
    SightRequest sight;
    sight.set_type(INDICATOR_TYPE_DOMAIN);
    sight.set_value("c2.example.com");
    sight.set_count(4);
    absl::StatusOr<PublishResponse> sighting = publisher_->Sight(sight);
    ASSERT_TRUE(sighting.ok()) << sighting.status();
    SearchRequest by_value;
    by_value.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    by_value.mutable_indicator()->set_value("c2.example.com");
    EXPECT_EQ(reader_->Search(by_value)->records_size(), 2);  // the indicator and its sighting

    RetractRequest retract;
    retract.set_target(domain_id);
    retract.set_reason("false positive");
    absl::StatusOr<PublishResponse> retraction = publisher_->Retract(retract);
    ASSERT_TRUE(retraction.ok()) << retraction.status();
    GetRequest get;
    get.set_id(retraction->id());
    EXPECT_EQ(reader_->Get(get)->record().body().retraction().target(), domain_id);
    get.set_id(domain_id);
    EXPECT_EQ(reader_->Get(get)->record().retracted_by(), retraction->id());
  }

  void ExpectStatusCounts() {
    absl::StatusOr<StatusResponse> status = reader_->Status();
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_EQ(status->next_seq(), 54u);
    EXPECT_EQ(status->version(), std::string(kThreatmeshVersion));  // CMake's project version
    EXPECT_EQ(status->version(), "0.1.0");
    std::map<int, uint64_t> counts;
    for (const KindCount& c : status->counts()) counts[c.kind()] = c.count();
    EXPECT_EQ(counts[RECORD_KIND_INDICATOR], 51u);
    EXPECT_EQ(counts[RECORD_KIND_SIGHTING], 1u);
    EXPECT_EQ(counts[RECORD_KIND_RETRACTION], 1u);
    EXPECT_TRUE(status->public_key().starts_with("tmpk"));
    EXPECT_GT(status->store_bytes(), 0u);
  }

  void AddListAndRemoveAPeer() {
    AddPeerRequest add;
    add.mutable_peer()->set_name("hub");
    add.mutable_peer()->set_address("127.0.0.1:7421");
    crypto::KeyPair hub = crypto::KeyPair::Generate();
    add.mutable_peer()->set_node_key(std::string(hub.public_key().bytes()));
    ASSERT_TRUE(admin_->AddPeer(add).ok());
    absl::StatusOr<ListPeersResponse> peers = admin_->ListPeers();
    ASSERT_TRUE(peers.ok());
    ASSERT_EQ(peers->peers_size(), 1);
    EXPECT_EQ(peers->peers(0).node_key(), hub.public_key().bytes());
    EXPECT_TRUE(absl::IsAlreadyExists(admin_->AddPeer(add)));
    RemovePeerRequest remove;
    remove.set_name("hub");
    ASSERT_TRUE(admin_->RemovePeer(remove).ok());
    EXPECT_EQ(admin_->ListPeers()->peers_size(), 0);
  }

  void ListAndRevokeTokens() {
    absl::StatusOr<ListTokensResponse> tokens = admin_->ListTokens();
    ASSERT_TRUE(tokens.ok());
    ASSERT_EQ(tokens->tokens_size(), 3);  // admin, publisher, reader
    EXPECT_EQ(tokens->tokens(1).name(), "publisher");
    RevokeTokenRequest revoke;
    revoke.set_name("publisher");
    ASSERT_TRUE(admin_->RevokeToken(revoke).ok());
    EXPECT_TRUE(absl::IsUnauthenticated(publisher_->Status().status()));
  }

  // The standard health service answers, without a token, SERVING: HealthCheckResponse
  // {status: 1}, which is the two bytes 08 01 on the wire (an empty request asks for the
  // whole server).
  void ExpectHealthServing() {
    std::string bytes;
    grpc::Status health =
        testing::RawUnaryCall(server_->address(), "/grpc.health.v1.Health/Check", "", "", &bytes);
    ASSERT_TRUE(health.ok()) << health.error_code() << " " << health.error_message();
    EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  }
  using Code = absl::StatusCode;
  struct ErrorCase {
    std::string name;
    std::function<absl::Status()> call;
    Code want;
  };

  // Each call answers with exactly its code, and says why.
  static void ExpectCodes(const std::vector<ErrorCase>& cases) {
    for (const ErrorCase& c : cases) {
      absl::Status s = c.call();
      EXPECT_EQ(s.code(), c.want) << c.name << ": " << s;
      EXPECT_FALSE(s.message().empty()) << c.name;
    }
  }

  // A record by another author, stored while the node is down (as peering will); the node
  // is started again, with new admin and publisher clients. Returns the record's id.
  std::string StoreForeignRecordWhileDown() {
    EXPECT_EQ(StopNode(), 0);
    crypto::KeyPair other = crypto::KeyPair::Generate();
    std::string id;
    {
      NodeConfig config;
      config.data_dir = data_;
      absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(config);
      EXPECT_TRUE(node.ok()) << node.status();
      if (!node.ok()) return "";
      RecordBody body = testing::IndicatorBody(other, INDICATOR_TYPE_DOMAIN, "theirs.example.com",
                                               SystemNowMs() - 1000);
      absl::StatusOr<VerifiedRecord> r = (*node)->Ingest(SealRecord(body, other), {});
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok()) id = r->id;
    }
    Start();
    admin_ = Client(admin_token_);
    publisher_ = Client(publisher_token_);
    return id;
  }

  // Callers without a token, with an unknown one, or below the call's role.
  std::vector<ErrorCase> CallerCases(NodeClient& nobody, NodeClient& forged, NodeClient& reader,
                                     const PublishRequest& good) {
    return {
        {"no token", [&] { return nobody.Publish(good).status(); }, Code::kUnauthenticated},
        {"unknown token", [&] { return forged.Publish(good).status(); }, Code::kUnauthenticated},
        {"read token publishes", [&] { return reader.Publish(good).status(); },
         Code::kPermissionDenied},
        {"read token sights",
         [&] {
           SightRequest s;
           s.set_type(INDICATOR_TYPE_DOMAIN);
           s.set_value("x.example.com");
           return reader.Sight(s).status();
         },
         Code::kPermissionDenied},
        {"publish token makes a token",
         [this] { return publisher_->CreateToken(Token("x", ROLE_READ)).status(); },
         Code::kPermissionDenied},
        {"publish token reads the audit",
         [this] { return publisher_->ReadAudit(ReadAuditRequest()).status(); },
         Code::kPermissionDenied},
    };
  }

  // Records that the rules refuse, and a deadline already past.
  std::vector<ErrorCase> PublishCases(const PublishRequest& good) {
    auto publish = [this](const PublishRequest& r) { return publisher_->Publish(r).status(); };
    auto with = [good](const std::function<void(RecordBody&)>& change) {
      PublishRequest r = good;
      change(*r.mutable_body());
      return r;
    };
    return {
        {"no kind",
         [=] {
           PublishRequest r;
           r.mutable_body()->set_tlp(TLP_GREEN);
           return publish(r);
         },
         Code::kInvalidArgument},
        {"bad indicator value", [=] { return publish(Indicator(INDICATOR_TYPE_IPV4, "1.2.3")); },
         Code::kInvalidArgument},
        {"author set",
         [=] { return publish(with([](RecordBody& b) { b.set_author(std::string(32, 'a')); })); },
         Code::kInvalidArgument},
        {"no TLP", [=] { return publish(with([](RecordBody& b) { b.set_tlp(TLP_UNSPECIFIED); })); },
         Code::kInvalidArgument},
        {"record over 1 MiB",
         [=] {
           return publish(with([](RecordBody& b) {
             b.mutable_indicator()->set_description(std::string(2 << 20, 'x'));
           }));
         },
         Code::kInvalidArgument},
        {"message over 4 MiB",
         [=] {
           return publish(with([](RecordBody& b) {
             b.mutable_indicator()->set_description(std::string(5 << 20, 'x'));
           }));
         },
         Code::kResourceExhausted},
        {"expired deadline",
         [this, good] {
           auto stub = Records::NewStub(
               grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
           grpc::ClientContext ctx;
           ctx.AddMetadata("authorization", "Bearer " + publisher_token_);
           ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
           PublishResponse response;
           grpc::Status s = stub->Publish(&ctx, good, &response);
           return absl::Status(static_cast<Code>(s.error_code()), s.error_message());
         },
         Code::kDeadlineExceeded},
    };
  }

  // Gets, searches and subscriptions that ask for what is not there or is not allowed.
  static std::vector<ErrorCase> ReadCases(NodeClient& reader) {
    auto search = [&reader](const std::function<void(SearchRequest&)>& change) {
      SearchRequest s;
      s.set_tag("a");
      change(s);
      return reader.Search(s).status();
    };
    auto get = [&reader](const std::string& id) {
      GetRequest g;
      g.set_id(id);
      return reader.Get(g).status();
    };
    return {
        {"unknown id", [=] { return get(std::string(32, '\x01')); }, Code::kNotFound},
        {"short id", [=] { return get("abc"); }, Code::kInvalidArgument},
        {"no query", [&reader] { return reader.Search(SearchRequest()).status(); },
         Code::kInvalidArgument},
        {"bad filter author",
         [=] { return search([](SearchRequest& s) { s.mutable_filter()->set_author("abc"); }); },
         Code::kInvalidArgument},
        {"bad filter kind",
         [=] {
           return search(
               [](SearchRequest& s) { s.mutable_filter()->add_kinds(static_cast<RecordKind>(9)); });
         },
         Code::kInvalidArgument},
        {"limit too high", [=] { return search([](SearchRequest& s) { s.set_limit(5000); }); },
         Code::kInvalidArgument},
        {"foreign page token",
         [=] { return search([](SearchRequest& s) { s.set_page_token("0199"); }); },
         Code::kInvalidArgument},
        {"subscribe beyond the feed",
         [&reader] {
           SubscribeRequest s;
           s.set_cursor(1000);
           return reader.Subscribe(s, [](const SubscribeEvent&) { return false; });
         },
         Code::kInvalidArgument},
    };
  }

  // Retractions of what cannot be retracted, and token calls that cannot be done.
  std::vector<ErrorCase> RetractAndTokenCases(const std::string& foreign_id) {
    auto retract = [this](const std::string& target) {
      RetractRequest r;
      r.set_target(target);
      return publisher_->Retract(r).status();
    };
    return {
        {"retract unknown", [=] { return retract(std::string(32, '\x02')); }, Code::kNotFound},
        {"retract another author's record", [=] { return retract(foreign_id); },
         Code::kPermissionDenied},
        {"duplicate token name",
         [this] { return admin_->CreateToken(Token("reader2", ROLE_READ)).status(); },
         Code::kAlreadyExists},
        {"bad token name",
         [this] { return admin_->CreateToken(Token("Bad Name", ROLE_READ)).status(); },
         Code::kInvalidArgument},
        {"revoke unknown token",
         [this] {
           RevokeTokenRequest r;
           r.set_name("nobody");
           return admin_->RevokeToken(r);
         },
         Code::kNotFound},
    };
  }
};

TEST_F(ServerRpcTest, EveryRpcSucceedsWithItsRole) {
  std::string domain_id, author;
  ASSERT_NO_FATAL_FAILURE(PublishDomainAndStream(&domain_id));
  ASSERT_NO_FATAL_FAILURE(GetAndVerify(domain_id, &author));
  ASSERT_NO_FATAL_FAILURE(ExpectSearchesFind(SearchCases(author)));
  ASSERT_NO_FATAL_FAILURE(SightAndRetract(domain_id));
  ASSERT_NO_FATAL_FAILURE(ExpectStatusCounts());
  ASSERT_NO_FATAL_FAILURE(AddListAndRemoveAPeer());
  ASSERT_NO_FATAL_FAILURE(ListAndRevokeTokens());
  ExpectHealthServing();
}

TEST_F(ServerRpcTest, ErrorPathsHaveExactCodesAndStoreNothing) {
  absl::StatusOr<PublishResponse> own =
      publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "own.example.com"));
  ASSERT_TRUE(own.ok()) << own.status();
  const std::string foreign_id = StoreForeignRecordWhileDown();
  ASSERT_FALSE(HasFailure());
  auto nobody = Client("");
  auto forged = Client("tmt_" + std::string(52, 'a'));
  auto reader_token = admin_->CreateToken(Token("reader2", ROLE_READ));
  ASSERT_TRUE(reader_token.ok());
  auto reader = Client(reader_token->token());
  const uint64_t stored_before = Stored();
  ASSERT_EQ(stored_before, 2u);

  const PublishRequest good = Indicator(INDICATOR_TYPE_DOMAIN, "new.example.com");
  ExpectCodes(CallerCases(*nobody, *forged, *reader, good));
  ExpectCodes(PublishCases(good));
  ExpectCodes(ReadCases(*reader));
  ExpectCodes(RetractAndTokenCases(foreign_id));
  EXPECT_EQ(Stored(), stored_before);
  SearchRequest s;
  s.set_domain_suffix("new.example.com");
  EXPECT_EQ(reader->Search(s)->records_size(), 0);
}

// Every rpc, called without a token, with an unknown one, with a role below its own, and with
// a deadline already past, answers with exactly the code for that, and changes nothing.
TEST_F(ServerRpcTest, EveryRpcRefusesBadCallersWithExactCodes) {
  absl::StatusOr<PublishResponse> own =
      publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "own.example.com"));
  ASSERT_TRUE(own.ok());
  std::vector<Rpc> rpcs = RecordsRpcs(own->id());
  for (Rpc& rpc : AdminRpcs(own->id())) rpcs.push_back(std::move(rpc));
  auto nobody = Client("");
  auto forged = Client("tmt_" + std::string(52, 'a'));
  auto lower = [&](Role needs) -> NodeClient* {
    if (needs == ROLE_PUBLISH) return reader_.get();
    if (needs == ROLE_ADMIN) return publisher_.get();
    return nullptr;  // nothing below read
  };
  ClientOptions expired_options;
  expired_options.address = server_->address();
  expired_options.token = admin_token_;
  expired_options.timeout = std::chrono::milliseconds(-1000);  // a deadline already past
  auto expired = *NodeClient::Connect(expired_options);
  const uint64_t stored = Stored();
  for (const Rpc& rpc : rpcs) {
    EXPECT_EQ(rpc.call(*nobody).code(), absl::StatusCode::kUnauthenticated) << rpc.name;
    EXPECT_EQ(rpc.call(*forged).code(), absl::StatusCode::kUnauthenticated) << rpc.name;
    if (NodeClient* weak = lower(rpc.needs)) {
      absl::Status s = rpc.call(*weak);
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << rpc.name << ": " << s;
      EXPECT_NE(s.message().find("needs role"), std::string::npos) << rpc.name << ": " << s;
    }
    if (rpc.name != "Subscribe" && rpc.name != "PublishStream") {  // streams carry no deadline
      EXPECT_EQ(rpc.call(*expired).code(), absl::StatusCode::kDeadlineExceeded) << rpc.name;
    }
  }
  EXPECT_EQ(Stored(), stored);
  EXPECT_EQ(admin_->ListTokens()->tokens_size(), 3);
  EXPECT_EQ(admin_->ListPeers()->peers_size(), 0);
}

}  // namespace
}  // namespace threatmesh
