// Configuration of `threatmesh serve`: every option declared once, with its default and
// meaning, read from an INI-style file (--config) and overridden by flags.
//
// deploy/threatmesh.conf.example lists the same options; a test keeps the two in step.
#ifndef THREATMESH_NODE_CONFIG_H_
#define THREATMESH_NODE_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/core/policy.h"
#include "threatmesh/v1/api.pb.h"

namespace threatmesh {

// The data directory used when none is given: $THREATMESH_DATA_DIR, else
// /var/lib/threatmesh for root, else ~/.local/share/threatmesh.
std::string DefaultDataDir();

inline constexpr std::string_view kDefaultListen = "127.0.0.1:7420";

// A [taxii.collection.NAME] section (docs/TAXII.md, "Collections"): a TAXII collection as a
// view of the node's records, and which tokens may read and write it.
struct TaxiiCollectionConfig {
  std::string name;
  std::string title;
  std::string description;
  // Records up to this label (and, for a client token, never above AMBER).
  threatmesh::v1::Tlp max_tlp = threatmesh::v1::TLP_AMBER_STRICT;
  // Empty sets do not filter.
  std::set<threatmesh::v1::RecordKind> kinds;
  std::set<threatmesh::v1::IndicatorType> types;  // of indicators and sightings
  std::set<std::string> tags;                     // any of them
  std::set<std::string> communities;              // GREEN records naming any of them
  std::set<std::string> authors;                  // 32-byte keys
  // Token names that may read it (empty: any token with role read) and write it (POST; role
  // publish too; empty: nobody, the collection is read-only).
  std::set<std::string> readers;
  std::set<std::string> writers;
};

// How `threatmesh serve` writes its log: lines of text, or one JSON object per line
// (node/serve/log_json.h).
enum class LogFormat { kText, kJson };

struct ServeConfig {
  std::string data_dir;
  // Passphrase file of the key file (empty: none, or $THREATMESH_PASSPHRASE).
  std::string passphrase_file;
  // host:port of the local API; port 0 picks a free port (printed at start-up).
  std::string listen = std::string(kDefaultListen);
  // PEM certificate chain and private key: with both set, the API speaks TLS.
  std::string tls_cert;
  std::string tls_key;
  // Allow a non-loopback listen address without TLS (tokens would cross the network in clear).
  bool allow_insecure_remote = false;
  // Largest request the API accepts, in bytes.
  std::size_t max_message_bytes = 4 << 20;
  // Largest signed record accepted, in bytes.
  std::size_t max_record_bytes = 1 << 20;
  // How far in the future a record's created_at may be.
  std::chrono::seconds max_clock_skew{300};
  // How often the audit chain head is signed (also at shutdown).
  std::chrono::seconds audit_checkpoint_interval{60};
  // host:port where peers connect (the Exchange, over TLS); empty: no peer port.
  std::string peer_listen;
  // host:port of the TAXII 2.1 server; empty: none.
  std::string taxii_listen;
  // Its collections, from [taxii.collection.NAME] sections; "default" (everything up to
  // AMBER+STRICT, read-only) unless a section of that name redefines it.
  std::vector<TaxiiCollectionConfig> taxii_collections;
  // PEM certificate and key of the peer port (both ways: the node presents it when it dials,
  // too). Empty: the pair made at init, DATA_DIR/peer.crt and DATA_DIR/peer.key.
  std::string peer_tls_cert;
  std::string peer_tls_key;
  // A peer that sends nothing for this long (no record, ack or keepalive; or no handshake
  // after connecting) is taken for dead and its stream closed; keepalives go out every third
  // of it.
  std::chrono::seconds peer_timeout{45};
  // A connection to the API or peer port that has not finished its TLS and HTTP/2 handshake
  // (its first SETTINGS frame) this long after it was accepted is closed.
  std::chrono::seconds handshake_timeout{10};
  // A connection with no call open for this long is closed (clients reconnect by themselves).
  std::chrono::seconds idle_timeout{600};
  // Connections open at once on each port; past it a new one is closed at once. Lowered to
  // fit the process's descriptor limit less what the store keeps (see node/serve/listener.h).
  std::size_t max_connections = 1024;
  // Connections open at once from one address on the peer port.
  std::size_t max_connections_per_address = 16;
  // Never listen for peers; only dial the configured ones.
  bool dial_only = false;
  // Peering in plaintext, with no certificate bound in the handshake: for loopback tests only.
  bool insecure_peering = false;
  LogFormat log_format = LogFormat::kText;
  // GET /metrics (on the taxii-listen listener) without a token, from loopback addresses.
  bool metrics_allow_unauthenticated = false;
  // Named sharing policies, from the config file's [outbound.NAME] and [inbound.NAME]
  // sections; "default" always exists (no limit beyond the records' own TLP and handling,
  // unless the file redefines it).
  std::map<std::string, OutboundPolicy> outbound_policies;
  std::map<std::string, InboundPolicy> inbound_policies;
  // Peers from the config file's [peer.NAME] sections (key, address, policy, inbound-policy).
  // At start and on reload they are added to the node's peers or replace the entry of the same
  // name; a peer that came from the file and is no longer in it is removed.
  std::vector<threatmesh::v1::PeerConfig>
      peers;  // The arguments the configuration was parsed from, to read it again on reload.
  std::vector<std::string> source_args;
};

// One option as the example file documents it.
struct OptionDoc {
  std::string name;
  std::string default_value;
  std::string help;
};
// Every option of ServeConfig, in the order of the example file.
std::vector<OptionDoc> ServeOptionDocs();

// Parses `serve` arguments (argv[0] is "serve"): flags, then the --config file for anything
// not given as a flag. InvalidArgument names the option and what is expected; an unknown
// option in the file or on the command line is refused. `help` is set for --help (the text
// goes to `help_text`).
[[nodiscard]] absl::StatusOr<ServeConfig> ParseServeConfig(int argc, const char* const* argv,
                                                           bool* help, std::string* help_text);

// InvalidArgument when `listen` is not host:port, or is not loopback while TLS is off and
// allow_insecure_remote is false.
[[nodiscard]] absl::Status CheckServeConfig(const ServeConfig& config);

// Whether `host` (an address or "localhost") is a loopback address.
bool IsLoopbackHost(std::string_view host);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CONFIG_H_
