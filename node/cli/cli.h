// The threatmesh command line: 'threatmesh COMMAND [options]', the commands listed by
// 'threatmesh help' (the table in cli.cc, one cmd_*.cc per group of commands). Exit codes:
// 0 success, 1 the operation failed (one-line error on `err`), 2 usage error. Output is
// human-readable, or JSON with --json.
#ifndef THREATMESH_NODE_CLI_CLI_H_
#define THREATMESH_NODE_CLI_CLI_H_

#include <ostream>

namespace threatmesh {

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace threatmesh

#endif  // THREATMESH_NODE_CLI_CLI_H_
