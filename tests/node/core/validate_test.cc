#include "node/core/validate.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <random>

#include "crypto/hash.h"
#include "testing/test_util.h"

namespace threatmesh {
namespace {

using testing::IndicatorBody;
using testing::kTestNowMs;
using testing::Seal;
using threatmesh::v1::RecordBody;

class ValidateTest : public ::testing::Test {
 protected:
  RecordBody Valid() const {
    return IndicatorBody(key_, threatmesh::v1::INDICATOR_TYPE_DOMAIN, "evil.example.com");
  }
  absl::StatusOr<VerifiedRecord> Check(const std::string& bytes,
                                       const ValidationOptions& options = {}) const {
    return ValidateRecord(bytes, options, kTestNowMs);
  }
  crypto::KeyPair key_ = crypto::KeyPair::Generate();
};

TEST_F(ValidateTest, AcceptsAValidRecordAndKeepsItsBytes) {
  const std::string bytes = Seal(Valid(), key_);
  absl::StatusOr<VerifiedRecord> r = Check(bytes);
  ASSERT_TRUE(r.ok()) << r.status();
  threatmesh::v1::Signed envelope;
  ASSERT_TRUE(envelope.ParseFromString(bytes));
  EXPECT_EQ(r->id, crypto::Sha256(envelope.payload()));
  EXPECT_EQ(r->signed_bytes, bytes);
  EXPECT_EQ(r->body.indicator().value(), "evil.example.com");
}

TEST_F(ValidateTest, UnknownFieldsArePreservedAndCovered) {
  // A newer author's field (number 99) stays in the payload, in the id and in the signature.
  std::string payload = Valid().SerializeAsString();
  payload += std::string("\x9a\x06\x05hello", 8);  // field 99, wire type 2, "hello"
  threatmesh::v1::Signed envelope;
  envelope.set_payload(payload);
  envelope.set_signature(key_.Sign(crypto::kRecordDomain, payload));
  absl::StatusOr<VerifiedRecord> r = Check(envelope.SerializeAsString());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, crypto::Sha256(payload));
  EXPECT_EQ(r->signed_bytes, envelope.SerializeAsString());
}

TEST_F(ValidateTest, EveryTruncationIsRefused) {
  const std::string bytes = Seal(Valid(), key_);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<VerifiedRecord> r = Check(bytes.substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST_F(ValidateTest, EveryFlippedBitOfTheEnvelopeIsRefused) {
  const std::string bytes = Seal(Valid(), key_);
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string b = bytes;
    b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(Check(b).ok()) << "bit " << bit << " flipped and still accepted";
  }
}

TEST_F(ValidateTest, GarbageIsRefusedWithAMessage) {
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    std::string junk(1 + rng() % 300, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    absl::StatusOr<VerifiedRecord> r = Check(junk);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  }
  absl::StatusOr<VerifiedRecord> text = Check("this is not a record");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("record"), std::string::npos);
  EXPECT_NE(Check("").status().message().find("empty"), std::string::npos);
}

TEST_F(ValidateTest, OversizedRecordIsRefusedBeforeParsing) {
  RecordBody body = Valid();
  body.mutable_indicator()->set_description(std::string(2000, 'x'));
  const std::string bytes = Seal(body, key_);
  ValidationOptions small;
  small.max_record_bytes = 1024;
  absl::StatusOr<VerifiedRecord> r = Check(bytes, small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("above the limit of 1024 bytes"), std::string::npos);
  EXPECT_TRUE(Check(bytes).ok());  // under the default 1 MiB
  EXPECT_FALSE(Check(std::string((1 << 20) + 1, '\n')).ok());
}

TEST_F(ValidateTest, SignatureByAnotherKeyIsRefused) {
  crypto::KeyPair other = crypto::KeyPair::Generate();
  absl::StatusOr<VerifiedRecord> r = Check(Seal(Valid(), other));  // author is key_
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("signature does not verify for author " +
                                      key_.public_key().Fingerprint()),
            std::string::npos)
      << r.status();
}

