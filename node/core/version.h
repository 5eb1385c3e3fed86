// The version of this build, from CMake's project(VERSION): the one place it is written.
#ifndef THREATMESH_NODE_CORE_VERSION_H_
#define THREATMESH_NODE_CORE_VERSION_H_

#include <string_view>

namespace threatmesh {

inline constexpr std::string_view kThreatmeshVersion = THREATMESH_VERSION;

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_VERSION_H_
