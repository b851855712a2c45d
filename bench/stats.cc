#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <numeric>

namespace recd::bench {

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size())));
  return sorted[i - 1];
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = values.size();
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.min = values.front();
  s.max = values.back();
  s.p50 = Percentile(values, 0.50);
  s.p90 = Percentile(values, 0.90);
  s.p95 = Percentile(values, 0.95);
  s.p99 = Percentile(values, 0.99);
  s.p999 = Percentile(values, 0.999);
  return s;
}

Json ToJson(const Summary& s, double scale) {
  Json j = Json::Object();
  j.Set("count", static_cast<uint64_t>(s.count));
  j.Set("mean", s.mean * scale);
  j.Set("min", s.min * scale);
  j.Set("p50", s.p50 * scale);
  j.Set("p90", s.p90 * scale);
  j.Set("p95", s.p95 * scale);
  j.Set("p99", s.p99 * scale);
  j.Set("p99_9", s.p999 * scale);
  j.Set("max", s.max * scale);
  return j;
}

std::string FormatMs(const Summary& s) {
  return Sprintf("mean %.3f  p50 %.3f  p95 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms (n=%zu)",
                 s.mean * 1e3, s.p50 * 1e3, s.p95 * 1e3, s.p99 * 1e3, s.p999 * 1e3, s.max * 1e3,
                 s.count);
}

double HistogramQuantile(const std::vector<Bucket>& buckets, double q) {
  if (buckets.empty() || buckets.back().cumulative <= 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double total = buckets.back().cumulative;
  const double rank = q * total;
  double prev_le = 0, prev_count = 0;
  for (const Bucket& b : buckets) {
    if (b.cumulative >= rank && b.cumulative > prev_count) {
      if (std::isinf(b.le)) return prev_le;  // the highest finite bound
      return prev_le + (b.le - prev_le) * (rank - prev_count) / (b.cumulative - prev_count);
    }
    if (!std::isinf(b.le)) prev_le = b.le;
    prev_count = b.cumulative;
  }
  return prev_le;
}

std::vector<Bucket> BucketDelta(const std::vector<Bucket>& after,
                                const std::vector<Bucket>& before) {
  std::vector<Bucket> out = after;
  for (size_t i = 0; i < out.size() && i < before.size(); ++i) {
    out[i].cumulative -= before[i].cumulative;
  }
  return out;
}

std::string Sprintf(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  char buf[1024];
  const int n = std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, format);
  std::vsnprintf(out.data(), out.size(), format, ap);
  va_end(ap);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace recd::bench
