// A node's life as its operators meet it, on a real process: subscribers that reconnect, the
// audit trail and its verification, kill -9 during loads, TLS, reflection, connections that
// never call, and a second node on the same data directory.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/audit.h"
#include "node/mesh/grpc/tls.h"
#include "node/serve/server_fixture.h"
#include "storage/side_keys.h"
#include "testing/wait.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.
using testing::Indicator;
using testing::RunCli;
using testing::ServeProcess;
using testing::ServerTest;

TEST_F(ServerTest, SubscriberThatReconnectsGetsEveryRecordOnceInOrder) {
  constexpr int kPerPublisher = 600;
  std::atomic<int> failures{0};
  auto publish = [&](int who) {
    auto client = Client(publisher_token_);
    for (int i = 0; i < kPerPublisher; i += 50) {
      std::vector<PublishRequest> batch;
      for (int j = i; j < i + 50; ++j) {
        batch.push_back(Indicator(
            INDICATOR_TYPE_DOMAIN,
            "p" + std::to_string(who) + "-" + std::to_string(j) + ".example.com", {"sub"}));
      }
      absl::StatusOr<PublishStreamResponse> r = client->PublishStream(batch);
      if (!r.ok() || r->stored() != 50) ++failures;
    }
  };
  std::vector<uint64_t> cursors;
  std::vector<std::string> ids;
  uint64_t cursor = 0;
  std::thread a(publish, 0), b(publish, 1);
  // Three subscriptions: the first two are dropped by the subscriber after a while.
  for (int session = 0; session < 3 && failures == 0; ++session) {
    auto client = Client(admin_token_);
    SubscribeRequest request;
    request.set_cursor(cursor);
    request.mutable_filter()->add_tags("sub");
    int taken = 0;
    absl::Status s = client->Subscribe(request, [&](const SubscribeEvent& e) {
      EXPECT_GE(e.cursor(), cursor);
      cursor = e.cursor();
      if (e.has_record()) {
        ids.push_back(e.record().id());
        cursors.push_back(e.cursor());
        ++taken;
      }
      if (session < 2) return taken < 300;
      return ids.size() < 2 * kPerPublisher;
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  a.join();
  b.join();
  ASSERT_EQ(failures, 0);
  ASSERT_EQ(ids.size(), 2u * kPerPublisher);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "duplicates";
  for (std::size_t i = 1; i < cursors.size(); ++i) {
    ASSERT_LT(cursors[i - 1], cursors[i]) << "out of order at " << i;
  }
  // Exactly the tagged records: the feed holds no others here.
  EXPECT_EQ(cursors.back(), Stored());
}

// What an audit test alters in a copy of the store, and what `audit verify` must then say.
struct Tamper {
  std::string name;
  std::function<void(storage::Store&)> apply;
  std::string want;
};

std::vector<Tamper> Tampers() {
  return {
      {"altered",
       [](storage::Store& s) {
         AuditEntry e;
         ASSERT_TRUE(e.ParseFromString(*s.GetAux(storage::kAudit, storage::AuditEntryKey(3))));
         e.set_who("someone-else");
         ASSERT_TRUE(
             s.PutAux(storage::kAudit, storage::AuditEntryKey(3), e.SerializeAsString(), true)
                 .ok());
       },
       "audit entry 3 was altered"},
      {"removed",
       [](storage::Store& s) {
         ASSERT_TRUE(s.DeleteAux(storage::kAudit, storage::AuditEntryKey(4), true).ok());
       },
       "audit entries 4 to 4 were removed"},
      {"swapped",
       [](storage::Store& s) {
         std::string five = *s.GetAux(storage::kAudit, storage::AuditEntryKey(5));
         std::string six = *s.GetAux(storage::kAudit, storage::AuditEntryKey(6));
         ASSERT_TRUE(s.PutAux(storage::kAudit, storage::AuditEntryKey(5), six, true).ok());
         ASSERT_TRUE(s.PutAux(storage::kAudit, storage::AuditEntryKey(6), five, true).ok());
       },
       "audit entry 5 was moved"},
  };
}

class ServerAuditTest : public ServerTest {
 protected:
  // One call of every rpc, some refused; `id` is the record published first.
  void MakeOneOfEveryCall(std::string* id) {
    absl::StatusOr<PublishResponse> p =
        publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "a.example.com"));
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(
        publisher_->PublishStream({Indicator(INDICATOR_TYPE_DOMAIN, "b.example.com")}).ok());
    GetRequest get;
    get.set_id(p->id());
    ASSERT_TRUE(reader_->Get(get).ok());
    SearchRequest search;
    search.set_tag("none");
    ASSERT_TRUE(reader_->Search(search).ok());
    SightRequest sight;
    sight.set_type(INDICATOR_TYPE_DOMAIN);
    sight.set_value("a.example.com");
    ASSERT_TRUE(publisher_->Sight(sight).ok());
    RetractRequest retract;
    retract.set_target(p->id());
    ASSERT_TRUE(publisher_->Retract(retract).ok());
    ASSERT_TRUE(
        reader_->Subscribe(SubscribeRequest(), [](const SubscribeEvent&) { return false; }).ok());
    ASSERT_TRUE(admin_->ListTokens().ok());
    ASSERT_TRUE(admin_->ListPeers().ok());
    AddPeerRequest add;
    add.mutable_peer()->set_name("hub");
    add.mutable_peer()->set_node_key(std::string(crypto::KeyPair::Generate().public_key().bytes()));
    ASSERT_TRUE(admin_->AddPeer(add).ok());
    RemovePeerRequest remove;
    remove.set_name("hub");
    ASSERT_TRUE(admin_->RemovePeer(remove).ok());
    absl::StatusOr<ReloadConfigResponse> reloaded = admin_->ReloadConfig();
    ASSERT_TRUE(reloaded.ok()) << reloaded.status();
    EXPECT_EQ(reloaded->outbound_policies_size(), 1);  // "default"
    absl::StatusOr<ListViolationsResponse> violations = admin_->ListViolations({});
    ASSERT_TRUE(violations.ok()) << violations.status();
    EXPECT_EQ(violations->violations_size(), 0);
    RevokeTokenRequest revoke;
    revoke.set_name("nobody");
    EXPECT_FALSE(admin_->RevokeToken(revoke).ok());
    EXPECT_FALSE(Client("")->Status().ok());
    *id = p->id();
  }

  // The trail holds an entry for each method, one refused for want of a token, and the
  // reader's Get naming the record it read.
  void ExpectEveryMethodAudited(const std::string& id) {
    Audit();  // a first read, so that the trail holds a ReadAudit entry too
    std::set<std::string> methods;
    bool anonymous_failure = false, reader_get = false;
    for (const AuditEntry& e : Audit()) {
      methods.insert(e.method());
      if (e.who().empty() && e.code() == static_cast<int>(absl::StatusCode::kUnauthenticated)) {
        anonymous_failure = true;
      }
      if (e.who() == "reader" && e.method() == "/threatmesh.v1.Records/Get") {
        reader_get = e.record_ids_size() == 1 && e.record_ids(0) == id;
      }
    }
    for (const char* m :
         {"Records/Publish", "Records/PublishStream", "Records/Get", "Records/Search",
          "Records/Sight", "Records/Retract", "Records/Subscribe", "Admin/Status",
          "Admin/CreateToken", "Admin/ListTokens", "Admin/RevokeToken", "Admin/ReadAudit",
          "Admin/AddPeer", "Admin/ListPeers", "Admin/RemovePeer", "Admin/ReloadConfig",
          "Admin/ListViolations"}) {
      EXPECT_TRUE(methods.count(std::string("/threatmesh.v1.") + m)) << m;
    }
    EXPECT_TRUE(anonymous_failure);
    EXPECT_TRUE(reader_get);
  }
};

// Every rpc leaves an entry naming the caller; `audit verify` finds an altered, a removed and
// a swapped entry and names it.
TEST_F(ServerAuditTest, AuditTrailRecordsEveryCallAndVerifyNamesTampering) {
  std::string id;
  ASSERT_NO_FATAL_FAILURE(MakeOneOfEveryCall(&id));
  ExpectEveryMethodAudited(id);
  std::string out;
  ASSERT_EQ(RunCli("audit verify --node " + server_->address() + " --data-dir " + data_, &out,
                   dir_.Sub("cli.out")),
            0)
      << out;
  ASSERT_EQ(StopNode(), 0);

  for (const Tamper& t : Tampers()) {
    const std::string copy = dir_.Sub("copy-" + t.name);
    std::filesystem::copy(data_, copy, std::filesystem::copy_options::recursive);
    {
      absl::StatusOr<std::unique_ptr<storage::Store>> store =
          storage::Store::Open(StorePath(copy), {});
      ASSERT_TRUE(store.ok()) << store.status();
      t.apply(**store);
    }
    absl::StatusOr<std::unique_ptr<ServeProcess>> server = ServeProcess::Start(copy);
    ASSERT_TRUE(server.ok()) << server.status();
    int code = RunCli("audit verify --node " + (*server)->address() + " --data-dir " + copy, &out,
                      dir_.Sub("cli.out"));
    EXPECT_EQ(code, 1) << t.name << ": " << out;
    EXPECT_NE(out.find(t.want), std::string::npos) << t.name << ": " << out;
  }
}

// kill -9 during bulk loads: every stream the node acknowledged is there and searchable after
// a restart, and the audit trail still verifies.
TEST_F(ServerTest, KillDuringPublishStreamLosesNoAcknowledgedRecord) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<int> acknowledged;  // batch numbers whose stream returned OK
  std::thread loader([&] {
    auto client = Client(publisher_token_);
    for (int batch = 0; batch < 400 && !stop; ++batch) {
      std::vector<PublishRequest> requests;
      for (int i = 0; i < 40; ++i) {
        requests.push_back(
            Indicator(INDICATOR_TYPE_DOMAIN,
                      "b" + std::to_string(batch) + "-" + std::to_string(i) + ".example.com",
                      {"batch-" + std::to_string(batch)}));
      }
      absl::StatusOr<PublishStreamResponse> r = client->PublishStream(requests);
      if (!r.ok()) break;
      EXPECT_EQ(r->stored(), 40u);
      std::lock_guard<std::mutex> lock(mu);
      acknowledged.push_back(batch);
    }
  });
  // Kill once a few batches are in, while the loader is mid-stream.
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acknowledged.size() >= 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  server_->Kill();
  stop = true;
  loader.join();
  ASSERT_GE(acknowledged.size(), 5u);

  Start();
  admin_ = Client(admin_token_);
  for (int batch : acknowledged) {
    SearchRequest by_tag;
    by_tag.set_tag("batch-" + std::to_string(batch));
    absl::StatusOr<SearchResponse> r = admin_->Search(by_tag);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->records_size(), 40) << "batch " << batch;
    SearchRequest by_value;
    by_value.mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    by_value.mutable_indicator()->set_value("b" + std::to_string(batch) + "-39.example.com");
    EXPECT_EQ(admin_->Search(by_value)->records_size(), 1) << "batch " << batch;
  }
  std::string out;
  EXPECT_EQ(RunCli("audit verify --node " + server_->address() + " --data-dir " + data_, &out,
                   dir_.Sub("cli.out")),
            0)
      << out;
}

