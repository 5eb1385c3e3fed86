// Two ends of a peer stream in memory: what one end writes the other reads, in order. For
// running the exchange between two nodes in one process, without sockets or gRPC. Either
// end's Cancel ends both directions (reads then return false), as a broken connection does.
#ifndef THREATMESH_TESTS_TESTING_MEMORY_STREAM_H_
#define THREATMESH_TESTS_TESTING_MEMORY_STREAM_H_

#include <deque>
#include <memory>
#include <utility>

#include "crypto/hash.h"
#include "crypto/mutex.h"
#include "node/mesh/exchange.h"

namespace threatmesh::testing {

class MemoryPipe {
 public:
  bool Push(const threatmesh::v1::PeerMessage& m) {
    MutexLock lock(&mu_);
    if (closed_) return false;
    queue_.push_back(m);
    return true;
  }
  bool Pop(threatmesh::v1::PeerMessage* m) {
    MutexLock lock(&mu_);
    mu_.Await(Condition(this, &MemoryPipe::ReadyOrClosed));
    if (queue_.empty()) return false;
    *m = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  void Close() {
    MutexLock lock(&mu_);
    closed_ = true;
    queue_.clear();
  }

 private:
  bool ReadyOrClosed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); }

  Mutex mu_;
  std::deque<threatmesh::v1::PeerMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// One end: reads `in`, writes `out`. Its certificate hash is that of insecure peering (no
// certificate), so the contexts on both ends must use crypto::Sha256("") as their own.
class MemoryPeerStream final : public PeerStream {
 public:
  MemoryPeerStream(std::shared_ptr<MemoryPipe> in, std::shared_ptr<MemoryPipe> out)
      : in_(std::move(in)), out_(std::move(out)) {}
  bool Read(threatmesh::v1::PeerMessage* m) override { return in_->Pop(m); }
  bool Write(const threatmesh::v1::PeerMessage& m) override { return out_->Push(m); }
  void Cancel() override {
    in_->Close();
    out_->Close();
  }
  absl::StatusOr<std::string> SeenCertificateHash() override { return crypto::Sha256(""); }

 private:
  std::shared_ptr<MemoryPipe> in_;
  std::shared_ptr<MemoryPipe> out_;
};

// A connected pair of ends.
inline std::pair<std::unique_ptr<MemoryPeerStream>, std::unique_ptr<MemoryPeerStream>>
MemoryStreamPair() {
  auto a_to_b = std::make_shared<MemoryPipe>();
  auto b_to_a = std::make_shared<MemoryPipe>();
  return {std::make_unique<MemoryPeerStream>(b_to_a, a_to_b),
          std::make_unique<MemoryPeerStream>(a_to_b, b_to_a)};
}

}  // namespace threatmesh::testing

#endif  // THREATMESH_TESTS_TESTING_MEMORY_STREAM_H_
