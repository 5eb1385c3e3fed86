// The files of offline excerpt work: an excerpt as 'ingest-log' writes it (one JSON file, or
// a list of part files beside it), reviewed indicator proposals, the sanitize key. Reading
// checks what was read; writing replaces a file whole or not at all.
#ifndef THREATMESH_NODE_EXCERPT_EXCERPT_FILES_H_
#define THREATMESH_NODE_EXCERPT_EXCERPT_FILES_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/cryptopan.h"
#include "crypto/pseudonym.h"
#include "node/excerpt/excerpt_builder.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// Writes `text` to `path` through a new file beside it renamed over it: a reader never sees
// half a file, and a symlink at `path` is replaced, never written through. Not synced.
// Unavailable naming the file (and a full disk) when it cannot be written whole.
[[nodiscard]] absl::Status WriteFileReplacing(const std::string& path, std::string_view text);

// The key of the small file 'ingest-log --out' writes for an excerpt in several parts.
inline constexpr char kExcerptPartsKey[] = "excerpt_parts";

// "excerpt.json" -> "excerpt.part-0003.json" for part index 2.
std::string ExcerptPartPath(const std::string& out, int part);

// The list file of an excerpt in parts: {"excerpt_parts": [file names]}.
std::string ExcerptPartsList(const std::vector<std::string>& part_files);

// One excerpt file as 'ingest-log' writes it.
[[nodiscard]] absl::StatusOr<threatmesh::v1::RecordBody> ReadExcerptFile(const std::string& path);

// The excerpt behind `path`, one body per part in part order: either an excerpt file, or the
// list of part files 'ingest-log' writes for an excerpt in several parts (paths relative to
// the list's directory). InvalidArgument when the parts are not one complete excerpt.
[[nodiscard]] absl::StatusOr<std::vector<threatmesh::v1::RecordBody>> ReadExcerptParts(
    const std::string& path);

// Reads reviewed proposals (one JSON object per line; blank lines and lines starting with
// '#' are skipped). Every line must be a valid proposal, or nothing is published.
[[nodiscard]] absl::StatusOr<std::vector<IndicatorProposal>> ReadProposals(const std::string& path);

// The sanitization keys from a sanitize key file: 32 bytes, raw or as 64 hex digits,
// readable by its owner only. The Crypto-PAn key is those bytes (so addresses map as in any
// Crypto-PAn implementation given the same key); the name key is derived from them.
struct SanitizeKeys {
  std::unique_ptr<crypto::CryptoPan> addresses;
  std::unique_ptr<crypto::Pseudonyms> names;
};
[[nodiscard]] absl::StatusOr<SanitizeKeys> LoadSanitizeKeys(const std::string& path);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_EXCERPT_FILES_H_
