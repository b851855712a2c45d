// Item popularity in the training data, for the beyond-accuracy metrics
// (novelty, popularity bias) and as a most-popular baseline.
// Immutable after construction; safe to read from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eval/dataset.h"

namespace recd::eval {

class PopularityStats {
 public:
  // pop(i) = the number of distinct users with at least one event on i among
  // events[train]. The catalog is `catalog` plus any train item missing
  // from it; catalog items without train events have pop 0.
  // REQUIRES: every index in train is < events.size().
  PopularityStats(const std::vector<EventRow>& events, const std::vector<size_t>& train,
                  const std::vector<ItemMeta>& catalog);

  // Distinct users in the train events.
  int64_t num_users() const { return num_users_; }
  size_t catalog_size() const { return pop_.size(); }
  bool InCatalog(std::string_view item) const;

  // pop(item); 0 for an item outside the catalog.
  int64_t Count(std::string_view item) const;

  // -log2(pop / num_users), with pop raised to 1 for items never seen in
  // train (as if one user had seen them, so the value stays finite).
  // 0 when there are no train users.
  double SelfInformation(std::string_view item) const;

  // Percentile rank in [0, 100] among catalog items by pop:
  // 100 * (#items with lower pop + #items with equal pop / 2) / catalog
  // size. An item outside the catalog counts as pop 0.
  double Percentile(std::string_view item) const;

  // The n most popular catalog items, by pop descending, then id ascending.
  std::vector<std::string> MostPopular(size_t n) const;

 private:
  int64_t num_users_ = 0;
  std::unordered_map<std::string, int64_t> pop_;
  std::vector<int64_t> sorted_counts_;  // ascending, one per catalog item
};

}  // namespace recd::eval
