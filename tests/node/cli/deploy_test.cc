// deploy/: the systemd unit passes `systemd-analyze verify` (with ExecStart pointing at the
// binary built here, since the unit names its installed path), `cmake --install` lays out
// what the unit expects, and the .deb CPack makes installs, runs and is removed cleanly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "node/cli/cli_fixture.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using testing::Slurp;

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

// Runs `cmd` in a shell, its output (both streams) in `out`; the exit code.
int Sh(const testing::TempDir& dir, const std::string& cmd, std::string* out = nullptr) {
  const int status = std::system((cmd + " >" + dir.Sub("sh.out") + " 2>&1").c_str());
  if (out != nullptr) *out = Slurp(dir.Sub("sh.out"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The unpacked package's binary makes a node in `data` and serves it until it says where it
// listens (at most 60 s), then gets SIGTERM; as `user` (empty: this user). Its output.
std::string InitAndServe(const testing::TempDir& dir, const std::string& bin,
                         const std::string& conf, const std::string& data,
                         const std::string& user) {
  const std::string as =
      user.empty() ? "" : "setpriv --reuid=" + user + " --regid=" + user + " --init-groups ";
  std::string out;
  EXPECT_EQ(Sh(dir, as + bin + " init --data-dir " + data, &out), 0) << out;
  const std::string log = dir.Sub("serve.out");
  Sh(dir, as + bin + " serve --config " + conf + " --data-dir " + data + " --listen 127.0.0.1:0 >" +
              log + " 2>&1 & pid=$!; for i in $(seq 600); do grep -q " + "'serving on' " + log +
              " && break; sleep 0.1; done; kill -TERM $pid; wait $pid");
  out = Slurp(log);
  EXPECT_NE(out.find("serving on 127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("stopped"), std::string::npos) << out;
  return out;
}

// Whether this machine may take a real install of the package for the test: root, no
// threatmesh package, user or directories of its own already there.
bool MayInstallForReal(const testing::TempDir& dir) {
  return ::geteuid() == 0 && Sh(dir, "dpkg-query -W threatmesh") != 0 &&
         Sh(dir, "getent passwd threatmesh") != 0 && ::access("/var/lib/threatmesh", F_OK) != 0 &&
         ::access("/etc/threatmesh", F_OK) != 0 && Sh(dir, "command -v adduser") == 0;
}

// The real install: the postinst makes the threatmesh user and /var/lib/threatmesh (0700),
// the configuration readable by the node only, starts nothing and says what to do; the node
// is made and served as that user; a purge removes the package and its configuration and
// keeps the data directory (then removed here, with the user).
void InstallRunAndPurge(const testing::TempDir& dir, const std::string& deb) {
  std::string out;
  ASSERT_EQ(Sh(dir, "dpkg -i " + deb, &out), 0) << out;
  EXPECT_NE(out.find("sudo -u threatmesh threatmesh init --data-dir /var/lib/threatmesh"),
            std::string::npos)
      << out;
  EXPECT_EQ(Sh(dir, "getent passwd threatmesh", &out), 0);
  EXPECT_NE(out.find(":/var/lib/threatmesh:/usr/sbin/nologin"), std::string::npos) << out;
  EXPECT_EQ(Sh(dir, "stat -c '%a %U' /var/lib/threatmesh /etc/threatmesh/threatmesh.conf", &out),
            0);
  EXPECT_EQ(out, "700 threatmesh\n640 root\n");
  EXPECT_NE(::access("/etc/systemd/system/multi-user.target.wants/threatmesh.service", F_OK), 0)
      << "the package enabled the unit";
  InitAndServe(dir, "/usr/bin/threatmesh", "/etc/threatmesh/threatmesh.conf", "/var/lib/threatmesh",
               "threatmesh");
  EXPECT_EQ(Sh(dir, "dpkg --purge threatmesh", &out), 0) << out;
  EXPECT_NE(::access("/usr/bin/threatmesh", F_OK), 0);
  EXPECT_NE(::access("/etc/threatmesh", F_OK), 0);
  EXPECT_EQ(::access("/var/lib/threatmesh/node.key", F_OK), 0) << "the node's key is kept";
  Sh(dir, "rm -rf /var/lib/threatmesh && userdel threatmesh");
}

// CPack makes the .deb from this build: its files, configuration files, dependencies and
// maintainer scripts are as described, lintian finds no error or warning, and unpacked into
// a throwaway root its binary makes a node and serves it. Where the machine allows (root, no
// threatmesh there yet), the package is also installed, run and purged for real.
TEST(DeployTest, TheDebInstallsRunsAndRemovesCleanly) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(
      Sh(dir, std::string("cd ") + THREATMESH_BINARY_DIR + " && cpack -G DEB -B " + dir.Sub("pkg"),
         &out),
      0)
      << out;
  std::regex generated(R"(package: (\S+\.deb) generated)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, generated)) << out;
  const std::string deb = m[1];
  ASSERT_EQ(Sh(dir, "dpkg-deb -f " + deb + " Package Depends Section", &out), 0) << out;
  EXPECT_NE(out.find("Package: threatmesh\n"), std::string::npos) << out;
  for (const char* dep : {"adduser", "libsodium23", "librocksdb", "libgrpc++"}) {
    EXPECT_NE(out.find(dep), std::string::npos) << dep << " in " << out;
  }
  ASSERT_EQ(Sh(dir, "dpkg-deb -c " + deb, &out), 0);
  for (const char* path :
       {"./usr/bin/threatmesh", "./usr/lib/systemd/system/threatmesh.service",
        "./etc/threatmesh/threatmesh.conf", "./usr/share/doc/threatmesh/copyright",
        "./usr/share/man/man1/threatmesh.1.gz"}) {
    EXPECT_NE(out.find(path), std::string::npos) << path << " not in\n" << out;
  }
  ASSERT_EQ(Sh(dir, "dpkg-deb -e " + deb + " " + dir.Sub("control")), 0);
  EXPECT_EQ(Slurp(dir.Sub("control/conffiles")),
            "/etc/threatmesh/threatmesh.conf\n/etc/threatmesh/threatmesh.conf.example\n");
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    EXPECT_EQ(Sh(dir, "sh -n " + dir.Sub(std::string("control/") + script), &out), 0) << out;
  }
  // The postinst enables nothing: "systemctl enable" only in the advice it prints.
  const std::string postinst = Slurp(dir.Sub("control/postinst"));
  auto count = [&](const std::string& what) {
    int n = 0;
    for (std::size_t at = postinst.find(what); at != std::string::npos;
         at = postinst.find(what, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("systemctl enable"), count("sudo systemctl enable --now threatmesh"));
  EXPECT_EQ(count("deb-systemd-helper"), 0);
  // lintian: informational notes only (README, "Installing the package", lists them).
  Sh(dir, "lintian " + deb, &out);
  EXPECT_EQ(out.find("\nE: "), std::string::npos) << out;
  EXPECT_EQ(out.find("\nW: "), std::string::npos) << out;
  EXPECT_EQ(out.rfind("E: ", 0), std::string::npos) << out;

  ASSERT_EQ(Sh(dir, "dpkg-deb -x " + deb + " " + dir.Sub("root")), 0);
  EXPECT_NE(Slurp(dir.Sub("root/usr/lib/systemd/system/threatmesh.service"))
                .find("ExecStart=/usr/bin/threatmesh serve"),
            std::string::npos);
  InitAndServe(dir, dir.Sub("root/usr/bin/threatmesh"),
               dir.Sub("root/etc/threatmesh/threatmesh.conf"), dir.Sub("data"), "");

  if (MayInstallForReal(dir)) {
    InstallRunAndPurge(dir, deb);
  } else {
    std::printf("not installed for real: not root, or threatmesh is on this machine already\n");
  }
}

}  // namespace
}  // namespace threatmesh
