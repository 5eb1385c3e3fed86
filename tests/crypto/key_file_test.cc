#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "crypto/encoding.h"
#include "testing/test_util.h"

namespace threatmesh::crypto {
namespace {

// Argon2id at its minimum cost keeps the tests fast; the format is the same.
KeyFileOptions FastSealed(std::string passphrase) {
  KeyFileOptions o;
  o.passphrase = std::move(passphrase);
  o.argon2_opslimit = 1;
  o.argon2_memlimit = 8192;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(KeyFileTest, PlainRoundTripWithMode0600) {
  testing::TempDir dir;
  const std::string path = dir.Sub("node.key");
  KeyPair key = KeyPair::Generate();
  ASSERT_TRUE(SaveKeyFile(path, key).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<KeyPair> loaded = LoadKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->public_key() == key.public_key());
  EXPECT_EQ(loaded->Seed(), key.Seed());
}

TEST(KeyFileTest, NeverOverwritesAKey) {
  testing::TempDir dir;
  const std::string path = dir.Sub("node.key");
  KeyPair key = KeyPair::Generate();
  ASSERT_TRUE(SaveKeyFile(path, key).ok());
  absl::Status again = SaveKeyFile(path, KeyPair::Generate());
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(LoadKeyFile(path)->public_key() == key.public_key());
}

TEST(KeyFileTest, GroupOrWorldReadableFileIsRefusedWithFix) {
  testing::TempDir dir;
  const std::string path = dir.Sub("node.key");
  ASSERT_TRUE(SaveKeyFile(path, KeyPair::Generate()).ok());
  for (mode_t mode : {0640, 0604, 0644, 0660}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    absl::StatusOr<KeyPair> loaded = LoadKeyFile(path);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(loaded.status().message().find("chmod 600 " + path), std::string::npos)
        << loaded.status();
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(LoadKeyFile(path).ok());
}

TEST(KeyFileTest, MissingFileSaysHowToCreateOne) {
  testing::TempDir dir;
  absl::StatusOr<KeyPair> loaded = LoadKeyFile(dir.Sub("absent.key"));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(loaded.status().message().find("threatmesh init"), std::string::npos);
}

TEST(KeyFileTest, SealedRoundTripAndPassphraseErrors) {
  testing::TempDir dir;
  const std::string path = dir.Sub("node.key");
  KeyPair key = KeyPair::Generate();
  ASSERT_TRUE(SaveKeyFile(path, key, FastSealed("correct horse")).ok());
  const std::string content = ReadFile(path);
  EXPECT_NE(content.find("protection: argon2id-xchacha20poly1305"), std::string::npos);
  EXPECT_EQ(content.find(HexEncode(key.Seed())), std::string::npos);

  absl::StatusOr<KeyPair> loaded = LoadKeyFile(path, "correct horse");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Seed(), key.Seed());

  EXPECT_EQ(LoadKeyFile(path, "wrong horse").status().code(), absl::StatusCode::kPermissionDenied);
  absl::StatusOr<KeyPair> none = LoadKeyFile(path);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("--passphrase-file"), std::string::npos);
}

TEST(KeyFileTest, AlteredFilesAreRefused) {
  testing::TempDir dir;
  KeyPair key = KeyPair::Generate();
  KeyPair other = KeyPair::Generate();
  struct Case {
    std::string name;
    KeyFileOptions options;
    std::string from, to;
    absl::StatusCode want;
  };
  const std::string pub = key.public_key().ToText();
  const std::vector<Case> cases = {
      {"format", {}, "threatmesh-key-v1", "threatmesh-key-v9", absl::StatusCode::kDataLoss},
      {"public key of another node",
       {},
       pub,
       other.public_key().ToText(),
       absl::StatusCode::kDataLoss},
      {"protection", {}, "protection: none", "protection: rot13", absl::StatusCode::kDataLoss},
      {"truncated seed", {}, "seed: ", "seed: 00", absl::StatusCode::kDataLoss},
      {"sealed public key swapped", FastSealed("pw"), pub, other.public_key().ToText(),
       absl::StatusCode::kPermissionDenied},
  };
  for (const Case& c : cases) {
    const std::string path = dir.Sub(c.name);
    ASSERT_TRUE(SaveKeyFile(path, key, c.options).ok());
    std::string content = ReadFile(path);
    std::size_t at = content.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.name;
    content.replace(at, c.from.size(), c.to);
    std::ofstream(path, std::ios::trunc) << content;
    absl::StatusOr<KeyPair> loaded = LoadKeyFile(path, c.options.passphrase);
    EXPECT_EQ(loaded.status().code(), c.want) << c.name << ": " << loaded.status();
  }
}

}  // namespace
}  // namespace threatmesh::crypto
