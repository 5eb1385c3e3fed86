// The threatmesh binary: every subcommand lives in node/cli.cc.
#include <iostream>

#include "crypto/sodium.h"
#include "node/cli/cli.h"

int main(int argc, char** argv) {
  threatmesh::crypto::EnsureSodium();
  return threatmesh::RunCli(argc, argv, std::cout, std::cerr);
}
