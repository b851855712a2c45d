#include "core/trending.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recd::core {
namespace {
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr size_t kMaxChanged = size_t{1} << 20;
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
      log2_(kNegInf),
      top_(std::make_shared<const TopList>()) {}

void Trending::Add(uint32_t item, double weight, int64_t t_us) {
  // t0 = the Unix epoch; log2 keeps the magnitude finite.
  double term = std::log2(weight) + static_cast<double>(t_us) / half_life_us_;
  log2_.Set(item, Log2AddExp2(log2_.Get(item), term));
  if (top_size_ == 0 || rescan_) return;  // no list, or a scan is due anyway
  changed_.push_back(item);
  if (changed_.size() > kMaxChanged) {  // bounded: a scan costs no more
    rescan_ = true;
    changed_.clear();
  }
}

void Trending::Set(uint32_t item, double log2_score) {
  log2_.Set(item, log2_score);
  rescan_ = true;
}

std::vector<TrendingEntry> MergeTop(const std::vector<TrendingEntry>& old,
                                    const std::vector<uint32_t>& changed,
                                    std::vector<TrendingEntry> fresh, size_t limit,
                                    ItemRange swept) {
  std::sort(fresh.begin(), fresh.end(), BetterEntry);
  // Membership in `changed` for each of `old`'s (up to 20,000) entries: a
  // bit per (id mod kMaskBits) answers most of them without the binary
  // search, which was ~15% of the fold-in thread at a few hundred
  // publishes a second.
  constexpr uint32_t kMaskBits = 1u << 16;
  std::vector<uint64_t> mask(kMaskBits / 64);
  for (uint32_t i : changed) mask[(i % kMaskBits) / 64] |= uint64_t{1} << (i % 64);
  auto is_changed = [&](uint32_t i) {
    return (mask[(i % kMaskBits) / 64] >> (i % 64) & 1) != 0 &&
           std::binary_search(changed.begin(), changed.end(), i);
  };
  std::vector<TrendingEntry> out;
  out.reserve(std::min(limit, old.size() + fresh.size()));
  auto f = fresh.begin();
  for (const auto& e : old) {
    if (out.size() >= limit) break;
    if (swept.Contains(e.item) || is_changed(e.item)) continue;
    for (; f != fresh.end() && out.size() < limit && BetterEntry(*f, e); ++f) out.push_back(*f);
    if (out.size() < limit) out.push_back(e);
  }
  for (; f != fresh.end() && out.size() < limit; ++f) out.push_back(*f);
  return out;
}

std::optional<std::vector<uint32_t>> Trending::Publish() {
  if (!rescan_ && changed_.empty()) return std::vector<uint32_t>{};
  std::optional<std::vector<uint32_t>> changed;
  std::shared_ptr<TopList> top;
  if (rescan_ || changed_.size() > log2_.size() / 4) {  // a scan is as cheap
    top = std::make_shared<TopList>();
    top->reserve(log2_.size());
    for (uint32_t i = 0; i < log2_.size(); ++i) {
      const double v = log2_.Get(i);
      if (v != kNegInf) top->push_back({i, v});
    }
    const size_t n = std::min<size_t>(top->size(), top_size_);
    std::partial_sort(top->begin(), top->begin() + n, top->end(), BetterEntry);
    top->resize(n);
    top->shrink_to_fit();
  } else {
    // Scores only grow between Sets, so nothing outside the old list and
    // the changed items can enter the new one.
    std::sort(changed_.begin(), changed_.end());
    changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
    TopList fresh;
    fresh.reserve(changed_.size());
    for (uint32_t i : changed_) fresh.push_back({i, log2_.Get(i)});
    top = std::make_shared<TopList>(MergeTop(*Top(), changed_, std::move(fresh), top_size_));
    changed = std::move(changed_);
  }
  rescan_ = false;
  changed_.clear();
  std::atomic_store(&top_, std::shared_ptr<const TopList>(std::move(top)));
  return changed;
}

}  // namespace recd::core
