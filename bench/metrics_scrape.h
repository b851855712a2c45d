// Reads the server's Prometheus endpoint (GET /metrics over plain HTTP/1.0)
// and looks series up by name and labels: the server-side view of a run
// (fold-in lag histogram, per-method latency, counters).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/stats.h"

namespace recd::bench {

struct Sample {
  std::string name;                           // e.g. "recd_rpc_latency_seconds_bucket"
  std::map<std::string, std::string> labels;  // e.g. {method: Recommend, le: 0.001}
  double value = 0;
};

class MetricsSnapshot {
 public:
  // Parses the Prometheus text exposition format (comments skipped).
  static MetricsSnapshot Parse(const std::string& text);

  // Sum of the samples named `name` whose labels include every pair of
  // `match` (0 when none).
  double Sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const;

  // The cumulative buckets of histogram `name` (without "_bucket") among
  // samples matching `match`, ascending by le (+Inf last).
  std::vector<Bucket> Buckets(const std::string& name,
                              const std::map<std::string, std::string>& match = {}) const;

  const std::vector<Sample>& samples() const { return samples_; }

 private:
  std::vector<Sample> samples_;
};

// GET http://<address>/metrics. UNAVAILABLE if it cannot connect or read;
// INTERNAL for a non-200 answer.
[[nodiscard]] absl::StatusOr<MetricsSnapshot> ScrapeMetrics(const std::string& address);

}  // namespace recd::bench
