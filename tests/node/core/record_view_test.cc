#include "node/core/record_view.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "testing/test_util.h"

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

// A record as the CLI shows it: one line, every field as text, and JSON.
class RecordViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    threatmesh::v1::RecordBody body = testing::IndicatorBody(
        key_, threatmesh::v1::INDICATOR_TYPE_DOMAIN, "evil.example.com", testing::kTestNowMs);
    body.add_labels("apt29");
    body.add_labels("bad\nlabel");  // a control character is shown escaped
    body.set_confidence(80);
    body.mutable_indicator()->set_description("C2 \"beacon\"");
    record_.signed_bytes = testing::Seal(body, key_);
    threatmesh::v1::Signed envelope;
    ASSERT_TRUE(envelope.ParseFromString(record_.signed_bytes));
    record_.id = crypto::RecordId(envelope.payload());
    record_.body = body;
  }
  crypto::KeyPair key_ = crypto::KeyPair::Generate();
  VerifiedRecord record_;
};

TEST_F(RecordViewTest, LineAndTextShowEveryField) {
  EXPECT_EQ(RecordLine(record_), crypto::HexEncode(record_.id) +
                                     "  2026-06-01T00:00:00.000Z  GREEN  " +
                                     "indicator domain evil.example.com");
  const std::string text = RecordText(record_);
  for (const std::string& want :
       {"id          " + crypto::HexEncode(record_.id),
        "author      " + key_.public_key().ToText() + " (" + key_.public_key().Fingerprint() + ")",
        std::string("created     2026-06-01T00:00:00.000Z"), std::string("tlp         GREEN"),
        std::string("kind        indicator domain evil.example.com"),
        std::string("description C2 \"beacon\""), std::string("confidence  80"),
        std::string("labels      apt29, bad\\x0Alabel")}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\nin:\n" << text;
  }
  EXPECT_EQ(text.find("bad\nlabel"), std::string::npos) << "a raw newline reached the terminal";
}

TEST_F(RecordViewTest, JsonParsesAndCarriesTheRecord) {
  const std::string json = RecordJson(record_);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& f = parsed.fields();
  EXPECT_EQ(f.at("id").string_value(), crypto::HexEncode(record_.id));
  EXPECT_EQ(f.at("author").string_value(), key_.public_key().ToText());
  EXPECT_EQ(f.at("fingerprint").string_value(), key_.public_key().Fingerprint());
  EXPECT_EQ(f.at("created_at").string_value(), "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(f.at("tlp").string_value(), "GREEN");
  EXPECT_EQ(f.at("kind").string_value(), "indicator");
  EXPECT_EQ(f.at("signed_hex").string_value(), crypto::HexEncode(record_.signed_bytes));
  EXPECT_EQ(f.at("body")
                .struct_value()
                .fields()
                .at("indicator")
                .struct_value()
                .fields()
                .at("value")
                .string_value(),
            "evil.example.com");
  EXPECT_EQ(f.at("body").struct_value().fields().at("labels").list_value().values(1).string_value(),
            "bad\nlabel");  // JSON carries the exact value
}

}  // namespace
}  // namespace threatmesh
