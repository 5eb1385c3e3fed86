#include "node/excerpt/excerpt_builder.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>

#include "crypto/str_cat.h"
#include "node/core/indicator.h"

namespace threatmesh {
namespace {

using threatmesh::v1::RecordBody;

// A builder over nginx access-log lines, with every part kept.
class ExcerptBuilderTest : public ::testing::Test {
 protected:
  ExcerptBuilderTest()
      : pan_(*crypto::CryptoPan::Create(std::string(32, 'p'))),
        names_(*crypto::Pseudonyms::Create(std::string(32, 'n'))),
        parser_(*MakeLogParser("nginx-combined")) {
    options_.tlp = threatmesh::v1::TLP_AMBER;
    options_.contact = "soc@example.org";
    sanitize_.internal_suffixes = {"corp.example"};
    options_.check.internal = sanitize_;
  }

  // Makes the builder; call after changing options_.
  ExcerptBuilder& Builder() {
    sanitizer_ = std::make_unique<Sanitizer>(sanitize_, pan_, names_);
    builder_ =
        std::make_unique<ExcerptBuilder>(options_, *sanitizer_, *parser_, [this](RecordBody part) {
          parts_.push_back(std::move(part));
          return absl::OkStatus();
        });
    return *builder_;
  }

  // Parses `line` and adds it; the line must parse.
  absl::Status AddLine(const std::string& line) {
    ParsedLine p = parser_->Parse(line);
    EXPECT_EQ(p.kind, ParsedLine::Kind::kEvent) << line << ": " << p.error;
    return builder_->Add(std::move(p.event), line);
  }

  // An access-log line from `ip` at second `s` of 2026-11-20 10:00 UTC.
  static std::string Line(const std::string& ip, int s, const std::string& path = "/index.html",
                          const std::string& agent = "curl/8.4.0") {
    char when[64];
    std::snprintf(when, sizeof when, "20/Nov/2026:10:%02d:%02d +0000", (s / 60) % 60, s % 60);
    return StrCat(ip, " - alice [", when, "] \"GET ", path,
                  "?session=s3cr3t HTTP/1.1\" 200 512 \"-\" \"", agent, "\"");
  }

  crypto::CryptoPan pan_;
  crypto::Pseudonyms names_;
  std::unique_ptr<LogParser> parser_;
  SanitizeOptions sanitize_;
  ExcerptBuilderOptions options_;
  std::unique_ptr<Sanitizer> sanitizer_;
  std::unique_ptr<ExcerptBuilder> builder_;
  std::vector<RecordBody> parts_;
};

// A log larger than one record is cut into parts that each fit the record limit, pass
// their checklist, carry their own window and manifest, and together hold every event.
TEST_F(ExcerptBuilderTest, ALargeLogIsSplitIntoPartsThatEachFit) {
  options_.max_record_bytes = kMinExcerptRecordBytes;
  ExcerptBuilder& builder = Builder();
  constexpr int kLines = 2000;
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(AddLine(Line(i % 2 ? "10.1.2.3" : "203.0.113.9", i)).ok());
  }
  ASSERT_TRUE(builder.Finish().ok());
  ASSERT_GT(parts_.size(), 2u);
  EXPECT_EQ(builder.parts(), static_cast<int>(parts_.size()));
  EXPECT_TRUE(builder.all_passed());
  int events = 0;
  int64_t previous_end = 0;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    const threatmesh::v1::LogExcerpt& x = parts_[i].log_excerpt();
    EXPECT_EQ(x.part(), i);
    EXPECT_EQ(x.source_format(), "nginx-combined");
    // Signed, a part stays within the limit: 64-byte signature and framing on top.
    EXPECT_LE(parts_[i].ByteSizeLong() + 64 + 16, options_.max_record_bytes);
    EXPECT_EQ(x.lines_size(), x.events_size());
    events += x.events_size();
    for (const auto& item : x.checklist()) EXPECT_TRUE(item.passed()) << i << " " << item.reason();
    // Its window is the span of its own events, and windows follow each other.
    EXPECT_EQ(x.window_start(), x.events(0).time());
    EXPECT_EQ(x.window_end(), x.events(x.events_size() - 1).time() + 1);
    EXPECT_GE(x.window_start(), previous_end);
    previous_end = x.window_end();
    std::set<std::string> fields;
    for (const auto& step : x.manifest()) fields.insert(step.field());
    EXPECT_TRUE(fields.count("src_endpoint.ip")) << i;
    EXPECT_TRUE(fields.count("url.query_string")) << i;
    EXPECT_TRUE(fields.count("user.name")) << i;
  }
  EXPECT_EQ(events, kLines);
  EXPECT_EQ(builder.events(), static_cast<uint64_t>(kLines));
}

