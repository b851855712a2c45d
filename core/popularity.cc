#include "core/popularity.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recd::core {

namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// The trending pool keeps this many lists' worth of candidates, so items
// that fall out of the published list can come back without a scan.
constexpr size_t kPoolLists = 4;
}  // namespace

Popularity::Popularity(double short_half_life_seconds, double long_half_life_seconds, double prior,
                       int top_size, double sweep_period_seconds)
    : short_(short_half_life_seconds, 0),
      long_(long_half_life_seconds, top_size),
      short_h_us_(short_half_life_seconds * 1e6),
      long_h_us_(long_half_life_seconds * 1e6),
      prior_(prior),
      sweep_period_s_(sweep_period_seconds),
      top_size_(top_size),
      best_long_(kNegInf),
      trending_top_(std::make_shared<const Trending::TopList>()) {}

void Popularity::Add(uint32_t item, double weight, int64_t t_us) {
  short_.Add(item, weight, t_us);
  long_.Add(item, weight, t_us);
  latest_us_ = std::max(latest_us_, t_us);
  dirty_ = true;
}

void Popularity::Set(uint32_t item, double log2_short, double log2_long, int64_t t_us) {
  short_.Set(item, log2_short);
  long_.Set(item, log2_long);
  latest_us_ = std::max(latest_us_, t_us);
  dirty_ = true;  // long_'s next Publish scans, and so does the trending list
}

float Popularity::Relative(uint32_t item) const {
  const double ll = long_.Get(item);
  if (ll == kNegInf) return 0.f;
  return static_cast<float>(std::exp2(ll - best_long_.load(std::memory_order_relaxed)));
}

void Popularity::Publish(bool full) {
  if (!full && !dirty_) return;
  dirty_ = false;
  // The long-term list tracks the items added since its last Publish; the
  // trending list reuses them (they are the same Adds).
  std::optional<std::vector<uint32_t>> changed = long_.Publish();
  if (full || !changed) rescan_ = true;
  const auto& popular = *long_.Top();
  if (!popular.empty()) best_long_.store(popular.front().log2_score, std::memory_order_relaxed);

  const double now = static_cast<double>(latest_us_);
  auto ratio_of = [&](uint32_t i) {
    const double ls = short_.Get(i), ll = long_.Get(i);
    if (ls == kNegInf) return kNegInf;
    // Decayed values at `now`: 2^(L - now/h).
    const double s = std::exp2(ls - now / short_h_us_);
    const double l = ll == kNegInf ? 0.0 : std::exp2(ll - now / long_h_us_);
    const double ratio = s / (l + prior_);
    return ratio > 0 ? std::log2(ratio) : kNegInf;
  };
  const auto wall = std::chrono::steady_clock::now();
  if (latest_us_ - scanned_clock_us_ > short_h_us_ / 16) rescan_ = true;
  const size_t pool_size = kPoolLists * top_size_;
  auto rescore = [&](Trending::TopList cands) {
    const size_t keep = std::min(cands.size(), pool_size);
    std::partial_sort(cands.begin(), cands.begin() + keep, cands.end(), BetterEntry);
    cands.resize(keep);
    pool_ = std::move(cands);
    rescored_clock_us_ = latest_us_;
  };
  if (rescan_) {
    Trending::TopList cands;
    for (uint32_t i = 0; i < short_.size(); ++i) {
      const double v = ratio_of(i);
      if (v != kNegInf) cands.push_back({i, v});
    }
    rescore(std::move(cands));
    scanned_clock_us_ = latest_us_;
    swept_at_ = wall;
    sweep_credit_ = 0;
    rescan_ = false;
  } else {
    // The changed items, and this publish's slice of the rolling sweep: a
    // ratio of two decays can reorder items that had no events, slowly. (A
    // scan of every item every 10 s instead stalled the fold-in ~50 ms at
    // a million items.)
    const ItemRange swept = NextSweep(wall);
    auto in_changed = [&](uint32_t i) {
      return std::binary_search(changed->begin(), changed->end(), i);
    };
    Trending::TopList fresh;
    fresh.reserve(changed->size() + (swept.end - swept.begin));
    for (uint32_t i : *changed) {
      const double v = ratio_of(i);
      if (v != kNegInf) fresh.push_back({i, v});
    }
    for (uint32_t i = swept.begin; i < swept.end; ++i) {
      if (in_changed(i)) continue;
      const double v = ratio_of(i);
      if (v != kNegInf) fresh.push_back({i, v});
    }
    if (latest_us_ - rescored_clock_us_ > short_h_us_ / 256) {
      // The pool's ratios are from an older "now": rescore them all.
      Trending::TopList cands;
      cands.reserve(pool_.size() + fresh.size());
      for (const auto& e : pool_) {
        if (swept.Contains(e.item) || in_changed(e.item)) continue;
        const double v = ratio_of(e.item);
        if (v != kNegInf) cands.push_back({e.item, v});
      }
      cands.insert(cands.end(), fresh.begin(), fresh.end());
      rescore(std::move(cands));
    } else {
      // Within 1/256 of a half-life the unchanged items' ratios have moved
      // by under 0.3%: keep them and merge in the changed items.
      pool_ = MergeTop(pool_, *changed, std::move(fresh), pool_size, swept);
    }
  }
  auto top = std::make_shared<Trending::TopList>(
      pool_.begin(), pool_.begin() + std::min<size_t>(pool_.size(), top_size_));
  std::atomic_store(&trending_top_, std::shared_ptr<const Trending::TopList>(std::move(top)));
}

ItemRange Popularity::NextSweep(std::chrono::steady_clock::time_point wall) {
  const uint32_t n = static_cast<uint32_t>(short_.size());
  // Items owed grow with the time since the last slice (the slice of a
  // publish after an idle minute is every item).
  sweep_credit_ = std::min<double>(
      n, sweep_credit_ +
             n * std::chrono::duration<double>(wall - swept_at_).count() / sweep_period_s_);
  swept_at_ = wall;
  if (sweep_cursor_ >= n) sweep_cursor_ = 0;
  const uint32_t take =
      static_cast<uint32_t>(std::min<double>(std::floor(sweep_credit_), n - sweep_cursor_));
  sweep_credit_ -= take;
  const ItemRange r{sweep_cursor_, sweep_cursor_ + take};
  sweep_cursor_ += take;
  return r;
}

}  // namespace recd::core
