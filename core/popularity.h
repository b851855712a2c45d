// Item popularity at two time scales, both by forward decay (core/trending.h):
//   popular  — long half-life decayed sum (the "popular" source, the
//              popularity feature);
//   trending — short-term / (long-term + prior): items rising now, not the
//              ones that are always big (the "trending" source).
// The trending ratio is evaluated at the latest event time folded (never the
// wall clock), so a replay of the log gives the same lists.
//
// Thread safety: Add/Set/Publish from one writer (the fold-in worker);
// PopularTop/TrendingTop/PopularityOf from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/trending.h"

namespace recd::core {

class Popularity {
 public:
  Popularity(double short_half_life_seconds, double long_half_life_seconds, double prior,
             int top_size);

  void Add(uint32_t item, double weight, int64_t t_us);
  // Restores stored values (start-up).
  void Set(uint32_t item, double log2_short, double log2_long, int64_t t_us);
  double Log2Short(uint32_t item) const { return short_.Get(item); }
  double Log2Long(uint32_t item) const { return long_.Get(item); }
  // Latest event time added or restored (us).
  int64_t clock_us() const { return latest_us_; }
  // Republishes both lists if anything changed. O(items).
  void Publish();

  // Best first; TrendingEntry.log2_score holds log2 of the list's score.
  std::shared_ptr<const Trending::TopList> PopularTop() const { return long_.Top(); }
  std::shared_ptr<const Trending::TopList> TrendingTop() const {
    return std::atomic_load(&trending_top_);
  }
  // Long-term popularity of each item (by dense id) relative to the most
  // popular one, in [0, 1]; items past the end have none. Take it once per
  // request.
  std::shared_ptr<const std::vector<float>> Relative() const {
    return std::atomic_load(&relative_);
  }

 private:
  Trending short_;
  Trending long_;
  double short_h_us_, long_h_us_, prior_;
  int top_size_;
  int64_t latest_us_ = 0;
  bool dirty_ = false;
  std::shared_ptr<const Trending::TopList> trending_top_;
  // Per-item relative popularity published for readers (writer replaces it).
  std::shared_ptr<const std::vector<float>> relative_;
};

}  // namespace recd::core
