// The layering that README.md pictures, checked on the built libraries: a library "uses"
// another part when its object code refers to that part's symbols (nm --undefined-only).
// The configure step checks the declared links (threatmesh_forbid_links in CMakeLists.txt);
// this checks the code itself, so that a header-only slip is caught too.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

// The demangled undefined symbols of the static library at `path`.
std::vector<std::string> UndefinedSymbols(const std::string& path) {
  std::vector<std::string> out;
  const std::string command = "nm -C --undefined-only '" + path + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) out.emplace_back(line);
  EXPECT_EQ(::pclose(pipe), 0) << command;
  return out;
}

// How many of `path`'s undefined symbols contain `needle`; the first one in `example`.
int Count(const std::string& path, const std::string& needle, std::string* example = nullptr) {
  int n = 0;
  for (const std::string& s : UndefinedSymbols(path)) {
    if (s.find(needle) == std::string::npos) continue;
    if (n++ == 0 && example != nullptr) *example = s;
  }
  return n;
}

void ExpectNoUse(const std::string& library, const std::string& path,
                 const std::vector<std::string>& needles) {
  for (const std::string& needle : needles) {
    std::string example;
    EXPECT_EQ(Count(path, needle, &example), 0)
        << library << " refers to " << needle << " code, which its part must not use: " << example;
  }
}

const std::vector<std::string> kRocksDb = {"rocksdb::"};
const std::vector<std::string> kGrpc = {"grpc::", "grpc_", "gpr_"};

// The check can fail: the libraries that are meant to use RocksDB and gRPC show their symbols.
TEST(LayeringTest, TheCheckSeesWhatALibraryUses) {
  EXPECT_GT(Count(THREATMESH_LIB_storage, "rocksdb::"), 0);
  EXPECT_GT(Count(THREATMESH_LIB_serve, "grpc::"), 0);
  EXPECT_GT(Count(THREATMESH_LIB_core, "threatmesh::v1::"), 0);
}

TEST(LayeringTest, OfflinePartsUseNeitherRocksDbNorGrpc) {
  for (auto [name, path] :
       {std::pair{"core", THREATMESH_LIB_core}, std::pair{"excerpt", THREATMESH_LIB_excerpt},
        std::pair{"proof", THREATMESH_LIB_proof}, std::pair{"interop", THREATMESH_LIB_interop},
        std::pair{"cli_offline", THREATMESH_LIB_cli_offline}}) {
    ExpectNoUse(name, path, kRocksDb);
    ExpectNoUse(name, path, kGrpc);
    ExpectNoUse(name, path, {"threatmesh::storage::"});
  }
}

TEST(LayeringTest, CryptoAndStorageUseNoGrpc) {
  ExpectNoUse("crypto", THREATMESH_LIB_crypto, kGrpc);
  ExpectNoUse("crypto", THREATMESH_LIB_crypto, {"threatmesh::v1::", "google::protobuf::"});
  ExpectNoUse("storage", THREATMESH_LIB_storage, kGrpc);
}

TEST(LayeringTest, NodeApiAndMeshLogicUseNoGrpc) {
  ExpectNoUse("node", THREATMESH_LIB_node, kGrpc);
  ExpectNoUse("api", THREATMESH_LIB_api, kGrpc);
  ExpectNoUse("mesh", THREATMESH_LIB_mesh, kGrpc);
  ExpectNoUse("taxii", THREATMESH_LIB_taxii, kGrpc);
  ExpectNoUse("console", THREATMESH_LIB_console, kGrpc);
  ExpectNoUse("console", THREATMESH_LIB_console, kRocksDb);
}

TEST(LayeringTest, TheHttpServerUsesNoRecordsStoreOrGrpc) {
  ExpectNoUse("http", THREATMESH_LIB_http, kGrpc);
  ExpectNoUse("http", THREATMESH_LIB_http, kRocksDb);
  ExpectNoUse("http", THREATMESH_LIB_http, {"threatmesh::v1::", "threatmesh::storage::"});
}

}  // namespace
