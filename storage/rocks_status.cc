#include "storage/rocks_status.h"

#include "crypto/str_cat.h"

namespace threatmesh::storage {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string detail = s.ToString();
  if (s.IsNoSpace()) {
    return absl::ResourceExhaustedError(
        StrCat(context, ": the disk is full (", detail,
               "). Nothing acknowledged was lost; free disk space (at least 64 MiB) and writing "
               "resumes by itself within seconds"));
  }
  if (detail.find("Too many open files") != std::string::npos) {
    return absl::ResourceExhaustedError(
        StrCat(context, ": the process is out of file descriptors (", detail,
               "). Nothing acknowledged was lost; raise the limit (LimitNOFILE= in the systemd "
               "unit, 'ulimit -n') or lower max-connections, and writing resumes by itself"));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(StrCat(context, ": the store is corrupted (", detail,
                                      "). Stop the node, move the directory aside and restore "
                                      "it from a backup"));
  }
  if (s.IsIOError() && detail.find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(
        StrCat(context, ": the store is in use by another threatmesh process (", detail,
               "). Stop that process, or use another --data-dir"));
  }
  if (s.IsNotFound()) return absl::NotFoundError(StrCat(context, ": ", detail));
  if (s.IsInvalidArgument() || s.IsNotSupported()) {
    return absl::FailedPreconditionError(StrCat(context, ": ", detail));
  }
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() || s.IsIncomplete()) {
    return absl::UnavailableError(StrCat(context, ": ", detail, "; retry"));
  }
  return absl::UnavailableError(StrCat(context, ": ", detail));
}

}  // namespace threatmesh::storage
