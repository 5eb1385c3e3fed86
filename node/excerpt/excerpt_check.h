// The release checklist of a log excerpt: what must hold before an excerpt is signed and
// shared. Each item passes or fails with its reason; `threatmesh check` prints them, and
// publishing refuses an excerpt with a failed item, listing those.
//
// Items, in order: tlp, window, events-in-window, time-zone, manifest, pii-scan, contact,
// author, size.
#ifndef THREATMESH_NODE_EXCERPT_EXCERPT_CHECK_H_
#define THREATMESH_NODE_EXCERPT_EXCERPT_CHECK_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "node/excerpt/sanitize.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

struct ExcerptCheckOptions {
  // What counts as internal for the PII scan (the sanitizer's own settings).
  SanitizeOptions internal;
  // Largest signed record, in bytes.
  std::size_t max_record_bytes = 1 << 20;
  // The user names the sanitizer knew (Sanitizer::known_users), looked for as whole words;
  // null when the excerpt is checked without its log (the shapes are still looked for).
  const absl::flat_hash_set<std::string>* known_users = nullptr;
};

// Runs every item on `body` (its log_excerpt; a body of another kind fails the first item).
// A draft has no author yet: the node sets its own key when it signs, and the author item
// says so; a set author must be a 32-byte key.
std::vector<threatmesh::v1::ChecklistItem> CheckExcerpt(const threatmesh::v1::RecordBody& body,
                                                        const ExcerptCheckOptions& options);

// Whether every item passed.
bool AllPassed(const std::vector<threatmesh::v1::ChecklistItem>& items);

// The PII scan's text rules, one pass each, ASCII case-insensitive where noted:
//   an e-mail address   local@domain.tld: [A-Za-z0-9._%+-]+ @ [A-Za-z0-9.-]+ . 2+ letters
//   a credential        (password|passwd|pwd|secret|token|api_key|apikey|session)=value
//                       (value up to &, white space or "; not pwd=/..., sudo's working
//                       directory), "authorization:", "bearer "
//                       with a token of 8+ [a-z0-9._-], "cookie:" with a value (any case)
// What the first match is, e.g. "an e-mail address" or "a credential (\"password=hu...\")",
// or empty when there is none.
std::string FindEmailOrCredential(std::string_view text);
// A user name in clear in `text`: in one of the shapes of node/excerpt/user_names.h, or one of
// `known` (may be null) standing as a whole word. What it is, e.g. "a user name (\"for
// alice\")", or empty when there is none.
std::string FindUserName(std::string_view text, const absl::flat_hash_set<std::string>* known);
// Whether `text` holds a pseudonym as the sanitizer makes them: "host-" or "user-" and 16
// base32 characters [a-z2-7], as a whole word.
bool HasPseudonym(std::string_view text);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_EXCERPT_CHECK_H_
