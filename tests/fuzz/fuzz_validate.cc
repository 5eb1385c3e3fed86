// libFuzzer harness: record validation, the entry point every record from a peer or a client
// goes through. The input is tried twice: as a Signed envelope as it is, and, when it parses
// as a RecordBody, as that body authored and signed by the harness's own key, so that the
// checks after the signature (fields, kinds, key statements, times) run on fuzzed content.
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/keys.h"
#include "node/core/key_table.h"
#include "node/core/validate.h"
#include "threatmesh/v1/record.pb.h"

namespace {

const threatmesh::crypto::KeyPair& Key() {
  static const threatmesh::crypto::KeyPair key =
      *threatmesh::crypto::KeyPair::FromSeed(std::string(32, '\x07'));
  return key;
}

constexpr int64_t kNowMs = 1780272000000;  // 2026-06-01

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  threatmesh::KeyTable keys;
  threatmesh::ValidationOptions options;
  options.keys = &keys;
  (void)threatmesh::ValidateRecord(input, options, kNowMs);

  threatmesh::v1::RecordBody body;
  if (!body.ParseFromString(input)) return 0;
  body.set_author(std::string(Key().public_key().bytes()));
  threatmesh::v1::Signed envelope;
  envelope.set_payload(body.SerializeAsString());
  envelope.set_signature(Key().Sign(threatmesh::crypto::kRecordDomain, envelope.payload()));
  absl::StatusOr<threatmesh::VerifiedRecord> record =
      threatmesh::ValidateRecord(envelope.SerializeAsString(), options, kNowMs);
  if (record.ok() && threatmesh::IsKeyStatement(record->body)) {
    (void)keys.Add(record->id, record->body);
  }
  return 0;
}
