#include "node/config.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "crypto/ip_address.h"
#include "crypto/keys.h"
#include "crypto/str_cat.h"
#include "node/core/indicator.h"
#include "node/core/record_builder.h"
#include "node/core/record_kind.h"
#include "node/peers.h"

namespace threatmesh {
namespace {

namespace po = boost::program_options;

po::options_description ServeOptions() {
  po::options_description d("threatmesh serve options (flags win over the --config file)");
  for (const OptionDoc& o : ServeOptionDocs()) {
    d.add_options()(o.name.c_str(), po::value<std::string>(), o.help.c_str());
  }
  return d;
}

absl::StatusOr<uint64_t> ParseUnsigned(const std::string& name, const std::string& text,
                                       uint64_t min, uint64_t max, std::string_view unit) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < min || v > max) {
    return absl::InvalidArgumentError(StrCat("option ", name, " = \"", text,
                                             "\": expected a whole number of ", unit, " from ", min,
                                             " to ", max));
  }
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& name, const std::string& text) {
  if (text == "true" || text == "yes" || text == "1" || text == "on") return true;
  if (text == "false" || text == "no" || text == "0" || text == "off") return false;
  return absl::InvalidArgumentError(
      StrCat("option ", name, " = \"", text, "\": expected true or false"));
}

