#include "server/metrics.h"

#include <array>
#include <exception>
#include <limits>
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
    "Recommend", "RelatedItems", "Track", "TrackStream", "UpsertItems", "GetItem", "DeleteItems",
    "LoadModel", "GetModel"};

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
    auto counter = [&](const char* name, const char* help, double v) {
      prometheus::ClientMetric m;
      m.counter.value = v;
      out.push_back({name, help, prometheus::MetricType::Counter, {m}});
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
    gauge("recd_fold_persisted_sequence",
          "Sequence number of the last event whose derived state is written to RocksDB.",
          static_cast<double>(s.persisted_seq));
    gauge("recd_fold_unpersisted_events",
          "Folded events whose derived state is queued for the writer "
          "(bounded by ingest.max_unpersisted_events).",
          static_cast<double>(s.unpersisted_events));
    gauge("recd_fold_lag_events", "Events committed but not yet folded into state.",
          static_cast<double>(s.last_seq - std::min(s.last_seq, s.folded_seq)));
    counter("recd_fold_writer_wait_seconds_total",
            "Seconds the fold-in waited for its writer to persist derived state "
            "(ingest.max_unpersisted_events reached): visibility stalled on the disk.",
            s.fold_writer_wait_seconds);
    counter("recd_fold_events_total", "Events folded into state since start.", s.events_folded);
    counter("recd_fold_events_skipped_total",
            "Unparsable event-log records the fold-in passed over (data loss; see logs).",
            s.events_skipped);
    counter("recd_fold_solves_deferred_total",
            "User-vector solves the fold-in left to readers while it was behind "
            "(ingest.defer_solves_lag_ms).",
            s.solves_deferred);
    counter("recd_fold_vectors_refreshed_total",
            "User vectors Recommend solved (another model version, or a deferred solve) "
            "that the fold-in stored.",
            s.vectors_refreshed);
    counter("recd_fold_refresh_resolves_total",
            "Of recd_fold_vectors_refreshed_total, those the fold-in solved again because the "
            "user's state or the model changed after the read.",
            s.refreshes_resolved);
    counter("recd_impressions_dropped_total",
            "Impressions not logged because the buffer was full (asynchronous by design).",
            s.impressions_dropped);

    prometheus::MetricFamily shown{"recd_shown_items_total",
                                   "Items returned by Recommend/RelatedItems, by the source with "
                                   "the largest contribution.",
                                   prometheus::MetricType::Counter,
                                   {}};
    prometheus::MetricFamily attributed{
        "recd_attributed_events_total",
        "Events carrying a recommendation id whose item that slate showed, by showing source and "
        "event type (clicks / shown = CTR by source).",
        prometheus::MetricType::Counter,
        {}};
    for (int i = 0; i < core::kNumSources; ++i) {
      const std::string source(core::kSourceNames[i]);
      prometheus::ClientMetric m;
      m.label.push_back({"source", source});
      m.counter.value = static_cast<double>(s.shown_by_source[i]);
      shown.metric.push_back(std::move(m));
      for (const auto& [type, counts] : s.attributed) {
        prometheus::ClientMetric a;
        a.label.push_back({"source", source});
        a.label.push_back({"type", type});
        a.counter.value = static_cast<double>(counts[i]);
        attributed.metric.push_back(std::move(a));
      }
    }
    out.push_back(std::move(shown));
    out.push_back(std::move(attributed));

    // Fold-in lag: commit (the Track ack) -> state visible to Recommend;
    // and from the server's receipt, which adds the commit's queue and fsync.
    out.push_back(HistogramFamily(
        "recd_fold_lag_seconds",
        "Time from an event's commit (Track acknowledged) to its effect being visible.",
        engine_->fold_lag()));
    out.push_back(HistogramFamily("recd_event_visible_seconds",
                                  "Time from an event's receipt by the server to its effect "
                                  "being visible (the commit's queue and fsync included).",
                                  engine_->event_visible()));
    return out;
  }

 private:
  static prometheus::MetricFamily HistogramFamily(const std::string& name, const std::string& help,
                                                  const core::Histogram& h) {
    prometheus::ClientMetric m;
    const auto counts = h.Counts();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      prometheus::ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < core::Histogram::kBounds.size() ? core::Histogram::kBounds[i]
                                                          : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(b);
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = h.Sum();
    return {name, help, prometheus::MetricType::Histogram, {m}};
  }

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
