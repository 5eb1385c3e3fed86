// Sharing policies: what this node sends to a peer (outbound) and what it takes from one
// (inbound). A policy is named and assigned per peer; a local policy may be stricter than a
// record's TLP label and handling, never looser, so the custody rules (node/core/custody.h) are
// checked too and win.
//
// Policies are built from name = value settings (the config file's [outbound.NAME] and
// [inbound.NAME] sections, and the CLI) by ParseOutboundPolicy / ParseInboundPolicy, which
// name the setting at fault. Decisions come with the rule behind them, for `threatmesh
// policy explain`. Pure values and functions; thread-safe.
#ifndef THREATMESH_NODE_CORE_POLICY_H_
#define THREATMESH_NODE_CORE_POLICY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "threatmesh/v1/record.pb.h"
#include "threatmesh/v1/storage.pb.h"

namespace threatmesh {

class KeyTable;

struct OutboundPolicy {
  std::string name;
  // The highest TLP label sent (CLEAR < GREEN < AMBER < AMBER+STRICT < RED). By default the
  // labels alone decide (AMBER only to direct peers, RED only to named recipients).
  threatmesh::v1::Tlp max_tlp = threatmesh::v1::TLP_RED;
  // The communities the peer belongs to: a GREEN record that names communities goes only to
  // a peer sharing one of them.
  std::set<std::string> communities;
  // Record kinds sent, as RecordBody's oneof cases (node/core/record_kind.h); empty for all.
  std::set<int> kinds;
  // Indicator (and sighting) types sent; empty for all.
  std::set<int> indicator_types;
  // A record is sent only when it carries one of these tags (empty: no such condition) and
  // none of the excluded ones.
  std::set<std::string> tags_include;
  std::set<std::string> tags_exclude;
  // Records whose confidence is below this are not sent; a record that states no
  // confidence is sent only when this is 0.
  uint32_t min_confidence = 0;
  // Only records this node authored, none it relays.
  bool own_only = false;
};

enum class AcceptAuthors { kAny, kListed, kPeerOnly };

struct InboundPolicy {
  std::string name;
  AcceptAuthors accept = AcceptAuthors::kAny;
  // For kListed: the accepted author keys (32 bytes each).
  std::set<std::string> authors;
  // The largest signed record taken from the peer.
  std::size_t max_record_bytes = 1 << 20;
  // Records per second taken from the peer (a token bucket holding one second's worth);
  // beyond it the node holds the stream back, so the peer's sending window fills and it
  // slows down, and says so in its acknowledgements (pause_ms).
  uint32_t max_records_per_second = 50000;
};

// The outcome of a policy check, with the rule that decided it.
struct Decision {
  bool allowed = false;
  std::string rule;
};

// Whether this node (`self`) sends its copy of a record (`body`, held with `chain`, empty
// when authored here) to `peer` (32-byte key) under `policy`. Checks the custody rules
// (MayForward), the TLP table (GREEN communities), then every policy field in the order of
// OutboundPolicy; the first that refuses decides. Key rotations and revocations pass the
// content filters (kinds, indicator types, tags, confidence): peers need them to judge every
// other record's signatures. With `keys` (the node's key table), a record authored under an
// earlier key of this node counts as its own.
Decision ExplainOutbound(const OutboundPolicy& policy, const threatmesh::v1::RecordBody& body,
                         const threatmesh::v1::CustodyChain& chain, std::string_view self,
                         std::string_view peer, const KeyTable* keys = nullptr);

// Whether a record of `size` bytes by the body's author, sent by `peer`, is taken under
// `policy` (rate limits are counted separately, by the connection). With `keys`, an author
// counts as the peer, or as a listed author, when that key rotated to it or from it.
Decision ExplainInbound(const InboundPolicy& policy, const threatmesh::v1::RecordBody& body,
                        std::size_t size, std::string_view peer, const KeyTable* keys = nullptr);

// Settings of a policy as name -> value strings; lists are comma-separated.
using PolicySettings = std::map<std::string, std::string>;

// Outbound settings: max-tlp, communities, kinds, indicator-types, tags-include, tags-exclude,
// min-confidence, own-only. InvalidArgument names the policy, the setting and what is
// expected; an unknown setting is refused.
[[nodiscard]] absl::StatusOr<OutboundPolicy> ParseOutboundPolicy(std::string_view name,
                                                                 const PolicySettings& settings);
// Inbound settings: accept-authors (any, peer, or a comma-separated list of public keys),
// max-record-bytes, max-records-per-second.
[[nodiscard]] absl::StatusOr<InboundPolicy> ParseInboundPolicy(std::string_view name,
                                                               const PolicySettings& settings);

// The named policies of a configuration; "default" is always among them.
struct PolicySet {
  std::map<std::string, OutboundPolicy> outbound;
  std::map<std::string, InboundPolicy> inbound;
};

// The policies in force, replaced whole on reload; readers keep the snapshot they took.
// Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(PolicySet set)
      : current_(std::make_shared<const PolicySet>(std::move(set))) {}
  std::shared_ptr<const PolicySet> Get() const {
    MutexLock lock(&mu_);
    return current_;
  }
  void Set(PolicySet set) {
    auto next = std::make_shared<const PolicySet>(std::move(set));
    MutexLock lock(&mu_);
    current_ = std::move(next);
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const PolicySet> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CORE_POLICY_H_