// Splits "host:port" or "[v6]:port".
bool SplitHostPort(std::string_view s, std::string& host, std::string& port) {
  std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  host = std::string(s.substr(0, colon));
  port = std::string(s.substr(colon + 1));
  if (host.front() == '[') {
    if (host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  return !host.empty() && !port.empty();
}

// A [peer.NAME] section: key (required), address, policy, inbound-policy. The policies must
// be defined in `config`. The registry checks the name and address when it takes the peer.
absl::StatusOr<PeerConfig> ParsePeerSection(const std::string& name, const PolicySettings& settings,
                                            const ServeConfig& config) {
  PeerConfig peer;
  peer.set_name(name);
  peer.set_from_config(true);
  for (const auto& [setting, value] : settings) {
    if (setting == "key") {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(value);
      if (!key.ok()) {
        return absl::InvalidArgumentError(
            StrCat("[peer.", name, "] key: ", key.status().message()));
      }
      peer.set_node_key(std::string(key->bytes()));
    } else if (setting == "address") {
      peer.set_address(value);
    } else if (setting == "policy") {
      if (!config.outbound_policies.count(value)) {
        return absl::InvalidArgumentError(StrCat("[peer.", name, "] policy = ", value,
                                                 ": no [outbound.", value, "] section defines it"));
      }
      peer.set_policy(value);
    } else if (setting == "inbound-policy") {
      if (!config.inbound_policies.count(value)) {
        return absl::InvalidArgumentError(StrCat("[peer.", name, "] inbound-policy = ", value,
                                                 ": no [inbound.", value, "] section defines it"));
      }
      peer.set_inbound_policy(value);
    } else {
      return absl::InvalidArgumentError(
          StrCat("[peer.", name, "]: unknown setting \"", setting,
                 "\" (expected key, address, policy, inbound-policy)"));
    }
  }
  if (peer.node_key().empty()) {
    return absl::InvalidArgumentError(StrCat(
        "[peer.", name, "] has no key: set key = tmpk... (its 'threatmesh status' shows it)"));
  }
  return peer;
}

}  // namespace

std::string DefaultDataDir() {
  if (const char* env = std::getenv("THREATMESH_DATA_DIR"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/threatmesh";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return StrCat(home, "/.local/share/threatmesh");
  }
  return "./threatmesh-data";
}

std::vector<OptionDoc> ServeOptionDocs() {
  const ServeConfig d;
  return {
      {"data-dir", "(see help)",
       "node data directory, made by 'threatmesh init' (default: $THREATMESH_DATA_DIR, else "
       "/var/lib/threatmesh for root, else ~/.local/share/threatmesh)"},
      {"passphrase-file", "",
       "file whose first line is the key file's passphrase (or set THREATMESH_PASSPHRASE)"},
      {"listen", d.listen,
       "host:port of the local gRPC API; port 0 picks a free port, printed at start-up"},
      {"tls-cert", "", "PEM certificate chain for the API; with tls-key, the API speaks TLS"},
      {"tls-key", "", "PEM private key matching tls-cert"},
      {"allow-insecure-remote", "false",
       "listen on a non-loopback address without TLS (tokens cross the network in clear)"},
      {"max-message-bytes", std::to_string(d.max_message_bytes),
       "largest API request accepted, in bytes (65536 to 67108864)"},
      {"max-record-bytes", std::to_string(d.max_record_bytes),
       "largest signed record accepted, in bytes (1024 to 16777216)"},
      {"max-clock-skew-seconds", std::to_string(d.max_clock_skew.count()),
       "how far in the future a record's creation time may be (0 to 86400)"},
      {"audit-checkpoint-seconds", std::to_string(d.audit_checkpoint_interval.count()),
       "how often the node signs the head of its audit trail (1 to 86400; also at shutdown)"},
      {"peer-listen", "",
       "host:port where peers connect (TLS); empty for none: the node then only dials"},
      {"taxii-listen", "",
       "host:port of the TAXII 2.1 server (docs/TAXII.md); empty for none. HTTPS with tls-cert "
       "and tls-key; without them plain HTTP, on loopback or with allow-insecure-remote"},
      {"peer-tls-cert", "",
       "PEM certificate of the peer port; empty: DATA_DIR/peer.crt, made at init (self-signed: "
       "the handshake binds it to the node's key, no CA is involved)"},
      {"peer-tls-key", "", "PEM private key matching peer-tls-cert; empty: DATA_DIR/peer.key"},
      {"peer-timeout-seconds", std::to_string(d.peer_timeout.count()),
       "a peer silent this long is taken for dead and its stream closed (3 to 3600; "
       "keepalives go out every third of it)"},
      {"handshake-timeout-seconds", std::to_string(d.handshake_timeout.count()),
       "a connection to the API or peer port that has not finished its TLS and HTTP/2 "
       "handshake this long after it was accepted is closed (1 to 300)"},
      {"idle-timeout-seconds", std::to_string(d.idle_timeout.count()),
       "a connection with no call open this long is closed; clients reconnect by themselves "
       "(1 to 86400)"},
      {"max-connections", std::to_string(d.max_connections),
       "connections open at once on each port; past it a new one is closed at once (16 to "
       "65536; lowered to fit the descriptor limit)"},
      {"max-connections-per-address", std::to_string(d.max_connections_per_address),
       "connections open at once from one address on the peer port (1 to 65536)"},
      {"dial-only", "false", "never listen for peers; only dial the configured ones"},
      {"insecure-peering", "false",
       "peer in plaintext with no certificate binding: for loopback tests only"},
      {"metrics-allow-unauthenticated", "false",
       "serve GET /metrics (on the taxii-listen listener) without a token to clients on "
       "loopback addresses, for a Prometheus on this host; others still need a read token"},
      {"log-format", "text",
       "text (one line per event, \"threatmesh: [warning: ]TEXT\") or json (one object per "
       "line: time, level, msg, and peer and record when the event is about one)"},
  };
}

namespace {

// The named sections of a config file: [outbound.NAME], [inbound.NAME], [peer.NAME].
struct ConfigSections {
  std::map<std::string, PolicySettings> outbound, inbound, peer, taxii_collection;
};

// Reads the config file at `path` into `vm`, and its named sections into `sections`; any
// other option this build does not know is refused.
absl::Status ReadConfigFile(const std::string& path, const po::options_description& options,
                            po::variables_map& vm, ConfigSections& sections) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(StrCat("--config ", path,
                                             " is a directory; give the config file itself (see "
                                             "deploy/threatmesh.conf.example)"));
  }
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(StrCat("cannot read config file ", path,
                                      "; check --config (see "
                                      "deploy/threatmesh.conf.example)"));
  }
  try {
    po::parsed_options parsed = po::parse_config_file(file, options, /*allow_unregistered=*/true);
    // Sections [outbound.NAME] and [inbound.NAME] hold named policies; any other option
    // this build does not know is refused.
    for (const po::option& o : parsed.options) {
      if (!o.unregistered) continue;
      const std::size_t dot = o.string_key.rfind('.');
      const std::string section = dot == std::string::npos ? "" : o.string_key.substr(0, dot);
      const std::string setting = dot == std::string::npos ? "" : o.string_key.substr(dot + 1);
      const std::string value = o.value.empty() ? "" : o.value.front();
      if (section.starts_with("outbound.") && section.size() > 9) {
        sections.outbound[section.substr(9)][setting] = value;
      } else if (section.starts_with("inbound.") && section.size() > 8) {
        sections.inbound[section.substr(8)][setting] = value;
      } else if (section.starts_with("peer.") && section.size() > 5) {
        sections.peer[section.substr(5)][setting] = value;
      } else if (section.starts_with("taxii.collection.") && section.size() > 17) {
        sections.taxii_collection[section.substr(17)][setting] = value;
      } else {
        return absl::InvalidArgumentError(
            StrCat("config file ", path, ": unknown option \"", o.string_key,
                   "\" (every option is listed in deploy/threatmesh.conf.example; policies "
                   "go in [outbound.NAME] and [inbound.NAME] sections, peers in [peer.NAME], "
                   "TAXII collections in [taxii.collection.NAME])"));
      }
    }
    po::store(parsed, vm);
  } catch (const po::error& e) {
    return absl::InvalidArgumentError(
        StrCat("config file ", path, ": ", e.what(),
               " (every option is listed in deploy/threatmesh.conf.example)"));
  }
  return absl::OkStatus();
}

