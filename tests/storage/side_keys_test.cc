#include "storage/side_keys.h"

#include <gtest/gtest.h>

#include "storage/index_keys.h"

namespace threatmesh::storage {
namespace {

// The layouts are stored on disk: these bytes must not change.
TEST(SideKeysTest, LayoutsAreStable) {
  EXPECT_EQ(PeerKey("hub"), "p/hub");
  EXPECT_EQ(PeerCursorKey("hub"), "c/hub");
  EXPECT_EQ(AuditEntryKey(258), std::string("e\0\0\0\0\0\0\x01\x02", 9));
  EXPECT_EQ(AuditCheckpointKey(1), std::string("c\0\0\0\0\0\0\0\x01", 9));
  EXPECT_EQ(AuditSeqOfKey(AuditEntryKey(123456789)), 123456789u);
  EXPECT_EQ(AuditSeqOfKey(AuditCheckpointKey(7)), 7u);
  const std::string id(32, '\xab');
  EXPECT_EQ(EvidenceKey(id, 3), id + "3");
  EXPECT_EQ(EvidenceKey(id, 12), id + "12");
}

// Audit entries sort by sequence, apart from checkpoints.
TEST(SideKeysTest, AuditKeysSortBySequence) {
  EXPECT_LT(AuditEntryKey(255), AuditEntryKey(256));
  EXPECT_LT(AuditEntryKey(1), AuditEntryKey(1ull << 40));
  EXPECT_LT(AuditCheckpointKey(1ull << 40), AuditEntryKey(1));
}

}  // namespace
}  // namespace threatmesh::storage