// An event dated past 9999 (a garbled date can parse as INT64_MAX ms; found by fuzzing, the
// part's window end overflowed) or before 2000 is left out like one outside the window.
TEST_F(ExcerptBuilderTest, EventsOutsideThePossibleYearsAreLeftOut) {
  ExcerptBuilder& builder = Builder();
  ASSERT_TRUE(AddLine(Line("203.0.113.9", 1)).ok());
  for (int64_t t : {std::numeric_limits<int64_t>::max(), int64_t{253402300800000}, int64_t{5}}) {
    threatmesh::v1::LogEvent event = parser_->Parse(Line("203.0.113.9", 2)).event;
    event.set_time(t);
    ASSERT_TRUE(builder.Add(std::move(event), "x").ok()) << t;
  }
  ASSERT_TRUE(builder.Finish().ok());
  EXPECT_EQ(builder.events(), 1u);
  EXPECT_EQ(builder.outside_window(), 3u);
  ASSERT_EQ(parts_.size(), 1u);
  EXPECT_EQ(parts_[0].log_excerpt().window_end(), 1795168800000 + 1000 + 1);
}

TEST_F(ExcerptBuilderTest, AWindowLeavesEventsOutAndIsEveryPartsWindow) {
  options_.window_start = 1795168800000 + 10 * 1000;  // 10:00:10Z
  options_.window_end = 1795168800000 + 20 * 1000;    // 10:00:20Z
  ExcerptBuilder& builder = Builder();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(AddLine(Line("203.0.113.9", i)).ok());
  ASSERT_TRUE(builder.Finish().ok());
  ASSERT_EQ(parts_.size(), 1u);
  EXPECT_EQ(builder.events(), 10u);
  EXPECT_EQ(builder.outside_window(), 20u);
  EXPECT_EQ(parts_[0].log_excerpt().window_start(), options_.window_start);
  EXPECT_EQ(parts_[0].log_excerpt().window_end(), options_.window_end);
}

TEST_F(ExcerptBuilderTest, NoEventOrAnEventTooLargeForAPartIsAnError) {
  options_.window_start = 1;
  options_.window_end = 2;
  ExcerptBuilder& empty = Builder();
  ASSERT_TRUE(AddLine(Line("203.0.113.9", 1)).ok());
  absl::Status none = empty.Finish();
  EXPECT_EQ(none.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.message().find("no event inside the window (1 outside it)"), std::string::npos)
      << none;

  options_ = ExcerptBuilderOptions();
  options_.max_record_bytes = kMinExcerptRecordBytes;
  Builder();
  absl::Status big = AddLine(Line("203.0.113.9", 1, "/" + std::string(60000, 'a')));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("--max-record-bytes"), std::string::npos) << big;
  EXPECT_TRUE(parts_.empty());
}

