#include "node/local_node.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/log.h"
#include "crypto/sodium.h"
#include "crypto/str_cat.h"
#include "node/core/record_builder.h"
#include "node/work_pool.h"

namespace threatmesh {

namespace {
constexpr std::string_view kMetaNodeKey = "node_key";
}  // namespace

std::string KeyFilePath(const std::string& data_dir) { return data_dir + "/node.key"; }

absl::StatusOr<std::string> LoadPassphrase(const std::string& file) {
  if (file.empty()) {
    const char* env = std::getenv("THREATMESH_PASSPHRASE");
    return std::string(env != nullptr ? env : "");
  }
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(StrCat("cannot read passphrase file ", file));
  std::string pass;
  std::getline(in, pass);
  if (pass.empty()) {
    return absl::InvalidArgumentError(
        StrCat("passphrase file ", file, " is empty; put the passphrase on its first line"));
  }
  return pass;
}
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
  return OpenNode(config, /*rotating=*/false);
}

absl::StatusOr<std::unique_ptr<LocalNode>> LocalNode::OpenNode(const NodeConfig& config,
                                                               bool rotating) {
  absl::StatusOr<crypto::KeyPair> key =
      crypto::LoadKeyFile(KeyFilePath(config.data_dir), config.passphrase);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(StorePath(config.data_dir), storage::StoreOptions());
  if (!store.ok()) return store.status();
  // The key statements held, rotations first (a revocation may be signed by a key that
  // another key rotated to).
  auto keys = std::make_unique<KeyTable>();
  for (storage::RecordKind kind :
       {storage::RecordKind::kKeyRotation, storage::RecordKind::kKeyRevocation}) {
    storage::PageRequest page;
    page.limit = storage::kMaxLimit;
    do {
      absl::StatusOr<storage::Page> ids = (*store)->FindByKind(kind, page);
      if (!ids.ok()) return ids.status();
      for (const std::string& id : ids->ids) {
        absl::StatusOr<std::string> bytes = (*store)->Get(id);
        threatmesh::v1::Signed envelope;
        threatmesh::v1::RecordBody body;
        if (!bytes.ok() || !envelope.ParseFromString(*bytes) ||
            !body.ParseFromString(envelope.payload())) {
          return absl::DataLossError(StrCat("stored key statement ", ShortId(id),
                                            " cannot be read; the store is damaged, restore it "
                                            "from a backup"));
        }
        (void)keys->Add(id, body);  // a conflict was refused when it arrived
      }
      page.token = ids->next_token;
    } while (!page.token.empty());
  }
  const std::string own(key->public_key().bytes());
  absl::StatusOr<std::string> stored_key = (*store)->GetMeta(kMetaNodeKey);
  const std::string interrupted =
      StrCat("the key file ", KeyFilePath(config.data_dir), " holds this node's key ",
             key->public_key().Fingerprint(),
             ", which was rotated or revoked (the store holds the statement): a 'threatmesh key "
             "rotate' was interrupted (run it again to finish), or an old key file was restored "
             "(restore the current one)");
  if (stored_key.ok() && *stored_key != own) {
    if (keys->Succeeds(*stored_key, own)) {
      // A rotation that stopped after replacing the key file: the store catches up.
      if (absl::Status s = (*store)->PutMeta(kMetaNodeKey, own); !s.ok()) return s;
    } else if (keys->Succeeds(own, *stored_key)) {
      if (!rotating) return absl::FailedPreconditionError(interrupted);
    } else {
      return absl::FailedPreconditionError(
          StrCat("the key file ", KeyFilePath(config.data_dir),
                 " is not the key this store was created with; restore the original key file"));
    }
  }
  if (!rotating && keys->ForbiddenBy(own, std::numeric_limits<int64_t>::max())) {
    return absl::FailedPreconditionError(interrupted);
  }
  NodeConfig kept = config;
  crypto::SecureWipe(kept.passphrase);  // the key is loaded; the node keeps no passphrase
  kept.validation.keys = keys.get();
  return std::unique_ptr<LocalNode>(
      new LocalNode(std::move(kept), std::move(*key), std::move(*store), std::move(keys)));
}

absl::StatusOr<crypto::PublicKey> LocalNode::RotateKey(
    const NodeConfig& config, const crypto::KeyFileOptions& new_key_options) {
  absl::StatusOr<std::unique_ptr<LocalNode>> node = OpenNode(config, /*rotating=*/true);
  if (!node.ok()) return node.status();
  const std::string key_path = KeyFilePath(config.data_dir);
  const std::string next_path = key_path + ".next";
  const std::string old_key((*node)->key().public_key().bytes());
  std::error_code ec;
  // An earlier run that stored its rotation but did not replace the key file left the new
  // key beside it: finish with that key.
  if (std::filesystem::exists(next_path, ec)) {
    absl::StatusOr<crypto::KeyPair> next =
        crypto::LoadKeyFile(next_path, new_key_options.passphrase);
    if (next.ok() && (*node)->keys().Succeeds(old_key, next->public_key().bytes())) {
      if (std::rename(next_path.c_str(), key_path.c_str()) != 0) {
        return absl::UnavailableError(
            StrCat("cannot rename ", next_path, " to ", key_path, ": ", std::strerror(errno)));
      }
      (void)(*node)->store().PutMeta(kMetaNodeKey, next->public_key().bytes());
      return next->public_key();
    }
    // Never used: the rotation it was made for did not happen.
    std::filesystem::remove(next_path, ec);
  }
  if (std::optional<std::string> by =
          (*node)->keys().ForbiddenBy(old_key, std::numeric_limits<int64_t>::max())) {
    return absl::FailedPreconditionError(
        StrCat("this node's key was already rotated or revoked (record ", ShortId(*by),
               ") and the new key is missing: restore ", next_path, " from a backup"));
  }
  crypto::KeyPair next = crypto::KeyPair::Generate();
  if (absl::Status s = crypto::SaveKeyFile(next_path, next, new_key_options); !s.ok()) return s;
  absl::StatusOr<VerifiedRecord> rotation =
      (*node)->ValidateAndStore(SealRotation((*node)->key(), next, (*node)->Now()), {});
  if (!rotation.ok()) {
    std::filesystem::remove(next_path, ec);
    return rotation.status();
  }
  (*node)->Learn(rotation->id, rotation->body);
  if (std::rename(next_path.c_str(), key_path.c_str()) != 0) {
    return absl::UnavailableError(StrCat("the rotation is stored but ", next_path,
                                         " could not be renamed to ", key_path, " (",
                                         std::strerror(errno), "); run the command again"));
  }
  if (absl::Status s = (*node)->store().PutMeta(kMetaNodeKey, next.public_key().bytes()); !s.ok()) {
    return s;  // the next Open repairs it from the rotation
  }
  return next.public_key();
}

