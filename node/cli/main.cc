// The threatmesh binary: every subcommand lives in node/cli.cc.
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "crypto/sodium.h"
#include "node/cli/cli.h"

int main(int argc, char** argv) {
#if !defined(THREATMESH_SANITIZED)
  // Abseil's lock-order (deadlock) detection, on in Debian's build of it, costs every lock
  // taken while another is held an update of a global graph (a few % of a busy node). The
  // sanitizer build keeps it, and every test runs there as well.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  threatmesh::crypto::EnsureSodium();
  return threatmesh::RunCli(argc, argv, std::cout, std::cerr);
}
