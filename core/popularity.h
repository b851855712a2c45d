// Item popularity at two time scales, both by forward decay (core/trending.h):
//   popular  — long half-life decayed sum (the "popular" source, the
//              popularity feature);
//   trending — short-term / (long-term + prior): items rising now, not the
//              ones that are always big (the "trending" source).
// The trending ratio is evaluated at the latest event time folded (never the
// wall clock), so a replay of the log gives the same lists.
//
// Publishing is incremental, so the fold-in can publish after every batch
// at a million items: the popular list is exact (see Trending); the trending
// list merges the items changed since into its previous pool (4 lists long),
// rescores the pool once the event clock has moved by 1/256 of the short
// half-life, and scans every item only after a Set or once the clock has
// moved by 1/16 of it. A ratio of two decays can reorder items that had no
// events, slowly, so each publish also rescores a slice of the items, every
// item once per 10 s (a rolling sweep; a scan of all at once stalled the
// fold-in).
//
// Thread safety: Add/Set/Publish from one writer (the fold-in worker);
// PopularTop/TrendingTop/Relative from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/trending.h"

namespace recd::core {

class Popularity {
 public:
  // sweep_period_seconds: every item's trending ratio is rescored once per
  // period, a slice per Publish.
  Popularity(double short_half_life_seconds, double long_half_life_seconds, double prior,
             int top_size, double sweep_period_seconds = 10);

  void Add(uint32_t item, double weight, int64_t t_us);
  // Restores stored values (start-up).
  void Set(uint32_t item, double log2_short, double log2_long, int64_t t_us);
  double Log2Short(uint32_t item) const { return short_.Get(item); }
  double Log2Long(uint32_t item) const { return long_.Get(item); }
  // Latest event time added or restored (us).
  int64_t clock_us() const { return latest_us_; }
  // Republishes both lists if anything changed; with `full`, rescans every
  // item for the trending list (a result that depends only on the events
  // folded, not on when earlier publishes happened).
  void Publish(bool full = false);

  // Best first; TrendingEntry.log2_score holds log2 of the list's score.
  std::shared_ptr<const Trending::TopList> PopularTop() const { return long_.Top(); }
  std::shared_ptr<const Trending::TopList> TrendingTop() const {
    return std::atomic_load(&trending_top_);
  }
  // Long-term popularity of an item relative to the most popular one at
  // the last Publish, in [0, 1] (0 without events). Any thread.
  float Relative(uint32_t item) const;
  // Starts loading what Relative(item) reads (a hint). Any thread.
  void PrefetchRelative(uint32_t item) const { long_.Prefetch(item); }

 private:
  // This publish's slice of the rolling sweep (every item once per period).
  ItemRange NextSweep(std::chrono::steady_clock::time_point wall);

  Trending short_;
  Trending long_;
  double short_h_us_, long_h_us_, prior_;
  double sweep_period_s_;
  int top_size_;
  int64_t latest_us_ = 0;
  bool dirty_ = false;
  bool rescan_ = true;                // the next Publish scans every item
  Trending::TopList pool_;            // the last trending candidates, best first
  int64_t scanned_clock_us_ = 0;      // event clock at the last full scan
  int64_t rescored_clock_us_ = 0;     // event clock of the pool's ratios
  // The rolling sweep: the next dense id, items owed, and when it last ran.
  uint32_t sweep_cursor_ = 0;
  double sweep_credit_ = 0;
  std::chrono::steady_clock::time_point swept_at_;
  std::atomic<double> best_long_;     // log2 of the most popular item's score
  std::shared_ptr<const Trending::TopList> trending_top_;
};

}  // namespace recd::core
