// User names in free text: the shapes in which sshd, PAM, su, sudo, login and applications
// name a user inside a message rather than in a field of their own. The sanitizer replaces
// the names found here with the keyed pseudonyms that user.name fields get, and the release
// checklist looks for a name still in clear in the same shapes.
//
// The shapes (ASCII case-insensitive; NAME is a run of user-name characters, optionally in
// ' " or ` quotes):
//   invalid user NAME          illegal user NAME         authenticating user NAME
//   for user NAME              from user NAME            user NAME from
//   for NAME from              su for NAME by NAME       by NAME(uid=
//   user=NAME ruser=NAME logname=NAME acct=NAME username=NAME uname=NAME   (a word, '=')
//   login on TTY by NAME       failed login ... for NAME
//   NAME : ... TTY= / PWD= / COMMAND=    (sudo)
//   (to NAME) NAME on          (su)
//   /home/NAME
// docs/FORMAT.md lists them with an example of each.
//
// Thread-safe: functions of their arguments only.
#ifndef THREATMESH_NODE_EXCERPT_USER_NAMES_H_
#define THREATMESH_NODE_EXCERPT_USER_NAMES_H_

#include <cstddef>
#include <functional>
#include <string_view>

namespace threatmesh {

// The characters of a user name: letters, digits, '.', '_', '-', '@' and '$' (a machine
// account ends in '$'; "alice@corp" is a domain user).
bool IsUserNameChar(char c);

// Calls `visit(start, length)` for each user name `text` gives in one of the shapes above,
// in order of position, each once, without quotes or trailing dots. Skips empty names,
// "-", "?" and names that are already pseudonyms ("user-" and 16 base32 characters).
void ForEachUserName(std::string_view text,
                     const std::function<void(std::size_t start, std::size_t length)>& visit);

// Calls `visit(start, length)` for each word of user-name characters in `text`, without its
// trailing dots (a sentence's full stop): where a known name may stand as a whole word.
void ForEachNameWord(std::string_view text,
                     const std::function<void(std::size_t start, std::size_t length)>& visit);

// Whether `word` is one of the words of the shapes ("user", "for", "from", "by", "login",
// ...): a user of that name is replaced where a shape names it, not wherever the word stands.
bool IsShapeWord(std::string_view word);

// Whether `name` may stand for a user anywhere in a text: it is not a shape word and not a
// number (a pid or port), so replacing it wherever it stands as a whole word is safe.
bool IsReplaceableEverywhere(std::string_view name);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_EXCERPT_USER_NAMES_H_
