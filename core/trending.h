// Time-decayed popularity ("trending") by forward decay (DESIGN.md):
// S_i = sum over events of w * 2^((t - t0) / h), kept as log2(S_i) so it never
// overflows. Ordering by S_i equals ordering by the decayed value at any
// time, so the published top list stays right between events.
//
// Thread safety: Add/Publish from one writer thread (the fold-in worker);
// Top() from any thread (it returns an immutable snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace recd::core {

struct TrendingEntry {
  uint32_t item;
  double log2_score;  // log2 of the forward-decayed sum
};

class Trending {
 public:
  // half_life_seconds > 0; top_size: length of the published list.
  Trending(double half_life_seconds, int top_size);

  // Adds an event of weight w > 0 on dense item at event time t (us).
  void Add(uint32_t item, double weight, int64_t t_us);
  // Sets a stored value (restart).
  void Set(uint32_t item, double log2_score);
  double Get(uint32_t item) const;
  // Items with a slot (max dense id seen + 1).
  size_t size() const { return log2_.size(); }
  // Recomputes and publishes the top list if anything changed since the
  // last call. O(items); the writer rate-limits it.
  void Publish();

  using TopList = std::vector<TrendingEntry>;  // best first
  std::shared_ptr<const TopList> Top() const { return std::atomic_load(&top_); }

 private:
  double half_life_us_;
  int top_size_;
  bool dirty_ = false;
  std::vector<double> log2_;  // per dense id; -inf when no events
  std::shared_ptr<const TopList> top_;
};

}  // namespace recd::core
