#include "node/local_node.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "crypto/hash.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/record_builder.h"

namespace threatmesh {

namespace {
constexpr std::string_view kMetaNodeKey = "node_key";
}  // namespace

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string KeyFilePath(const std::string& data_dir) { return data_dir + "/node.key"; }
std::string StorePath(const std::string& data_dir) { return data_dir + "/store"; }
std::string AdminTokenPath(const std::string& data_dir) { return data_dir + "/admin.token"; }
std::string PeerCertPath(const std::string& data_dir) { return data_dir + "/peer.crt"; }
std::string PeerCertKeyPath(const std::string& data_dir) { return data_dir + "/peer.key"; }

absl::StatusOr<crypto::PublicKey> LocalNode::Init(const std::string& data_dir,
                                                  const crypto::KeyFileOptions& key_options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot create data directory ", data_dir, ": ", ec.message()));
  }
  ::chmod(data_dir.c_str(), 0700);
  if (std::filesystem::exists(KeyFilePath(data_dir), ec)) {
    return absl::AlreadyExistsError(StrCat(data_dir, " is already initialised (",
                                           KeyFilePath(data_dir),
                                           " exists); use it, or pick an empty --data-dir"));
  }
  crypto::KeyPair key = crypto::KeyPair::Generate();
  storage::StoreOptions store_options;
  store_options.create_if_missing = true;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(StorePath(data_dir), store_options);
  if (!store.ok()) return store.status();
  if (absl::Status s = (*store)->PutMeta(kMetaNodeKey, key.public_key().bytes()); !s.ok()) {
    return s;
  }
  if (absl::Status s = crypto::SaveKeyFile(KeyFilePath(data_dir), key, key_options); !s.ok()) {
    return s;
  }
  return key.public_key();
}

absl::StatusOr<std::unique_ptr<LocalNode>> LocalNode::Open(const NodeConfig& config) {
  absl::StatusOr<crypto::KeyPair> key =
      crypto::LoadKeyFile(KeyFilePath(config.data_dir), config.passphrase);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(StorePath(config.data_dir), storage::StoreOptions());
  if (!store.ok()) return store.status();
  absl::StatusOr<std::string> stored_key = (*store)->GetMeta(kMetaNodeKey);
  if (stored_key.ok() && *stored_key != key->public_key().bytes()) {
    return absl::FailedPreconditionError(
        StrCat("the key file ", KeyFilePath(config.data_dir),
               " is not the key this store was created with; restore the original key file"));
  }
  NodeConfig kept = config;
  crypto::SecureWipe(kept.passphrase);  // the key is loaded; the node keeps no passphrase
  return std::unique_ptr<LocalNode>(
      new LocalNode(std::move(kept), std::move(*key), std::move(*store)));
}

absl::StatusOr<VerifiedRecord> LocalNode::Publish(threatmesh::v1::RecordBody body) {
  body.set_author(std::string(key_.public_key().bytes()));
  if (body.created_at() == 0) body.set_created_at(Now());
  return ValidateAndStore(SealRecord(body, key_), {});
}

void LocalNode::PublishAsync(threatmesh::v1::RecordBody body, PublishCallback done) {
  body.set_author(std::string(key_.public_key().bytes()));
  if (body.created_at() == 0) body.set_created_at(Now());
  absl::StatusOr<VerifiedRecord> record =
      ValidateRecord(SealRecord(body, key_), config_.validation, Now());
  if (!record.ok()) {
    done(record.status());
    return;
  }
  std::string id = record->id;
  store_->PutAsync(
      storage::RecordToStore{
          std::move(record->id), std::move(record->signed_bytes), std::move(record->body), {}},
      [id = std::move(id), done = std::move(done)](absl::StatusOr<uint64_t> seq) {
        if (!seq.ok()) {
          done(seq.status());
        } else {
          done(Published{id, *seq});
        }
      });
}

absl::StatusOr<VerifiedRecord> LocalNode::Ingest(std::string_view signed_bytes,
                                                 threatmesh::v1::CustodyChain chain) {
  // Duplicates are common in a mesh and cost one lookup, never a signature check.
  threatmesh::v1::Signed envelope;
  if (signed_bytes.size() <= config_.validation.max_record_bytes &&
      envelope.ParseFromArray(signed_bytes.data(), static_cast<int>(signed_bytes.size()))) {
    std::string id = crypto::RecordId(envelope.payload());
    absl::StatusOr<bool> known = store_->Contains(id);
    if (!known.ok()) return known.status();
    if (*known) {
      return absl::AlreadyExistsError(StrCat("record ", ShortId(id), " is already stored"));
    }
  }
  return ValidateAndStore(signed_bytes, std::move(chain));
}

absl::StatusOr<VerifiedRecord> LocalNode::ValidateAndStore(std::string_view signed_bytes,
                                                           threatmesh::v1::CustodyChain chain) {
  absl::StatusOr<VerifiedRecord> record = ValidateRecord(signed_bytes, config_.validation, Now());
  if (!record.ok()) return record.status();
  storage::RecordToStore to_store{record->id, record->signed_bytes, record->body, std::move(chain)};
  absl::StatusOr<uint64_t> seq = store_->Put(std::move(to_store));
  if (!seq.ok()) return seq.status();
  record->seq = *seq;
  return record;
}

absl::StatusOr<LocalNode::Withdrawal> LocalNode::WithdrawnBy(
    std::string_view id, const threatmesh::v1::RecordBody& body) {
  absl::StatusOr<std::vector<storage::Store::Mark>> marks = store_->MarksOf(id);
  if (!marks.ok()) return marks.status();
  Withdrawal out;
  for (const storage::Store::Mark& m : *marks) {
    std::optional<std::string>& slot = m.supersedes ? out.superseded_by : out.retracted_by;
    if (slot) continue;
    absl::StatusOr<VerifiedRecord> r = Get(m.by);
    if (!r.ok()) return r.status();
    if (r->body.author() == body.author()) slot = m.by;
  }
  return out;
}

absl::StatusOr<VerifiedRecord> LocalNode::Get(std::string_view id) {
  absl::StatusOr<std::string> bytes = store_->Get(id);
  if (!bytes.ok()) return bytes.status();
  VerifiedRecord out;
  threatmesh::v1::Signed envelope;
  if (!envelope.ParseFromString(*bytes) || !out.body.ParseFromString(envelope.payload())) {
    return absl::DataLossError(StrCat("stored record ", ShortId(id),
                                      " no longer parses; the store is damaged, restore it "
                                      "from a backup"));
  }
  out.id = std::string(id);
  out.signed_bytes = std::move(*bytes);
  return out;
}

}  // namespace threatmesh
