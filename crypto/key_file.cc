#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "crypto/encoding.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "crypto/unique_fd.h"

namespace threatmesh::crypto {
namespace {

constexpr std::string_view kFormat = "threatmesh-key-v1";
constexpr std::string_view kProtectionNone = "none";
constexpr std::string_view kProtectionSealed = "argon2id-xchacha20poly1305";

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  int err = errno;
  std::string msg = StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  if (err == ENOSPC) return absl::ResourceExhaustedError(StrCat(msg, "; free disk space"));
  return absl::UnavailableError(msg);
}

// The associated data binds the sealed seed to the format and public key.
std::string AssociatedData(std::string_view public_text) {
  return StrCat(kFormat, "\n", public_text);
}

absl::StatusOr<std::string> DeriveKey(std::string_view passphrase, std::string_view salt,
                                      unsigned long long opslimit, std::size_t memlimit) {
  std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.data()), key.size(), passphrase.data(),
                    passphrase.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                    opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        StrCat("Argon2id needs ", memlimit >> 20, " MiB of memory to derive the key file's key"));
  }
  return key;
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write key file", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveKeyFile(const std::string& path, const KeyPair& key,
                         const KeyFileOptions& options) {
  EnsureSodium();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(StrCat(
        "key file ", path, " already exists; threatmesh never overwrites a key, move it first"));
  }
  std::string public_text = key.public_key().ToText();
  std::string seed = key.Seed();
  ScopedWipe wipe_seed(seed);
  std::string body;
  ScopedWipe wipe_body(body);
  body.reserve(1024);  // no reallocation, so no unwiped copy of the seed is left behind
  StrAppend(&body, "# threatmesh node key: keep it secret, mode 0600\n", "format: ", kFormat,
            "\npublic: ", public_text, "\n");
  if (options.passphrase.empty()) {
    std::string hex = HexEncode(seed);
    ScopedWipe wipe_hex(hex);
    StrAppend(&body, "protection: ", kProtectionNone, "\nseed: ", hex, "\n");
  } else {
    std::string salt(crypto_pwhash_SALTBYTES, '\0');
    randombytes_buf(salt.data(), salt.size());
    std::string nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    absl::StatusOr<std::string> aead_key =
        DeriveKey(options.passphrase, salt, options.argon2_opslimit, options.argon2_memlimit);
    if (!aead_key.ok()) return aead_key.status();
    ScopedWipe wipe_key(*aead_key);
    std::string sealed(seed.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    std::string ad = AssociatedData(public_text);
    unsigned long long sealed_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        reinterpret_cast<unsigned char*>(sealed.data()), &sealed_len,
        reinterpret_cast<const unsigned char*>(seed.data()), seed.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
        reinterpret_cast<const unsigned char*>(nonce.data()),
        reinterpret_cast<const unsigned char*>(aead_key->data()));
    sealed.resize(sealed_len);
    StrAppend(&body, "protection: ", kProtectionSealed, "\nsalt: ", HexEncode(salt),
              "\nopslimit: ", options.argon2_opslimit, "\nmemlimit: ", options.argon2_memlimit,
              "\nnonce: ", HexEncode(nonce), "\nsealed: ", HexEncode(sealed), "\n");
  }

  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("cannot create key file", tmp);
  absl::Status status = WriteAll(fd.get(), body, tmp);
  if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoError("cannot sync key file", tmp);
  fd.reset();
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot rename key file to", path);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

namespace {

// The text of the key file at `path`: readable by its owner only, and small.
absl::StatusOr<std::string> ReadKeyFileText(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    absl::Status s = ErrnoError("cannot open key file", path);
    if (absl::IsNotFound(s)) {
      return absl::NotFoundError(
          StrCat("no key file at ", path, "; create one with 'threatmesh init --data-dir DIR'"));
    }
    return s;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat key file", path);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(StrCat(
        "key file ", path, " has mode ", mode,
        " and can be read by group or others; the secret key may be exposed. Run: chmod 600 ", path,
        " (and consider rotating the key)"));
  }
  constexpr off_t kMaxKeyFileBytes = 64 * 1024;
  if (st.st_size > kMaxKeyFileBytes) {
    return absl::DataLossError(StrCat("key file ", path, " is ", st.st_size,
                                      " bytes, far more than a key file holds; is --data-dir "
                                      "right?"));
  }
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size) + 1);
  char buf[4096];
  struct BufferWipe {
    char* p;
    std::size_t n;
    ~BufferWipe() { SecureWipe(p, n); }
  } wipe_buf{buf, sizeof buf};
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      SecureWipe(content);
      return ErrnoError("cannot read key file", path);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > static_cast<std::size_t>(kMaxKeyFileBytes)) break;
  }
  return content;
}

absl::Status Malformed(const std::string& path, std::string_view why) {
  return absl::DataLossError(
      StrCat("key file ", path, " is damaged: ", why, "; restore it from a backup"));
}

