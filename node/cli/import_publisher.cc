#include "node/cli/import_publisher.h"

#include "node/core/json_string.h"

namespace threatmesh::cli {

void PrintSummary(const ImportSummary& s, bool json, Io& io) {
  if (json) {
    io.out << "{\"read\":" << s.read << ",\"imported\":" << s.imported
           << ",\"already_present\":" << s.present << ",\"not_imported\":[";
    bool first = true;
    for (const auto& [why, r] : s.not_imported) {
      io.out << (first ? "" : ",") << "{\"reason\":" << JsonString(why) << ",\"count\":" << r.count
             << ",\"ids\":[";
      for (std::size_t i = 0; i < r.ids.size(); ++i) {
        io.out << (i ? "," : "") << JsonString(r.ids[i]);
      }
      io.out << "]}";
      first = false;
    }
    io.out << "]}\n";
    return;
  }
  io.out << "import: " << s.imported << " imported, " << s.present << " already present, "
         << s.read - s.imported - s.present << " not imported, of " << s.read << " values\n";
  for (const auto& [why, r] : s.not_imported) {
    io.out << "  " << r.count << " not imported: " << why << " (";
    for (std::size_t i = 0; i < r.ids.size() && i < kIdsShown; ++i) {
      io.out << (i ? ", " : "") << r.ids[i];
    }
    io.out << (r.count > kIdsShown ? ", ...)\n" : ")\n");
  }
}

}  // namespace threatmesh::cli
