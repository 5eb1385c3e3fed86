// Text that reaches an analyst's terminal: what no record's free text may hold, and how log
// bytes (which may hold anything) are shown. A control character can move the cursor or
// rewrite a line; a bidirectional override (U+202A-202E, U+2066-2069) can make "exe.txt"
// read as "txt.exe". Neither may come from a record or a log unescaped.
//
// Thread-safe: functions of their arguments only.
#ifndef THREATMESH_NODE_CORE_PRINTABLE_H_
#define THREATMESH_NODE_CORE_PRINTABLE_H_

#include <string>
#include <string_view>

namespace threatmesh {

// What makes `text` unfit for a record's free-text field: "a control character" (C0, DEL,
// or C1 as UTF-8 U+0080-U+009F) or "a bidirectional override"; nullptr when it holds
// neither.
const char* UnsafeTextCharacter(std::string_view text);

// `text` with every such character escaped: C0, DEL and other bytes of no UTF-8 sequence as
// \xHH, C1 and the bidirectional controls as \u{HHHH}. Text with none of them comes back as
// it is.
std::string Printable(std::string_view text);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_PRINTABLE_H_
