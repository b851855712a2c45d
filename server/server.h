// The running recd server: gRPC services (Recommender, Catalog, Health,
// reflection) on one port and Prometheus metrics on another, over an Engine.
//
// Thread safety: Start, then Shutdown once from one thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/engine.h"

namespace grpc {
class Server;
}

namespace recd::server {

class Metrics;
class RecommenderService;
class CatalogService;
class AdminService;

struct ServerOptions {
  std::string listen = "0.0.0.0:50051";          // port 0: any free port
  std::string metrics_listen = "0.0.0.0:9464";   // port 0: any free port
  double shutdown_grace_seconds = 10;
  int max_message_bytes = 16 << 20;
};

class Server {
 public:
  // Binds both ports and marks the health service SERVING. REQUIRES: engine
  // outlives the server. UNAVAILABLE when a port cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(core::Engine* engine,
                                                                     const ServerOptions& options);
  ~Server();  // Shutdown()

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const;
  // "host:port" with the bound ports (host as configured; 0.0.0.0 kept).
  std::string grpc_address() const;
  std::string metrics_address() const;

  // Graceful: health NOT_SERVING, stop accepting calls, let in-flight calls
  // finish for up to shutdown_grace_seconds (then cancel them), stop the
  // metrics endpoint. Does not shut the engine down. Idempotent.
  void Shutdown();

 private:
  Server() = default;
  ServerOptions options_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<RecommenderService> recommender_;
  std::unique_ptr<CatalogService> catalog_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  bool shut_down_ = false;
};

}  // namespace recd::server
