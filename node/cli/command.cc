#include "node/cli/command.h"

#include "node/excerpt/excerpt_files.h"

namespace threatmesh::cli {

int Fail(Io& io, const absl::Status& status) {
  io.err << "threatmesh: error: " << status.message() << "\n";
  return kExitError;
}

absl::Status WriteOutput(const std::string& path, std::string_view text, Io& io) {
  if (path.empty()) {
    io.out << text;
    return absl::OkStatus();
  }
  return WriteFileReplacing(path, text);
}

std::string OutPath(const po::variables_map& vm) {
  return vm.count("out") ? vm["out"].as<std::string>() : std::string();
}

}  // namespace threatmesh::cli
