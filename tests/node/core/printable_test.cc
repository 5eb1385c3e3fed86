#include "node/core/printable.h"

#include <gtest/gtest.h>

namespace threatmesh {
namespace {

TEST(PrintableTest, ControlsAndBidiOverridesAreFoundAndEscaped) {
  struct Case {
    std::string text;
    const char* unsafe;   // UnsafeTextCharacter's answer, or nullptr
    std::string printed;  // Printable's
  };
  const Case cases[] = {
      {"plain text, ünïcödé and 日本", nullptr, "plain text, ünïcödé and 日本"},
      {"C:\\Windows\\x", nullptr, "C:\\Windows\\x"},  // backslashes stay
      {"a\tb", "a control character", "a\\x09b"},
      {"line\nverdict: valid", "a control character", "line\\x0Averdict: valid"},
      {"\x1b[2Jclear", "a control character", "\\x1B[2Jclear"},
      {"del\x7f", "a control character", "del\\x7F"},
      {"c1 \xc2\x9b", "a control character", "c1 \\u{009B}"},
      {"invoice\xe2\x80\xae"
       "fdp.exe",
       "a bidirectional override", "invoice\\u{202E}fdp.exe"},
      {"\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", "a bidirectional override",
       "\\u{202A}\\u{2066}\\u{2069}"},
      {"\xe2\x80\xa9 ok", nullptr, "\xe2\x80\xa9 ok"},  // U+2029 is no override
  };
  for (const Case& c : cases) {
    const char* unsafe = UnsafeTextCharacter(c.text);
    EXPECT_EQ(unsafe == nullptr ? std::string("none") : std::string(unsafe),
              c.unsafe == nullptr ? std::string("none") : std::string(c.unsafe))
        << c.text;
    EXPECT_EQ(Printable(c.text), c.printed);
    EXPECT_EQ(UnsafeTextCharacter(Printable(c.text)), nullptr) << c.text;
  }
}

}  // namespace
}  // namespace threatmesh
