// The rows of the command table, one function per command, defined in the cmd_*.cc file of
// its group.
#ifndef THREATMESH_NODE_CLI_COMMANDS_H_
#define THREATMESH_NODE_CLI_COMMANDS_H_

#include "node/cli/command.h"

namespace threatmesh::cli {

// cmd_excerpt.cc and cmd_verify.cc: offline, no node needed (library threatmesh_cli_offline).
Command IngestLogCommand();
Command CheckCommand();
Command VerifyCommand();

// cmd_init.cc: making and keying a node.
Command InitCommand();
Command KeyCommand();
Command ServeCommand();  // its options are the serve configuration's: see RunServeCommand
int RunServeCommand(int argc, char** argv, Io& io);

// cmd_records.cc: records through the node's API.
Command PublishCommand();
Command GetCommand();
Command SearchCommand();
Command SubscribeCommand();
Command SightCommand();
Command RetractCommand();

// cmd_export.cc: the records in standard formats (STIX 2.1, feeds for enforcing tools).
Command ExportCommand();
// cmd_import.cc: other tools' files (STIX 2.1) into records.
Command ImportCommand();
// cmd_taxii.cc: TAXII 2.1 collections pulled into records.
Command TaxiiCommand();

// cmd_admin.cc: the node's state, tokens, audit trail, proofs, violations, policy.
Command StatusCommand();
Command TokenCommand();
Command AuditCommand();
Command ExportProofCommand();
Command ViolationsCommand();
Command PolicyCommand();

// cmd_peers.cc
Command PeersCommand();

}  // namespace threatmesh::cli

#endif  // THREATMESH_NODE_CLI_COMMANDS_H_
