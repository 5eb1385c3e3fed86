// The configured peers of a node, persisted in the store's peers family ("p/" || name ->
// PeerConfig). A peer is identified by its node key alone; its name is local.
//
// Thread-safe: a mutex guards the in-memory copy; writes reach the store (synced) first.
#ifndef THREATMESH_NODE_PEERS_H_
#define THREATMESH_NODE_PEERS_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/mutex.h"
#include "storage/store.h"
#include "threatmesh/v1/storage.pb.h"

namespace threatmesh {

using threatmesh::v1::PeerConfig;

// The policy name a peer gets when none is given.
inline constexpr std::string_view kDefaultPolicy = "default";

class PeerRegistry {
 public:
  // Loads the peers of `store` (which must outlive the registry); `self` is this node's key,
  // which no peer may have.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PeerRegistry>> Load(storage::Store& store,
                                                                          std::string self);

  // Adds a peer. InvalidArgument names the field at fault (name, address, key, policy);
  // AlreadyExists when the name or the key is taken.
  [[nodiscard]] absl::Status Add(PeerConfig peer, int64_t now_ms);
  // NotFound when there is no such peer.
  [[nodiscard]] absl::Status Remove(std::string_view name);
  // Gives peer `name` a new key (it rotated its key; the caller checked the rotation).
  // NotFound when there is no such peer; AlreadyExists when another peer has that key.
  [[nodiscard]] absl::Status ReplaceKey(std::string_view name, std::string_view node_key);
  // Makes the peers that come from the config file (from_config) exactly `peers`: adds the
  // new ones, replaces those that changed, removes those no longer listed. Peers added with
  // 'peers add' are left alone. Returns the names added, changed or removed; stops at the
  // first peer it cannot take, naming it.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> ApplyConfig(std::vector<PeerConfig> peers,
                                                                     int64_t now_ms);
  std::vector<PeerConfig> List() const;
  std::optional<PeerConfig> FindByKey(std::string_view node_key) const;

 private:
  PeerRegistry(storage::Store& store, std::string self) : store_(store), self_(std::move(self)) {}

  storage::Store& store_;
  const std::string self_;
  mutable Mutex mu_;
  std::map<std::string, PeerConfig> by_name_ ABSL_GUARDED_BY(mu_);
};

// The command an operator runs on another node to add this one as a peer.
std::string PeerAddLine(std::string_view name, std::string_view address,
                        std::string_view printable_key);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_PEERS_H_