// Proposals come from the events before sanitization, never from internal addresses or
// names, normalized, counted, with first and last times.
TEST_F(ExcerptBuilderTest, ProposesExternalIndicatorsWithCounts) {
  options_.propose_indicators = true;
  ExcerptBuilder& builder = Builder();
  ASSERT_TRUE(AddLine(Line("203.0.113.9", 5, "/a", "EvilBot/1.0")).ok());
  ASSERT_TRUE(AddLine(Line("203.0.113.9", 1, "/b", "EvilBot/1.0")).ok());
  ASSERT_TRUE(AddLine(Line("2001:db8::7", 3, "/c", "EvilBot/1.0")).ok());
  ASSERT_TRUE(AddLine(Line("10.1.2.3", 2, "/d", "Mozilla/5.0")).ok());
  ASSERT_TRUE(builder.Finish().ok());
  std::vector<IndicatorProposal> proposals = builder.Proposals();
  auto find = [&](threatmesh::v1::IndicatorType type,
                  const std::string& value) -> const IndicatorProposal* {
    for (const IndicatorProposal& p : proposals) {
      if (p.type == type && p.value == value) return &p;
    }
    return nullptr;
  };
  const IndicatorProposal* ip = find(threatmesh::v1::INDICATOR_TYPE_IPV4, "203.0.113.9");
  ASSERT_NE(ip, nullptr);
  EXPECT_EQ(ip->count, 2u);
  EXPECT_EQ(ip->field, "src_endpoint.ip");
  EXPECT_EQ(ip->first_seen, 1795168800000 + 1000);
  EXPECT_EQ(ip->last_seen, 1795168800000 + 5000);
  ASSERT_NE(find(threatmesh::v1::INDICATOR_TYPE_IPV6, "2001:db8::7"), nullptr);
  const IndicatorProposal* agent = find(threatmesh::v1::INDICATOR_TYPE_USER_AGENT, "EvilBot/1.0");
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(agent->count, 3u);
  // The internal client is not proposed; its user agent is (it is not an internal value).
  EXPECT_EQ(find(threatmesh::v1::INDICATOR_TYPE_IPV4, "10.1.2.3"), nullptr);
  EXPECT_NE(find(threatmesh::v1::INDICATOR_TYPE_USER_AGENT, "Mozilla/5.0"), nullptr);
  // Most seen first.
  EXPECT_EQ(proposals.front().value, "EvilBot/1.0");
}

