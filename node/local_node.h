// LocalNode: a node's key and store opened from its data directory, and the core
// operations on them (publish, ingest, get, query) that the CLI — and later the gRPC
// services — are thin adapters over.
//
// Data directory layout: DIR/node.key (the key file, mode 0600), DIR/store/ (RocksDB) and
// DIR/admin.token (the first admin API token, mode 0600).
// Thread-safe: the store serializes writes, everything else is read-only after Open.
#ifndef THREATMESH_NODE_LOCAL_NODE_H_
#define THREATMESH_NODE_LOCAL_NODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/key_file.h"
#include "crypto/keys.h"
#include "node/core/clock.h"
#include "node/core/custody.h"
#include "node/core/key_table.h"
#include "node/core/validate.h"
#include "storage/store.h"

namespace threatmesh {

class WorkPool;

struct NodeConfig {
  std::string data_dir;
  // Passphrase of the key file, when it has one.
  std::string passphrase;
  ValidationOptions validation;
  Clock clock = SystemNowMs;
};

std::string KeyFilePath(const std::string& data_dir);
std::string StorePath(const std::string& data_dir);
// The first admin token, written by 'threatmesh init' (mode 0600).
std::string AdminTokenPath(const std::string& data_dir);
// The peer port's self-signed certificate and its key, made by 'threatmesh init'.
std::string PeerCertPath(const std::string& data_dir);
std::string PeerCertKeyPath(const std::string& data_dir);

// The key file's passphrase: the first line of `file` (NotFound when it cannot be read,
// InvalidArgument when that line is empty), or without a file $THREATMESH_PASSPHRASE, or ""
// (a key file without a passphrase). The caller wipes it once used.
[[nodiscard]] absl::StatusOr<std::string> LoadPassphrase(const std::string& file);

class LocalNode {
 public:
  // Creates DIR with a new key and an empty store. AlreadyExists when DIR has a key.
  [[nodiscard]] static absl::StatusOr<crypto::PublicKey> Init(
      const std::string& data_dir, const crypto::KeyFileOptions& key_options);

  // Opens an initialised data directory (errors from the key file or the store pass
  // through with their instructions). FailedPrecondition when the store records that the
  // node's key was rotated but the key file still holds the old key (an interrupted
  // 'threatmesh key rotate', which finishes the job when run again).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LocalNode>> Open(const NodeConfig& config);

  // Rotates the key of the node in `config.data_dir` (which must not be serving): makes a
  // new key, stores the KeyRotation record signed by the old key with the new key's
  // consent, and replaces the key file (sealed with `new_key_options`); the old secret is
  // gone afterwards. Returns the new public key. Run again after an interruption, it
  // finishes the rotation the store records.
  [[nodiscard]] static absl::StatusOr<crypto::PublicKey> RotateKey(
      const NodeConfig& config, const crypto::KeyFileOptions& new_key_options);

  // Stores a KeyRevocation, signed by this node's key, of `key` (one of the keys this node
  // rotated away from; empty: the one it last rotated away from) from `since_ms` on.
  // Returns the stored revocation.
  [[nodiscard]] absl::StatusOr<VerifiedRecord> RevokeKey(std::string_view key, int64_t since_ms,
                                                         std::string_view reason);

  // The key rotations and revocations this node holds (validation consults them).
  const KeyTable& keys() const { return *keys_; }
  // The batch statements of custody hops checked already (node/core/custody.h), shared by
  // every peer stream.
  VerifiedBatches& verified_batches() { return verified_batches_; }
  // Takes a validated, stored (or about to be stored) record into the key table when it is
  // a key rotation or revocation; nothing otherwise. A conflicting rotation is logged and
  // left out.
  void Learn(std::string_view id, const threatmesh::v1::RecordBody& body);

  const crypto::KeyPair& key() const { return key_; }
  storage::Store& store() { return *store_; }

  // Signs `body` as this node (author and created_at are set here), validates it like any
  // received record and stores it. Returns the stored record.
  [[nodiscard]] absl::StatusOr<VerifiedRecord> Publish(threatmesh::v1::RecordBody body);

  // As Publish, without waiting for the sync: signs and validates on the calling thread,
  // then `done` gets the id and sequence once the record is durable (on the store's writer
  // thread: it must be quick), or the error (on the calling thread when validation fails).
  struct Published {
    std::string id;
    uint64_t seq = 0;
  };
  using PublishCallback = std::function<void(absl::StatusOr<Published>)>;
  void PublishAsync(threatmesh::v1::RecordBody body, PublishCallback done);
  // As PublishAsync for each of `bodies` (with `dones[i]` for `bodies[i]`), signing and
  // validating them on `pool` (nullptr: the calling thread) and storing them as one group,
  // so that they share a sync and reach the peers together, in one batch. A key statement
  // takes effect before the next record is checked: a group holding one is published one by
  // one.
  void PublishAllAsync(std::vector<threatmesh::v1::RecordBody> bodies,
                       std::vector<PublishCallback> dones, WorkPool* pool);

  // Stores a record received as bytes. A known id is AlreadyExists before any signature
  // check; otherwise the record is validated and stored with `chain`.
  [[nodiscard]] absl::StatusOr<VerifiedRecord> Ingest(std::string_view signed_bytes,
                                                      threatmesh::v1::CustodyChain chain);

  // A stored record, parsed (it was validated when stored).
  [[nodiscard]] absl::StatusOr<VerifiedRecord> Get(std::string_view id);
  // Get of several records at once, each answer at its id's place (cheaper per record).
  [[nodiscard]] std::vector<absl::StatusOr<VerifiedRecord>> GetMany(
      const std::vector<std::string_view>& ids);

  // Whether record `id` (whose body is `body`) was withdrawn by its own author: the id of a
  // stored retraction of it, and of a stored record superseding it. A mark by anyone else
  // counts for nothing.
  // Also the id of the key rotation or revocation under which the author's key may no
  // longer sign at the record's created_at (a record that arrived before the statement).
  struct Withdrawal {
    std::optional<std::string> retracted_by;
    std::optional<std::string> superseded_by;
    std::optional<std::string> distrusted_by;
    bool any() const { return retracted_by || superseded_by || distrusted_by; }
  };
  [[nodiscard]] absl::StatusOr<Withdrawal> WithdrawnBy(std::string_view id,
                                                       const threatmesh::v1::RecordBody& body);

  int64_t Now() const { return config_.clock(); }
  // The limits every record is validated against (size, clock skew).
  const ValidationOptions& validation() const { return config_.validation; }

 private:
  // A stored record's bytes, parsed.
  static absl::StatusOr<VerifiedRecord> Parse(std::string_view id, std::string bytes);

  LocalNode(NodeConfig config, crypto::KeyPair key, std::unique_ptr<storage::Store> store,
            std::unique_ptr<KeyTable> keys)
      : config_(std::move(config)),
        key_(std::move(key)),
        store_(std::move(store)),
        keys_(std::move(keys)) {}

  static absl::StatusOr<std::unique_ptr<LocalNode>> OpenNode(const NodeConfig& config,
                                                             bool rotating);

  [[nodiscard]] absl::StatusOr<VerifiedRecord> ValidateAndStore(std::string_view signed_bytes,
                                                                threatmesh::v1::CustodyChain chain);

  const NodeConfig config_;
  const crypto::KeyPair key_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<KeyTable> keys_;  // config_.validation.keys points here
  VerifiedBatches verified_batches_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_LOCAL_NODE_H_
