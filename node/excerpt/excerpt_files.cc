#include "node/excerpt/excerpt_files.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/core/record_view.h"

namespace threatmesh {

absl::Status WriteFileReplacing(const std::string& path, std::string_view text) {
  // Written to a new file beside it, then renamed over it: a reader never sees half a file,
  // and a symlink at `path` is replaced, never written through. (Not synced: these are
  // working files, and a sync per excerpt part doubled the time of a large ingest.)
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return absl::UnavailableError(StrCat("cannot create ", path, ": ", std::strerror(errno),
                                         errno == ENOENT ? " (create its directory first)" : ""));
  }
  const mode_t mask = ::umask(0);
  ::umask(mask);
  (void)::fchmod(fd, 0666 & ~mask);
  int error = 0;
  for (std::size_t done = 0; done < text.size() && error == 0;) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
    } else {
      done += static_cast<std::size_t>(n);
    }
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    return absl::UnavailableError(StrCat("cannot write ", path, ": ", std::strerror(error),
                                         error == ENOSPC ? " (the disk is full)" : ""));
  }
  return absl::OkStatus();
}

std::string ExcerptPartPath(const std::string& out, int part) {
  const bool json = out.size() > 5 && out.compare(out.size() - 5, 5, ".json") == 0;
  char number[24];
  std::snprintf(number, sizeof number, ".part-%04d.json", part + 1);
  return StrCat(json ? out.substr(0, out.size() - 5) : out, number);
}

std::string ExcerptPartsList(const std::vector<std::string>& part_files) {
  std::string list = StrCat("{\"", kExcerptPartsKey, "\": [");
  for (std::size_t i = 0; i < part_files.size(); ++i) {
    list +=
        StrCat(i ? ", " : "", JsonString(std::filesystem::path(part_files[i]).filename().string()));
  }
  list += "]}\n";
  return list;
}

absl::StatusOr<v1::RecordBody> ReadExcerptFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read excerpt file ", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  v1::RecordBody body;
  if (!google::protobuf::util::JsonStringToMessage(text, &body).ok() || !body.has_log_excerpt()) {
    return absl::InvalidArgumentError(
        StrCat(path, " is not an excerpt written by 'threatmesh ingest-log'"));
  }
  return body;
}

absl::StatusOr<std::vector<v1::RecordBody>> ReadExcerptParts(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read excerpt file ", path));
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::vector<v1::RecordBody> parts;
  if (head.find(StrCat("\"", kExcerptPartsKey, "\"")) == std::string::npos) {
    absl::StatusOr<v1::RecordBody> body = ReadExcerptFile(path);
    if (!body.ok()) return body.status();
    parts.push_back(std::move(*body));
  } else {
    in.seekg(0);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    google::protobuf::Struct list;
    auto it = list.fields().end();
    if (google::protobuf::util::JsonStringToMessage(text, &list).ok()) {
      it = list.fields().find(kExcerptPartsKey);
    }
    if (it == list.fields().end() || !it->second.has_list_value()) {
      return absl::InvalidArgumentError(
          StrCat(path, " is neither an excerpt nor a list of excerpt parts"));
    }
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    for (const google::protobuf::Value& v : it->second.list_value().values()) {
      absl::StatusOr<v1::RecordBody> body = ReadExcerptFile((dir / v.string_value()).string());
      if (!body.ok()) {
        return absl::Status(body.status().code(),
                            StrCat(body.status().message(), ", listed in ", path,
                                   ": keep every part file that ingest-log wrote beside the "
                                   "list, or run ingest-log again"));
      }
      parts.push_back(std::move(*body));
    }
  }
  if (absl::Status s = CheckExcerptParts(parts); !s.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", s.message()));
  }
  return parts;
}

absl::StatusOr<std::vector<IndicatorProposal>> ReadProposals(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("cannot read indicator proposals ", path));
  std::vector<IndicatorProposal> out;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    absl::StatusOr<IndicatorProposal> p = ProposalFromJson(line);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", number, ": ", p.status().message(), "; nothing published"));
    }
    out.push_back(std::move(*p));
  }
  return out;
}

absl::StatusOr<SanitizeKeys> LoadSanitizeKeys(const std::string& path) {
  absl::StatusOr<std::string> key = crypto::ReadSecretFile(path, "sanitize key");
  if (!key.ok()) return key.status();
  crypto::ScopedWipe wipe(*key);
  std::string trimmed = *key;
  crypto::ScopedWipe wipe_trimmed(trimmed);
  // 32 raw bytes are the key whatever they are (a last byte may be a line feed); otherwise a
  // line of 64 hex digits, or 32 bytes and a line end.
  if (trimmed.size() != 32) {
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
      trimmed.pop_back();
    }
  }
  if (trimmed.size() == 64) {
    if (std::optional<std::string> raw = crypto::HexDecode(trimmed)) trimmed = *raw;
  }
  if (trimmed.size() != 32) {
    return absl::InvalidArgumentError(StrCat(
        "the sanitize key ", path, " must hold 32 bytes (or 64 hex digits), not ", trimmed.size()));
  }
  absl::StatusOr<crypto::CryptoPan> pan = crypto::CryptoPan::Create(trimmed);
  std::string name_key =
      crypto::Sha256(StrCat(std::string_view("threatmesh/sanitize-names/v1\0", 29), trimmed));
  crypto::ScopedWipe wipe_name(name_key);
  absl::StatusOr<crypto::Pseudonyms> names = crypto::Pseudonyms::Create(name_key);
  if (!pan.ok()) return pan.status();
  if (!names.ok()) return names.status();
  SanitizeKeys keys;
  keys.addresses = std::make_unique<crypto::CryptoPan>(std::move(*pan));
  keys.names = std::make_unique<crypto::Pseudonyms>(std::move(*names));
  return keys;
}

}  // namespace threatmesh
