// libFuzzer harness: a line of a reviewed indicator proposals file, which `publish --excerpt
// --indicators` reads back after an analyst edited it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/excerpt/excerpt_builder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<threatmesh::IndicatorProposal> p = threatmesh::ProposalFromJson(line);
  if (p.ok()) (void)threatmesh::ProposalToJson(*p);
  return 0;
}
