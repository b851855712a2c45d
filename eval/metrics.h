// Top-k ranking metrics with binary relevance, per user and averaged over
// users. A ranked list is best first; an item repeated in it counts only at
// its first position (later copies are misses). A list shorter than k is
// not padded: precision still divides by k (as Spark and MS Recommenders
// do).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "eval/ground_truth.h"
#include "eval/popularity.h"

namespace recd::eval {

// One user's metrics at cutoff k. With H = the 1-based ranks r <= k of the
// hits and R = |relevant| (all zeros when R = 0 or k < 1):
//   precision = |H| / k
//   recall    = |H| / R
//   ndcg      = sum_{r in H} 1/log2(r+1) / sum_{r=1..min(k,R)} 1/log2(r+1)
//   AP        = sum_{r in H} (hits at ranks <= r) / r
//   map       = AP / min(k, R)   (the usual MAP@k)
//   map_ms    = AP / R           (MS Recommenders' map_at_k in the version
//                                 whose README table has BiVAE MAP 0.146;
//                                 their later map_at_k divides by min(k, R))
//   mrr       = 1 / min(H), 0 when H is empty
//   hit_rate  = 1 if H is non-empty, else 0
struct UserMetrics {
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
  double map_ms = 0;
  double mrr = 0;
  double hit_rate = 0;
};

UserMetrics ComputeUserMetrics(const std::vector<std::string>& ranked, const ItemSet& relevant,
                               int k);

// Means over users at one k, plus the list-level aggregates:
//   coverage  = distinct catalog items in any top-k list / catalog size
//   novelty   = mean SelfInformation over every (user, position <= k) slot
//               (pooled over all recommended items, as MS Recommenders'
//               novelty() does)
//   popularity_percentile = mean Percentile over the same slots
// (novelty and popularity_percentile are 0 when no item was recommended).
struct MetricsAtK {
  int k = 0;
  int64_t users = 0;
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  double map = 0;
  double map_ms = 0;
  double mrr = 0;
  double hit_rate = 0;
  double coverage = 0;
  double novelty = 0;
  double popularity_percentile = 0;
};

// Feeds users one by one and reports means at several cutoffs at once.
// Every user fed counts in the means, an empty ranked list as zeros.
// Not thread-safe: one accumulator per thread, then Merge.
class MetricsAccumulator {
 public:
  // ks: the cutoffs (deduplicated and sorted; non-positive ones dropped).
  // REQUIRES: popularity outlives the accumulator.
  MetricsAccumulator(std::vector<int> ks, const PopularityStats& popularity);

  void AddUser(const std::vector<std::string>& ranked, const ItemSet& relevant);

  // Adds another accumulator's users. REQUIRES: same ks and popularity.
  void Merge(const MetricsAccumulator& other);

  // One entry per k, ascending.
  std::vector<MetricsAtK> Results() const;

  int64_t users() const { return users_; }
  const std::vector<int>& ks() const { return ks_; }

 private:
  struct Sums {
    UserMetrics metrics;  // sums over users
    std::unordered_set<std::string> distinct;
    int64_t slots = 0;
    double self_information = 0;
    double percentile = 0;
  };

  std::vector<int> ks_;
  const PopularityStats* popularity_;
  std::vector<Sums> sums_;  // parallel to ks_
  int64_t users_ = 0;
};

}  // namespace recd::eval