absl::StatusOr<VerifiedRecord> LocalNode::RevokeKey(std::string_view key, int64_t since_ms,
                                                    std::string_view reason) {
  const std::string own(key_.public_key().bytes());
  std::optional<std::string> previous;
  if (key.empty()) {
    previous = keys_->RotatedFrom(own);
    if (!previous) {
      return absl::FailedPreconditionError(
          "this node never rotated its key, so it has no old key to revoke; rotate first "
          "('threatmesh key rotate', node stopped), then revoke");
    }
    key = *previous;
  }
  if (key == own) {
    return absl::FailedPreconditionError(
        "a node does not revoke the key it signs with: rotate first ('threatmesh key rotate'), "
        "then revoke the old key");
  }
  if (!keys_->Succeeds(key, own)) {
    return absl::FailedPreconditionError(
        "that key is not one this node rotated away from; a key is revoked by itself or by a "
        "key it rotated to");
  }
  return ValidateAndStore(SealRevocation(key_, key, since_ms, reason, Now()), {});
}

void LocalNode::Learn(std::string_view id, const threatmesh::v1::RecordBody& body) {
  if (!IsKeyStatement(body)) return;
  if (absl::Status s = keys_->Add(id, body); !s.ok()) {
    const std::string hex = crypto::HexEncode(id);
    LogWarning(StrCat("key statement ", ShortId(id), " not taken: ", s.message()), {.record = hex});
  }
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
  Learn(record->id, record->body);
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

void LocalNode::PublishAllAsync(std::vector<threatmesh::v1::RecordBody> bodies,
                                std::vector<PublishCallback> dones, WorkPool* pool) {
  const bool key_statement = std::any_of(bodies.begin(), bodies.end(), IsKeyStatement);
  if (key_statement || bodies.size() < 2) {
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      PublishAsync(std::move(bodies[i]), std::move(dones[i]));
    }
    return;
  }
  const int64_t now = Now();
  std::vector<absl::StatusOr<VerifiedRecord>> records(bodies.size(),
                                                      absl::UnknownError("not signed"));
  auto seal = [&](std::size_t i) {
    bodies[i].set_author(std::string(key_.public_key().bytes()));
    if (bodies[i].created_at() == 0) bodies[i].set_created_at(now);
    records[i] = ValidateRecord(SealRecord(bodies[i], key_), config_.validation, now);
  };
  if (pool != nullptr) {
    pool->Run(bodies.size(), seal);
  } else {
    for (std::size_t i = 0; i < bodies.size(); ++i) seal(i);
  }
  std::vector<storage::Store::QueuedPut> puts;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!records[i].ok()) {
      dones[i](records[i].status());
      continue;
    }
    VerifiedRecord& r = *records[i];
    std::string id = r.id;
    puts.push_back(storage::Store::QueuedPut{
        storage::RecordToStore{std::move(r.id), std::move(r.signed_bytes), std::move(r.body), {}},
        [id = std::move(id), done = std::move(dones[i])](absl::StatusOr<uint64_t> seq) {
          if (!seq.ok()) {
            done(seq.status());
          } else {
            done(Published{id, *seq});
          }
        }});
  }
  if (!puts.empty()) store_->PutAllAsync(std::move(puts));
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
  Learn(record->id, record->body);
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
  out.distrusted_by = keys_->ForbiddenBy(body.author(), body.created_at());
  return out;
}

absl::StatusOr<VerifiedRecord> LocalNode::Get(std::string_view id) {
  absl::StatusOr<std::string> bytes = store_->Get(id);
  if (!bytes.ok()) return bytes.status();
  return Parse(id, *std::move(bytes));
}

std::vector<absl::StatusOr<VerifiedRecord>> LocalNode::GetMany(
    const std::vector<std::string_view>& ids) {
  std::vector<absl::StatusOr<std::string>> bytes = store_->GetMany(ids);
  std::vector<absl::StatusOr<VerifiedRecord>> out;
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!bytes[i].ok()) {
      out.push_back(bytes[i].status());
    } else {
      out.push_back(Parse(ids[i], *std::move(bytes[i])));
    }
  }
  return out;
}

absl::StatusOr<VerifiedRecord> LocalNode::Parse(std::string_view id, std::string bytes) {
  VerifiedRecord out;
  threatmesh::v1::Signed envelope;
  if (!envelope.ParseFromString(bytes) || !out.body.ParseFromString(envelope.payload())) {
    return absl::DataLossError(StrCat("stored record ", ShortId(id),
                                      " no longer parses; the store is damaged, restore it "
                                      "from a backup"));
  }
  out.id = std::string(id);
  out.signed_bytes = std::move(bytes);
  return out;
}

}  // namespace threatmesh
