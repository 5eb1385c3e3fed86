// Offline verification of STIX objects that threatmesh exported (docs/STIX.md, "The threatmesh
// extension"): the signed record in the extension must verify, be the record the extension
// names, and say what the object's properties say. What `threatmesh verify` runs on a STIX
// file. Pure; thread-safe.
#ifndef THREATMESH_NODE_INTEROP_STIX_VERIFY_H_
#define THREATMESH_NODE_INTEROP_STIX_VERIFY_H_

#include <string_view>

#include "node/proof/proof.h"

namespace threatmesh::interop {

// Whether `text` is a STIX object or bundle carrying threatmesh's extension.
bool IsThreatmeshStix(std::string_view text);

// Checks every object of `json` (one STIX object, or a bundle) that carries threatmesh's
// extension; objects without it (identities, markings) are not checked. kind "stix" in the
// result; kUnusable when nothing carries the extension or the text is not JSON; kInvalid
// naming the element at fault (signature, record_id, author, pattern, tlp, or the property
// that differs from the signed record); kValid when every check passed.
ProofResult VerifyStix(std::string_view json, int64_t now_ms);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_STIX_VERIFY_H_
