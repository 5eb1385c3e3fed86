// peers: the node's peer table, through the running node.
#include <map>

#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/api/grpc/client.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"
#include "node/core/record_view.h"

namespace threatmesh::cli {
namespace {

// ---- peers -----------------------------------------------------------------------------

// What 'peers list' says of one peer's live state.
std::string StateText(const std::map<std::string, v1::PeerState>& states, const std::string& name) {
  auto it = states.find(name);
  if (it == states.end()) return std::string("not yet connected");
  const v1::PeerState& st = it->second;
  std::string refused;
  uint64_t refused_total = 0;
  for (const auto& [reason, n] : st.refused()) {
    refused += StrCat(refused.empty() ? "" : ", ", reason, ": ", n);
    refused_total += n;
  }
  return StrCat(st.connected() ? "connected since " + FormatTime(st.connected_since())
                               : "down (" + st.last_error() + ")",
                "; sent ", st.sent(), " (", st.sent_early(),
                " before their commit here), received ", st.received(), ", duplicates ",
                st.duplicates(), ", refused ", refused_total,
                refused.empty() ? "" : " (" + refused + ")", ", violations ", st.violations(),
                ", throttled ", st.throttled_ms(), " ms; its log held here to ", st.cursor(),
                ", ours acknowledged to ", st.acked(), ", lag ", st.lag());
}

int PeersAdd(const po::variables_map& vm, bool json, Io& io) {
  if (!vm.count("name") || !vm.count("key")) {
    return Fail(io, absl::InvalidArgumentError("peers add needs --name and --key"));
  }
  absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(vm["key"].as<std::string>());
  if (!key.ok()) {
    return Fail(io, absl::InvalidArgumentError(StrCat("--key: ", key.status().message())));
  }
  v1::AddPeerRequest request;
  v1::PeerConfig* peer = request.mutable_peer();
  peer->set_name(vm["name"].as<std::string>());
  peer->set_node_key(std::string(key->bytes()));
  if (vm.count("address")) peer->set_address(vm["address"].as<std::string>());
  if (vm.count("policy")) peer->set_policy(vm["policy"].as<std::string>());
  if (vm.count("inbound-policy")) peer->set_inbound_policy(vm["inbound-policy"].as<std::string>());
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  if (absl::Status s = (*client)->AddPeer(request); !s.ok()) return Fail(io, s);
  io.out << (json ? "{\"added\":" + JsonString(peer->name()) + "}"
                  : "added peer " + peer->name() + " (" + key->Fingerprint() + ")")
         << "\n";
  return kExitOk;
}

int PeersReload(NodeClient& client, bool json, Io& io) {
  absl::StatusOr<v1::ReloadConfigResponse> r = client.ReloadConfig();
  if (!r.ok()) return Fail(io, r.status());
  std::string changed, outbound;
  for (const std::string& n : r->peers_changed()) changed += (changed.empty() ? "" : ", ") + n;
  for (const std::string& n : r->outbound_policies()) {
    outbound += (outbound.empty() ? "" : ", ") + n;
  }
  if (json) {
    io.out << "{\"peers_changed\":" << r->peers_changed_size()
           << ",\"outbound_policies\":" << r->outbound_policies_size() << "}\n";
  } else {
    io.out << "reloaded the config: outbound policies " << outbound
           << "; peers changed: " << (changed.empty() ? "none" : changed)
           << "; live streams restarted\n";
  }
  return kExitOk;
}

int PeersResync(const po::variables_map& vm, NodeClient& client, bool json, Io& io) {
  if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("peers resync needs NAME"));
  v1::ResyncPeerRequest request;
  request.set_name(vm["name"].as<std::string>());
  if (absl::Status s = client.ResyncPeer(request); !s.ok()) return Fail(io, s);
  io.out << (json ? "{\"resync\":" + JsonString(request.name()) + "}"
                  : "replaying both logs with " + request.name() +
                        " from the start (records already held are dropped by id)")
         << "\n";
  return kExitOk;
}

int PeersRemove(const po::variables_map& vm, NodeClient& client, bool json, Io& io) {
  if (!vm.count("name")) return Fail(io, absl::InvalidArgumentError("peers remove needs --name"));
  v1::RemovePeerRequest request;
  request.set_name(vm["name"].as<std::string>());
  if (absl::Status s = client.RemovePeer(request); !s.ok()) return Fail(io, s);
  io.out << (json ? "{\"removed\":" + JsonString(request.name()) + "}"
                  : "removed peer " + request.name())
         << "\n";
  return kExitOk;
}

// The handshakes refused, by reason: the end of 'peers list'.
void PrintRefusedHandshakes(const v1::ListPeersResponse& list, bool json, Io& io) {
  std::string refused;
  for (const auto& [reason, n] : list.handshakes_refused()) {
    refused += StrCat(refused.empty() ? "" : ", ", reason, ": ", n);
  }
  if (json) {
    io.out << "],\"handshakes_refused\":{";
    bool first_reason = true;
    for (const auto& [reason, n] : list.handshakes_refused()) {
      io.out << (first_reason ? "" : ",") << JsonString(reason) << ":" << n;
      first_reason = false;
    }
    io.out << "}}\n";
  } else if (!refused.empty()) {
    io.out << "connections refused in the handshake: " << refused << "\n";
  }
}

int PeersList(NodeClient& client, bool json, Io& io) {
  absl::StatusOr<v1::ListPeersResponse> list = client.ListPeers();
  if (!list.ok()) return Fail(io, list.status());
  std::map<std::string, v1::PeerState> states;
  for (const v1::PeerState& st : list->states()) states[st.name()] = st;
  if (json) io.out << "{\"peers\":[";
  bool first = true;
  for (const v1::PeerConfig& p : list->peers()) {
    absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromBytes(p.node_key());
    const std::string text = key.ok() ? key->ToText() : "?";
    if (json) {
      io.out << (first ? "" : ",") << "{\"name\":" << JsonString(p.name())
             << ",\"address\":" << JsonString(p.address()) << ",\"key\":" << JsonString(text)
             << ",\"policy\":" << JsonString(p.policy())
             << ",\"inbound_policy\":" << JsonString(p.inbound_policy())
             << ",\"state\":" << JsonString(StateText(states, p.name())) << "}";
    } else {
      io.out << p.name() << "  " << (p.address().empty() ? "(dials in)" : p.address()) << "  "
             << crypto::FingerprintOf(p.node_key()) << "  policy " << p.policy() << "/"
             << p.inbound_policy() << "\n    " << StateText(states, p.name()) << "\n";
    }
    first = false;
  }
  if (!json && list->peers().empty()) io.out << "no peers\n";
  PrintRefusedHandshakes(*list, json, io);
  return kExitOk;
}

int RunPeers(const po::variables_map& vm, Io& io) {
  const std::string action = vm["action"].as<std::string>();
  if (action != "add" && action != "list" && action != "remove" && action != "reload" &&
      action != "resync") {
    return Fail(io,
                absl::InvalidArgumentError(StrCat("unknown peers action \"", action,
                                                  "\"; use add, list, remove, reload or resync")));
  }
  const bool json = vm.count("json") > 0;
  if (action == "add") return PeersAdd(vm, json, io);
  absl::StatusOr<std::unique_ptr<NodeClient>> client = ConnectClient(vm);
  if (!client.ok()) return Fail(io, client.status());
  if (action == "reload") return PeersReload(**client, json, io);
  if (action == "resync") return PeersResync(vm, **client, json, io);
  if (action == "remove") return PeersRemove(vm, **client, json, io);
  return PeersList(**client, json, io);
}

}  // namespace

Command PeersCommand() {
  return {"peers",
          "add, list, remove, reload (config file) or resync the node's peers (admin)",
          "threatmesh peers add --name isac-hub --address hub.example.org:7421 --key tmpk...",
          [](po::options_description& d) {
            d.add_options()("action", po::value<std::string>()->required(),
                            "add, list, remove, reload or resync")(
                "name", po::value<std::string>(), "the peer's local name (add, remove, resync)")(
                "address", po::value<std::string>(),
                "host:port of its peer port (add; leave out for a peer that only dials in)")(
                "key", po::value<std::string>(), "its public key, tmpk... (add)")(
                "policy", po::value<std::string>(), "outbound policy (add; default: default)")(
                "inbound-policy", po::value<std::string>(),
                "inbound policy (add; default: default)");
          },
          RunPeers,
          {"action", "name"}};
}

}  // namespace threatmesh::cli