// The plain options (paths, switches, numbers in their ranges) into `config`.
absl::Status ApplyOptions(const po::variables_map& vm, ServeConfig& config) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    if (!vm.count(name)) return std::nullopt;
    return vm[name].as<std::string>();
  };
  config.data_dir = get("data-dir").value_or(DefaultDataDir());
  config.passphrase_file = get("passphrase-file").value_or("");
  config.listen = get("listen").value_or(config.listen);
  config.tls_cert = get("tls-cert").value_or("");
  config.tls_key = get("tls-key").value_or("");
  for (auto [name, field] :
       {std::pair{"allow-insecure-remote", &config.allow_insecure_remote},
        std::pair{"dial-only", &config.dial_only},
        std::pair{"insecure-peering", &config.insecure_peering},
        std::pair{"metrics-allow-unauthenticated", &config.metrics_allow_unauthenticated}}) {
    if (auto v = get(name)) {
      absl::StatusOr<bool> b = ParseBool(name, *v);
      if (!b.ok()) return b.status();
      *field = *b;
    }
  }
  config.peer_listen = get("peer-listen").value_or("");
  config.taxii_listen = get("taxii-listen").value_or("");
  config.peer_tls_cert = get("peer-tls-cert").value_or("");
  config.peer_tls_key = get("peer-tls-key").value_or("");
  if (auto v = get("log-format")) {
    if (*v == "text" || *v == "json") {
      config.log_format = *v == "json" ? LogFormat::kJson : LogFormat::kText;
    } else {
      return absl::InvalidArgumentError(
          StrCat("log-format = ", *v, ": give text or json (json: one object per line)"));
    }
  }
  struct Number {
    const char* name;
    uint64_t min, max;
    const char* unit;
    std::function<void(uint64_t)> set;
  };
  const Number numbers[] = {
      {"max-message-bytes", 65536, 64u << 20, "bytes",
       [&](uint64_t v) { config.max_message_bytes = v; }},
      {"max-record-bytes", 1024, 16u << 20, "bytes",
       [&](uint64_t v) { config.max_record_bytes = v; }},
      {"max-clock-skew-seconds", 0, 86400, "seconds",
       [&](uint64_t v) { config.max_clock_skew = std::chrono::seconds(v); }},
      {"peer-timeout-seconds", 3, 3600, "seconds",
       [&](uint64_t v) { config.peer_timeout = std::chrono::seconds(v); }},
      {"audit-checkpoint-seconds", 1, 86400, "seconds",
       [&](uint64_t v) { config.audit_checkpoint_interval = std::chrono::seconds(v); }},
      {"handshake-timeout-seconds", 1, 300, "seconds",
       [&](uint64_t v) { config.handshake_timeout = std::chrono::seconds(v); }},
      {"idle-timeout-seconds", 1, 86400, "seconds",
       [&](uint64_t v) { config.idle_timeout = std::chrono::seconds(v); }},
      {"max-connections", 16, 65536, "connections",
       [&](uint64_t v) { config.max_connections = v; }},
      {"max-connections-per-address", 1, 65536, "connections",
       [&](uint64_t v) { config.max_connections_per_address = v; }},
  };
  for (const Number& n : numbers) {
    if (auto v = get(n.name)) {
      absl::StatusOr<uint64_t> parsed = ParseUnsigned(n.name, *v, n.min, n.max, n.unit);
      if (!parsed.ok()) return parsed.status();
      n.set(*parsed);
    }
  }
  return absl::OkStatus();
}

// The comma-separated items of a setting, trimmed.
std::set<std::string> Items(const std::string& value) {
  std::set<std::string> out;
  std::stringstream in(value);
  for (std::string item; std::getline(in, item, ',');) {
    const std::size_t b = item.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    out.insert(item.substr(b, item.find_last_not_of(" \t") - b + 1));
  }
  return out;
}

