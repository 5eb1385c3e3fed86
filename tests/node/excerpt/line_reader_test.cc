#include "node/excerpt/line_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace threatmesh {
namespace {

// What the reader gives for `text`: each line, or "<too long N>".
std::vector<std::string> Read(const std::string& text, std::size_t max, testing::TempDir& dir) {
  {
    std::ofstream f(dir.Sub("log"), std::ios::binary | std::ios::trunc);
    f << text;
  }
  LineReader reader;
  EXPECT_TRUE(reader.Open(dir.Sub("log"), max).ok());
  std::vector<std::string> out;
  std::string_view line;
  for (LineReader::Result r; (r = reader.Next(line)) != LineReader::Result::kEnd;) {
    out.push_back(r == LineReader::Result::kLine
                      ? std::string(line)
                      : "<too long " + std::to_string(reader.too_long_bytes()) + ">");
  }
  EXPECT_TRUE(reader.error().ok());
  return out;
}

TEST(LineReaderTest, LinesAndLinesTooLong) {
  testing::TempDir dir;
  const std::string big(3000, 'x');
  const std::string huge(3 << 20, 'y');  // over three of the reader's 1 MiB blocks
  struct Case {
    std::string text;
    std::vector<std::string> lines;
  };
  // Texts joined by appending: gcc 12 warns falsely (-Warray-bounds) on the temporaries of
  // operator+ in an initializer list like this one.
  auto cat = [](std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) out.append(p);
    return out;
  };
  const std::vector<Case> cases = {
      {"", {}},
      {"a\nb\n", {"a", "b"}},
      {"a\nb", {"a", "b"}},  // no final newline
      {"\n\n", {"", ""}},
      {cat({"a\n", big, "\nb\n"}), {"a", "<too long 3000>", "b"}},
      {cat({"a\n", big}), {"a", "<too long 3000>"}},
      {cat({"a\n", huge, "\nb"}), {"a", "<too long 3145728>", "b"}},
      {huge, {"<too long 3145728>"}},
      {cat({std::string(2048, 'z'), "\nc"}), {std::string(2048, 'z'), "c"}},  // exactly the limit
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Read(c.text, 2048, dir), c.lines) << c.text.size() << " bytes";
  }
}

// Lines across the reader's block boundaries come out whole.
TEST(LineReaderTest, LinesAcrossBlocksAreWhole) {
  testing::TempDir dir;
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; text.size() < (5u << 20); ++i) {
    want.push_back(std::string(1 + (i * 7919) % 5000, static_cast<char>('a' + i % 26)));
    text += want.back() + "\n";
  }
  EXPECT_EQ(Read(text, 8192, dir), want);
}

TEST(LineReaderTest, AMissingFileIsNamed) {
  LineReader reader;
  absl::Status s = reader.Open("/nonexistent/x.log", 4096);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/x.log: No such file or directory"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace threatmesh
