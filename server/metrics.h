// Prometheus metrics of the server, served as text at /metrics on their own
// HTTP port. Every label set is created at start (no lookups on the request
// path); engine gauges and counters are read at scrape time.
//
// Names: recd_rpc_requests_total{method,code}, recd_rpc_latency_seconds{method},
// recd_events_ingested_total{type}, recd_catalog_items, recd_index_vectors,
// recd_index_fresh_vectors, recd_ingest_queue_events, recd_events_last_sequence,
// recd_fold_sequence.
//
// Thread safety: Record may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace recd::core {
class Engine;
}

namespace recd::server {

enum class Method { kRecommend, kRelatedItems, kTrack, kTrackStream, kUpsertItems, kGetItem, kDeleteItems, kLoadModel, kGetModel, kCount };

class Metrics {
 public:
  // Binds `listen` (host:port; port 0 picks a free one). REQUIRES: engine
  // outlives this object. UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& listen,
                                                                      const core::Engine* engine);
  ~Metrics();

  // code: a grpc::StatusCode value (0..16).
  void Record(Method method, int code, double seconds);
  // The bound port.
  int port() const;

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recd::server