// With a certificate and key configured, the API speaks TLS: a client that trusts the
// certificate gets answers, a plaintext client gets none, and so does a client trusting
// another CA.
TEST_F(ServerTest, TlsWhenACertificateIsConfigured) {
  ASSERT_EQ(StopNode(), 0);
  ASSERT_TRUE(
      WriteSelfSignedCertificate(dir_.Sub("cert.pem"), dir_.Sub("key.pem"), "127.0.0.1").ok());
  std::filesystem::create_directory(dir_.Sub("other"));
  ASSERT_TRUE(
      WriteSelfSignedCertificate(dir_.Sub("other/cert.pem"), dir_.Sub("other/key.pem"), "127.0.0.1")
          .ok());
  absl::StatusOr<std::unique_ptr<ServeProcess>> server = ServeProcess::Start(
      data_, {"--tls-cert", dir_.Sub("cert.pem"), "--tls-key", dir_.Sub("key.pem")});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  struct Case {
    std::string name;
    std::string ca;
    bool answers;
  };
  for (const Case& c : {Case{"trusted", dir_.Sub("cert.pem"), true}, Case{"plaintext", "", false},
                        Case{"other CA", dir_.Sub("other/cert.pem"), false}}) {
    ClientOptions options;
    options.address = server_->address();
    options.token = admin_token_;
    options.tls_ca = c.ca;
    options.timeout = std::chrono::seconds(5);
    absl::StatusOr<std::unique_ptr<NodeClient>> client = NodeClient::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    absl::StatusOr<StatusResponse> status = (*client)->Status();
    EXPECT_EQ(status.ok(), c.answers) << c.name << ": " << status.status();
  }
  std::string out;
  EXPECT_EQ(RunCli("status --node " + server_->address() + " --data-dir " + data_ + " --tls-ca " +
                       dir_.Sub("cert.pem"),
                   &out, dir_.Sub("cli.out")),
            0)
      << out;
}

