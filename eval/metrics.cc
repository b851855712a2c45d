#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace recd::eval {
namespace {

// 1-based ranks (ascending, <= max_k) at which a relevant item first appears.
std::vector<int> HitRanks(const std::vector<std::string>& ranked, const ItemSet& relevant,
                          int max_k) {
  std::vector<int> hits;
  std::unordered_set<std::string_view> seen;
  const int n = std::min<int>(max_k, static_cast<int>(ranked.size()));
  for (int r = 1; r <= n; ++r) {
    const std::string& item = ranked[r - 1];
    if (!seen.insert(item).second) continue;
    if (relevant.count(item) > 0) hits.push_back(r);
  }
  return hits;
}

UserMetrics FromHits(const std::vector<int>& hits, size_t num_relevant, int k) {
  UserMetrics m;
  if (num_relevant == 0 || k < 1) return m;
  double dcg = 0, ap = 0;
  int h = 0;
  for (int r : hits) {
    if (r > k) break;
    ++h;
    dcg += 1.0 / std::log2(r + 1.0);
    ap += static_cast<double>(h) / r;
  }
  const int ideal_n = static_cast<int>(std::min<size_t>(k, num_relevant));
  double idcg = 0;
  for (int r = 1; r <= ideal_n; ++r) idcg += 1.0 / std::log2(r + 1.0);
  const double rel = static_cast<double>(num_relevant);
  m.precision = static_cast<double>(h) / k;
  m.recall = h / rel;
  m.ndcg = dcg / idcg;
  m.map = ap / ideal_n;
  m.map_ms = ap / rel;
  if (h > 0) {
    m.mrr = 1.0 / hits[0];
    m.hit_rate = 1;
  }
  return m;
}

void AddTo(UserMetrics* sum, const UserMetrics& m) {
  sum->precision += m.precision;
  sum->recall += m.recall;
  sum->ndcg += m.ndcg;
  sum->map += m.map;
  sum->map_ms += m.map_ms;
  sum->mrr += m.mrr;
  sum->hit_rate += m.hit_rate;
}

}  // namespace

UserMetrics ComputeUserMetrics(const std::vector<std::string>& ranked, const ItemSet& relevant,
                               int k) {
  if (k < 1) return {};
  return FromHits(HitRanks(ranked, relevant, k), relevant.size(), k);
}

MetricsAccumulator::MetricsAccumulator(std::vector<int> ks, const PopularityStats& popularity)
    : popularity_(&popularity) {
  ks.erase(std::remove_if(ks.begin(), ks.end(), [](int k) { return k < 1; }), ks.end());
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  ks_ = std::move(ks);
  sums_.resize(ks_.size());
}

void MetricsAccumulator::AddUser(const std::vector<std::string>& ranked, const ItemSet& relevant) {
  ++users_;
  if (ks_.empty()) return;
  const std::vector<int> hits = HitRanks(ranked, relevant, ks_.back());
  for (size_t i = 0; i < ks_.size(); ++i) {
    const int k = ks_[i];
    Sums& s = sums_[i];
    AddTo(&s.metrics, FromHits(hits, relevant.size(), k));
    const size_t n = std::min<size_t>(k, ranked.size());
    for (size_t r = 0; r < n; ++r) {
      const std::string& item = ranked[r];
      if (popularity_->InCatalog(item)) s.distinct.insert(item);
      ++s.slots;
      s.self_information += popularity_->SelfInformation(item);
      s.percentile += popularity_->Percentile(item);
    }
  }
}

void MetricsAccumulator::Merge(const MetricsAccumulator& other) {
  users_ += other.users_;
  for (size_t i = 0; i < sums_.size() && i < other.sums_.size(); ++i) {
    Sums& s = sums_[i];
    const Sums& o = other.sums_[i];
    AddTo(&s.metrics, o.metrics);
    s.distinct.insert(o.distinct.begin(), o.distinct.end());
    s.slots += o.slots;
    s.self_information += o.self_information;
    s.percentile += o.percentile;
  }
}

std::vector<MetricsAtK> MetricsAccumulator::Results() const {
  std::vector<MetricsAtK> out;
  out.reserve(ks_.size());
  for (size_t i = 0; i < ks_.size(); ++i) {
    const Sums& s = sums_[i];
    MetricsAtK m;
    m.k = ks_[i];
    m.users = users_;
    if (users_ > 0) {
      const double u = static_cast<double>(users_);
      m.precision = s.metrics.precision / u;
      m.recall = s.metrics.recall / u;
      m.ndcg = s.metrics.ndcg / u;
      m.map = s.metrics.map / u;
      m.map_ms = s.metrics.map_ms / u;
      m.mrr = s.metrics.mrr / u;
      m.hit_rate = s.metrics.hit_rate / u;
    }
    if (popularity_->catalog_size() > 0) {
      m.coverage =
          static_cast<double>(s.distinct.size()) / static_cast<double>(popularity_->catalog_size());
    }
    if (s.slots > 0) {
      m.novelty = s.self_information / static_cast<double>(s.slots);
      m.popularity_percentile = s.percentile / static_cast<double>(s.slots);
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace recd::eval