// Each item of a setting through `parse`, into `out`; the first that does not parse named.
template <typename T, typename Parse>
absl::Status ParseItems(const std::string& where, const std::string& value, Parse parse,
                        std::set<T>& out) {
  for (const std::string& item : Items(value)) {
    absl::StatusOr<T> parsed = parse(item);
    if (!parsed.ok())
      return absl::InvalidArgumentError(StrCat(where, ": ", parsed.status().message()));
    out.insert(*parsed);
  }
  return absl::OkStatus();
}

// A [taxii.collection.NAME] section: title, description, max-tlp, kinds, types, tags,
// communities, authors, readers, writers.
absl::StatusOr<TaxiiCollectionConfig> ParseTaxiiCollection(const std::string& name,
                                                           const PolicySettings& settings) {
  TaxiiCollectionConfig c;
  c.name = name;
  c.title = name;
  for (const auto& [setting, value] : settings) {
    const std::string where = StrCat("[taxii.collection.", name, "] ", setting, " = ", value);
    absl::Status s = absl::OkStatus();
    if (setting == "title") {
      c.title = value;
    } else if (setting == "description") {
      c.description = value;
    } else if (setting == "max-tlp") {
      absl::StatusOr<threatmesh::v1::Tlp> tlp = ParseTlp(value);
      if (!tlp.ok()) return absl::InvalidArgumentError(StrCat(where, ": ", tlp.status().message()));
      c.max_tlp = *tlp;
    } else if (setting == "kinds") {
      s = ParseItems<threatmesh::v1::RecordKind>(
          where, value,
          [](const std::string& k) -> absl::StatusOr<threatmesh::v1::RecordKind> {
            std::optional<RecordKindInfo> kind = FindRecordKind(k);
            if (!kind) return absl::InvalidArgumentError(StrCat("no record kind ", k));
            return kind->api_kind;
          },
          c.kinds);
    } else if (setting == "types") {
      s = ParseItems<threatmesh::v1::IndicatorType>(where, value, ParseIndicatorType, c.types);
    } else if (setting == "tags" || setting == "communities" || setting == "readers" ||
               setting == "writers") {
      std::set<std::string>& to = setting == "tags"          ? c.tags
                                  : setting == "communities" ? c.communities
                                  : setting == "readers"     ? c.readers
                                                             : c.writers;
      to = Items(value);
    } else if (setting == "authors") {
      s = ParseItems<std::string>(
          where, value,
          [](const std::string& k) -> absl::StatusOr<std::string> {
            absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromText(k);
            if (!key.ok()) return key.status();
            return std::string(key->bytes());
          },
          c.authors);
    } else {
      return absl::InvalidArgumentError(
          StrCat("[taxii.collection.", name, "]: unknown setting \"", setting,
                 "\" (title, description, max-tlp, kinds, types, tags, communities, authors, "
                 "readers, writers)"));
    }
    if (!s.ok()) return s;
  }
  return c;
}

