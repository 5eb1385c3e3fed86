#include "node/mesh/peer_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "node/mesh/grpc/tls.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using v1::PeerAuth;
using v1::PeerHello;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PeerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"a", "b", "relay"}) {
      ASSERT_TRUE(WriteSelfSignedCertificate(dir_.Sub(std::string(n) + ".crt"),
                                             dir_.Sub(std::string(n) + ".key"),
                                             "127.0.0.1,localhost")
                      .ok());
      cert_hash_[n] = *CertificateHash(Slurp(dir_.Sub(std::string(n) + ".crt")));
    }
  }
  testing::TempDir dir_;
  std::map<std::string, std::string> cert_hash_;
  crypto::KeyPair a_ = crypto::KeyPair::Generate();
  crypto::KeyPair b_ = crypto::KeyPair::Generate();
};

TEST_F(PeerAuthTest, DirectConnectionAuthenticatesBothWays) {
  PeerHello ha = MakeHello(a_), hb = MakeHello(b_);
  ASSERT_TRUE(CheckHello(ha).ok());
  // A dialed B: A saw B's certificate, B saw A's.
  PeerAuth from_a = SignPeerAuth(a_, ha, hb, cert_hash_["b"]);
  PeerAuth from_b = SignPeerAuth(b_, hb, ha, cert_hash_["a"]);
  EXPECT_TRUE(VerifyPeerAuth(ha, hb, from_a, cert_hash_["b"]).ok());
  EXPECT_TRUE(VerifyPeerAuth(hb, ha, from_b, cert_hash_["a"]).ok());
}

TEST_F(PeerAuthTest, RelayWithItsOwnCertificateIsRefusedOnBothSides) {
  PeerHello ha = MakeHello(a_), hb = MakeHello(b_);
  // The relay terminates TLS on both sides with its own certificate and forwards the
  // handshake messages unchanged: each node signs the relay's certificate hash.
  PeerAuth from_a = SignPeerAuth(a_, ha, hb, cert_hash_["relay"]);
  PeerAuth from_b = SignPeerAuth(b_, hb, ha, cert_hash_["relay"]);
  absl::Status at_b = VerifyPeerAuth(ha, hb, from_a, cert_hash_["b"]);
  absl::Status at_a = VerifyPeerAuth(hb, ha, from_b, cert_hash_["a"]);
  EXPECT_TRUE(absl::IsPermissionDenied(at_b)) << at_b;
  EXPECT_TRUE(absl::IsPermissionDenied(at_a)) << at_a;
  EXPECT_NE(at_b.message().find("presents its own TLS certificate"), std::string::npos);
}

TEST_F(PeerAuthTest, ReplayedOrForgedAuthIsRefused) {
  PeerHello ha = MakeHello(a_), hb = MakeHello(b_);
  PeerAuth from_a = SignPeerAuth(a_, ha, hb, cert_hash_["b"]);
  // A new session has new challenges: the old signature does not carry over.
  PeerHello hb2 = MakeHello(b_);
  EXPECT_FALSE(VerifyPeerAuth(ha, hb2, from_a, cert_hash_["b"]).ok());
  // A key that is not the announced one.
  PeerHello impostor = ha;
  impostor.set_node_key(std::string(crypto::KeyPair::Generate().public_key().bytes()));
  EXPECT_FALSE(VerifyPeerAuth(impostor, hb, from_a, cert_hash_["b"]).ok());
  PeerAuth flipped = from_a;
  (*flipped.mutable_signature())[5] ^= 1;
  EXPECT_FALSE(VerifyPeerAuth(ha, hb, flipped, cert_hash_["b"]).ok());
}

TEST_F(PeerAuthTest, HelloIsChecked) {
  PeerHello h = MakeHello(a_);
  h.set_version(2);
  absl::Status s = CheckHello(h);
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_NE(s.message().find("protocol version 2"), std::string::npos) << s;
  h = MakeHello(a_);
  h.set_node_key("short");
  EXPECT_TRUE(absl::IsInvalidArgument(CheckHello(h)));
  h = MakeHello(a_);
  h.set_challenge("");
  EXPECT_TRUE(absl::IsInvalidArgument(CheckHello(h)));
  EXPECT_NE(MakeHello(a_).challenge(), MakeHello(a_).challenge());
}

TEST_F(PeerAuthTest, CertificatesAreWrittenOnceWithAPrivateKeyAndHashStably) {
  struct stat st;
  ASSERT_EQ(::stat(dir_.Sub("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(absl::IsAlreadyExists(
      WriteSelfSignedCertificate(dir_.Sub("a.crt"), dir_.Sub("other.key"), "localhost")));
  // The hash ignores how the PEM text is wrapped.
  std::string pem = Slurp(dir_.Sub("a.crt"));
  EXPECT_EQ(*CertificateHash("\n" + pem + "\n"), cert_hash_["a"]);
  EXPECT_EQ(cert_hash_["a"].size(), 32u);
  EXPECT_NE(cert_hash_["a"], cert_hash_["b"]);
  EXPECT_TRUE(absl::IsInvalidArgument(CertificateHash("not a certificate").status()));
}

}  // namespace
}  // namespace threatmesh
