#include "node/interop/csv_import.h"

#include <gtest/gtest.h>

#include <string>

namespace threatmesh::interop {
namespace {

namespace v1 = ::threatmesh::v1;

TEST(CsvImportTest, ColumnsByNameQuotedFieldsAndDefaults) {
  const std::string csv =
      "value,type,tlp,confidence,labels,valid_from,description\r\n"
      "evil.example.com,domain,AMBER,70,apt1;c2,2026-06-01T00:00:00.000Z,\"said \"\"hi\"\", "
      "twice\"\r\n"
      "192.0.2.1,ipv4,,,,,\"two\nlines\"\n"
      "\n"
      "x,nosuchtype,,,,,\n"
      "y.example.com,domain,purple,,,,\n"
      "z.example.com,domain,,101,,,\n";
  absl::StatusOr<StixImport> read = ReadCsv(csv, "list.csv", v1::TLP_GREEN);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->requests.size(), 2u);
  const v1::RecordBody& a = read->requests[0].second.body();
  EXPECT_EQ(read->requests[0].first, "list.csv line 2");
  EXPECT_EQ(a.indicator().type(), v1::INDICATOR_TYPE_DOMAIN);
  EXPECT_EQ(a.indicator().value(), "evil.example.com");
  EXPECT_EQ(a.tlp(), v1::TLP_AMBER);
  EXPECT_EQ(a.confidence(), 70u);
  ASSERT_EQ(a.labels_size(), 2);
  EXPECT_EQ(a.labels(1), "c2");
  EXPECT_EQ(a.valid_from(), 1780272000000);
  EXPECT_EQ(a.indicator().description(), "said \"hi\", twice | Imported from list.csv line 2");
  const v1::RecordBody& b = read->requests[1].second.body();
  EXPECT_EQ(b.tlp(), v1::TLP_GREEN);  // the default
  EXPECT_FALSE(b.has_confidence());
  EXPECT_EQ(b.indicator().description(), "two\nlines | Imported from list.csv line 3");
  // The reference names the normalized indicator, not the file or the line.
  absl::StatusOr<StixImport> again =
      ReadCsv("type,value\ndomain,Evil.Example.COM.\n", "other.csv", v1::TLP_GREEN);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->requests[0].second.source_ref(), read->requests[0].second.source_ref());
  ASSERT_EQ(read->skipped.size(), 3u);
  EXPECT_EQ(read->skipped[0].first, "list.csv line 6");
  EXPECT_NE(read->skipped[1].second.find("unknown TLP"), std::string::npos);
  EXPECT_NE(read->skipped[2].second.find("confidence \"101\""), std::string::npos);
}

TEST(CsvImportTest, AFileWithoutTheColumnsOrWithAnOpenQuoteIsRefusedWhole) {
  EXPECT_FALSE(ReadCsv("", "f", v1::TLP_GREEN).ok());
  EXPECT_FALSE(ReadCsv("kind,thing\nx,y\n", "f", v1::TLP_GREEN).ok());
  absl::StatusOr<StixImport> open = ReadCsv("type,value\ndomain,\"a.example\n", "f", v1::TLP_GREEN);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("line 2: a quoted field does not end"), std::string::npos)
      << open.status();
}

}  // namespace
}  // namespace threatmesh::interop
