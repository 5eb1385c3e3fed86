// The fixture of the CLI tests: the real binary in a child process, with a data directory
// per test, and a served node when a test needs one.
#ifndef THREATMESH_TESTS_NODE_CLI_CLI_FIXTURE_H_
#define THREATMESH_TESTS_NODE_CLI_CLI_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "testing/serve_process.h"
#include "testing/test_util.h"

namespace threatmesh::testing {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliTest : public ::testing::Test {
 protected:
  // Runs the binary with `args`; or, with `binary` false, `args` as a command of its own.
  Result Run(const std::vector<std::string>& args, bool binary = true) {
    // A bound on every command, so that a server that should have refused to start cannot
    // hang the suite.
    std::string cmd =
        "env -u THREATMESH_PASSPHRASE -u THREATMESH_TOKEN -u THREATMESH_NODE "
        "timeout 120";
    if (binary) cmd += " " + Quote(ThreatmeshBinary());
    for (const std::string& a : args) cmd += " " + Quote(a);
    cmd += " </dev/null >" + Quote(dir_.Sub("out")) + " 2>" + Quote(dir_.Sub("err"));
    int status = std::system(cmd.c_str());
    Result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(dir_.Sub("out"));
    r.err = Slurp(dir_.Sub("err"));
    return r;
  }
  // Runs a command on the test node's data directory (and, once it serves, its address).
  Result RunOn(const std::string& command, std::vector<std::string> args) {
    args.insert(args.begin(), {command, "--data-dir", data_});
    if (server_ && command != "init" && command != "serve" && command != "key") {
      args.insert(args.begin() + 1, {"--node", server_->address()});
    }
    return Run(args);
  }
  std::string PublishId(std::vector<std::string> args) {
    args.push_back("--json");
    Result r = RunOn("publish", args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    std::regex id_re("\"id\":\"([0-9a-f]{64})\"");
    return std::regex_search(r.out, m, id_re) ? m[1].str() : "";
  }
  // Records stored on the node, from its status.
  long StoredCount() {
    Result r = RunOn("status", {"--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    if (!std::regex_search(r.out, m, std::regex("\"next_seq\":([0-9]+)"))) return -1;
    return std::stol(m[1].str()) - 1;
  }
  void Init() {
    Result r = RunOn("init", {});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Init, then serve.
  void StartNode() {
    Init();
    absl::StatusOr<std::unique_ptr<ServeProcess>> server = ServeProcess::Start(data_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // DIR/sanitize.key: 32 bytes, readable by its owner only (a secret: refused otherwise).
  void WriteSanitizeKey() {
    {
      std::ofstream key(dir_.Sub("sanitize.key"), std::ios::binary);
      key << std::string(32, 'k');
    }
    ::chmod(dir_.Sub("sanitize.key").c_str(), 0600);
  }

  TempDir dir_;
  std::string data_ = dir_.Sub("node");
  std::unique_ptr<ServeProcess> server_;
};

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_NODE_CLI_CLI_FIXTURE_H_
