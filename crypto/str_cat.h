// StrCat: joins strings and numbers into one std::string, for messages and text forms.
//
// Debian's abseil is built with its own absl::string_view, which absl::StrCat accepts but
// std::string_view does not convert to, so threatmesh uses this small header instead. It
// lives in crypto/ because that is the lowest library with C++ sources.
#ifndef THREATMESH_CRYPTO_STR_CAT_H_
#define THREATMESH_CRYPTO_STR_CAT_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace threatmesh {
namespace str_cat_internal {

inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
#if !ABSL_USES_STD_STRING_VIEW
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
#endif
inline void Append(std::string& out, char c) { out.push_back(c); }
template <typename T>
requires std::is_arithmetic_v<T> &&
    (!std::is_same_v<T, char>)&&(!std::is_same_v<T, bool>)void Append(std::string& out, T n) {
  out.append(std::to_string(n));
}
inline void Append(std::string& out, bool b) { out.append(b ? "true" : "false"); }

}  // namespace str_cat_internal

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (str_cat_internal::Append(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (str_cat_internal::Append(*out, args), ...);
}

}  // namespace threatmesh

#endif  // THREATMESH_CRYPTO_STR_CAT_H_