TEST_F(ValidateTest, SignatureUnderAnotherDomainIsRefused) {
  const std::string payload = Valid().SerializeAsString();
  threatmesh::v1::Signed envelope;
  envelope.set_payload(payload);
  envelope.set_signature(key_.Sign(crypto::kHopDomain, payload));
  EXPECT_FALSE(Check(envelope.SerializeAsString()).ok());
}

TEST_F(ValidateTest, EnvelopeShapeErrors) {
  threatmesh::v1::Signed no_payload;
  no_payload.set_signature(std::string(64, 'x'));
  EXPECT_NE(Check(no_payload.SerializeAsString()).status().message().find("no payload"),
            std::string::npos);
  threatmesh::v1::Signed short_sig;
  short_sig.set_payload(Valid().SerializeAsString());
  short_sig.set_signature(std::string(63, 'x'));
  EXPECT_NE(Check(short_sig.SerializeAsString()).status().message().find("63 bytes"),
            std::string::npos);
  threatmesh::v1::Signed bad_payload;
  bad_payload.set_payload("\xff\xff\xff");
  bad_payload.set_signature(std::string(64, 'x'));
  EXPECT_NE(Check(bad_payload.SerializeAsString()).status().message().find("not a RecordBody"),
            std::string::npos);
}

struct FieldCase {
  std::string name;
  std::function<void(RecordBody&)> mutate;
  std::string message_part;  // empty: the record must be accepted
};

// Test names show the case name, not the parameter's bytes.
void PrintTo(const FieldCase& c, std::ostream* os) { *os << c.name; }

class ValidateFieldTest : public ValidateTest, public ::testing::WithParamInterface<FieldCase> {};

TEST_P(ValidateFieldTest, AppliesTheRule) {
  const FieldCase& c = GetParam();
  RecordBody body = Valid();
  c.mutate(body);
  // Sign with the key named as author when it is a real key, so the failure is the rule's.
  absl::StatusOr<VerifiedRecord> r = Check(Seal(body, key_));
  if (c.message_part.empty()) {
    EXPECT_TRUE(r.ok()) << c.name << ": " << r.status();
    return;
  }
  ASSERT_FALSE(r.ok()) << c.name << " was accepted";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
      << c.name << ": " << r.status().message();
  // The payload parsed, so the id is known and the message names the record.
  EXPECT_EQ(r.status().message().rfind("record ", 0), 0u) << r.status().message();
}

