#include "node/core/record_view.h"

#include <gtest/gtest.h>

namespace threatmesh {
namespace {

TEST(TimeTest, FormatAndParse) {
  EXPECT_EQ(FormatTime(1767225600123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
  struct Case {
    std::string text;
    int64_t want;
  };
  for (const Case& c : std::vector<Case>{{"1767225600123", 1767225600123},
                                         {"2026-01-01", 1767225600000},
                                         {"2026-01-01T00:00:01Z", 1767225601000},
                                         {"2026-01-01T00:00:01.5Z", 1767225601500},
                                         {"2026-01-01T00:00:01.123456Z", 1767225601123}}) {
    absl::StatusOr<int64_t> t = ParseTime(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status();
    EXPECT_EQ(*t, c.want) << c.text;
  }
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-01-01T25:00:00Z",
                          "2026-01-01T00:00:00", "2026-01-01T00:00:00+01:00"}) {
    absl::StatusOr<int64_t> t = ParseTime(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("YYYY-MM-DD"), std::string::npos);
    }
  }
}

TEST(JsonTest, EscapesControlAndQuotes) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace threatmesh