TEST_F(ExcerptBuilderTest, ProposesDomainsAndUrlsButNotInternalNames) {
  LogParserOptions zone;
  zone.timezone = "UTC";
  parser_ = *MakeLogParser("bind-query", zone);
  options_.propose_indicators = true;
  ExcerptBuilder& builder = Builder();
  for (const char* name : {"C2.Evil-Example.com", "c2.evil-example.com", "db01.corp.example"}) {
    ASSERT_TRUE(AddLine(StrCat("20-Nov-2026 10:00:00.123 client 198.51.100.4#53124 (", name,
                               "): query: ", name, " IN A + (10.0.0.53)"))
                    .ok());
  }
  ASSERT_TRUE(builder.Finish().ok());
  std::vector<IndicatorProposal> proposals = builder.Proposals();
  int domains = 0;
  for (const IndicatorProposal& p : proposals) {
    EXPECT_EQ(p.value.find("corp.example"), std::string::npos) << p.value;
    if (p.type != threatmesh::v1::INDICATOR_TYPE_DOMAIN) continue;
    ++domains;
    EXPECT_EQ(p.value, "c2.evil-example.com");  // both spellings, normalized into one
    EXPECT_EQ(p.count, 2u);
  }
  EXPECT_EQ(domains, 1);

  parser_ = *MakeLogParser("zeek-http");
  parts_.clear();
  ExcerptBuilder& http = Builder();
  const std::string header =
      "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost"
      "\turi\treferrer\tversion\tuser_agent\trequest_body_len\tresponse_body_len\tstatus_code";
  ASSERT_EQ(parser_->Parse(header).kind, ParsedLine::Kind::kSkipped);
  ASSERT_TRUE(AddLine("1795168800.5\tC1\t10.0.0.5\t5000\t198.51.100.80\t80\t1\tGET\tDL.Bad-"
                      "Example.net\t/payload.bin?x=1\t-\t1.1\tcurl/8\t0\t100\t200")
                  .ok());
  // An IP literal as the host, one inside a referrer and one in brackets inside a path; an
  // internal one in a referrer is not proposed.
  ASSERT_TRUE(AddLine("1795168801.5\tC2\t10.0.0.5\t5001\t203.0.113.66\t80\t1\tGET\t203.0.113.66"
                      "\t/x\thttp://user@198.51.100.99:8080/landing\t1.1\tcurl/8\t0\t100\t200")
                  .ok());
  ASSERT_TRUE(AddLine("1795168802.5\tC3\t10.0.0.5\t5002\t198.51.100.80\t80\t1\tGET\tok.example"
                      "\t/go/https://[2001:db8::66]/y\thttp://10.9.9.9/in\t1.1\tcurl/8\t0\t1\t200")
                  .ok());
  ASSERT_TRUE(http.Finish().ok());
  bool url = false;
  std::map<std::string, std::string> addresses;  // value -> field
  for (const IndicatorProposal& p : http.Proposals()) {
    if (p.type == threatmesh::v1::INDICATOR_TYPE_URL &&
        p.value.find("payload") != std::string::npos) {
      url = true;
      EXPECT_EQ(p.value, "http://dl.bad-example.net/payload.bin");
    }
    if (p.type == threatmesh::v1::INDICATOR_TYPE_IPV4 ||
        p.type == threatmesh::v1::INDICATOR_TYPE_IPV6) {
      addresses[p.value] = p.field;
    }
  }
  EXPECT_TRUE(url);
  EXPECT_EQ(addresses,
            (std::map<std::string, std::string>{{"203.0.113.66", "url.hostname"},
                                                {"198.51.100.99", "http_request.referrer"},
                                                {"2001:db8::66", "url.path"}}));
}

TEST_F(ExcerptBuilderTest, ProposalsAreCappedAndTheRestCounted) {
  options_.propose_indicators = true;
  options_.max_proposals = 5;
  ExcerptBuilder& builder = Builder();
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(AddLine(Line(StrCat("198.51.100.", i), i, "/", "same-agent")).ok());
  }
  ASSERT_TRUE(builder.Finish().ok());
  EXPECT_EQ(builder.Proposals().size(), 5u);
  EXPECT_EQ(builder.proposals_dropped(), 16u);  // 20 addresses + 1 agent - 5 kept
}

TEST(ExcerptPartsTest, CompletenessIsChecked) {
  auto part = [](uint32_t index, uint32_t count, const std::string& format = "zeek-dns") {
    RecordBody b;
    b.mutable_log_excerpt()->set_part(index);
    b.mutable_log_excerpt()->set_part_count(count);
    b.mutable_log_excerpt()->set_source_format(format);
    return b;
  };
  struct Case {
    std::vector<RecordBody> parts;
    std::string error;  // empty: accepted
  };
  std::vector<Case> cases = {
      {{part(0, 0)}, ""},
      {{part(2, 0), part(0, 0), part(1, 0)}, ""},
      {{part(1, 2), part(0, 2)}, ""},
      {{part(0, 0), part(2, 0)}, "part 2 of 2 is missing"},
      {{part(0, 0), part(0, 0)}, "part 2 of 2 is given twice"},
      {{part(0, 3), part(1, 3)}, "says the excerpt has 3 parts, but 2 were given"},
      {{part(0, 0), part(1, 0, "bind-query")}, "part 2 is from a bind-query log"},
      {{}, "no excerpt given"},
  };
  for (Case& c : cases) {
    absl::Status s = CheckExcerptParts(c.parts);
    if (c.error.empty()) {
      EXPECT_TRUE(s.ok()) << s;
      for (std::size_t i = 0; i < c.parts.size(); ++i) {
        EXPECT_EQ(c.parts[i].log_excerpt().part(), i);  // sorted
      }
    } else {
      EXPECT_NE(s.message().find(c.error), std::string::npos) << s << " / " << c.error;
    }
  }
}

