#include "node/cli.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "crypto/encoding.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/indicator.h"
#include "node/local_node.h"
#include "node/record_builder.h"
#include "node/record_view.h"

namespace threatmesh {
namespace {

namespace po = boost::program_options;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

struct Io {
  std::ostream& out;
  std::ostream& err;
};

// One subcommand: its options, an example, and what it does.
struct Command {
  std::string name;
  std::string summary;
  std::string example;
  std::function<void(po::options_description&)> add_options;
  std::function<int(const po::variables_map&, Io&)> run;
};

int Fail(Io& io, const absl::Status& status) {
  io.err << "threatmesh: error: " << status.message() << "\n";
  return kExitError;
}

std::string DefaultDataDir() {
  if (const char* env = std::getenv("THREATMESH_DATA_DIR"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/threatmesh";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return StrCat(home, "/.local/share/threatmesh");
  }
  return "./threatmesh-data";
}

void AddDataDir(po::options_description& d) {
  d.add_options()("data-dir", po::value<std::string>()->default_value(DefaultDataDir()),
                  "node data directory (default: $THREATMESH_DATA_DIR, else "
                  "/var/lib/threatmesh for root, ~/.local/share/threatmesh otherwise)")(
      "passphrase-file", po::value<std::string>(),
      "file holding the key file's passphrase (or set THREATMESH_PASSPHRASE)");
}

absl::StatusOr<std::string> ReadPassphrase(const po::variables_map& vm) {
  if (vm.count("passphrase-file")) {
    const std::string path = vm["passphrase-file"].as<std::string>();
    std::ifstream in(path);
    if (!in) {
      return absl::NotFoundError(StrCat("cannot read passphrase file ", path));
    }
    std::string pass;
    std::getline(in, pass);
    if (pass.empty()) {
      return absl::InvalidArgumentError(
          StrCat("passphrase file ", path, " is empty; put the passphrase on its first line"));
    }
    return pass;
  }
  if (const char* env = std::getenv("THREATMESH_PASSPHRASE"); env) return std::string(env);
  return std::string();
}

absl::StatusOr<std::unique_ptr<LocalNode>> OpenNode(const po::variables_map& vm) {
  NodeConfig config;
  config.data_dir = vm["data-dir"].as<std::string>();
  absl::StatusOr<std::string> pass = ReadPassphrase(vm);
  if (!pass.ok()) return pass.status();
  config.passphrase = *pass;
  crypto::SecureWipe(*pass);
  absl::StatusOr<std::unique_ptr<LocalNode>> node = LocalNode::Open(config);
  crypto::SecureWipe(config.passphrase);
  return node;
}

absl::StatusOr<std::string> ParseId(std::string_view text) {
  std::optional<std::string> id = crypto::HexDecode(text);
  if (!id || id->size() != 32) {
    return absl::InvalidArgumentError(
        StrCat("record id \"", text, "\" is not 64 hex digits; copy it from publish or search"));
  }
  return *id;
}

// ---- init ------------------------------------------------------------------------------

int RunInit(const po::variables_map& vm, Io& io) {
  crypto::KeyFileOptions key_options;
  absl::StatusOr<std::string> pass = ReadPassphrase(vm);
  if (!pass.ok()) return Fail(io, pass.status());
  key_options.passphrase = *pass;
  crypto::SecureWipe(*pass);
  const std::string dir = vm["data-dir"].as<std::string>();
  absl::StatusOr<crypto::PublicKey> key = LocalNode::Init(dir, key_options);
  crypto::SecureWipe(key_options.passphrase);
  if (!key.ok()) return Fail(io, key.status());
  if (vm.count("json")) {
    io.out << "{\"public_key\":" << JsonString(key->ToText())
           << ",\"fingerprint\":" << JsonString(key->Fingerprint())
           << ",\"data_dir\":" << JsonString(dir) << "}\n";
  } else {
    io.out << "initialised " << dir << "\n"
           << "public key  " << key->ToText() << "\n"
           << "fingerprint " << key->Fingerprint() << "\n"
           << "key file    " << KeyFilePath(dir) << " (mode 0600; back it up)\n";
  }
  return kExitOk;
}

// ---- publish ---------------------------------------------------------------------------

void PublishOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>()->required(),
                  ("indicator type: " + IndicatorTypeNames()).c_str())(
      "value", po::value<std::string>()->required(), "indicator value (normalized on publish)")(
      "tlp", po::value<std::string>()->default_value("amber"),
      "TLP 2.0 label: clear, green, amber, amber+strict, red")(
      "label", po::value<std::vector<std::string>>()->composing(), "tag (repeatable)")(
      "confidence", po::value<uint32_t>(), "confidence 0..100")(
      "description", po::value<std::string>()->default_value(""), "free text")(
      "valid-from", po::value<std::string>(), "start of validity (YYYY-MM-DD[THH:MM:SSZ])")(
      "valid-until", po::value<std::string>(), "end of validity")(
      "max-hops", po::value<uint32_t>()->default_value(0),
      "most hops from this node (0: the TLP's default)")("may-relay", po::bool_switch(),
                                                         "let receivers pass the record on")(
      "recipient", po::value<std::vector<std::string>>()->composing(),
      "public key that may receive a RED record (repeatable)")(
      "community", po::value<std::vector<std::string>>()->composing(),
      "community a GREEN record may reach (repeatable)");
}

int RunPublish(const po::variables_map& vm, Io& io) {
  IndicatorSpec spec;
  spec.type = vm["type"].as<std::string>();
  spec.value = vm["value"].as<std::string>();
  spec.tlp = vm["tlp"].as<std::string>();
  if (vm.count("label")) spec.labels = vm["label"].as<std::vector<std::string>>();
  if (vm.count("confidence")) spec.confidence = vm["confidence"].as<uint32_t>();
  spec.description = vm["description"].as<std::string>();
  for (auto [flag, field] :
       {std::pair{"valid-from", &spec.valid_from}, std::pair{"valid-until", &spec.valid_until}}) {
    if (!vm.count(flag)) continue;
    absl::StatusOr<int64_t> t = ParseTime(vm[flag].as<std::string>());
    if (!t.ok())
      return Fail(io, absl::InvalidArgumentError(StrCat("--", flag, ": ", t.status().message())));
    *field = *t;
  }
  spec.max_hops = vm["max-hops"].as<uint32_t>();
  spec.may_relay = vm["may-relay"].as<bool>();
  if (vm.count("recipient")) spec.recipients = vm["recipient"].as<std::vector<std::string>>();
  if (vm.count("community")) spec.communities = vm["community"].as<std::vector<std::string>>();

  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
  if (!node.ok()) return Fail(io, node.status());
  absl::StatusOr<threatmesh::v1::RecordBody> body =
      BuildIndicator(spec, (*node)->key().public_key(), (*node)->Now());
  if (!body.ok()) return Fail(io, body.status());
  absl::StatusOr<VerifiedRecord> record = (*node)->Publish(std::move(*body));
  if (!record.ok()) return Fail(io, record.status());
  if (vm.count("json")) {
    io.out << RecordJson(*record) << "\n";
  } else {
    io.out << "published " << crypto::HexEncode(record->id) << "\n" << RecordText(*record);
  }
  return kExitOk;
}

// ---- get -------------------------------------------------------------------------------

int RunGet(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::string> id = ParseId(vm["id"].as<std::string>());
  if (!id.ok()) return Fail(io, id.status());
  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
  if (!node.ok()) return Fail(io, node.status());
  absl::StatusOr<VerifiedRecord> record = (*node)->Get(*id);
  if (!record.ok()) return Fail(io, record.status());
  io.out << (vm.count("json") ? RecordJson(*record) + "\n" : RecordText(*record));
  return kExitOk;
}

// ---- search ----------------------------------------------------------------------------

void SearchOptions(po::options_description& d) {
  d.add_options()("type", po::value<std::string>(), "indicator type, with --value")(
      "value", po::value<std::string>(), "exact indicator value, with --type")(
      "domain-suffix", po::value<std::string>(), "records naming this domain or a name under it")(
      "ip", po::value<std::string>(), "IP and CIDR indicators whose range contains this address")(
      "author", po::value<std::string>(), "records by this public key, with --since/--until")(
      "since", po::value<std::string>(), "with --author: created at or after")(
      "until", po::value<std::string>(), "with --author: created before")(
      "tag", po::value<std::string>(), "records carrying this label")(
      "kind", po::value<std::string>(), "indicator, log-excerpt, sighting or retraction")(
      "limit", po::value<std::size_t>()->default_value(storage::kDefaultLimit), "records per page")(
      "token", po::value<std::string>()->default_value(""),
      "continuation token printed by the previous page");
}

absl::StatusOr<storage::Page> Search(const po::variables_map& vm, LocalNode& node) {
  storage::Store& store = node.store();
  storage::PageRequest page{vm["limit"].as<std::size_t>(), vm["token"].as<std::string>()};
  int queries = 0;
  for (const char* q : {"value", "domain-suffix", "ip", "author", "tag", "kind"}) {
    queries += vm.count(q) ? 1 : 0;
  }
  if (queries != 1) {
    return absl::InvalidArgumentError(
        "give exactly one query: --type T --value V, --domain-suffix D, --ip IP, --author KEY, "
        "--tag T or --kind K");
  }
  if (vm.count("value")) {
    if (!vm.count("type")) return absl::InvalidArgumentError("--value needs --type");
    absl::StatusOr<threatmesh::v1::IndicatorType> type =
        ParseIndicatorType(vm["type"].as<std::string>());
    if (!type.ok()) return type.status();
    absl::StatusOr<std::string> value = NormalizeIndicator(*type, vm["value"].as<std::string>());
    if (!value.ok()) return value.status();
    return store.FindIndicator(*type, *value, page);
  }
  if (vm.count("domain-suffix")) {
    absl::StatusOr<std::string> d = NormalizeDomain(vm["domain-suffix"].as<std::string>());
    if (!d.ok()) return d.status();
    return store.FindDomainSuffix(*d, page);
  }
  if (vm.count("ip")) return store.FindContainingIp(vm["ip"].as<std::string>(), page);
  if (vm.count("author")) {
    absl::StatusOr<crypto::PublicKey> key =
        crypto::PublicKey::FromText(vm["author"].as<std::string>());
    if (!key.ok()) return key.status();
    int64_t since = 0, until = INT64_MAX;
    if (vm.count("since")) {
      absl::StatusOr<int64_t> t = ParseTime(vm["since"].as<std::string>());
      if (!t.ok()) return t.status();
      since = *t;
    }
    if (vm.count("until")) {
      absl::StatusOr<int64_t> t = ParseTime(vm["until"].as<std::string>());
      if (!t.ok()) return t.status();
      until = *t;
    }
    return store.FindByAuthor(key->bytes(), since, until, page);
  }
  if (vm.count("tag")) return store.FindByTag(vm["tag"].as<std::string>(), page);
  const std::string kind = vm["kind"].as<std::string>();
  static const std::map<std::string, storage::RecordKind> kKinds = {
      {"indicator", storage::RecordKind::kIndicator},
      {"log-excerpt", storage::RecordKind::kLogExcerpt},
      {"sighting", storage::RecordKind::kSighting},
      {"retraction", storage::RecordKind::kRetraction}};
  auto it = kKinds.find(kind);
  if (it == kKinds.end()) {
    return absl::InvalidArgumentError(
        StrCat("unknown kind \"", kind, "\"; use indicator, log-excerpt, sighting or retraction"));
  }
  return store.FindByKind(it->second, page);
}

int RunSearch(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
  if (!node.ok()) return Fail(io, node.status());
  absl::StatusOr<storage::Page> page = Search(vm, **node);
  if (!page.ok()) return Fail(io, page.status());
  const bool json = vm.count("json") > 0;
  if (json) io.out << "{\"records\":[";
  bool first = true;
  for (const std::string& id : page->ids) {
    absl::StatusOr<VerifiedRecord> record = (*node)->Get(id);
    if (!record.ok()) return Fail(io, record.status());
    if (json) {
      io.out << (first ? "" : ",") << RecordJson(*record);
    } else {
      io.out << RecordLine(*record) << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_token\":" << JsonString(page->next_token) << "}\n";
  } else if (page->ids.empty()) {
    io.out << "no records\n";
  }
  if (!json && !page->next_token.empty()) {
    io.out << "more: repeat with --token " << page->next_token << "\n";
  }
  return kExitOk;
}

// ---- feed ------------------------------------------------------------------------------

int RunFeed(const po::variables_map& vm, Io& io) {
  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(vm);
  if (!node.ok()) return Fail(io, node.status());
  absl::StatusOr<storage::LogPage> page =
      (*node)->store().ReadLog(vm["from"].as<uint64_t>(), vm["limit"].as<std::size_t>());
  if (!page.ok()) return Fail(io, page.status());
  const bool json = vm.count("json") > 0;
  if (json) io.out << "{\"entries\":[";
  bool first = true;
  for (const storage::LogEntry& e : page->entries) {
    if (json) {
      io.out << (first ? "" : ",") << "{\"seq\":" << e.seq
             << ",\"id\":" << JsonString(crypto::HexEncode(e.id)) << "}";
    } else {
      io.out << e.seq << "  " << crypto::HexEncode(e.id) << "\n";
    }
    first = false;
  }
  if (json) {
    io.out << "],\"next_seq\":" << page->next_seq << "}\n";
  } else {
    io.out << "next: --from " << page->next_seq << "\n";
  }
  return kExitOk;
}

std::vector<Command> Commands() {
  return {
      {"init", "create a node: a new key and an empty store in --data-dir",
       "threatmesh init --data-dir /var/lib/threatmesh", nullptr, RunInit},
      {"publish", "sign and store an indicator authored by this node",
       "threatmesh publish --type domain --value evil.example.com --tlp green --label apt29 "
       "--confidence 80",
       PublishOptions, RunPublish},
      {"get", "show one record by id", "threatmesh get 4f1c...e9 --json",
       [](po::options_description& d) {
         d.add_options()("id", po::value<std::string>()->required(), "record id (64 hex)");
       },
       RunGet},
      {"search", "query the store (one query per call, paged)",
       "threatmesh search --type domain --value example.com | --domain-suffix example.com | "
       "--ip 10.1.2.3 | --author tmpk... | --tag apt29 | --kind indicator",
       SearchOptions, RunSearch},
      {"feed", "read the local change feed from a sequence number",
       "threatmesh feed --from 1 --limit 50",
       [](po::options_description& d) {
         d.add_options()("from", po::value<uint64_t>()->default_value(1), "first sequence")(
             "limit", po::value<std::size_t>()->default_value(storage::kDefaultLimit),
             "entries to show");
       },
       RunFeed},
  };
}

po::options_description OptionsFor(const Command& c) {
  po::options_description d(StrCat("threatmesh ", c.name, " options"));
  d.add_options()("help,h", "show this help")("json", "machine-readable JSON output");
  AddDataDir(d);
  if (c.add_options) c.add_options(d);
  return d;
}

void PrintUsage(std::ostream& os) {
  os << "threatmesh: a federated exchange node for threat indicators and log excerpts\n\n"
        "usage: threatmesh COMMAND [options]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    os << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  }
  os << "\n'threatmesh COMMAND --help' shows a command's options with an example.\n";
}

}  // namespace

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  Io io{out, err};
  if (argc < 2) {
    PrintUsage(err);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc > 2) {
      for (const Command& c : Commands()) {
        if (c.name == argv[2]) {
          out << c.summary << "\nexample: " << c.example << "\n\n" << OptionsFor(c);
          return kExitOk;
        }
      }
    }
    PrintUsage(out);
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (c.name != name) continue;
    po::options_description desc = OptionsFor(c);
    po::positional_options_description positional;
    if (c.name == "get") positional.add("id", 1);
    po::variables_map vm;
    try {
      po::store(
          po::command_line_parser(argc - 1, argv + 1).options(desc).positional(positional).run(),
          vm);
      if (vm.count("help")) {
        out << c.summary << "\nexample: " << c.example << "\n\n" << desc;
        return kExitOk;
      }
      po::notify(vm);
    } catch (const po::error& e) {
      err << "threatmesh " << c.name << ": " << e.what() << "\n"
          << "see 'threatmesh " << c.name << " --help'\n";
      return kExitUsage;
    }
    return c.run(vm, io);
  }
  err << "threatmesh: unknown command \"" << name << "\"\n\n";
  PrintUsage(err);
  return kExitUsage;
}

}  // namespace threatmesh
