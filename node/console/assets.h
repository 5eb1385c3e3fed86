// The console's files as compiled into the binary (console_assets.cc, generated from
// node/console/web by node/console/embed_assets.cmake). Thread-safe: constant data.
#ifndef THREATMESH_NODE_CONSOLE_ASSETS_H_
#define THREATMESH_NODE_CONSOLE_ASSETS_H_

#include <string_view>

namespace threatmesh::console {

struct Asset {
  std::string_view name;  // "index.html", "console.js", ...
  std::string_view bytes;
};

// The file called `name`; "" is the index. nullptr when there is none.
const Asset* FindAsset(std::string_view name);

}  // namespace threatmesh::console

#endif  // THREATMESH_NODE_CONSOLE_ASSETS_H_
