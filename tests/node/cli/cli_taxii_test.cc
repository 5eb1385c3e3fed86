// threatmesh taxii pull: one node pulls another's TAXII collection, only what is new each time;
// a server that misbehaves gets a clear error and the cursor stays at what was stored.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "cli_fixture.h"
#include "node/taxii/taxii.h"

namespace threatmesh {
namespace {

using testing::Result;
using testing::Slurp;

class CliTaxiiTest : public testing::CliTest {
 protected:
  void SetUp() override { StartNode(); }  // B, which pulls

  // Node A, serving TAXII, with `n` domains published.
  void StartSource(int n) {
    a_dir_ = dir_.Sub("a");
    ASSERT_EQ(Run({"init", "--data-dir", a_dir_}).exit_code, 0);
    absl::StatusOr<std::unique_ptr<testing::ServeProcess>> a =
        testing::ServeProcess::Start(a_dir_, {"--taxii-listen", "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    PublishAtA(0, n);
  }
  void PublishAtA(int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_EQ(Run({"publish", "--type", "domain", "--value", "a" + std::to_string(i) + ".example",
                     "--tlp", "green", "--node", a_->address(), "--data-dir", a_dir_})
                    .exit_code,
                0);
    }
  }
  // taxii pull at B from `root`, with `extra` arguments.
  Result Pull(const std::string& root, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"pull",
                                     root,
                                     "--collection",
                                     taxii::DefaultCollectionId(),
                                     "--password-file",
                                     a_dir_ + "/admin.token",
                                     "--limit",
                                     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunOn("taxii", args);
  }
  static std::string Counts(const Result& r) {
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex("import: ([0-9]+) imported, ([0-9]+) already"))) {
      return "(no summary) " + r.out + r.err;
    }
    return m[1].str() + "/" + m[2].str();
  }
  nlohmann::json Sources() {
    Result r = RunOn("taxii", {"sources", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }

  std::string a_dir_;
  std::unique_ptr<testing::ServeProcess> a_;
};

TEST_F(CliTaxiiTest, PullsOnlyWhatIsNewAndResumesWhereItStopped) {
  ASSERT_NO_FATAL_FAILURE(StartSource(5));
  const std::string root = a_->taxii_address() + "/threatmesh/";
  const long before = StoredCount();
  // Stopped after one page ("interrupted"), then resumed: five records, none twice. (The
  // first page of 2 objects holds one record: the identities and marking it refers to come
  // with it.)
  Result first = Pull(root, {"--max-pages", "1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Counts(first), "1/0");
  Result rest = Pull(root);
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(Counts(rest), "4/0");
  EXPECT_EQ(StoredCount(), before + 5);
  Result again = Pull(root);
  EXPECT_EQ(Counts(again), "0/0") << "nothing new since the cursor";
  ASSERT_NO_FATAL_FAILURE(PublishAtA(5, 7));
  EXPECT_EQ(Counts(Pull(root)), "2/0");
  EXPECT_EQ(StoredCount(), before + 7);
  const nlohmann::json sources = Sources();
  ASSERT_EQ(sources.size(), 1u);
  const nlohmann::json& s = sources.begin().value();
  EXPECT_FALSE(s["added_after"].get<std::string>().empty());
  EXPECT_NE(s["last_result"].get<std::string>().find("2 imported"), std::string::npos);
}

// A scripted server that misbehaves: each failure is named, exit code 1, and the cursor
// does not move past what the node stored.
TEST_F(CliTaxiiTest, AMisbehavingServerStopsThePullWithAClearError) {
  a_dir_ = dir_.Sub("unused");  // the password file: any line
  std::filesystem::create_directories(a_dir_);
  std::ofstream(a_dir_ + "/admin.token") << "secret\n";
  const std::string script =
      std::string(THREATMESH_SOURCE_DIR) + "/tests/node/cli/taxii_mock_server.py";
  const std::pair<const char*, const char*> cases[] = {
      {"badjson", "not JSON"},
      {"error500", "HTTP 500"},
      {"loop", "repeats an earlier page's"},
      {"huge", "larger than asked"},
  };
  for (const auto& [mode, message] : cases) {
    const std::string port_file = dir_.Sub(std::string(mode) + ".port");
    const std::string pid_file = dir_.Sub(std::string(mode) + ".pid");
    ASSERT_EQ(std::system(("python3 " + script + " " + mode + " > " + port_file +
                           " 2>/dev/null & echo $! > " + pid_file)
                              .c_str()),
              0);
    std::string port;
    for (int i = 0; i < 100 && port.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      port = Slurp(port_file);
      if (!port.empty() && port.back() != '\n') port.clear();  // not whole yet
    }
    ASSERT_FALSE(port.empty()) << mode;
    port.pop_back();
    const std::string root = "http://127.0.0.1:" + port + "/api1/";
    Result r = Pull(root);
    ::kill(std::stoi(Slurp(pid_file)), SIGTERM);
    EXPECT_EQ(r.exit_code, 1) << mode << ": " << r.out;
    EXPECT_NE(r.err.find(message), std::string::npos) << mode << ": " << r.err;
    const nlohmann::json sources = Sources();
    const nlohmann::json& s = sources[root + "collections/" + taxii::DefaultCollectionId() + "/"];
    if (std::string(mode) == "loop") {
      // The first page was stored: the cursor is its date added; the repeat was not fetched twice.
      EXPECT_EQ(s.value("added_after", ""), "2026-12-01T00:00:00.000Z");
    } else {
      EXPECT_FALSE(s.contains("added_after")) << mode << ": " << s.dump();
    }
    EXPECT_NE(s.value("last_result", "").find(message), std::string::npos) << s.dump();
  }
}

}  // namespace
}  // namespace threatmesh
