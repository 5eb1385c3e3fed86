#include "storage/rocks_status.h"

#include <gtest/gtest.h>

namespace threatmesh::storage {
namespace {

// Each RocksDB failure becomes the code that says what to do, and a message naming the cause:
// running out of descriptors is not a full disk.
TEST(RocksStatusTest, CausesAreNamed) {
  struct Case {
    rocksdb::Status status;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {rocksdb::Status::IOError("While open a file for appending: /d/000012.log",
                                "Too many open files"),
       absl::StatusCode::kResourceExhausted, "out of file descriptors"},
      {rocksdb::Status::NoSpace("While appending to file: /d/000012.log", "No space left"),
       absl::StatusCode::kResourceExhausted, "the disk is full"},
      {rocksdb::Status::Corruption("bad block"), absl::StatusCode::kDataLoss, "corrupted"},
      {rocksdb::Status::IOError("lock /d/LOCK", "Resource temporarily unavailable"),
       absl::StatusCode::kFailedPrecondition, "in use by another threatmesh process"},
  };
  for (const Case& c : cases) {
    absl::Status s = FromRocks(c.status, "writing to /d");
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s;
  }
  // Running out of descriptors does not send the operator to free disk space.
  EXPECT_EQ(FromRocks(cases[0].status, "w").message().find("disk"), std::string::npos);
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
}

}  // namespace
}  // namespace threatmesh::storage
