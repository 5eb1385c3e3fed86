// Waiting in tests for something another thread or process does: polls `done` until it
// holds or `limit` passes. Bounded, so a test that waits fails instead of hanging.
#ifndef THREATMESH_TESTS_TESTING_WAIT_H_
#define THREATMESH_TESTS_TESTING_WAIT_H_

#include <chrono>
#include <functional>
#include <thread>

namespace threatmesh::testing {

// Whether `done` came true within `limit` (checked every `poll`, and once more at the end).
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10),
                      std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_TESTING_WAIT_H_
