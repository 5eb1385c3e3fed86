// The precompiled header of the test binaries (gcc builds; see THREATMESH_PCH in the top
// CMakeLists.txt): GoogleTest, the standard library, Abseil's status types and the record
// messages, which nearly every test file includes and which otherwise cost each of them a
// few seconds of parsing. Only headers from outside the project and the generated messages:
// a test file still includes the project headers it uses.
#ifndef THREATMESH_TESTS_TESTING_PCH_H_
#define THREATMESH_TESTS_TESTING_PCH_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

#endif  // THREATMESH_TESTS_TESTING_PCH_H_
