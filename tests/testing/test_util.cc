#include "testing/test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "crypto/hash.h"
#include "node/core/record_builder.h"

namespace threatmesh::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/threatmesh-test.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "mkdtemp failed for " << tmpl << "\n";
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

threatmesh::v1::RecordBody IndicatorBody(const crypto::KeyPair& key,
                                         threatmesh::v1::IndicatorType type,
                                         const std::string& value, int64_t created_at) {
  threatmesh::v1::RecordBody body;
  body.set_author(std::string(key.public_key().bytes()));
  body.set_created_at(created_at != 0 ? created_at : kTestNowMs - 1000);
  body.set_tlp(threatmesh::v1::TLP_GREEN);
  body.mutable_indicator()->set_type(type);
  body.mutable_indicator()->set_value(value);
  return body;
}

std::string Seal(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key) {
  return SealRecord(body, key);
}

storage::RecordToStore ToStore(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key) {
  absl::StatusOr<VerifiedRecord> r = ValidateRecord(Seal(body, key), {}, kTestNowMs);
  if (!r.ok()) {
    std::cerr << "test record does not validate: " << r.status() << "\n";
    std::abort();
  }
  return storage::RecordToStore{r->id, r->signed_bytes, r->body, {}};
}

threatmesh::v1::StoredRecord StoredRecordOf(const threatmesh::v1::RecordBody& body,
                                            const crypto::KeyPair& key) {
  threatmesh::v1::StoredRecord r;
  r.set_signed_record(Seal(body, key));
  threatmesh::v1::Signed envelope;
  envelope.ParseFromString(r.signed_record());
  r.set_id(crypto::RecordId(envelope.payload()));
  *r.mutable_body() = body;
  return r;
}

std::string ThreatmeshBinary() { return THREATMESH_BINARY; }

}  // namespace threatmesh::testing