// The "name: value" lines of a key file ('#' lines are comments).
absl::Status ParseFields(const std::string& path, std::string_view content,
                         std::map<std::string, std::string>& fields) {
  std::string_view rest = content;
  while (!rest.empty()) {
    std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    if (line.empty() || line[0] == '#') continue;
    std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return Malformed(path, "a line has no \"name: value\"");
    fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
  }
  return absl::OkStatus();
}

// Opens the sealed seed of a passphrase-protected key file into `seed`.
absl::Status OpenSealedSeed(const std::string& path, std::map<std::string, std::string>& fields,
                            std::string_view passphrase, std::string& seed) {
  if (passphrase.empty()) {
    return absl::FailedPreconditionError(
        StrCat("key file ", path,
               " is protected by a passphrase; give it with --passphrase-file FILE or the "
               "THREATMESH_PASSPHRASE environment variable"));
  }
  auto malformed = [&path](const auto& why) { return Malformed(path, std::string(why)); };
  std::optional<std::string> salt = HexDecode(fields["salt"]);
  std::optional<std::string> nonce = HexDecode(fields["nonce"]);
  std::optional<std::string> sealed = HexDecode(fields["sealed"]);
  unsigned long long opslimit = 0;
  std::size_t memlimit = 0;
  if (!salt || salt->size() != crypto_pwhash_SALTBYTES || !nonce ||
      nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES || !sealed ||
      sealed->size() != kSeedSize + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
      !absl::SimpleAtoi(fields["opslimit"], &opslimit) ||
      !absl::SimpleAtoi(fields["memlimit"], &memlimit) || opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > (std::size_t{4} << 30)) {
    return malformed("the sealed seed's fields are incomplete or out of range");
  }
  absl::StatusOr<std::string> aead_key = DeriveKey(passphrase, *salt, opslimit, memlimit);
  if (!aead_key.ok()) return aead_key.status();
  ScopedWipe wipe_key(*aead_key);
  std::string ad = AssociatedData(fields["public"]);
  seed.resize(kSeedSize);
  unsigned long long seed_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(seed.data()), &seed_len, nullptr,
          reinterpret_cast<const unsigned char*>(sealed->data()), sealed->size(),
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
          reinterpret_cast<const unsigned char*>(nonce->data()),
          reinterpret_cast<const unsigned char*>(aead_key->data())) != 0) {
    return absl::PermissionDeniedError(
        StrCat("wrong passphrase for key file ", path, " (or the file was altered)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeyPair> LoadKeyFile(const std::string& path, std::string_view passphrase) {
  EnsureSodium();
  absl::StatusOr<std::string> content = ReadKeyFileText(path);
  if (!content.ok()) return content.status();
  ScopedWipe wipe_content(*content);
  std::map<std::string, std::string> fields;
  // The map's copies of secret fields are wiped with it.
  struct MapWiper {
    std::map<std::string, std::string>& m;
    ~MapWiper() {
      for (auto& [k, v] : m) SecureWipe(v);
    }
  } map_wiper{fields};
  if (absl::Status s = ParseFields(path, *content, fields); !s.ok()) return s;
  auto malformed = [&path](const auto& why) { return Malformed(path, std::string(why)); };
  if (fields["format"] != kFormat) {
    return malformed(StrCat("format is \"", fields["format"], "\", expected \"", kFormat,
                            "\" (written by a newer threatmesh?)"));
  }
  absl::StatusOr<PublicKey> public_key = PublicKey::FromText(fields["public"]);
  if (!public_key.ok()) return malformed(public_key.status().message());

  std::string seed;
  ScopedWipe wipe_seed(seed);
  const std::string& protection = fields["protection"];
  if (protection == kProtectionNone) {
    std::optional<std::string> raw = HexDecode(fields["seed"]);
    if (!raw || raw->size() != kSeedSize) {
      if (raw) SecureWipe(*raw);
      return malformed("the seed is not 64 hex digits");
    }
    seed = std::move(*raw);
  } else if (protection == kProtectionSealed) {
    if (absl::Status s = OpenSealedSeed(path, fields, passphrase, seed); !s.ok()) return s;
  } else {
    return malformed(StrCat("unknown protection \"", protection, "\""));
  }

  absl::StatusOr<KeyPair> pair = KeyPair::FromSeed(seed);
  if (!pair.ok()) return malformed(pair.status().message());
  if (!(pair->public_key() == *public_key)) {
    return malformed("its public key does not belong to its secret key");
  }
  return pair;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                           std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError(StrCat("cannot read the ", what), path);
  struct stat st;
  std::string content;
  absl::Status status;
  if (::fstat(fd.get(), &st) != 0) {
    status = ErrnoError(StrCat("cannot stat the ", what), path);
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    status = absl::PermissionDeniedError(StrCat(
        "the ", what, " ", path, " has mode ", mode,
        " and can be read by group or others; the secret may be exposed. Run: chmod 600 ", path));
  } else if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    status = absl::InvalidArgumentError(
        StrCat("the ", what, " ", path, " is ", st.st_size, " bytes, more than ", max_bytes));
  } else {
    content.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < content.size()) {
      const ssize_t n = ::read(fd.get(), content.data() + got, content.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    content.resize(got);
  }
  if (!status.ok()) return status;
  return content;
}

}  // namespace threatmesh::crypto
