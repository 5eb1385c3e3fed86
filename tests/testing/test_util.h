// Helpers shared by the test suites: per-test temporary directories and signed records.
#ifndef THREATMESH_TESTS_TESTING_TEST_UTIL_H_
#define THREATMESH_TESTS_TESTING_TEST_UTIL_H_

#include <cstdint>
#include <string>

#include "crypto/keys.h"
#include "node/core/validate.h"
#include "storage/store.h"
#include "threatmesh/v1/api.pb.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A fixed clock for tests: 2026-06-01T00:00:00Z.
inline constexpr int64_t kTestNowMs = 1780272000000;

// The body of an indicator by `key` (value must already be normalized).
threatmesh::v1::RecordBody IndicatorBody(const crypto::KeyPair& key,
                                         threatmesh::v1::IndicatorType type,
                                         const std::string& value, int64_t created_at = 0);

// Signs `body` with `key` into Signed envelope bytes.
std::string Seal(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key);

// Validates `body` signed by `key` into a record ready for the store; aborts the test run on
// failure (helpers are only for valid records).
storage::RecordToStore ToStore(const threatmesh::v1::RecordBody& body, const crypto::KeyPair& key);

// `body` signed by `key` as the node's API hands a record out: id, signed bytes and body.
threatmesh::v1::StoredRecord StoredRecordOf(const threatmesh::v1::RecordBody& body,
                                            const crypto::KeyPair& key);

// The path of the threatmesh binary (set by CMake).
std::string ThreatmeshBinary();

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_TESTING_TEST_UTIL_H_
