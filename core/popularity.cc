#include "core/popularity.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recd::core {

Popularity::Popularity(double short_half_life_seconds, double long_half_life_seconds,
                       double prior, int top_size)
    : short_(short_half_life_seconds, 0),
      long_(long_half_life_seconds, top_size),
      short_h_us_(short_half_life_seconds * 1e6),
      long_h_us_(long_half_life_seconds * 1e6),
      prior_(prior),
      top_size_(top_size),
      trending_top_(std::make_shared<const Trending::TopList>()),
      relative_(std::make_shared<const std::vector<float>>()) {}

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
  dirty_ = true;
}

void Popularity::Publish() {
  if (!dirty_) return;
  dirty_ = false;
  long_.Publish();
  const double now = static_cast<double>(latest_us_);
  auto top = std::make_shared<Trending::TopList>();
  auto relative = std::make_shared<std::vector<float>>();
  double best_long = -std::numeric_limits<double>::infinity();
  const auto& popular = *long_.Top();
  if (!popular.empty()) best_long = popular.front().log2_score;
  for (uint32_t i = 0; i < short_.size(); ++i) {
    const double ls = short_.Get(i), ll = long_.Get(i);
    relative->push_back(std::isinf(ll) ? 0.f : static_cast<float>(std::exp2(ll - best_long)));
    if (std::isinf(ls)) continue;
    // Decayed values at `now`: 2^(L - now/h).
    const double s = std::exp2(ls - now / short_h_us_);
    const double l = std::isinf(ll) ? 0.0 : std::exp2(ll - now / long_h_us_);
    const double ratio = s / (l + prior_);
    if (ratio > 0) top->push_back({i, std::log2(ratio)});
  }
  auto by_score = [](const TrendingEntry& a, const TrendingEntry& b) {
    return a.log2_score > b.log2_score;
  };
  size_t n = std::min<size_t>(top->size(), top_size_);
  std::partial_sort(top->begin(), top->begin() + n, top->end(), by_score);
  top->resize(n);
  std::atomic_store(&trending_top_, std::shared_ptr<const Trending::TopList>(std::move(top)));
  std::atomic_store(&relative_, std::shared_ptr<const std::vector<float>>(std::move(relative)));
}

}  // namespace recd::core