// Server reflection lists the API's services, so generic gRPC tools can find and call them.
// The request is ServerReflectionRequest{list_services: ""} (field 7, bytes 3a 00).
TEST_F(ServerTest, ReflectionListsTheServices) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::CompletionQueue cq;
  auto next = [&] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next());
  grpc::Slice list_services(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&list_services, 1), response;
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(next());
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(next());
  call->WritesDone(reinterpret_cast<void*>(4));
  next();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  next();
  cq.Shutdown();
  while (next()) {
  }
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  for (const char* service :
       {"threatmesh.v1.Records", "threatmesh.v1.Admin", "grpc.health.v1.Health"}) {
    EXPECT_NE(bytes.find(service), std::string::npos) << service;
  }
}

// The descriptors `pid` has open now.
int OpenDescriptors(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// A TCP connection to `address` (127.0.0.1:PORT) that sends `bytes` and then nothing; -1 when
// it could not be made.
int HalfOpenConnection(const std::string& address, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in to = {};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  if (!bytes.empty()) (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return fd;
}

// Waits up to `limit` for `done`; whether it held.
bool WaitFor(std::chrono::milliseconds limit, const std::function<bool()>& done) {
  return testing::WaitUntil(done, limit);
}

// Strangers that open connections and send nothing (on the TLS peer port) or only the HTTP/2
// preface (on the API port), 6,000 of them, against a node allowed 1,000 descriptors: the node
// takes what its limits allow and closes the rest at once, keeps its store's descriptors, and
// closes the connections it took at the handshake timeout; the API serves reads and writes
// during and after, with no restart. A connection that finished its handshake but opens no
// call is closed at the idle timeout.
TEST_F(ServerTest, IdleAndHalfOpenConnectionsCannotExhaustTheNode) {
  StopNode();
  absl::StatusOr<std::unique_ptr<ServeProcess>> server =
      ServeProcess::Start(data_,
                          {"--peer-listen", "127.0.0.1:0", "--handshake-timeout-seconds", "2",
                           "--idle-timeout-seconds", "3"},
                          1000);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  admin_ = Client(admin_token_);
  publisher_ = Client(publisher_token_);
  ASSERT_TRUE(publisher_->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "before.example")).ok());
  // The test's own clients go, so that the node's descriptors count only the strangers.
  const int with_clients = OpenDescriptors(server_->pid());
  admin_.reset();
  publisher_.reset();
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5),
                      [&] { return OpenDescriptors(server_->pid()) < with_clients; }));
  const int baseline = OpenDescriptors(server_->pid());

  rlimit own;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &own), 0);
  own.rlim_cur = own.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &own), 0);
  ASSERT_GE(own.rlim_cur, 7000u) << "the test needs 7,000 descriptors of its own";
  std::vector<int> strangers;
  int made = 0;
  for (int i = 0; i < 5000; ++i) {
    const int fd = HalfOpenConnection(server_->peer_address(), "");
    if (fd >= 0) strangers.push_back(fd), ++made;
  }
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  for (int i = 0; i < 1000; ++i) {
    const int fd = HalfOpenConnection(server_->address(), preface);
    if (fd >= 0) strangers.push_back(fd), ++made;
  }
  EXPECT_GT(made, 5000);
  const int under_attack = OpenDescriptors(server_->pid());
  EXPECT_LT(under_attack, 1000) << "the node ran out of descriptors";

  // Within the handshake timeout (2 s, and a margin) the node has closed what it took.
  EXPECT_TRUE(WaitFor(std::chrono::seconds(15),
                      [&] { return OpenDescriptors(server_->pid()) <= baseline + 8; }))
      << OpenDescriptors(server_->pid()) << " open, " << baseline << " before";
  for (int fd : strangers) ::close(fd);

  // Reads and writes, on a fresh connection, with no restart.
  std::unique_ptr<NodeClient> fresh = Client(publisher_token_);
  absl::StatusOr<PublishResponse> after =
      fresh->Publish(Indicator(INDICATOR_TYPE_DOMAIN, "after.example"));
  ASSERT_TRUE(after.ok()) << after.status();
  GetRequest get;
  get.set_id(after->id());
  EXPECT_TRUE(fresh->Get(get).ok());

  // A connection that completed its handshake and opens no call is closed by the node when
  // idle (3 s). Seen from the node's descriptors: an idle client channel notices the close
  // only on gRPC's backup poll, every 5 s or later under load.
  const int with_fresh = OpenDescriptors(server_->pid());
  fresh.reset();
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5),
                      [&] { return OpenDescriptors(server_->pid()) < with_fresh; }));
  const int before_idle = OpenDescriptors(server_->pid());
  std::shared_ptr<grpc::Channel> idle =
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  ASSERT_TRUE(idle->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5), [&] {
    return OpenDescriptors(server_->pid()) > before_idle;
  })) << "the node does not hold the connection";
  EXPECT_TRUE(WaitFor(std::chrono::seconds(15), [&] {
    return OpenDescriptors(server_->pid()) <= before_idle;
  })) << "the idle connection is still open at the node";
  idle.reset();
}

