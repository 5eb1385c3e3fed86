// The TAXII 2.1 server of a real node (serve --taxii-listen), driven by curl over loopback:
// credentials, paging, and the limits that keep the node up.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "node/interop/stix.h"
#include "node/mesh/grpc/tls.h"
#include "node/taxii/taxii.h"
#include "server_fixture.h"

namespace threatmesh {
namespace {

using namespace threatmesh::v1;  // NOLINT: the API's own types.

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct CurlResult {
  int status = 0;
  std::string headers;
  std::string body;
};

// What a client needs of an objects page, read off its text (a JSON parse of 25 MB in a
// sanitizer build would take most of a test's time; the page is JSON as the other tests
// check): the indicators' names, the `next` of a page with more, the date added last.
struct PageText {
  std::vector<std::string> names;
  std::string next, added_last;
};
PageText ReadPageText(const CurlResult& r) {
  PageText page;
  for (std::size_t at = r.body.find("\"name\":\""); at != std::string::npos;
       at = r.body.find("\"name\":\"", at + 1)) {
    const std::size_t begin = at + 8;
    page.names.push_back(r.body.substr(begin, r.body.find('"', begin) - begin));
  }
  const std::string more = "{\"more\":true,\"next\":\"";
  if (r.body.rfind(more, 0) == 0) {
    page.next = r.body.substr(more.size(), r.body.find('"', more.size()) - more.size());
  }
  const std::string header = "X-TAXII-Date-Added-Last: ";
  if (const std::size_t at = r.headers.find(header); at != std::string::npos) {
    const std::size_t begin = at + header.size();
    page.added_last = r.headers.substr(begin, r.headers.find('\r', begin) - begin);
  }
  return page;
}

class TaxiiServerTest : public testing::ServerTest {
 protected:
  TaxiiServerTest() {
    serve_args_ = {"--taxii-listen",      "127.0.0.1:0", "--handshake-timeout-seconds", "1",
                   "--max-message-bytes", "65536"};
  }

  // curl with `args` against `path` at the TAXII address.
  CurlResult Curl(const std::string& path, const std::vector<std::string>& args) {
    std::string cmd = "curl -s --max-time 20 -o " + dir_.Sub("curl.body") + " -D " +
                      dir_.Sub("curl.headers") + " -w '%{http_code}'";
    for (const std::string& a : args) cmd += " '" + a + "'";
    cmd += " '" + server_->taxii_address() + path + "' > " + dir_.Sub("curl.code");
    CurlResult r;
    if (std::system(cmd.c_str()) != 0) return r;
    const std::string code = Slurp(dir_.Sub("curl.code"));
    r.status = code.empty() ? 0 : std::stoi(code);
    r.headers = Slurp(dir_.Sub("curl.headers"));
    r.body = Slurp(dir_.Sub("curl.body"));
    return r;
  }

