// Indicators as a MISP feed (the format of MISP's "feeds": a directory a MISP instance adds
// by URL or path): one event per export in EVENT-UUID.json, manifest.json describing it, and
// hashes.csv with the MD5 of each attribute value. The event's uuid is fixed per exporting
// node, so each export replaces the previous one in a MISP that follows the feed. Pure apart
// from the output streams; one writer per thread.
#ifndef THREATMESH_NODE_INTEROP_MISP_H_
#define THREATMESH_NODE_INTEROP_MISP_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "node/interop/feeds.h"

namespace threatmesh::interop {

struct MispFeedOptions {
  // The exporting node's 32-byte key: the event's uuid and the organisation derive from it.
  std::string node_key;
  // The organisation's name shown in MISP (Orgc.name).
  std::string org_name = "threatmesh";
  // The export's time (unix ms): the event's timestamp and date.
  int64_t now_ms = 0;
};

// The event's uuid for a node (UUIDv5 of "misp-event:" and its key, threatmesh's namespace).
std::string MispEventUuid(std::string_view node_key);

// The MISP attribute type and category of an indicator type; empty type when MISP has none.
std::pair<std::string_view, std::string_view> MispAttributeType(threatmesh::v1::IndicatorType t);

// Writes the event to `event_out` and a line per attribute to `hashes_out`; Manifest() is
// manifest.json once Finish() was called.
class MispFeedWriter final : public FeedWriter {
 public:
  MispFeedWriter(std::ostream& event_out, std::ostream& hashes_out, MispFeedOptions options);
  bool Add(const threatmesh::v1::StoredRecord& record, std::string* why) override;
  void Finish() override;
  std::string Manifest() const;
  const std::string& event_uuid() const { return event_uuid_; }

 private:
  std::ostream& event_out_;
  std::ostream& hashes_out_;
  const MispFeedOptions options_;
  const std::string event_uuid_;
  bool first_ = true;
  threatmesh::v1::Tlp max_tlp_ = threatmesh::v1::TLP_CLEAR;
  uint64_t attributes_ = 0;
};

}  // namespace threatmesh::interop

#endif  // THREATMESH_NODE_INTEROP_MISP_H_
