// The release checklist of a log excerpt: what must hold before an excerpt is signed and
// shared. Each item passes or fails with its reason; `threatmesh check` prints them, and
// publishing refuses an excerpt with a failed item, listing those.
//
// Items, in order: tlp, window, events-in-window, time-zone, manifest, pii-scan, contact,
// author, size.
#ifndef THREATMESH_NODE_EXCERPT_CHECK_H_
#define THREATMESH_NODE_EXCERPT_CHECK_H_

#include <string>
#include <vector>

#include "node/sanitize.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh {

struct ExcerptCheckOptions {
  // What counts as internal for the PII scan (the sanitizer's own settings).
  SanitizeOptions internal;
  // Largest signed record, in bytes.
  std::size_t max_record_bytes = 1 << 20;
};

// Runs every item on `body` (its log_excerpt; a body of another kind fails the first item).
// A draft has no author yet: the node sets its own key when it signs, and the author item
// says so; a set author must be a 32-byte key.
std::vector<threatmesh::v1::ChecklistItem> CheckExcerpt(const threatmesh::v1::RecordBody& body,
                                                        const ExcerptCheckOptions& options);

// Whether every item passed.
bool AllPassed(const std::vector<threatmesh::v1::ChecklistItem>& items);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_CHECK_H_
