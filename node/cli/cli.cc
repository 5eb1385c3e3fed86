#include "node/cli/cli.h"

#include "crypto/str_cat.h"
#include "node/cli/commands.h"
#include "node/cli/node_access.h"

namespace threatmesh {
namespace {

using namespace threatmesh::cli;  // NOLINT: the command line's own parts.

// The command table, in the order 'threatmesh help' lists it.
std::vector<Command> Commands() {
  return {
      InitCommand(),        KeyCommand(),       ServeCommand(),      PublishCommand(),
      GetCommand(),         IngestLogCommand(), CheckCommand(),      SearchCommand(),
      SubscribeCommand(),   SightCommand(),     RetractCommand(),    ExportCommand(),
      ImportCommand(),      StatusCommand(),    TokenCommand(),      PeersCommand(),
      ExportProofCommand(), VerifyCommand(),    ViolationsCommand(), PolicyCommand(),
      AuditCommand(),       TaxiiCommand(),
  };
}

po::options_description OptionsFor(const Command& c) {
  po::options_description d(StrCat("threatmesh ", c.name, " options"));
  d.add_options()("help,h", "show this help")("json", "machine-readable JSON output");
  AddDataDir(d);
  if (c.node_options) AddNodeOptions(d);
  if (c.add_options) c.add_options(d);
  return d;
}

void PrintUsage(std::ostream& os) {
  os << "threatmesh: a federated exchange node for threat indicators and log excerpts\n\n"
        "usage: threatmesh COMMAND [options]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    os << "  " << c.name << std::string(c.name.size() < 13 ? 13 - c.name.size() : 1, ' ')
       << c.summary << "\n";
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
      if (std::string(argv[2]) == "serve") {
        const char* args[] = {"serve", "--help"};
        return RunServeCommand(2, const_cast<char**>(args), io);
      }
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
  if (name == "serve") return RunServeCommand(argc - 1, argv + 1, io);
  for (const Command& c : Commands()) {
    if (c.name != name) continue;
    po::options_description desc = OptionsFor(c);
    po::positional_options_description positional;
    for (const std::string& p : c.positional) positional.add(p.c_str(), 1);
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
