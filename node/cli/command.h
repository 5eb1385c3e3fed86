// What every command of the command line shares: its row in the command table, its output
// streams, exit codes and error line. Commands live one group per cmd_*.cc file; the table
// (cli.cc) lists them in the order 'threatmesh help' shows.
#ifndef THREATMESH_NODE_CLI_COMMAND_H_
#define THREATMESH_NODE_CLI_COMMAND_H_

#include <boost/program_options.hpp>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace threatmesh::cli {

namespace po = boost::program_options;

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

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
  // Options that may also be given by position, in order ("threatmesh get ID").
  std::vector<std::string> positional = {};
  // Whether it talks to a running node (--node, --token, ...).
  bool node_options = true;
};

// Prints "threatmesh: error: MESSAGE" on io.err; returns kExitError.
int Fail(Io& io, const absl::Status& status);

// Writes `text` to the file `path` (replacing it), or to io.out when `path` is empty.
// Unavailable naming the file when it cannot be written whole.
[[nodiscard]] absl::Status WriteOutput(const std::string& path, std::string_view text, Io& io);

// The value of --out, or "" (standard output).
std::string OutPath(const po::variables_map& vm);

}  // namespace threatmesh::cli

#endif  // THREATMESH_NODE_CLI_COMMAND_H_
