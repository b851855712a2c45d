// Percentiles and summaries of measured values (seconds, usually), and
// quantiles estimated from cumulative histogram buckets (Prometheus style).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "bench/json.h"

namespace recd::bench {

struct Summary {
  size_t count = 0;
  double mean = 0, min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
};

// Nearest-rank percentile (q in [0, 1]) of ascending `sorted`; 0 when empty.
double Percentile(const std::vector<double>& sorted, double q);

// Summary of `values` (copied and sorted). All zero when empty.
Summary Summarize(std::vector<double> values);

// The summary as JSON, every figure multiplied by `scale` (e.g. 1e3 for
// milliseconds), plus "count".
Json ToJson(const Summary& s, double scale);

// "mean 1.23 p50 1.10 p95 ... p99.9 ... max ..." in milliseconds.
std::string FormatMs(const Summary& s);

// One bucket of a cumulative histogram: upper bound `le` (may be +inf) and
// the number of observations <= le.
struct Bucket {
  double le;
  double cumulative;
};

// The q-quantile estimated from cumulative `buckets` (ascending le) by linear
// interpolation inside the bucket holding it, as Prometheus's
// histogram_quantile does (a quantile in the +Inf bucket returns the highest
// finite bound). NaN when there are no observations.
double HistogramQuantile(const std::vector<Bucket>& buckets, double q);

// after - before, bucket by bucket (both from the same histogram).
std::vector<Bucket> BucketDelta(const std::vector<Bucket>& after, const std::vector<Bucket>& before);

// printf into a std::string.
std::string Sprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace recd::bench