// The part's JSON is written by hand: it must read back as the same message through
// protobuf's own JSON parser, whatever bytes need escaping and wherever they fall (the
// writer skips eight clean bytes at a time).
TEST(ExcerptPartJsonTest, ReadsBackAsTheSameMessage) {
  const std::string specials[] = {
      "\"",   "\\",   "\n",   "\t",       "\r",           std::string(1, '\0'),
      "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "/"};
  RecordBody body;
  body.set_tlp(threatmesh::v1::TLP_AMBER);
  threatmesh::v1::LogExcerpt* x = body.mutable_log_excerpt();
  x->set_source_format("nginx-combined");
  x->set_contact("soc@example.org");
  x->set_window_start(1000);
  x->set_window_end(2000);
  x->add_lines("");
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at <= 19; ++at) {
      const std::string text = std::string(at, 'a') + special + std::string(19 - at, 'b');
      x->add_lines(text);
      threatmesh::v1::LogEvent* e = x->add_events();
      e->set_time(static_cast<int64_t>(1000 + at));
      e->set_class_name("http_activity");
      threatmesh::v1::EventField* f = e->add_fields();
      f->set_name("http_request.user_agent");
      f->set_value(text);
      f = e->add_fields();
      f->set_name("url.path");
      f->set_value(special);
    }
  }
  // Longer than the writer's chunk of 512 bytes, with escapes on either side of its edges.
  std::string mixed;
  for (int i = 0; i < 1500; ++i) {
    mixed.push_back(i % 7 == 0 ? '\t' : i % 13 == 0 ? '"' : i % 29 == 0 ? '\x02' : 'x');
  }
  for (std::size_t size : {511, 512, 513, 1023, 1024, 1025, 1500}) {
    x->add_lines(mixed.substr(0, size));
    x->add_lines(std::string(size - 1, '\n') + "z");
  }
  threatmesh::v1::SanitizationStep* step = x->add_manifest();
  step->set_field("src_endpoint.ip");
  step->set_method("anonymize-prefix-preserving");
  const std::string json = ExcerptPartJson(body);
  RecordBody back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok()) << json;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(body, back)) << back.DebugString();
  // The part is left as it was.
  EXPECT_EQ(body.log_excerpt().lines_size(), 1 + 12 * 20 + 14);
  EXPECT_EQ(body.log_excerpt().events_size(), 12 * 20);
}

TEST(ProposalJsonTest, RoundTripsAndRefusesBadLines) {
  IndicatorProposal p;
  p.type = threatmesh::v1::INDICATOR_TYPE_DOMAIN;
  p.value = "c2.evil-example.com";
  p.field = "query.hostname";
  p.count = 12;
  p.first_seen = 1795168800123;
  p.last_seen = 1795168900000;
  absl::StatusOr<IndicatorProposal> back = ProposalFromJson(ProposalToJson(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->type, p.type);
  EXPECT_EQ(back->value, p.value);
  EXPECT_EQ(back->field, p.field);
  EXPECT_EQ(back->count, p.count);
  EXPECT_EQ(back->first_seen, p.first_seen);
  EXPECT_EQ(back->last_seen, p.last_seen);
  // An analyst may edit a value; it is normalized again.
  absl::StatusOr<IndicatorProposal> edited =
      ProposalFromJson(R"({"type":"domain","value":"Other.Example.COM."})");
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->value, "other.example.com");
  for (const char* bad :
       {"not json", R"({"value":"x.example"})", R"({"type":"colour","value":"x"})",
        R"({"type":"ipv4","value":"300.1.1.1"})",
        R"({"type":"ipv4","value":"192.0.2.1","count":-1})",
        R"({"type":"ipv4","value":"192.0.2.1","first_seen":"yesterday"})"}) {
    EXPECT_FALSE(ProposalFromJson(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace threatmesh
