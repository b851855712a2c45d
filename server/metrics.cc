#include "server/metrics.h"

#include <array>
#include <exception>
#include <vector>

#include "core/engine.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace recd::server {
namespace {

constexpr int kCodes = 17;
constexpr std::array<const char*, kCodes> kCodeNames = {
    "OK",       "CANCELLED",         "UNKNOWN",        "INVALID_ARGUMENT",    "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",  "OUT_OF_RANGE",      "UNIMPLEMENTED",  "INTERNAL",            "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
constexpr std::array<const char*, static_cast<int>(Method::kCount)> kMethodNames = {
    "Recommend", "Track", "TrackStream", "UpsertItems", "GetItem", "DeleteItems"};

// Reads the engine's counters and gauges at scrape time.
class EngineCollector : public prometheus::Collectable {
 public:
  explicit EngineCollector(const core::Engine* engine) : engine_(engine) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    core::EngineStats s = engine_->Stats();
    std::vector<prometheus::MetricFamily> out;
    prometheus::MetricFamily events{"recd_events_ingested_total",
                                    "Events durably committed since start, by event type.",
                                    prometheus::MetricType::Counter,
                                    {}};
    for (const auto& [type, n] : s.events_by_type) {
      prometheus::ClientMetric m;
      m.label.push_back({"type", type});
      m.counter.value = static_cast<double>(n);
      events.metric.push_back(std::move(m));
    }
    out.push_back(std::move(events));
    auto gauge = [&](const char* name, const char* help, double v) {
      prometheus::ClientMetric m;
      m.gauge.value = v;
      out.push_back({name, help, prometheus::MetricType::Gauge, {m}});
    };
    gauge("recd_catalog_items", "Live items in the catalog.", s.items);
    gauge("recd_index_vectors", "Live item vectors in the vector index.", s.vectors);
    gauge("recd_index_fresh_vectors", "Vectors in the exact fresh tier (not yet in HNSW).",
          s.fresh_vectors);
    gauge("recd_ingest_queue_events", "Events waiting for the commit thread.", s.queued_events);
    gauge("recd_events_last_sequence", "Sequence number of the last committed event.",
          static_cast<double>(s.last_seq));
    gauge("recd_fold_sequence", "Sequence number of the last event folded into state.",
          static_cast<double>(s.folded_seq));
    return out;
  }

 private:
  const core::Engine* engine_;
};

}  // namespace

struct Metrics::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<EngineCollector> engine;
  std::array<std::array<prometheus::Counter*, kCodes>, kMethodNames.size()> requests{};
  std::array<prometheus::Histogram*, kMethodNames.size()> latency{};
};

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen,
                                                        const core::Engine* engine) {
  auto impl = std::make_unique<Impl>();
  auto& requests = prometheus::BuildCounter()
                       .Name("recd_rpc_requests_total")
                       .Help("gRPC calls handled, by method and status code.")
                       .Register(*impl->registry);
  auto& latency = prometheus::BuildHistogram()
                      .Name("recd_rpc_latency_seconds")
                      .Help("gRPC call latency from start to final status, by method.")
                      .Register(*impl->registry);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
  for (size_t m = 0; m < kMethodNames.size(); ++m) {
    for (int c = 0; c < kCodes; ++c) {
      impl->requests[m][c] = &requests.Add({{"method", kMethodNames[m]}, {"code", kCodeNames[c]}});
    }
    impl->latency[m] = &latency.Add({{"method", kMethodNames[m]}}, buckets);
  }
  impl->engine = std::make_shared<EngineCollector>(engine);
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError("server.metrics_listen: cannot listen on " + listen + ": " +
                                  e.what());
  }
  impl->exposer->RegisterCollectable(impl->registry);
  impl->exposer->RegisterCollectable(impl->engine);
  return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

void Metrics::Record(Method method, int code, double seconds) {
  auto m = static_cast<size_t>(method);
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  impl_->requests[m][code]->Increment();
  impl_->latency[m]->Observe(seconds);
}

int Metrics::port() const {
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace recd::server
