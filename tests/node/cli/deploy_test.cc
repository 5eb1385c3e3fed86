// deploy/: the systemd unit passes `systemd-analyze verify` (with ExecStart pointing at the
// binary built here, since the unit names its installed path), and `cmake --install` lays out
// what the unit expects.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "testing/test_util.h"

namespace threatmesh {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `systemd-analyze verify` on `unit` (text) and returns its exit code and output.
int Verify(const testing::TempDir& dir, const std::string& unit, std::string* output) {
  std::ofstream(dir.Sub("threatmesh.service")) << unit;
  const std::string cmd =
      "systemd-analyze verify " + dir.Sub("threatmesh.service") + " >" + dir.Sub("out") + " 2>&1";
  const int status = std::system(cmd.c_str());
  *output = Slurp(dir.Sub("out"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DeployTest, SystemdUnitVerifiesAndIsHardened) {
  const std::string shipped =
      Slurp(std::string(THREATMESH_SOURCE_DIR) + "/deploy/threatmesh.service");
  ASSERT_NE(shipped.find("ExecStart=/usr/local/bin/threatmesh serve"), std::string::npos);
  const std::string unit = std::regex_replace(shipped, std::regex("/usr/local/bin/threatmesh"),
                                              testing::ThreatmeshBinary());
  testing::TempDir dir;
  std::string out;
  EXPECT_EQ(Verify(dir, unit, &out), 0) << out;
  EXPECT_EQ(out, "") << "systemd-analyze has remarks:\n" << out;
  for (const char* setting :
       {"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
        "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "User=threatmesh"}) {
    EXPECT_NE(shipped.find(setting), std::string::npos) << setting;
  }
  // The check can fail: a bad value and a missing binary are reported.
  std::string broken =
      std::regex_replace(unit, std::regex("ProtectSystem=strict"), "ProtectSystem=bogus");
  broken = std::regex_replace(broken, std::regex(testing::ThreatmeshBinary()), "/nonexistent/tm");
  EXPECT_NE(Verify(dir, broken, &out), 0);
  EXPECT_NE(out.find("not executable"), std::string::npos) << out;
}

// `cmake --install` (into a DESTDIR) puts the binary where the unit runs it, the unit where
// systemd finds it, and the example config as the config; a config already there is kept.
TEST(DeployTest, CmakeInstallLaysOutWhatTheUnitExpects) {
  testing::TempDir dest;
  const std::string install = "DESTDIR=" + dest.path() + " cmake --install " +
                              THREATMESH_BINARY_DIR + " --prefix /usr/local >" + dest.Sub("log") +
                              " 2>&1";
  ASSERT_EQ(std::system(install.c_str()), 0) << Slurp(dest.Sub("log"));
  const std::string bin = dest.Sub("usr/local/bin/threatmesh");
  EXPECT_EQ(::access(bin.c_str(), X_OK), 0) << Slurp(dest.Sub("log"));
  EXPECT_EQ(Slurp(dest.Sub("usr/local/lib/systemd/system/threatmesh.service")),
            Slurp(std::string(THREATMESH_SOURCE_DIR) + "/deploy/threatmesh.service"));
  const std::string example =
      Slurp(std::string(THREATMESH_SOURCE_DIR) + "/deploy/threatmesh.conf.example");
  EXPECT_EQ(Slurp(dest.Sub("etc/threatmesh/threatmesh.conf")), example);
  EXPECT_EQ(Slurp(dest.Sub("etc/threatmesh/threatmesh.conf.example")), example);
  // The installed binary runs.
  EXPECT_EQ(std::system((bin + " help >/dev/null 2>&1").c_str()), 0);
  // A second install keeps the operator's config.
  std::ofstream(dest.Sub("etc/threatmesh/threatmesh.conf")) << "listen = 127.0.0.1:7999\n";
  ASSERT_EQ(std::system(install.c_str()), 0) << Slurp(dest.Sub("log"));
  EXPECT_EQ(Slurp(dest.Sub("etc/threatmesh/threatmesh.conf")), "listen = 127.0.0.1:7999\n");
}

}  // namespace
}  // namespace threatmesh
