#include "node/core/json_string.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace threatmesh {
namespace {

// Which bytes a JSON string must escape: control characters, '"' and '\\'.
struct JsonEscapes {
  bool table[256] = {};
  constexpr JsonEscapes() {
    for (int c = 0; c < 0x20; ++c) table[c] = true;
    table[static_cast<int>('"')] = true;
    table[static_cast<int>('\\')] = true;
  }
  constexpr bool operator[](unsigned char c) const { return table[c]; }
};
constexpr JsonEscapes kJsonEscaped;

// Marks the bytes of `w` (eight bytes read little-endian) that must be escaped: a byte below
// 0x20, '"' or '\\' gets its high bit set. These are the classic tests for a zero byte and
// for a byte below n, on all eight at once; a borrow can also mark a byte above a marked one,
// so only the lowest mark is exact, and that is the only one read.
uint64_t JsonEscapes(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  return (((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
          ((backslash - kOnes) & ~backslash)) &
         kHigh;
}

static_assert(std::endian::native == std::endian::little, "JsonEscapes reads words little-endian");

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Escaped a chunk at a time into a buffer on the stack, then appended at once: a log line
  // has an escape every few bytes (a tab-separated log, a tab per field).
  constexpr std::size_t kChunk = 512;
  char buffer[kChunk * 6 + 2];  // "\u00XX" is the longest escape
  char* w = buffer;
  *w++ = '"';
  const std::size_t n = s.size();
  for (std::size_t from = 0;;) {
    const std::size_t end = std::min(n, from + kChunk);
    for (std::size_t i = from; i < end;) {
      // Eight bytes at a time past the bytes that need no escape, as most do.
      if (i + 8 <= end) {
        uint64_t word;
        std::memcpy(&word, s.data() + i, 8);
        std::memcpy(w, &word, 8);  // written whole; only the bytes before an escape count
        const uint64_t escapes = JsonEscapes(word);
        if (escapes == 0) {
          w += 8;
          i += 8;
          continue;
        }
        const std::size_t clean = static_cast<std::size_t>(__builtin_ctzll(escapes)) / 8;
        w += clean;
        i += clean;  // s[i] is the byte to escape
      }
      const unsigned char c = static_cast<unsigned char>(s[i++]);
      if (!kJsonEscaped[c]) {
        *w++ = static_cast<char>(c);
        continue;
      }
      *w++ = '\\';
      switch (c) {
        case '"':
        case '\\':
          *w++ = static_cast<char>(c);
          break;
        case '\n':
          *w++ = 'n';
          break;
        case '\t':
          *w++ = 't';
          break;
        case '\r':
          *w++ = 'r';
          break;
        default:
          std::memcpy(w, "u00", 3);
          w[3] = kHex[c >> 4];
          w[4] = kHex[c & 15];
          w += 5;
      }
    }
    if (end == n) break;
    out.append(buffer, static_cast<std::size_t>(w - buffer));
    w = buffer;
    from = end;
  }
  *w++ = '"';
  out.append(buffer, static_cast<std::size_t>(w - buffer));
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

}  // namespace threatmesh
