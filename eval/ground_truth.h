// What each evaluated user should be recommended, from a train/test split.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "eval/dataset.h"
#include "eval/split.h"

namespace recd::eval {

using ItemSet = std::unordered_set<std::string>;

struct GroundTruthOptions {
  // Only test events of these types make an item relevant; empty: all types
  // (MS Recommenders on MovieLens: every rating is an interaction).
  std::vector<std::string> relevant_types;
  // Drops from a user's relevant set the items the user already has in
  // train. Off by default (with one row per (user, item), as in MovieLens,
  // there is no overlap); useful on event logs when the ranking removes
  // seen items, which could then never be hit.
  bool drop_train_items = false;
};

struct GroundTruth {
  // Users to evaluate, sorted by id: users with at least one train event
  // and a non-empty relevant set. This is the set MS Recommenders'
  // merge_ranking_true_pred evaluates (users in both the test data and the
  // predictions, which are made for the train users); a train-only or
  // test-only user is not evaluated.
  std::vector<std::string> users;
  // For each user in `users`: the distinct test items (never empty).
  std::unordered_map<std::string, ItemSet> relevant;
  // For each user in `users`: the distinct train items (the usual
  // "remove already-seen items" filter of the ranking).
  std::unordered_map<std::string, ItemSet> train_items;
};

// REQUIRES: every index in split is < events.size().
GroundTruth BuildGroundTruth(const std::vector<EventRow>& events, const Split& split,
                             const GroundTruthOptions& options = {});

}  // namespace recd::eval
