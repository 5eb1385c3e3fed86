// verify: checks a proof bundle, an audit trail file (node/proof) or a STIX file threatmesh
// exported (node/interop) offline, no node needed.
#include <fstream>
#include <iterator>

#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "node/cli/commands.h"
#include "node/core/clock.h"
#include "node/interop/stix_verify.h"
#include "node/proof/proof.h"

namespace threatmesh::cli {
namespace {

int RunVerify(const po::variables_map& vm, Io& io) {
  const std::string path = vm["file"].as<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    io.err << "threatmesh: error: cannot read " << path << "\n";
    return kExitUsage;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ProofResult r = interop::IsThreatmeshStix(text) ? interop::VerifyStix(text, SystemNowMs())
                                                        : VerifyOfflineFile(text);
  const int code = r.verdict == ProofResult::Verdict::kValid     ? kExitOk
                   : r.verdict == ProofResult::Verdict::kInvalid ? kExitError
                                                                 : kExitUsage;
  if (vm.count("json")) {
    io.out << ProofResultJson(r) << "\n";
    return code;
  }
  for (const std::string& line : r.story) io.out << line << "\n";
  for (const ProofFailure& f : r.failures) {
    io.out << "FAIL  " << f.element << ": " << f.message;
    if (!f.key.empty()) {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(f.key);
      io.out << " (key " << (key.ok() ? key->ToText() : crypto::HexEncode(f.key)) << ")";
    }
    io.out << "\n";
  }
  if (r.verdict == ProofResult::Verdict::kValid) {
    io.out << (r.kind == "violation" ? "verdict: VIOLATION PROVEN, every signature verifies\n"
               : r.kind == "audit"   ? "verdict: VALID, the trail is intact\n"
               : r.kind == "stix"    ? "verdict: VALID, every object is its signed record\n"
                                     : "verdict: VALID, every check passed\n");
  } else if (r.verdict == ProofResult::Verdict::kInvalid) {
    io.out << "verdict: INVALID, " << r.failures.size() << " check(s) failed\n";
  } else {
    io.out << "verdict: UNUSABLE, " << path << " is not a proof bundle this verifier reads\n";
  }
  return code;
}

}  // namespace

Command VerifyCommand() {
  return {"verify",
          "check a proof bundle, audit trail or exported STIX file offline: no node needed",
          "threatmesh verify proof.json [--json]   |   threatmesh verify export.stix.json",
          [](po::options_description& d) {
            d.add_options()("file", po::value<std::string>()->required(), "the bundle");
          },
          RunVerify,
          {"file"},
          /*node_options=*/false};
}

}  // namespace threatmesh::cli
