// Time-decayed popularity ("trending") by forward decay (DESIGN.md):
// S_i = sum over events of w * 2^((t - t0) / h), kept as log2(S_i) so it never
// overflows. Ordering by S_i equals ordering by the decayed value at any
// time, so the published top list stays right between events.
//
// Publishing is incremental: a forward-decayed sum only grows, so the new top
// list is the best of the old list and the items changed since; only a Set
// (restart), which may lower a value, forces a scan of every item.
//
// Thread safety: Add/Set/Publish from one writer thread (the fold-in worker);
// Get/Top from any thread (Top returns an immutable snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/atomic_array.h"

namespace recd::core {

struct TrendingEntry {
  uint32_t item;
  double log2_score;  // log2 of the forward-decayed sum
};

// Best-first order of top lists: higher score first, then lower item id.
inline bool BetterEntry(const TrendingEntry& a, const TrendingEntry& b) {
  return a.log2_score > b.log2_score || (a.log2_score == b.log2_score && a.item < b.item);
}

// Dense ids [begin, end): items rescored together (Popularity's sweep).
struct ItemRange {
  uint32_t begin = 0, end = 0;
  bool Contains(uint32_t i) const { return i >= begin && i < end; }
};

// The best `limit` entries of `old` (best first) without the items in
// `changed` (sorted ids) or in `swept`, merged with `fresh` (sorted here):
// an incremental top-list update in O(|old| + |fresh| log |fresh|).
std::vector<TrendingEntry> MergeTop(const std::vector<TrendingEntry>& old,
                                    const std::vector<uint32_t>& changed,
                                    std::vector<TrendingEntry> fresh, size_t limit,
                                    ItemRange swept = {});

class Trending {
 public:
  // half_life_seconds > 0; top_size: length of the published list.
  Trending(double half_life_seconds, int top_size);

  // Adds an event of weight w > 0 on dense item at event time t (us).
  void Add(uint32_t item, double weight, int64_t t_us);
  // Sets a stored value (restart).
  void Set(uint32_t item, double log2_score);
  // Any thread.
  double Get(uint32_t item) const { return log2_.Get(item); }
  void Prefetch(uint32_t item) const { log2_.Prefetch(item); }
  // Items with a slot (max dense id seen + 1).
  size_t size() const { return log2_.size(); }
  // Publishes the top list if anything changed since the last call:
  // O(top_size + changed log changed) after Adds, O(items) after a Set.
  // Returns the items Added since the last call (sorted, each once), or
  // nullopt when it scanned every item instead (after a Set, or when so
  // many changed that a scan was as cheap).
  std::optional<std::vector<uint32_t>> Publish();

  using TopList = std::vector<TrendingEntry>;  // best first
  std::shared_ptr<const TopList> Top() const { return std::atomic_load(&top_); }

 private:
  double half_life_us_;
  int top_size_;
  AtomicDoubleArray log2_;         // per dense id; -inf when no events
  std::vector<uint32_t> changed_;  // Added since the last Publish (may repeat)
  bool rescan_ = false;            // a Set happened: scan every item
  std::shared_ptr<const TopList> top_;
};

}  // namespace recd::core
