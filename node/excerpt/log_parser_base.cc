#include "node/excerpt/log_parser_base.h"

#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "crypto/str_cat.h"

namespace threatmesh::log_parsing {

void UnescapeInto(std::string_view s, std::string& out) {
  if (s.find('\\') == std::string_view::npos) {
    out.assign(s);
    return;
  }
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && (hi = hex(s[i + 2])) >= 0 &&
        (lo = hex(s[i + 3])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
}

std::string Unescape(std::string_view s) {
  std::string out;
  UnescapeInto(s, out);
  return out;
}

// `s` cut at every `sep`, into `out` (replacing what it held).
void Split(std::string_view s, std::string_view sep, std::vector<std::string_view>& out) {
  out.clear();
  if (sep.size() == 1 && !s.empty()) {  // a tab, as Zeek's logs have: found with memchr
    const char* at = s.data();
    const char* const end = s.data() + s.size();
    for (;;) {
      const auto* hit = static_cast<const char*>(std::memchr(at, sep[0], end - at));
      if (hit == nullptr) {
        out.emplace_back(at, end - at);
        return;
      }
      out.emplace_back(at, hit - at);
      at = hit + 1;
    }
  }
  if (sep.empty()) {  // nothing to cut at (a header must not make this loop forever)
    out.push_back(s);
    return;
  }
  for (std::size_t start = 0;;) {
    std::size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return;
    start = at + sep.size();
  }
}

std::vector<std::string_view> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> out;
  Split(s, sep, out);
  return out;
}

// Epoch seconds with a fraction ("1591367999.305988") -> ms.
bool EpochSecondsToMs(std::string_view text, int64_t* ms) {
  // Whole seconds of up to 11 digits and a fraction of up to 9 read as integers, without a
  // copy; rounded to the millisecond as the double below rounds, which the fraction's digits
  // past the third decide, save within 0.05 ms of a half, where the double's own error
  // (under 0.03 ms below 1e11 s) could tip it: those go the double's way.
  if (const std::size_t dot = text.find('.'); dot != std::string_view::npos && dot >= 1 &&
                                              dot <= 11 && text.size() - dot - 1 >= 3 &&
                                              text.size() - dot - 1 <= 9) {
    int64_t whole = 0;
    bool digits = true;
    for (char c : text.substr(0, dot)) {
      digits = digits && c >= '0' && c <= '9';
      whole = whole * 10 + (c - '0');
    }
    int64_t milli = 0, rest = 0, rest_scale = 1;
    for (std::size_t i = dot + 1; i < text.size(); ++i) {
      const char c = text[i];
      digits = digits && c >= '0' && c <= '9';
      if (i <= dot + 3) {
        milli = milli * 10 + (c - '0');
      } else {
        rest = rest * 10 + (c - '0');
        rest_scale *= 10;
      }
    }
    // rest / rest_scale is the fraction of a millisecond: clear of 0.45..0.55.
    if (digits && whole < 100000000000 &&
        (rest * 20 < rest_scale * 9 || rest * 20 >= rest_scale * 11)) {
      *ms = whole * 1000 + milli + (rest * 2 >= rest_scale ? 1 : 0);
      return true;
    }
  }
  double seconds = 0;
  if (!absl::SimpleAtod(std::string(text), &seconds) || !std::isfinite(seconds) || seconds < 0 ||
      seconds > 1e11) {
    return false;
  }
  *ms = static_cast<int64_t>(std::llround(seconds * 1000));
  return true;
}

// "2020-06-05T14:39:59.305988Z" (Zeek's JSON with ISO 8601 times) -> ms.
bool IsoToMs(std::string_view text, int64_t* ms) {
  int y, mo, d, h, mi;
  double s;
  char z = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61) {
    return false;
  }
  // Days from the civil date (proleptic Gregorian), after H. Hinnant's days_from_civil.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  *ms = (days * 86400 + h * 3600 + mi * 60) * 1000 + static_cast<int64_t>(std::llround(s * 1000));
  return true;
}

ParsedLine LineError(std::string why) {
  ParsedLine out;
  out.kind = ParsedLine::Kind::kError;
  out.error = std::move(why);
  return out;
}

void AddField(LogEvent& event, std::string_view name, std::string value) {
  threatmesh::v1::EventField* f = event.add_fields();
  f->set_name(std::string(name));
  f->set_value(std::move(value));
}

void AddTarget(LogEvent& event, std::string_view target) {
  const std::size_t q = target.find('?');
  AddField(event, "url.path", std::string(target.substr(0, q)));
  if (q != std::string_view::npos)
    AddField(event, "url.query_string", std::string(target.substr(q + 1)));
}

}  // namespace threatmesh::log_parsing
