// JSON string literals, written by hand where a message's JSON (protobuf's JsonPrint) does
// not fit: record views, excerpt parts, proof bundles, CLI output. Escapes '"', '\\' and the
// control characters (\n, \t, \r by name, the others as \u00XX); every other byte is copied
// as is, so the input should be UTF-8. Pure; thread-safe.
#ifndef THREATMESH_NODE_CORE_JSON_STRING_H_
#define THREATMESH_NODE_CORE_JSON_STRING_H_

#include <string>
#include <string_view>

namespace threatmesh {

// Appends `s` to `out` as a JSON string literal, quotes included. Fast on long text (a log
// line): eight bytes at a time past those that need no escape.
void AppendJsonString(std::string& out, std::string_view s);

// `s` as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_JSON_STRING_H_
