#include "node/core/json_string.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

namespace threatmesh {
namespace {

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonString("\n\t\r"), "\"\\n\\t\\r\"");
  EXPECT_EQ(JsonString(std::string("\x01\x1f\x00", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(JsonString("caf\xc3\xa9 \x7f"), "\"caf\xc3\xa9 \x7f\"");  // other bytes as they are
}

// The word-at-a-time path and the byte path agree, at every position of an escape and across
// the 512-byte chunks: the result parses back to the input.
TEST(JsonStringTest, LongTextRoundTripsThroughAJsonParser) {
  for (std::size_t len : {7u, 8u, 9u, 511u, 512u, 513u, 1500u}) {
    for (std::size_t at = 0; at < len; at += len / 7 + 1) {
      std::string s(len, 'x');
      s[at] = at % 3 == 0 ? '"' : at % 3 == 1 ? '\t' : '\x02';
      std::string out = "prefix";
      AppendJsonString(out, s);
      ASSERT_EQ(out.substr(0, 6), "prefix");
      google::protobuf::Value v;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.substr(6), &v).ok())
          << len << " " << at;
      EXPECT_EQ(v.string_value(), s) << len << " " << at;
    }
  }
}

}  // namespace
}  // namespace threatmesh
