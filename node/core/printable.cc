#include "node/core/printable.h"

#include <cstdio>

namespace threatmesh {
namespace {

// The code point of the bidirectional control or C1 character at `text[i]` (UTF-8), or 0.
unsigned SpecialAt(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (b(0) == 0xC2 && i + 1 < text.size() && b(1) >= 0x80 && b(1) <= 0x9F) return b(1);  // C1
  if (b(0) == 0xE2 && i + 2 < text.size()) {
    if (b(1) == 0x80 && b(2) >= 0xAA && b(2) <= 0xAE) return 0x2000 + (b(2) - 0x80);
    if (b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9) return 0x2040 + (b(2) - 0x80);
  }
  return 0;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

}  // namespace

const char* UnsafeTextCharacter(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (IsControl(c)) return "a control character";
    if (c == 0xC2 || c == 0xE2) {
      const unsigned special = SpecialAt(text, i);
      if (special != 0) {
        return special < 0x100 ? "a control character" : "a bidirectional override";
      }
    }
  }
  return nullptr;
}

std::string Printable(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  char escape[16];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    if (IsControl(c)) {
      std::snprintf(escape, sizeof escape, "\\x%02X", c);
      length = 1;
    } else if (c == 0xC2 || c == 0xE2) {
      const unsigned special = SpecialAt(text, i);
      if (special != 0) {
        std::snprintf(escape, sizeof escape, "\\u{%04X}", special);
        length = special < 0x100 ? 2 : 3;
      }
    }
    if (length == 0) continue;
    out.append(text.substr(copied, i - copied));
    out.append(escape);
    copied = i + length;
    i += length - 1;
  }
  if (copied == 0) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

}  // namespace threatmesh
