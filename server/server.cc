#include "server/server.h"

#include <chrono>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "server/metrics.h"
#include "server/services.h"
#include "spdlog/spdlog.h"

namespace recd::server {
namespace {

constexpr const char* kRecommenderService = "recd.v1.Recommender";
constexpr const char* kCatalogService = "recd.v1.Catalog";
constexpr const char* kAdminService = "recd.v1.Admin";

std::string HostOf(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(core::Engine* engine,
                                                      const ServerOptions& options) {
  std::unique_ptr<Server> s(new Server());
  s->options_ = options;
  auto metrics = Metrics::Start(options.metrics_listen, engine);
  if (!metrics.ok()) return metrics.status();
  s->metrics_ = std::move(*metrics);
  s->recommender_ = std::make_unique<RecommenderService>(engine, s->metrics_.get());
  s->catalog_ = std::make_unique<CatalogService>(engine, s->metrics_.get());
  s->admin_ = std::make_unique<AdminService>(engine, s->metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->grpc_port_);
  builder.RegisterService(s->recommender_.get());
  builder.RegisterService(s->catalog_.get());
  builder.RegisterService(s->admin_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->grpc_port_ == 0) {
    return absl::UnavailableError("server.listen: cannot listen on " + options.listen);
  }
  auto* health = s->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kRecommenderService, true);
  health->SetServingStatus(kCatalogService, true);
  health->SetServingStatus(kAdminService, true);
  spdlog::info("serving gRPC on {} and metrics on {}", s->grpc_address(), s->metrics_address());
  return s;
}

Server::~Server() { Shutdown(); }

int Server::metrics_port() const { return metrics_->port(); }

std::string Server::grpc_address() const {
  return HostOf(options_.listen) + ":" + std::to_string(grpc_port_);
}

std::string Server::metrics_address() const {
  return HostOf(options_.metrics_listen) + ":" + std::to_string(metrics_port());
}

void Server::Shutdown() {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  spdlog::info("shutting down: draining in-flight calls (up to {} s)",
               options_.shutdown_grace_seconds);
  // Readiness goes first so that load balancers stop sending new calls.
  server_->GetHealthCheckService()->Shutdown();
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(
                      static_cast<int64_t>(options_.shutdown_grace_seconds * 1000));
  const auto t0 = std::chrono::steady_clock::now();
  server_->Shutdown(deadline);
  server_->Wait();
  const auto t1 = std::chrono::steady_clock::now();
  metrics_.reset();
  spdlog::info("gRPC drained in {:.2f} s, metrics endpoint stopped in {:.2f} s",
               std::chrono::duration<double>(t1 - t0).count(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
}

}  // namespace recd::server
