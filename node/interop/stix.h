// Records as STIX 2.1 objects (docs/STIX.md): deterministic ids, indicator patterns, the TLP
// 2.0 markings and threatmesh's property extension, written as one bundle a record at a
// time. Pure apart from the output stream; one writer per thread.
#ifndef THREATMESH_NODE_INTEROP_STIX_H_
#define THREATMESH_NODE_INTEROP_STIX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#include "crypto/uuid.h"
#include "threatmesh/v1/api.pb.h"
#include "threatmesh/v1/record.pb.h"

namespace threatmesh::interop {

// threatmesh's UUID namespace and the id of its extension definition (docs/STIX.md).
inline constexpr std::string_view kStixNamespace = crypto::kThreatmeshUuidNamespace;
inline constexpr std::string_view kStixExtensionId =
    "extension-definition--c1ae67e3-b939-419f-897f-677152464f3b";
// The OASIS TLP 2.0 extension that the standard TLP 2.0 marking definitions carry.
inline constexpr std::string_view kTlp2ExtensionId =
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

// "TYPE--UUIDv5(namespace, hex(record_id))".
std::string StixObjectId(std::string_view type, std::string_view record_id);
// "identity--UUIDv5(namespace, "identity:" + hex(key))".
std::string StixIdentityId(std::string_view author_key);
// The standard TLP 2.0 marking-definition id of `tlp`; empty for TLP_UNSPECIFIED.
std::string_view TlpMarkingId(threatmesh::v1::Tlp tlp);
// "clear", "green", "amber", "amber+strict", "red".
std::string_view Tlp2Name(threatmesh::v1::Tlp tlp);

// `s` as a STIX pattern string literal: in single quotes, with '\' and '\'' escaped.
std::string PatternString(std::string_view s);
// The STIX pattern of an indicator value (docs/STIX.md, "Patterns"); empty for a type that
// has none.
std::string StixPattern(threatmesh::v1::IndicatorType type, std::string_view value);
// "2026-11-28T04:05:07.123Z".
std::string StixTime(int64_t unix_ms);

// Writes one STIX 2.1 bundle to `out`, object by object: the extension definition first, each
// author's identity and each TLP marking the first time a record needs it, then the
// records' objects. Finish() closes the bundle; a writer not finished leaves it open.
class StixBundleWriter {
 public:
  // `lookup` finds a record by id (the first version of a superseded chain, the retraction
  // of a revoked record); it may be empty, or return nullopt.
  using Lookup = std::function<std::optional<threatmesh::v1::StoredRecord>(const std::string&)>;
  explicit StixBundleWriter(std::ostream& out, Lookup lookup = nullptr);
  // Hands each object's JSON to `sink` instead, with no bundle around them (a TAXII page);
  // threatmesh's identity and extension definition come before the first record's objects.
  using ObjectSink = std::function<void(const std::string& object_json)>;
  StixBundleWriter(ObjectSink sink, Lookup lookup);

  // Writes the objects of `record`. False, with the reason in `why`, for a record that has no
  // STIX form (key rotations and revocations, retractions themselves, an excerpt without an
  // observable).
  bool Add(const threatmesh::v1::StoredRecord& record, std::string* why);
  void Finish();

  // Objects written so far (the definitions and identities included).
  uint64_t objects() const { return objects_; }

  // Indicators are written by hand (fast) unless this is turned off, when the JSON library
  // writes them: the tests compare the two.
  void set_fast_indicators(bool fast) { fast_indicators_ = fast; }

 private:
  // The STIX version of a record: the id and creation time of its chain's first version.
  struct Version {
    std::string first_id;
    int64_t created;
    int64_t modified;
    bool revoked;
  };
  Version VersionOf(const threatmesh::v1::StoredRecord& record);
  std::string IndicatorObject(const threatmesh::v1::StoredRecord& record, const Version& v);
  std::string LibraryIndicator(const threatmesh::v1::StoredRecord& record, const Version& v);
  std::string SightingObject(const threatmesh::v1::StoredRecord& record, const Version& v);
  bool ObservedData(const threatmesh::v1::StoredRecord& record, const Version& v, std::string* why);
  void Write(const std::string& object_json);
  void NeedIdentity(const std::string& key);
  void NeedMarking(threatmesh::v1::Tlp tlp);

  std::ostream* out_ = nullptr;
  ObjectSink sink_;
  Lookup lookup_;
  bool first_ = true;
  bool fast_indicators_ = true;
  bool finished_ = false;
  bool head_written_ = false;
  uint64_t objects_ = 0;
  std::set<std::string> identities_;
  std::set<int> markings_;
  std::set<std::string> observables_;
};

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_STIX_H_
