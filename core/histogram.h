// A fixed-bucket histogram of non-negative values (seconds), lock-free to
// observe, read at scrape time by the server's metrics. Core code stays free
// of Prometheus types.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace recd::core {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02,
                                                     0.05,   0.1,   0.25,   0.5,   1,    5};
  void Observe(double v) {
    size_t i = 0;
    while (i < kBounds.size() && v > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    // Sum in microseconds as an integer: atomic add without a CAS loop.
    sum_us_.fetch_add(static_cast<uint64_t>(v * 1e6), std::memory_order_relaxed);
  }
  // Per-bucket (not cumulative) counts; the last one is +Inf.
  std::array<uint64_t, kBounds.size() + 1> Counts() const {
    std::array<uint64_t, kBounds.size() + 1> out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
    return out;
  }
  double Sum() const { return sum_us_.load(std::memory_order_relaxed) / 1e6; }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace recd::core
