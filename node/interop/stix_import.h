// Reading STIX 2.1 into records to publish (docs/STIX.md, "Import"): every indicator whose
// pattern is one comparison, or an OR of comparisons, of a type threatmesh knows becomes one
// publish request per value, and every sighting of such an indicator one sighting request per
// value, each carrying its source reference so that a second import stores nothing new.
// Everything else is skipped with its reason. Pure apart from the streams read.
#ifndef THREATMESH_NODE_INTEROP_STIX_IMPORT_H_
#define THREATMESH_NODE_INTEROP_STIX_IMPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh::interop {

// One value of a pattern: the indicator type and the value as the pattern writes it.
struct PatternValue {
  threatmesh::v1::IndicatorType type;
  std::string value;
};

// The values a STIX pattern names, when it is one comparison or an OR of comparisons (over
// one or several observation brackets) of paths threatmesh maps (docs/STIX.md, "Patterns");
// InvalidArgument saying why not (AND, FOLLOWEDBY, a qualifier, an operator or object path
// threatmesh has no type for, or a pattern that does not parse).
[[nodiscard]] absl::StatusOr<std::vector<PatternValue>> PatternValues(std::string_view pattern);

// The TLP a label names: "clear" or "white", "green", "amber", "amber+strict", "red", in any
// case, with or without "tlp:" before it (TLP 1.0 and 2.0 names, STIX and MISP tags).
std::optional<threatmesh::v1::Tlp> TlpFromLabel(std::string_view label);

struct StixImport {
  // What to publish, each with the STIX id of the object it comes from.
  std::vector<std::pair<std::string, threatmesh::v1::PublishRequest>> requests;
  // Objects not imported: their id (or type) and why.
  std::vector<std::pair<std::string, std::string>> skipped;
};

// The most an object may hold (its keys and values, about its size in memory); a larger one
// is skipped with its reason, without being held.
inline constexpr std::size_t kMaxStixObjectBytes = 16u << 20;

// Reads a STIX bundle, a TAXII envelope or one object in two passes over the text, with one
// object in memory at a time (docs/STIX.md, "Import"). Scan() checks the whole text and
// learns what later objects need (the TLP markings the bundle defines, the indicators its
// sightings name); Read() then hands over the publish requests in batches. A file that is not
// JSON, is cut short or is not STIX fails Scan(), before anything is published.
class StixImporter {
 public:
  // `source` names the file in the records' descriptions; `default_tlp` is the TLP of an
  // object with no marking.
  StixImporter(std::string source, threatmesh::v1::Tlp default_tlp,
               std::size_t max_object_bytes = kMaxStixObjectBytes);

  // Pass 1. InvalidArgument, naming the byte offset, for a text that is not JSON or not STIX.
  [[nodiscard]] absl::Status Scan(std::istream& in);
  // Pass 2, over the same text: calls `sink` whenever `batch` requests (or `batch` skipped
  // objects) are ready, and once at the end with the rest; `sink` takes what it uses out of
  // the batch.
  [[nodiscard]] absl::Status Read(std::istream& in, std::size_t batch,
                                  const std::function<void(StixImport&)>& sink);

  // Called after every 4,096 objects of either pass.
  void set_progress(std::function<void()> tick) { tick_ = std::move(tick); }
  // Objects met by Scan().
  uint64_t objects() const { return objects_; }

 private:
  struct Object;
  void Learn(const Object& o);
  void Take(const Object& o, StixImport& out);
  void TakeSighting(const Object& o, const std::vector<PatternValue>& values, StixImport& out);
  void Tick();

  std::string source_;
  threatmesh::v1::Tlp default_tlp_;
  std::size_t max_object_bytes_;
  std::function<void()> tick_;
  uint64_t objects_ = 0;
  uint64_t ticks_ = 0;
  // Marking-definition id -> TLP, for the TLP markings the bundle defines.
  std::map<std::string, threatmesh::v1::Tlp> markings_;
  // Indicator id -> its values (and TLP), for the indicators sightings name.
  std::map<std::string, std::vector<PatternValue>> sighted_;
  // Sightings met before their indicator, as JSON text, to take at the end of Read().
  std::vector<std::string> waiting_;
};

// All of a STIX text at once (StixImporter over a string): the requests of a bundle (or one
// object), named `source` in the records' descriptions. InvalidArgument when the text is not
// a JSON object of STIX.
[[nodiscard]] absl::StatusOr<StixImport> ReadStix(std::string_view json, std::string_view source,
                                                  threatmesh::v1::Tlp default_tlp);

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_STIX_IMPORT_H_
