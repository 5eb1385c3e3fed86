// Local names that operators give to things the node keeps (API tokens, peers): 1-64
// characters of a-z, 0-9, '.', '_' and '-', so that they read the same in logs, the audit
// trail and shell commands. Pure; thread-safe.
#ifndef THREATMESH_NODE_CORE_NAMES_H_
#define THREATMESH_NODE_CORE_NAMES_H_

#include <string_view>

namespace threatmesh {

inline bool IsLocalName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_NAMES_H_
