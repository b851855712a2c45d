#include "eval/ground_truth.h"

#include <algorithm>

namespace recd::eval {

GroundTruth BuildGroundTruth(const std::vector<EventRow>& events, const Split& split,
                             const GroundTruthOptions& options) {
  std::unordered_map<std::string, ItemSet> train_items;
  for (size_t i : split.train) train_items[events[i].user].insert(events[i].item);
  const std::unordered_set<std::string> types(options.relevant_types.begin(),
                                              options.relevant_types.end());
  GroundTruth gt;
  for (size_t i : split.test) {
    const EventRow& e = events[i];
    if (!types.empty() && types.count(e.type) == 0) continue;
    auto train = train_items.find(e.user);
    if (train == train_items.end()) continue;  // not a train user
    if (options.drop_train_items && train->second.count(e.item) > 0) continue;
    gt.relevant[e.user].insert(e.item);
  }
  gt.users.reserve(gt.relevant.size());
  for (auto& [user, items] : gt.relevant) {
    gt.users.push_back(user);
    gt.train_items[user] = std::move(train_items[user]);
  }
  std::sort(gt.users.begin(), gt.users.end());
  return gt;
}

}  // namespace recd::eval
