// Sanitization of parsed log events and their raw lines before anything is signed:
//   - internal addresses (configured ranges; RFC 1918, RFC 6598 shared, loopback, link-local
//     and IPv6 ULA, loopback, link-local by default) -> Crypto-PAn pseudonyms, prefix
//     preserving (crypto/cryptopan.h);
//   - internal host and domain names (names under configured suffixes) and user names ->
//     keyed HMAC-SHA256 pseudonyms (crypto/pseudonym.h). User names are those of user.name
//     fields and those that free text gives in the shapes of node/excerpt/user_names.h; a user name
//     once known is replaced wherever it stands as a whole word, in every value and line, so
//     the same name gets the same pseudonym everywhere. LearnUsers, called on every line
//     before the first is sanitized, makes that hold for lines above the one naming a user;
//   - secrets -> removed: passwords, cookies, Authorization headers, URL query strings.
// Each transformed field is noted once in the manifest (field, method, algorithm, key id),
// which goes into the excerpt record. The raw line gets the same replacements, plus any
// internal address literal the parser did not name.
//
// Not thread-safe: one per excerpt.
#ifndef THREATMESH_NODE_EXCERPT_SANITIZE_H_
#define THREATMESH_NODE_EXCERPT_SANITIZE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "crypto/cryptopan.h"
#include "crypto/pseudonym.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

// An address range: the network address in network byte order (4 or 16 bytes) and a prefix
// length.
struct AddressRange {
  std::string network;
  int prefix = 0;
  bool Contains(std::string_view address) const;
};

// "10.0.0.0/8", "fd00::/8". InvalidArgument naming the text otherwise.
[[nodiscard]] absl::StatusOr<AddressRange> ParseAddressRange(std::string_view text);

// The ranges sanitized when none are configured.
std::vector<AddressRange> DefaultInternalRanges();

struct SanitizeOptions {
  std::vector<AddressRange> internal_ranges = DefaultInternalRanges();
  // Names equal to or under these suffixes are internal, e.g. "corp.example".
  std::vector<std::string> internal_suffixes;
  // Whether free text is searched for user names in the shapes of node/excerpt/user_names.h (off
  // only for formats that name no users in text, to spare the scan).
  bool users_in_text = true;
};

class Sanitizer {
 public:
  // `addresses` and `names` must outlive the sanitizer.
  Sanitizer(SanitizeOptions options, const crypto::CryptoPan& addresses,
            const crypto::Pseudonyms& names)
      : options_(std::move(options)), addresses_(addresses), names_(names) {
    for (const std::string& suffix : options_.internal_suffixes) {
      std::string lower = suffix;
      for (char& c : lower) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
      while (!lower.empty() && lower.back() == '.') lower.pop_back();
      names_need_dot_ = names_need_dot_ && lower.find('.') != std::string::npos;
      lower_suffixes_.push_back(std::move(lower));
    }
  }

  // Sanitizes `event` in place and its raw `line`, returning the sanitized line.
  std::string Sanitize(threatmesh::v1::LogEvent& event, std::string_view line);

  // Notes the user names that `event` and its `line` give (user.name fields; shapes in the
  // line), without sanitizing anything: a first pass over a log with this makes every later
  // Sanitize replace them wherever they stand, also above the line that named them.
  void LearnUsers(const threatmesh::v1::LogEvent& event, std::string_view line);
  // The user names known so far that are replaced wherever they stand as a whole word (see
  // IsReplaceableEverywhere): the release checklist looks for them in clear. Holds at most
  // kMaxKnownUsers; the shapes are still replaced past that.
  const absl::flat_hash_set<std::string>& known_users() const { return known_users_; }
  static constexpr std::size_t kMaxKnownUsers = 1 << 20;
  // Replaces every user name in `text` (the shapes, when users_in_text, and every known name
  // as a whole word) and learns the shapes' names. Returns whether it replaced any; `out`
  // then holds the whole text with the replacements, and otherwise is left alone.
  bool ReplaceUsers(std::string_view text, std::string& out);

  // Whether `address` (text) is in an internal range.
  bool IsInternalAddress(std::string_view address) const;
  // The same, told whether `address` holds a ':' (only IPv6 text does).
  bool IsInternalAddress(std::string_view address, bool colon) const;
  // Whether `name` is an internal name (under a configured suffix).
  bool IsInternalName(std::string_view name) const;
  // `text` with every internal address and name in it replaced; sets *addresses / *names
  // when it replaced one (either may be null).
  std::string Scan(std::string_view text, bool* addresses, bool* names) const;

  // Whether `text` holds an internal address or name, as Scan would find them, without
  // making the replacement; sets *addresses or *names (either may be null) for what it found
  // (an address when it holds both). One pass; the same answer as the two below.
  bool HasInternal(std::string_view text, bool* addresses, bool* names) const;
  // Whether some run of address (name) characters in `text` is an internal address (name):
  // the finds that Scan replaces.
  bool HasInternalAddress(std::string_view text) const;
  bool HasInternalName(std::string_view text) const;

  // One step per transformed field and method, in field order.
  std::vector<threatmesh::v1::SanitizationStep> Manifest() const;
  // The manifest, which then starts empty: for an excerpt written in parts, each part's
  // manifest names the steps applied to its own events.
  std::vector<threatmesh::v1::SanitizationStep> TakeManifest();

 private:
  // The replacement of one field value, or nullopt to leave it; notes the step.
  std::optional<std::string> Transform(const std::string& field, const std::string& value);
  std::string Note(const std::string& field, const char* method, const char* algorithm,
                   const std::string& key_id, std::string replacement);

  // The pseudonym of an address (text) or a name, remembered: logs repeat their clients
  // and names, and a Crypto-PAn address costs 32 or 128 AES blocks.
  // The returned text is valid until the next of these calls.
  const std::string& Address(std::string_view text) const;
  const std::string& Pseudonym(std::string_view kind, std::string_view value) const;
  template <typename Make>
  const std::string& Cached(char kind, std::string_view value, Make make) const;
  // The mark a run of name characters needs to be worth checking (see sanitize.cc).
  unsigned char NameRunsNeed() const;
  static constexpr std::size_t kCacheEntries = 1 << 17;  // then it starts over (~20 MB)

  // Notes `name` as a known user, when it may be replaced everywhere.
  void KnowUser(std::string_view name);

  SanitizeOptions options_;
  absl::flat_hash_set<std::string> known_users_;
  std::vector<std::string> lower_suffixes_;  // the internal suffixes, lower case, no final dot
  // Every internal suffix has a dot, so an internal name has one too (as an IPv4 address
  // does; an IPv6 address has a colon): text with neither holds nothing internal.
  bool names_need_dot_ = true;
  mutable absl::flat_hash_map<std::string, std::string> cache_;  // kind || value -> pseudonym
  mutable std::string cache_key_;                                // reused by Cached
  const crypto::CryptoPan& addresses_;
  const crypto::Pseudonyms& names_;
  std::map<std::string, threatmesh::v1::SanitizationStep, std::less<>>
      manifest_;          // by field || 0x00 || method
  std::string note_key_;  // reused by Note
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_SANITIZE_H_
