// Reading STIX text object by object from a stream (docs/STIX.md, "Import"): a bundle, a
// TAXII 2.1 envelope (an object with an "objects" array and no type) or one lone object.
// Only the object being read is held in memory, so a bundle of any size is read in the memory
// of its largest object; an object over the limit is passed on as oversize, without its
// content. Internal to node/interop (its callers see nlohmann::json).
#ifndef THREATMESH_NODE_INTEROP_STIX_STREAM_H_
#define THREATMESH_NODE_INTEROP_STIX_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"

namespace threatmesh::interop {

struct StreamedObject {
  // The object; null when it was oversize (or, when `not_an_object`, what stood in its place).
  nlohmann::json json;
  bool oversize = false;
  bool not_an_object = false;
  // Its "id" when it had one: kept for an oversize object too when "id" came first.
  std::string id;
  // Bytes of keys and values it held (an estimate of its size in memory).
  uint64_t bytes = 0;
};

// Reads `in` to its end, calling `on_object` with each STIX object in the order of the text.
// InvalidArgument naming the byte offset when the text is not JSON or is cut short, and when
// it is JSON but not STIX: in either case objects before the fault have been passed on, so a
// caller that must not act on a bad file reads it twice (docs/STIX.md, "Import").
[[nodiscard]] absl::Status ReadStixObjects(std::istream& in, std::size_t max_object_bytes,
                                           const std::function<void(StreamedObject&)>& on_object);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_STIX_STREAM_H_