const std::string kOtherKey(32, '\x01');

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidateFieldTest,
    ::testing::Values(
        FieldCase{"author missing", [](RecordBody& b) { b.clear_author(); }, "author is 0 bytes"},
        FieldCase{"author short", [](RecordBody& b) { b.set_author("abc"); }, "author is 3 bytes"},
        FieldCase{"created_at missing", [](RecordBody& b) { b.set_created_at(0); },
                  "created_at is missing"},
        FieldCase{"created_at in 1970", [](RecordBody& b) { b.set_created_at(86400000); },
                  "created_at is 86400000 ms, before 2000-01-01"},
        // Free text that could rewrite an analyst's terminal or disguise a value.
        FieldCase{"description with a bidi override",
                  [](RecordBody& b) {
                    b.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
                    b.mutable_indicator()->set_value("example.com");
                    b.mutable_indicator()->set_description("see invoice\xe2\x80\xae" "fdp.exe");
                  },
                  "indicator description contains a bidirectional override"},
        FieldCase{"label with an isolate",
                  [](RecordBody& b) { b.add_labels("apt\xe2\x81\xa6x"); },
                  "contains a bidirectional override"},
        FieldCase{"retraction reason with an escape",
                  [](RecordBody& b) {
                    b.mutable_retraction()->set_target(std::string(32, 'x'));
                    b.mutable_retraction()->set_reason("oops\x1b[2J");
                  },
                  "retraction reason contains a control character"},
        FieldCase{"excerpt contact with a C1 control",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_source_format("bind-query");
                    e->set_window_start(kTestNowMs - 2000);
                    e->set_window_end(kTestNowMs - 1000);
                    e->set_contact("soc\xc2\x9b@example.org");
                  },
                  "log excerpt contact contains a control character"},
        FieldCase{"excerpt lines may hold tabs",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_source_format("zeek-dns");
                    e->set_window_start(kTestNowMs - 2000);
                    e->set_window_end(kTestNowMs - 1000);
                    e->add_lines("1795168800.0\tC1\t\x1b]0;title\x07");
                  },
                  ""},
        FieldCase{"tlp missing", [](RecordBody& b) { b.set_tlp(threatmesh::v1::TLP_UNSPECIFIED); },
                  "TLP is 0"},
        FieldCase{"tlp unknown",
                  [](RecordBody& b) { b.set_tlp(static_cast<threatmesh::v1::Tlp>(9)); },
                  "TLP is 9"},
        FieldCase{"kind missing", [](RecordBody& b) { b.clear_indicator(); }, "has no kind"},
        FieldCase{"created in the future",
                  [](RecordBody& b) { b.set_created_at(kTestNowMs + 10 * 60 * 1000); },
                  "600 s in the future"},
        FieldCase{"created within the skew",
                  [](RecordBody& b) { b.set_created_at(kTestNowMs + 60 * 1000); }, ""},
        FieldCase{"confidence 100", [](RecordBody& b) { b.set_confidence(100); }, ""},
        FieldCase{"confidence 101", [](RecordBody& b) { b.set_confidence(101); },
                  "confidence 101 is outside 0..100"},
        FieldCase{"validity reversed",
                  [](RecordBody& b) {
                    b.set_valid_from(kTestNowMs);
                    b.set_valid_until(kTestNowMs - 1);
                  },
                  "valid_until is before valid_from"},
        FieldCase{"validity ok",
                  [](RecordBody& b) {
                    b.set_valid_from(kTestNowMs);
                    b.set_valid_until(kTestNowMs + 1);
                  },
                  ""},
        FieldCase{"supersedes short", [](RecordBody& b) { b.set_supersedes("abc"); },
                  "supersedes is 3 bytes"},
        FieldCase{"label empty", [](RecordBody& b) { b.add_labels(""); }, "must be 1..128"},
        FieldCase{"label control", [](RecordBody& b) { b.add_labels("a\tb"); },
                  "control character"},
        FieldCase{"red without recipients",
                  [](RecordBody& b) { b.set_tlp(threatmesh::v1::TLP_RED); }, "names no recipients"},
        FieldCase{"red with recipient",
                  [](RecordBody& b) {
                    b.set_tlp(threatmesh::v1::TLP_RED);
                    b.mutable_handling()->add_recipients(kOtherKey);
                  },
                  ""},
        FieldCase{"recipient short",
                  [](RecordBody& b) {
                    b.set_tlp(threatmesh::v1::TLP_RED);
                    b.mutable_handling()->add_recipients("short");
                  },
                  "recipient is 5 bytes"},
        FieldCase{"recipients on green",
                  [](RecordBody& b) { b.mutable_handling()->add_recipients(kOtherKey); },
                  "only for TLP:RED"},
        FieldCase{"max_hops too high",
                  [](RecordBody& b) { b.mutable_handling()->set_max_hops(65); },
                  "max_hops 65 is above 64"},
        FieldCase{"empty community",
                  [](RecordBody& b) { b.mutable_handling()->add_communities(""); },
                  "community is empty"},
        FieldCase{"indicator not normalized",
                  [](RecordBody& b) { b.mutable_indicator()->set_value("EVIL.example.com."); },
                  "must sign \"evil.example.com\""},
        FieldCase{"indicator invalid",
                  [](RecordBody& b) { b.mutable_indicator()->set_value("not a domain"); },
                  "allowed are"},
        FieldCase{"indicator type unknown",
                  [](RecordBody& b) {
                    b.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_UNSPECIFIED);
                  },
                  "indicator type 0 is unknown"},
        FieldCase{"sighting ok",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                    s->set_count(3);
                  },
                  ""},
        FieldCase{"sighting count 0",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                  },
                  "count is 0"},
        FieldCase{"sighting reversed",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                    s->set_count(1);
                    s->set_first_seen(kTestNowMs - 1000);
                    s->set_last_seen(kTestNowMs - 2000);
                  },
                  "last_seen is before first_seen"},
        FieldCase{"sighting not normalized",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV6);
                    s->set_value("2001:DB8::1");
                    s->set_count(1);
                  },
                  "not in normalized form"},
        FieldCase{"retraction ok",
                  [](RecordBody& b) { b.mutable_retraction()->set_target(std::string(32, 'x')); },
                  ""},
        FieldCase{"retraction target short",
                  [](RecordBody& b) { b.mutable_retraction()->set_target("x"); },
                  "retraction target is 1 bytes"},
        FieldCase{"log excerpt ok",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_source_format("bind-query");
                    e->set_window_start(kTestNowMs - 2000);
                    e->set_window_end(kTestNowMs - 1000);
                  },
                  ""},
        FieldCase{"log excerpt window reversed",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_source_format("bind-query");
                    e->set_window_start(kTestNowMs - 1000);
                    e->set_window_end(kTestNowMs - 2000);
                  },
                  "window is missing or ends before it starts"},
        FieldCase{"log excerpt without format",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_window_start(kTestNowMs - 2000);
                    e->set_window_end(kTestNowMs - 1000);
                  },
                  "no source_format"},
        // Times: before 2000, past the clock skew, past 9999; a count past its limit.
        FieldCase{"sighting in 1970",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                    s->set_count(1);
                    s->set_first_seen(1000);
                    s->set_last_seen(2000);
                  },
                  "sighting first_seen is 1000 ms, before 2000-01-01"},
        FieldCase{"sighting in the future",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                    s->set_count(1);
                    s->set_first_seen(kTestNowMs - 3000);
                    s->set_last_seen(std::numeric_limits<int64_t>::max());
                  },
                  "sighting last_seen is 9223372036854775807 ms, after now"},
        FieldCase{"sighting count past the limit",
                  [](RecordBody& b) {
                    auto* s = b.mutable_sighting();
                    s->set_type(threatmesh::v1::INDICATOR_TYPE_IPV4);
                    s->set_value("192.0.2.1");
                    s->set_count(1000000000001);
                  },
                  "count 1000000000001 is above the limit of 1000000000000"},
        FieldCase{"valid_until past 9999",
                  [](RecordBody& b) {
                    b.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
                    b.mutable_indicator()->set_value("example.com");
                    b.set_valid_until(std::numeric_limits<int64_t>::max());
                  },
                  "valid_until is 9223372036854775807 ms, after 9999-12-31"},
        FieldCase{"valid_from in 1970",
                  [](RecordBody& b) {
                    b.mutable_indicator()->set_type(threatmesh::v1::INDICATOR_TYPE_DOMAIN);
                    b.mutable_indicator()->set_value("example.com");
                    b.set_valid_from(5);
                  },
                  "valid_from is 5 ms, before 2000-01-01"},
        FieldCase{"log excerpt window in 1970",
                  [](RecordBody& b) {
                    auto* e = b.mutable_log_excerpt();
                    e->set_source_format("bind-query");
                    e->set_window_start(1);
                    e->set_window_end(2);
                  },
                  "log excerpt window_start is 1 ms, before 2000-01-01"}),
    [](const ::testing::TestParamInfo<FieldCase>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace threatmesh
