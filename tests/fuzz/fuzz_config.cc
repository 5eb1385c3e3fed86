// libFuzzer harness: the serve configuration file (INI, with [outbound.NAME], [inbound.NAME]
// and [peer.NAME] sections), parsed as `threatmesh serve --config FILE` parses it. The file
// lives in memory (memfd), reached through /proc/self/fd.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("threatmesh-fuzz-config", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ::ftruncate(fd, 0) != 0) return 0;
  if (size > 0 && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const char* argv[] = {"serve", "--config", path.c_str(), "--data-dir", "/nonexistent"};
  bool help = false;
  std::string help_text;
  (void)threatmesh::ParseServeConfig(5, argv, &help, &help_text);
  return 0;
}