  // The node again, with a collection "inbox" that the publisher token reads and writes, and
  // an envelope of one indicator to post (envelope.json).
  void RestartWithInbox() {
    ASSERT_EQ(StopNode(), 0);
    std::ofstream(dir_.Sub("serve.conf")) << "[taxii.collection.inbox]\n"
                                             "title = Inbox\n"
                                             "readers = publisher\n"
                                             "writers = publisher\n";
    serve_args_.insert(serve_args_.end(), {"--config", dir_.Sub("serve.conf")});
    ASSERT_NO_FATAL_FAILURE(Start());
    publisher_ = Client(publisher_token_);
    std::ofstream(dir_.Sub("envelope.json")) << R"({"objects": [{"type": "indicator",
      "spec_version": "2.1", "id": "indicator--00000001-0000-4000-8000-0000000000aa",
      "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
      "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00.000Z",
      "pattern": "[domain-name:value = 'posted.example']"}]})";
  }

  // w.example, a second version of it, other.example, then the second version retracted:
  // the first version's id (its object's UUID), which then has three versions.
  std::string PublishTwoVersionsAndRetract() {
    auto publish = [&](const std::string& value, const std::string& supersedes) {
      PublishRequest request;
      request.mutable_body()->set_tlp(TLP_GREEN);
      request.mutable_body()->set_supersedes(supersedes);
      request.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
      request.mutable_body()->mutable_indicator()->set_value(value);
      absl::StatusOr<PublishResponse> r = publisher_->Publish(request);
      EXPECT_TRUE(r.ok()) << r.status();
      return r.ok() ? r->id() : "";
    };
    const std::string first = publish("w.example", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // a later `modified`
    const std::string second = publish("w.example", first);
    publish("other.example", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    RetractRequest retract;
    retract.set_target(second);
    EXPECT_TRUE(publisher_->Retract(retract).ok());
    return first;
  }

  // GET `path` expecting 200: its JSON (an empty object otherwise).
  nlohmann::json GetJson(const std::string& path, const std::vector<std::string>& args) {
    CurlResult r = Curl(path, args);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json::object();
  }

  // curl arguments that POST envelope.json with `token` and `content_type`.
  std::vector<std::string> Posting(const std::string& token, const std::string& content_type) {
    std::vector<std::string> args = Basic(token);
    args.insert(args.end(), {"-H", "Content-Type: " + content_type, "--data-binary",
                             "@" + dir_.Sub("envelope.json")});
    return args;
  }
  static constexpr const char* kTaxiiJson = "application/taxii+json;version=2.1";

  // Publishes GREEN domains p<from>.example .. p<to - 1>.example in one stream.
  void PublishDomains(int from, int to) {
    std::vector<PublishRequest> requests;
    for (int i = from; i < to; ++i) {
      PublishRequest r;
      r.mutable_body()->set_tlp(TLP_GREEN);
      r.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
      r.mutable_body()->mutable_indicator()->set_value("p" + std::to_string(i) + ".example");
      requests.push_back(std::move(r));
    }
    absl::StatusOr<PublishStreamResponse> done = publisher_->PublishStream(requests);
    EXPECT_TRUE(done.ok()) << done.status();
    if (done.ok()) {
      EXPECT_EQ(done->stored(), static_cast<uint64_t>(to - from));
    }
  }

  std::vector<std::string> Basic(const std::string& token) {
    return {"-u", "opencti:" + token, "-H", "Accept: application/taxii+json;version=2.1"};
  }
};

TEST_F(TaxiiServerTest, CurlPagesThroughTheCollectionWithBasicCredentials) {
  ASSERT_FALSE(server_->taxii_address().empty());
  for (int i = 0; i < 5; ++i) {
    PublishRequest request;
    request.mutable_body()->set_tlp(TLP_GREEN);
    request.mutable_body()->mutable_indicator()->set_type(INDICATOR_TYPE_DOMAIN);
    request.mutable_body()->mutable_indicator()->set_value("c2-" + std::to_string(i) + ".example");
    ASSERT_TRUE(publisher_->Publish(request).ok());
  }
  CurlResult discovery = Curl("/taxii2/", Basic(reader_token_));
  ASSERT_EQ(discovery.status, 200) << discovery.body;
  EXPECT_NE(discovery.headers.find("application/taxii+json;version=2.1"), std::string::npos);
  const std::string root = nlohmann::json::parse(discovery.body)["api_roots"][0];
  CurlResult collections = Curl("/threatmesh/collections/", Basic(reader_token_));
  ASSERT_EQ(collections.status, 200);
  const std::string id = nlohmann::json::parse(collections.body)["collections"][0]["id"];
  std::set<std::string> names;
  std::string next;
  for (int page = 0; page < 10; ++page) {
    CurlResult r =
        Curl("/threatmesh/collections/" + id + "/objects/?match%5Btype%5D=indicator&limit=2" +
                 (next.empty() ? "" : "&next=" + next),
             Basic(reader_token_));
    ASSERT_EQ(r.status, 200) << r.body;
    const nlohmann::json j = nlohmann::json::parse(r.body);
    for (const nlohmann::json& o : j["objects"]) names.insert(o["name"].get<std::string>());
    if (!j["more"].get<bool>()) break;
    next = j["next"];
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(root.rfind("http://", 0), 0u) << root;
}

// The rest of the API over the wire, against a node with a writable collection from its
// config: the API root, a collection, the match[] filters, the manifest, an object by id and
// its versions after a retraction, a POST and its status, and each refusal's status.
TEST_F(TaxiiServerTest, TheWholeApiOverTheWire) {
  ASSERT_NO_FATAL_FAILURE(RestartWithInbox());
  const std::string first = PublishTwoVersionsAndRetract();
  const std::vector<std::string> reader = Basic(reader_token_);
  const std::string collection = "/threatmesh/collections/" + taxii::DefaultCollectionId() + "/";
  EXPECT_EQ(GetJson("/threatmesh/", reader)["max_content_length"], 65536);
  EXPECT_EQ(GetJson(collection, reader)["can_read"], true);
  const std::string object_id = interop::StixObjectId("indicator", first);
  const nlohmann::json all = GetJson(collection + "objects/?match%5Bid%5D=" + object_id +
                                         "&match%5Bversion%5D=all&match%5Bspec_version%5D=2.1",
                                     reader);
  EXPECT_EQ(all["objects"].size(), 3u) << all;
  const nlohmann::json types = GetJson(collection + "objects/?match%5Btype%5D=indicator", reader);
  EXPECT_EQ(types["objects"].size(), 2u) << types;  // w (revoked) and other: the last versions
  EXPECT_EQ(GetJson(collection + "manifest/?match%5Bid%5D=" + object_id, reader)["objects"].size(),
            1u);
  const nlohmann::json by_id = GetJson(collection + "objects/" + object_id + "/", reader);
  ASSERT_EQ(by_id["objects"].size(), 1u) << by_id;
  EXPECT_EQ(by_id["objects"][0]["revoked"], true);
  EXPECT_EQ(GetJson(collection + "objects/" + object_id + "/versions/", reader)["versions"].size(),
            3u);
  // A POST to the inbox, then its status.
  const std::string inbox = "/threatmesh/collections/" + taxii::CollectionId("inbox") + "/";
  CurlResult posted = Curl(inbox + "objects/", Posting(publisher_token_, kTaxiiJson));
  ASSERT_EQ(posted.status, 202) << posted.body;
  const nlohmann::json status = nlohmann::json::parse(posted.body);
  EXPECT_EQ(status["success_count"], 1) << status;
  const nlohmann::json again = GetJson(
      "/threatmesh/status/" + status["id"].get<std::string>() + "/", Basic(publisher_token_));
  EXPECT_EQ(again["status"], "complete") << again;
  // Refusals: 403 (a reader posting), 404, 406, 415, 400.
  EXPECT_EQ(Curl(collection + "objects/", Posting(reader_token_, kTaxiiJson)).status, 403);
  EXPECT_EQ(Curl("/threatmesh/collections/no-such/objects/", reader).status, 404);
  EXPECT_EQ(
      Curl(collection + "objects/indicator--00000000-0000-4000-8000-000000000000/", reader).status,
      404);
  EXPECT_EQ(Curl(collection, {"-u", "x:" + reader_token_, "-H", "Accept: text/html"}).status, 406);
  EXPECT_EQ(Curl(inbox + "objects/", Posting(publisher_token_, "text/plain")).status, 415);
  EXPECT_EQ(Curl(collection + "objects/?limit=x", reader).status, 400);
  EXPECT_EQ(Curl(collection + "objects/?match%5Bversion%5D=newest", reader).status, 400);
  EXPECT_EQ(Curl(collection + "objects/?added_after=yesterday", reader).status, 400);
}

// 25,000 objects paged with limit=1000 while 5,000 of them are still being published: each
// seen once. Past the last page the client goes on with added_after (the last page's
// X-TAXII-Date-Added-Last), as `taxii pull` does.
TEST_F(TaxiiServerTest, PagingThrough25000ObjectsWhileRecordsArrive) {
  PublishDomains(0, 20000);
  std::atomic<bool> published{false};
  std::thread more([&] {
    for (int from = 20000; from < 25000; from += 500) PublishDomains(from, from + 500);
    published = true;
  });
  const std::string objects = "/threatmesh/collections/" + taxii::DefaultCollectionId() +
                              "/objects/?match%5Btype%5D=indicator&limit=1000";
  std::multiset<std::string> seen;
  std::string next, after;
  for (int round = 0; round < 2000 && seen.size() < 25000; ++round) {
    const std::string query = !next.empty()    ? "&next=" + next
                              : !after.empty() ? "&added_after=" + after
                                               : std::string();
    CurlResult r = Curl(objects + query, Basic(reader_token_));
    ASSERT_EQ(r.status, 200) << r.body;
    const PageText page = ReadPageText(r);
    seen.insert(page.names.begin(), page.names.end());
    EXPECT_LE(page.names.size(), 1000u);
    if (!page.added_last.empty()) after = page.added_last;
    next = page.next;
    if (next.empty() && !published) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  more.join();
  EXPECT_EQ(seen.size(), 25000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << "one twice";
}

TEST_F(TaxiiServerTest, RefusalsOverTheWire) {
  CurlResult none = Curl("/taxii2/", {});
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.headers.find("WWW-Authenticate: Basic"), std::string::npos) << none.headers;
  EXPECT_EQ(
      Curl("/taxii2/", {"-H", "Authorization: Bearer " + reader_token_, "-H", "Accept: text/html"})
          .status,
      406);
  // A body over max-message-bytes is refused before it is read.
  std::ofstream(dir_.Sub("big.json")) << std::string(200000, ' ');
  CurlResult big = Curl("/threatmesh/collections/x/objects/",
                        {"-u", "x:" + reader_token_, "-H", "Content-Type: application/taxii+json",
                         "--data-binary", "@" + dir_.Sub("big.json")});
  EXPECT_EQ(big.status, 413) << big.body;
  // A request header over 16 KB is refused before anything is looked up.
  CurlResult huge_header =
      Curl("/taxii2/", {"-u", "x:" + reader_token_, "-H", "X-Padding: " + std::string(20000, 'p')});
  EXPECT_EQ(huge_header.status, 431) << huge_header.body;
  // HEAD: the GET's status and length, no body.
  CurlResult head = Curl("/taxii2/", {"-I", "-u", "x:" + reader_token_});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body.find("api_roots"), std::string::npos)
      << head.body;  // (curl -I writes the headers there)
  EXPECT_NE(head.headers.find("Content-Length: "), std::string::npos) << head.headers;
  // Every request was audited, with the token's name for those that had one.
  absl::StatusOr<ReadAuditResponse> trail = admin_->ReadAudit([] {
    ReadAuditRequest r;
    r.set_limit(1000);
    return r;
  }());
  ASSERT_TRUE(trail.ok()) << trail.status();
  int taxii = 0;
  for (const StoredAuditEntry& e : trail->entries()) {
    AuditEntry entry;
    ASSERT_TRUE(entry.ParseFromString(e.entry()));
    if (entry.method().rfind("TAXII ", 0) == 0) ++taxii;
  }
  EXPECT_EQ(taxii, 3);  // the 401, the 406 and the HEAD; the 413 and 431 are refused first
}

// A client that connects and sends nothing is cut off after the request timeout (here the
// handshake timeout, 1 s), and the server still answers others.
TEST_F(TaxiiServerTest, AnIdleConnectionIsClosed) {
  const std::string address = server_->taxii_address().substr(7);  // past "http://"
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "not closed within 10 s";
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed by the server
  ::close(fd);
  EXPECT_EQ(Curl("/taxii2/", Basic(reader_token_)).status, 200);
}

// With the API's certificate and key, the TAXII server speaks HTTPS: curl trusting the
// certificate gets answers; curl trusting another certificate, or speaking plain HTTP, none.
TEST_F(TaxiiServerTest, HttpsWithTheApisCertificate) {
  ASSERT_EQ(StopNode(), 0);
  std::filesystem::create_directories(dir_.Sub("other"));
  ASSERT_TRUE(
      WriteSelfSignedCertificate(dir_.Sub("cert.pem"), dir_.Sub("key.pem"), "127.0.0.1").ok());
  ASSERT_TRUE(
      WriteSelfSignedCertificate(dir_.Sub("other/cert.pem"), dir_.Sub("other/key.pem"), "127.0.0.1")
          .ok());
  serve_args_.insert(serve_args_.end(),
                     {"--tls-cert", dir_.Sub("cert.pem"), "--tls-key", dir_.Sub("key.pem")});
  Start();
  ASSERT_EQ(server_->taxii_address().rfind("https://", 0), 0u) << server_->taxii_address();
  std::vector<std::string> trusted = Basic(reader_token_);
  trusted.insert(trusted.end(), {"--cacert", dir_.Sub("cert.pem")});
  CurlResult ok = Curl("/taxii2/", trusted);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("https://"), std::string::npos) << ok.body;  // the API root's URL
  std::vector<std::string> other = Basic(reader_token_);
  other.insert(other.end(), {"--cacert", dir_.Sub("other/cert.pem")});
  EXPECT_EQ(Curl("/taxii2/", other).status, 0);  // the handshake fails: no answer
  const std::string plain = "http://" + server_->taxii_address().substr(8);
  const std::string cmd =
      "curl -s --max-time 5 -o /dev/null -w '%{http_code}' -u x:" + reader_token_ + " '" + plain +
      "/taxii2/' > " + dir_.Sub("plain.code");
  (void)std::system(cmd.c_str());
  EXPECT_EQ(Slurp(dir_.Sub("plain.code")), "000");
}

// GET /metrics, beside TAXII on its listener: a read token (Bearer, or Basic as for TAXII)
// is enough and needed; without one the answer is 401 and says how a local scraper gets in;
// only GET and HEAD. With metrics-allow-unauthenticated, a loopback client needs no token (a
// token it sends must still be valid).
TEST_F(TaxiiServerTest, MetricsNeedAReadTokenUnlessAllowedForLoopback) {
  CurlResult none = Curl("/metrics", {});
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("metrics-allow-unauthenticated"), std::string::npos) << none.body;
  CurlResult read = Curl("/metrics", {"-H", "Authorization: Bearer " + reader_token_});
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.headers.find("text/plain; version=0.0.4"), std::string::npos) << read.headers;
  EXPECT_NE(read.body.find("# TYPE threatmesh_records gauge"), std::string::npos);
  EXPECT_EQ(Curl("/metrics", Basic(reader_token_)).status, 200);
  EXPECT_EQ(Curl("/metrics", {"-X", "POST", "-H", "Authorization: Bearer " + reader_token_}).status,
            405);

  ASSERT_EQ(StopNode(), 0);
  serve_args_.insert(serve_args_.end(), {"--metrics-allow-unauthenticated", "true"});
  ASSERT_NO_FATAL_FAILURE(Start());
  CurlResult open = Curl("/metrics", {});
  EXPECT_EQ(open.status, 200) << open.body;
  EXPECT_NE(open.body.find("threatmesh_start_time_seconds "), std::string::npos);
  EXPECT_EQ(Curl("/metrics", {"-H", "Authorization: Bearer tmt_wrong"}).status, 401);
  // TAXII itself still needs a token.
  EXPECT_EQ(Curl("/taxii2/", {}).status, 401);
}

}  // namespace
}  // namespace threatmesh
