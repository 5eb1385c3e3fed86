// The precompiled header of the libraries that know the record messages (gcc builds; see
// THREATMESH_PCH in the top CMakeLists.txt): the standard library, Abseil's status types and
// the generated messages, which nearly every source file includes and which otherwise cost
// each of them a second or two of parsing. Only headers from outside the project and the
// generated messages: a source file still includes what it uses.
#ifndef THREATMESH_NODE_PCH_H_
#define THREATMESH_NODE_PCH_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

#endif  // THREATMESH_NODE_PCH_H_
