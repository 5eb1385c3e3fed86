// The local API over gRPC: the Records and Admin services, thin adapters over NodeApi. Every
// call passes the CallGate: the token, the caller's role, the deadline, and an audit entry
// with the outcome. A request whose bytes do not decode is answered and audited like any
// other call.
#ifndef THREATMESH_NODE_API_GRPC_SERVICES_H_
#define THREATMESH_NODE_API_GRPC_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "node/api/api.h"
#include "node/audit.h"

namespace threatmesh {

class CallGate;

// The Records and Admin services of one node. `api` and `audit` must outlive them; calls
// that wait (Subscribe) end once `stopping` is set.
class ApiServices {
 public:
  ApiServices(NodeApi& api, AuditLog& audit, std::atomic<bool>& stopping);
  ~ApiServices();
  ApiServices(const ApiServices&) = delete;
  ApiServices& operator=(const ApiServices&) = delete;

  // Registers both services, and the interceptor that answers undecodable requests, on a
  // server being built.
  void Register(grpc::ServerBuilder& builder);

 private:
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<grpc::Service> records_;
  std::unique_ptr<grpc::Service> admin_;
};

}  // namespace threatmesh

#endif  // THREATMESH_NODE_API_GRPC_SERVICES_H_
