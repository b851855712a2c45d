#include "core/trending.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recd::core {
namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// log2(2^a + 2^b) without overflow.
double Log2AddExp2(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log2(1.0 + std::exp2(lo - hi));
}
}  // namespace

Trending::Trending(double half_life_seconds, int top_size)
    : half_life_us_(half_life_seconds * 1e6),
      top_size_(top_size),
      top_(std::make_shared<const TopList>()) {}

void Trending::Add(uint32_t item, double weight, int64_t t_us) {
  if (item >= log2_.size()) log2_.resize(item + 1, kNegInf);
  // t0 = the Unix epoch; log2 keeps the magnitude finite.
  double term = std::log2(weight) + static_cast<double>(t_us) / half_life_us_;
  log2_[item] = Log2AddExp2(log2_[item], term);
  dirty_ = true;
}

void Trending::Set(uint32_t item, double log2_score) {
  if (item >= log2_.size()) log2_.resize(item + 1, kNegInf);
  log2_[item] = log2_score;
  dirty_ = true;
}

double Trending::Get(uint32_t item) const { return item < log2_.size() ? log2_[item] : kNegInf; }

void Trending::Publish() {
  if (!dirty_) return;
  dirty_ = false;
  auto top = std::make_shared<TopList>();
  top->reserve(log2_.size());
  for (uint32_t i = 0; i < log2_.size(); ++i) {
    if (log2_[i] != kNegInf) top->push_back({i, log2_[i]});
  }
  auto by_score = [](const TrendingEntry& a, const TrendingEntry& b) {
    return a.log2_score > b.log2_score;
  };
  size_t n = std::min<size_t>(top->size(), top_size_);
  std::partial_sort(top->begin(), top->begin() + n, top->end(), by_score);
  top->resize(n);
  std::atomic_store(&top_, std::shared_ptr<const TopList>(std::move(top)));
}

}  // namespace recd::core
