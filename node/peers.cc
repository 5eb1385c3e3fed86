#include "node/peers.h"

#include <set>

#include "absl/strings/numbers.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/core/names.h"
#include "storage/side_keys.h"

namespace threatmesh {
namespace {

constexpr std::size_t kMaxPeers = 10000;

bool ValidAddress(std::string_view address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  uint32_t port = 0;
  return absl::SimpleAtoi(std::string(address.substr(colon + 1)), &port) && port > 0 &&
         port <= 65535;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PeerRegistry>> PeerRegistry::Load(storage::Store& store,
                                                                 std::string self) {
  auto registry = std::unique_ptr<PeerRegistry>(new PeerRegistry(store, std::move(self)));
  MutexLock lock(&registry->mu_);  // not shared yet; taken for the analysis
  auto all = store.ScanAux(storage::kPeers, storage::kPeerKeyPrefix, "", kMaxPeers);
  if (!all.ok()) return all.status();
  for (auto& [key, value] : *all) {
    PeerConfig peer;
    if (!peer.ParseFromString(value)) {
      return absl::DataLossError(StrCat("the stored peer ",
                                        key.substr(storage::kPeerKeyPrefix.size()),
                                        " is unreadable; remove and add it again"));
    }
    registry->by_name_[peer.name()] = std::move(peer);
  }
  return registry;
}

absl::StatusOr<std::vector<std::string>> PeerRegistry::ApplyConfig(std::vector<PeerConfig> peers,
                                                                   int64_t now_ms) {
  std::vector<std::string> changed;
  std::set<std::string> listed;
  for (const PeerConfig& p : peers) listed.insert(p.name());
  for (const PeerConfig& p : List()) {
    if (p.from_config() && !listed.count(p.name())) {
      if (absl::Status s = Remove(p.name()); !s.ok()) return s;
      changed.push_back(p.name());
    }
  }
  for (PeerConfig& p : peers) {
    p.set_from_config(true);
    if (p.policy().empty()) p.set_policy(std::string(kDefaultPolicy));
    if (p.inbound_policy().empty()) p.set_inbound_policy(std::string(kDefaultPolicy));
    std::optional<PeerConfig> current;
    {
      MutexLock lock(&mu_);
      auto it = by_name_.find(p.name());
      if (it != by_name_.end()) current = it->second;
    }
    if (current) {
      PeerConfig same = p;
      same.set_added_at(current->added_at());
      if (same.SerializeAsString() == current->SerializeAsString()) continue;
      if (absl::Status s = Remove(p.name()); !s.ok()) return s;
    }
    if (absl::Status s = Add(p, now_ms); !s.ok()) {
      return absl::Status(s.code(), StrCat("config file [peer.", p.name(), "]: ", s.message()));
    }
    changed.push_back(p.name());
  }
  return changed;
}

absl::Status PeerRegistry::Add(PeerConfig peer, int64_t now_ms) {
  const std::string who = StrCat("peer \"", peer.name(), "\": ");
  if (!IsLocalName(peer.name())) {
    return absl::InvalidArgumentError(
        StrCat(who, "the name must be 1-64 characters of a-z, 0-9, '.', '_', '-'"));
  }
  if (!peer.address().empty() && !ValidAddress(peer.address())) {
    return absl::InvalidArgumentError(StrCat(who, "address \"", peer.address(),
                                             "\" is not host:port (or leave it empty for a "
                                             "peer that only dials in)"));
  }
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(peer.node_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError(StrCat(who, "key is ", peer.node_key().size(),
                                             " bytes, expected 32 (copy it again from "
                                             "'threatmesh status' on that node)"));
  }
  if (peer.node_key() == self_) {
    return absl::InvalidArgumentError(StrCat(who, "that is this node's own key"));
  }
  if (peer.policy().empty()) peer.set_policy(std::string(kDefaultPolicy));
  if (peer.inbound_policy().empty()) peer.set_inbound_policy(std::string(kDefaultPolicy));
  peer.set_added_at(now_ms);
  MutexLock lock(&mu_);
  if (by_name_.count(peer.name())) {
    return absl::AlreadyExistsError(StrCat(who, "a peer of that name exists; remove it first"));
  }
  for (const auto& [name, other] : by_name_) {
    if (other.node_key() == peer.node_key()) {
      return absl::AlreadyExistsError(
          StrCat(who, "node ", key->Fingerprint(), " is already the peer \"", name, "\""));
    }
  }
  if (by_name_.size() >= kMaxPeers) {
    return absl::ResourceExhaustedError(StrCat("this node has ", kMaxPeers, " peers already"));
  }
  absl::Status put = store_.PutAux(storage::kPeers, storage::PeerKey(peer.name()),
                                   peer.SerializeAsString(), /*sync=*/true);
  if (!put.ok()) return put;
  by_name_[peer.name()] = std::move(peer);
  return absl::OkStatus();
}

absl::Status PeerRegistry::Remove(std::string_view name) {
  MutexLock lock(&mu_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(
        StrCat("no peer named \"", name, "\"; 'threatmesh peers list' shows them"));
  }
  absl::Status del = store_.DeleteAux(storage::kPeers, storage::PeerKey(name), true);
  if (!del.ok()) return del;
  by_name_.erase(it);
  return absl::OkStatus();
}

absl::Status PeerRegistry::ReplaceKey(std::string_view name, std::string_view node_key) {
  MutexLock lock(&mu_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(StrCat("no peer named \"", name, "\""));
  }
  for (const auto& [other_name, other] : by_name_) {
    if (other_name != name && other.node_key() == node_key) {
      return absl::AlreadyExistsError(StrCat("the key is already the peer \"", other_name, "\"'s"));
    }
  }
  PeerConfig updated = it->second;
  updated.set_node_key(std::string(node_key));
  absl::Status put = store_.PutAux(storage::kPeers, storage::PeerKey(name),
                                   updated.SerializeAsString(), /*sync=*/true);
  if (!put.ok()) return put;
  it->second = std::move(updated);
  return absl::OkStatus();
}

std::vector<PeerConfig> PeerRegistry::List() const {
  MutexLock lock(&mu_);
  std::vector<PeerConfig> out;
  for (const auto& [name, peer] : by_name_) out.push_back(peer);
  return out;
}

std::optional<PeerConfig> PeerRegistry::FindByKey(std::string_view node_key) const {
  MutexLock lock(&mu_);
  for (const auto& [name, peer] : by_name_) {
    if (peer.node_key() == node_key) return peer;
  }
  return std::nullopt;
}

std::string PeerAddLine(std::string_view name, std::string_view address,
                        std::string_view printable_key) {
  return StrCat("threatmesh peers add --name ", name, " --address ", address, " --key ",
                printable_key);
}

}  // namespace threatmesh
