// Planted training data for the model tests (train, model swap, Admin over
// gRPC): `clusters` groups of items ("a0".."a9", "b0".., with category "A",
// "B", ...), and users who only ever use the items of one group. A model that
// learns anything puts each group's items together.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/train.h"

namespace recd::core::test {

inline std::string PlantedItem(int cluster, int i) {
  return std::string(1, static_cast<char>('a' + cluster)) + std::to_string(i);
}
inline std::string PlantedCategory(int cluster) {
  return std::string(1, static_cast<char>('A' + cluster));
}
inline std::string PlantedUser(int cluster, int u) {
  return PlantedCategory(cluster) + "-user-" + std::to_string(u);
}

struct PlantedOptions {
  int clusters = 3;
  int items_per_cluster = 10;
  int users_per_cluster = 20;
  int items_per_user = 5;  // distinct items each user views (all in its cluster)
  uint32_t seed = 1;
  int64_t first_us = 1700000000000000;
};

// Adds the planted events (a view of each chosen item, and a click on the
// first one: two events, one pair) and every item's category label "c:<X>".
// Returns the number of events added.
inline size_t AddPlanted(const PlantedOptions& o, TrainingSet* set) {
  std::mt19937 rng(o.seed);
  size_t added = 0;
  int64_t t = o.first_us;
  for (int c = 0; c < o.clusters; ++c) {
    for (int i = 0; i < o.items_per_cluster; ++i) {
      set->SetItemLabels(PlantedItem(c, i), {"c:" + PlantedCategory(c)});
    }
    for (int u = 0; u < o.users_per_cluster; ++u) {
      std::vector<int> items(o.items_per_cluster);
      for (int i = 0; i < o.items_per_cluster; ++i) items[i] = i;
      std::shuffle(items.begin(), items.end(), rng);
      for (int k = 0; k < o.items_per_user; ++k) {
        added += set->AddEvent(PlantedUser(c, u), PlantedItem(c, items[k]), "view", t += 1000);
      }
      added += set->AddEvent(PlantedUser(c, u), PlantedItem(c, items[0]), "click", t += 1000);
    }
  }
  return added;
}

// Small, fast training parameters that separate the planted clusters.
inline TrainOptions PlantedTrainOptions(int factors = 8) {
  TrainOptions t;
  t.als.factors = factors;
  t.als.iterations = 12;
  t.als.alpha = 10;
  t.als.lambda = 5;  // tiny data: a small lambda overfits and mixes the clusters
  t.als.threads = 2;
  t.als.seed = 3;
  t.ann.m = 8;
  t.ann.ef_construction = 60;
  t.ann.ef_search = 60;
  t.ann.num_threads = 2;
  t.version_prefix = "planted";
  return t;
}

inline double Cosine(const float* a, const float* b, int dim) {
  double ab = 0, aa = 0, bb = 0;
  for (int d = 0; d < dim; ++d) {
    ab += double{a[d]} * b[d];
    aa += double{a[d]} * a[d];
    bb += double{b[d]} * b[d];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0;
}

}  // namespace recd::core::test
