#include "eval/popularity.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace recd::eval {

PopularityStats::PopularityStats(const std::vector<EventRow>& events,
                                 const std::vector<size_t>& train,
                                 const std::vector<ItemMeta>& catalog) {
  for (const ItemMeta& item : catalog) pop_.emplace(item.id, 0);
  std::unordered_set<std::string> users;
  std::unordered_set<std::string> pairs;  // user + '\0' + item
  for (size_t i : train) {
    const EventRow& e = events[i];
    users.insert(e.user);
    int64_t& count = pop_[e.item];
    std::string key = e.user;
    key.push_back('\0');
    key.append(e.item);
    if (pairs.insert(std::move(key)).second) ++count;
  }
  num_users_ = static_cast<int64_t>(users.size());
  sorted_counts_.reserve(pop_.size());
  for (const auto& [id, count] : pop_) sorted_counts_.push_back(count);
  std::sort(sorted_counts_.begin(), sorted_counts_.end());
}

bool PopularityStats::InCatalog(std::string_view item) const {
  return pop_.find(std::string(item)) != pop_.end();
}

int64_t PopularityStats::Count(std::string_view item) const {
  auto it = pop_.find(std::string(item));
  return it == pop_.end() ? 0 : it->second;
}

double PopularityStats::SelfInformation(std::string_view item) const {
  if (num_users_ == 0) return 0;
  const int64_t pop = std::max<int64_t>(Count(item), 1);
  return -std::log2(static_cast<double>(pop) / static_cast<double>(num_users_));
}

double PopularityStats::Percentile(std::string_view item) const {
  if (sorted_counts_.empty()) return 0;
  const int64_t pop = Count(item);
  auto lo = std::lower_bound(sorted_counts_.begin(), sorted_counts_.end(), pop);
  auto hi = std::upper_bound(lo, sorted_counts_.end(), pop);
  const double below = static_cast<double>(lo - sorted_counts_.begin());
  const double equal = static_cast<double>(hi - lo);
  return 100.0 * (below + equal / 2) / static_cast<double>(sorted_counts_.size());
}

std::vector<std::string> PopularityStats::MostPopular(size_t n) const {
  std::vector<std::pair<int64_t, const std::string*>> all;
  all.reserve(pop_.size());
  for (const auto& [id, count] : pop_) all.emplace_back(count, &id);
  auto better = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), better);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*all[i].second);
  return out;
}

}  // namespace recd::eval