// A connection that never sends a byte (a port scanner's, an idle dialer's) does not hold a
// stop until the handshake timeout: the node cuts what said nothing, on both ports, and
// stops as it does without them. A client mid-call would still get its grace period.
TEST_F(ServerTest, SilentConnectionsDoNotHoldUpAStop) {
  StopNode();
  absl::StatusOr<std::unique_ptr<ServeProcess>> server = ServeProcess::Start(
      data_, {"--peer-listen", "127.0.0.1:0", "--handshake-timeout-seconds", "60"});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  const int before = OpenDescriptors(server_->pid());
  const int api = HalfOpenConnection(server_->address(), "");
  const int peer = HalfOpenConnection(server_->peer_address(), "");
  ASSERT_GE(api, 0);
  ASSERT_GE(peer, 0);
  ASSERT_TRUE(WaitFor(std::chrono::seconds(5), [&] {
    return OpenDescriptors(server_->pid()) >= before + 2;
  })) << "the node did not take both connections";
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->Stop(), 0);
  const auto took = std::chrono::steady_clock::now() - started;
  // Without the cut, the stop lasts the server's shutdown grace (10 s; the handshake timeout
  // when that is shorter); with it, well under a second (a few under the sanitizers).
  EXPECT_LT(took, std::chrono::seconds(6))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  ::close(api);
  ::close(peer);
}

TEST_F(ServerTest, SecondNodeOnTheSameDataDirFailsAtOnce) {
  std::string out;
  EXPECT_EQ(RunCli("serve --listen 127.0.0.1:0 --data-dir " + data_, &out, dir_.Sub("cli.out")), 1);
  EXPECT_NE(out.find("in use by another threatmesh process"), std::string::npos) << out;
  EXPECT_EQ(StopNode(), 0);
  EXPECT_NE(server_->RestOfStdout().find("stopped"), std::string::npos);
}

}  // namespace
}  // namespace threatmesh
