// The clock every part of the node reads: Unix milliseconds, injected so that tests control
// time. Thread-safe.
#ifndef THREATMESH_NODE_CORE_CLOCK_H_
#define THREATMESH_NODE_CORE_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <functional>

namespace threatmesh {

// Unix milliseconds now.
using Clock = std::function<int64_t()>;

inline int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_CLOCK_H_
