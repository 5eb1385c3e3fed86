// libFuzzer harness: the offline readers `threatmesh verify` runs on files from elsewhere:
// proof bundles (docs/PROOF-FORMAT.md) and audit trail exports, told apart by their format.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/proof/proof.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  threatmesh::ProofResult result = threatmesh::VerifyOfflineFile(text);
  (void)threatmesh::ProofResultJson(result);
  return 0;
}