// The policies ("default" always among them) and the peers of the sections into `config`.
absl::Status ApplySections(const ConfigSections& sections, ServeConfig& config) {
  config.outbound_policies[std::string(kDefaultPolicy)] = *ParseOutboundPolicy(kDefaultPolicy, {});
  config.inbound_policies[std::string(kDefaultPolicy)] = *ParseInboundPolicy(kDefaultPolicy, {});
  for (const auto& [name, settings] : sections.outbound) {
    absl::StatusOr<OutboundPolicy> policy = ParseOutboundPolicy(name, settings);
    if (!policy.ok()) return policy.status();
    config.outbound_policies[name] = std::move(*policy);
  }
  for (const auto& [name, settings] : sections.inbound) {
    absl::StatusOr<InboundPolicy> policy = ParseInboundPolicy(name, settings);
    if (!policy.ok()) return policy.status();
    config.inbound_policies[name] = std::move(*policy);
  }
  for (const auto& [name, settings] : sections.peer) {
    absl::StatusOr<PeerConfig> peer = ParsePeerSection(name, settings, config);
    if (!peer.ok()) return peer.status();
    config.peers.push_back(std::move(*peer));
  }
  for (const auto& [name, settings] : sections.taxii_collection) {
    absl::StatusOr<TaxiiCollectionConfig> c = ParseTaxiiCollection(name, settings);
    if (!c.ok()) return c.status();
    config.taxii_collections.push_back(std::move(*c));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServeConfig> ParseServeConfig(int argc, const char* const* argv, bool* help,
                                             std::string* help_text) {
  po::options_description options = ServeOptions();
  po::options_description cli("threatmesh serve");
  cli.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                "INI file of the options below (name = value)");
  cli.add(options);
  po::variables_map vm;
  ConfigSections sections;
  try {
    po::store(po::command_line_parser(argc, argv).options(cli).run(), vm);
    *help = vm.count("help") > 0;
    if (*help) {
      std::ostringstream out;
      out << cli;
      *help_text = out.str();
      return ServeConfig{};
    }
    if (vm.count("config")) {
      absl::Status read = ReadConfigFile(vm["config"].as<std::string>(), options, vm, sections);
      if (!read.ok()) return read;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return absl::InvalidArgumentError(StrCat(e.what(), "; see 'threatmesh serve --help'"));
  }
  ServeConfig config;
  config.source_args.assign(argv, argv + argc);
  if (absl::Status s = ApplyOptions(vm, config); !s.ok()) return s;
  if (absl::Status s = ApplySections(sections, config); !s.ok()) return s;
  if (absl::Status ok = CheckServeConfig(config); !ok.ok()) return ok;
  return config;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::optional<crypto::IpAddress> ip = crypto::ParseIp(host);
  if (!ip) return false;
  if (ip->family == 4) return ip->bytes[0] == 127;
  return ip->bytes == std::string(15, '\0') + '\x01';
}

absl::Status CheckServeConfig(const ServeConfig& config) {
  std::string host, port_text;
  if (!SplitHostPort(config.listen, host, port_text)) {
    return absl::InvalidArgumentError(StrCat("option listen = \"", config.listen,
                                             "\": expected host:port, e.g. ", kDefaultListen));
  }
  uint64_t port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        StrCat("option listen = \"", config.listen, "\": the port must be 0 to 65535"));
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "options tls-cert and tls-key go together: set both for TLS, or neither");
  }
  if (config.tls_cert.empty() && !config.allow_insecure_remote && !IsLoopbackHost(host)) {
    return absl::InvalidArgumentError(
        StrCat("option listen = \"", config.listen,
               "\" is not a loopback address and TLS is off: set tls-cert and tls-key, listen on "
               "127.0.0.1, or set allow-insecure-remote = true if the network is trusted"));
  }
  if (!config.peer_listen.empty()) {
    std::string peer_host, peer_port;
    uint64_t p = 0;
    if (!SplitHostPort(config.peer_listen, peer_host, peer_port) ||
        !absl::SimpleAtoi(peer_port, &p) || p > 65535) {
      return absl::InvalidArgumentError(StrCat("option peer-listen = \"", config.peer_listen,
                                               "\": expected host:port, e.g. 0.0.0.0:7421"));
    }
    if (config.insecure_peering && !IsLoopbackHost(peer_host)) {
      return absl::InvalidArgumentError(
          StrCat("option peer-listen = \"", config.peer_listen,
                 "\": insecure peering listens on loopback addresses only"));
    }
  }
  if (!config.taxii_listen.empty()) {
    std::string taxii_host, taxii_port;
    uint64_t p = 0;
    if (!SplitHostPort(config.taxii_listen, taxii_host, taxii_port) ||
        !absl::SimpleAtoi(taxii_port, &p) || p > 65535) {
      return absl::InvalidArgumentError(StrCat("option taxii-listen = \"", config.taxii_listen,
                                               "\": expected host:port, e.g. 127.0.0.1:9443"));
    }
    if (config.tls_cert.empty() && !config.allow_insecure_remote && !IsLoopbackHost(taxii_host)) {
      return absl::InvalidArgumentError(
          StrCat("option taxii-listen = \"", config.taxii_listen,
                 "\" is not a loopback address and TLS is off: set tls-cert and tls-key (the "
                 "TAXII server then speaks HTTPS with them), listen on 127.0.0.1, or set "
                 "allow-insecure-remote = true if the network is trusted"));
    }
  }
  if (config.peer_tls_cert.empty() != config.peer_tls_key.empty()) {
    return absl::InvalidArgumentError(
        "options peer-tls-cert and peer-tls-key go together: set both, or neither for the "
        "pair made at init in the data directory");
  }
  if (config.data_dir.empty()) {
    return absl::InvalidArgumentError("option data-dir is empty; give the node's data directory");
  }
  return absl::OkStatus();
}

}  // namespace threatmesh
