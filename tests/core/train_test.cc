#include "core/train.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/als.h"
#include "gtest/gtest.h"
#include "tests/core/planted_model.h"

namespace recd::core {
namespace {

using test::AddPlanted;
using test::Cosine;
using test::PlantedCategory;
using test::PlantedItem;
using test::PlantedOptions;
using test::PlantedTrainOptions;

const std::map<std::string, double> kWeights = {{"view", 1}, {"click", 2}, {"hide", 0}};

TEST(TrainingSet, SkipsUnknownAndZeroWeightTypesAndEmptyIds) {
  TrainingSet set(kWeights);
  EXPECT_TRUE(set.AddEvent("u1", "i1", "view", 100));
  EXPECT_TRUE(set.AddEvent("u1", "i2", "click", 300));
  EXPECT_TRUE(set.AddEvent("u2", "i1", "view", 200));
  EXPECT_FALSE(set.AddEvent("u3", "i3", "purchase", 900));  // no weight
  EXPECT_FALSE(set.AddEvent("u3", "i3", "hide", 900));      // weight 0
  EXPECT_FALSE(set.AddEvent("", "i3", "view", 900));
  EXPECT_FALSE(set.AddEvent("u3", "", "view", 900));
  EXPECT_EQ(set.events(), 3u);
  EXPECT_EQ(set.skipped_events(), 4u);
  // Skipped events intern nothing and do not move the clock.
  EXPECT_EQ(set.users(), 2u);
  EXPECT_EQ(set.items(), 2u);
  EXPECT_EQ(set.latest_us(), 300);
  EXPECT_EQ(set.item_ids(), (std::vector<std::string>{"i1", "i2"}));
  ASSERT_EQ(set.interactions().size(), 3u);
  // Interned: the same user and item get the same numbers; weights by type.
  EXPECT_EQ(set.interactions()[0].user, set.interactions()[1].user);
  EXPECT_NE(set.interactions()[0].user, set.interactions()[2].user);
  EXPECT_EQ(set.interactions()[0].item, set.interactions()[2].item);
  EXPECT_EQ(set.interactions()[0].weight, 1.f);
  EXPECT_EQ(set.interactions()[1].weight, 2.f);
  EXPECT_EQ(set.event_weights(), kWeights);
}

TEST(TrainingSet, LabelsMakeAnItemWithoutEvents) {
  TrainingSet set(kWeights);
  ASSERT_TRUE(set.AddEvent("u1", "i1", "view", 1));
  set.SetItemLabels("i1", {"c:shoes"});
  set.SetItemLabels("cold", {"c:shoes", "t:red"});
  set.SetItemLabels("i1", {"c:boots"});  // replaces
  EXPECT_EQ(set.items(), 2u);
  EXPECT_EQ(set.events(), 1u);
  ASSERT_EQ(set.item_ids(), (std::vector<std::string>{"i1", "cold"}));
  EXPECT_EQ(set.item_labels()[0], (std::vector<std::string>{"c:boots"}));
  EXPECT_EQ(set.item_labels()[1], (std::vector<std::string>{"c:shoes", "t:red"}));
}

class TrainModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    planted_.clusters = 3;
    events_ = AddPlanted(planted_, &set_);
    // Cold items: labels, no events.
    for (int c = 0; c < planted_.clusters; ++c) {
      set_.SetItemLabels(Cold(c), {"c:" + PlantedCategory(c)});
    }
    // Events that are skipped.
    EXPECT_FALSE(set_.AddEvent("x", "a0", "purchase", 1));
    EXPECT_FALSE(set_.AddEvent("x", "a0", "hide", 1));
  }
  static std::string Cold(int c) { return "cold-" + PlantedCategory(c); }
  static int ClusterOf(const std::string& id) {
    return id.rfind("cold-", 0) == 0 ? id[5] - 'A' : id[0] - 'a';
  }

  // Row of each item id in the model.
  static std::unordered_map<std::string, size_t> Rows(const ModelData& m) {
    std::unordered_map<std::string, size_t> rows;
    for (size_t r = 0; r < m.item_ids.size(); ++r) rows[m.item_ids[r]] = r;
    return rows;
  }
  static const float* Row(const ModelData& m, size_t r) {
    return m.vectors.data() + r * m.manifest.dim();
  }

  PlantedOptions planted_;
  TrainingSet set_{kWeights};
  size_t events_ = 0;
};

TEST_F(TrainModelTest, NeighboursOfAnItemAreItsCluster) {
  auto model = TrainModel(set_, PlantedTrainOptions());
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelData& m = model->data;
  const int dim = m.manifest.dim();
  auto rows = Rows(m);
  int same = 0, total = 0;
  for (int c = 0; c < planted_.clusters; ++c) {
    for (int i = 0; i < planted_.items_per_cluster; ++i) {
      const size_t r = rows.at(PlantedItem(c, i));
      // The 5 most similar other trained items, by cosine of trained vectors.
      std::vector<std::pair<double, int>> sims;
      for (int c2 = 0; c2 < planted_.clusters; ++c2) {
        for (int i2 = 0; i2 < planted_.items_per_cluster; ++i2) {
          if (c2 == c && i2 == i) continue;
          sims.emplace_back(-Cosine(Row(m, r), Row(m, rows.at(PlantedItem(c2, i2))), dim), c2);
        }
      }
      std::partial_sort(sims.begin(), sims.begin() + 5, sims.end());
      for (int k = 0; k < 5; ++k) same += sims[k].second == c;
      total += 5;
    }
  }
  // Chance would be ~30%.
  EXPECT_GE(same, total * 9 / 10) << same << " of " << total << " neighbours in the same cluster";

  // The index over the rows finds the same thing by inner product.
  ASSERT_NE(model->index, nullptr);
  EXPECT_EQ(model->index->size(), m.item_ids.size());
  EXPECT_EQ(model->index->dim(), dim);
  int index_same = 0, index_total = 0;
  for (int c = 0; c < planted_.clusters; ++c) {
    const size_t r = rows.at(PlantedItem(c, 0));
    for (const Neighbor& n : model->index->Search(Row(m, r), 6)) {
      if (n.id == r) continue;
      ASSERT_LT(n.id, m.item_ids.size());
      index_same += ClusterOf(m.item_ids[n.id]) == c;
      ++index_total;
    }
  }
  EXPECT_GE(index_same, index_total * 8 / 10);
}

TEST_F(TrainModelTest, ItemWithLabelsButNoEventsGetsItsClustersVector) {
  TrainOptions options = PlantedTrainOptions();
  options.label_shrinkage = 1.0;
  auto model = TrainModel(set_, options);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelData& m = model->data;
  const int dim = m.manifest.dim();
  const size_t trained = static_cast<size_t>(planted_.clusters * planted_.items_per_cluster);
  EXPECT_EQ(model->trained_rows, trained);
  EXPECT_EQ(m.manifest.trained_items(), trained);
  ASSERT_EQ(m.item_ids.size(), trained + planted_.clusters);
  auto rows = Rows(m);
  // Trained rows first (the items with events), then the label-map rows.
  for (size_t r = 0; r < trained; ++r) EXPECT_NE(m.item_ids[r].rfind("cold-", 0), 0u) << r;
  for (int c = 0; c < planted_.clusters; ++c) {
    ASSERT_TRUE(rows.count(Cold(c))) << Cold(c);
    const size_t cold = rows.at(Cold(c));
    EXPECT_GE(cold, trained);
    double own = 0, other = 0;
    int n_other = 0;
    for (int c2 = 0; c2 < planted_.clusters; ++c2) {
      for (int i = 0; i < planted_.items_per_cluster; ++i) {
        const double s = Cosine(Row(m, cold), Row(m, rows.at(PlantedItem(c2, i))), dim);
        if (c2 == c) {
          own += s;
        } else {
          other += s;
          ++n_other;
        }
      }
    }
    own /= planted_.items_per_cluster;
    other /= n_other;
    EXPECT_GT(own, other + 0.3) << Cold(c) << ": mean cosine " << own << " to its cluster, "
                                << other << " to the others";

    // The label vector is the shrunk mean: sum / (n + shrinkage), and the
    // cold item's vector is that of its one label.
    int label_row = -1;
    for (int l = 0; l < m.labels.labels_size(); ++l) {
      if (m.labels.labels(l) == "c:" + PlantedCategory(c)) label_row = l;
    }
    ASSERT_GE(label_row, 0);
    for (int d = 0; d < dim; ++d) {
      double sum = 0;
      for (int i = 0; i < planted_.items_per_cluster; ++i) {
        sum += Row(m, rows.at(PlantedItem(c, i)))[d];
      }
      const double want = sum / (planted_.items_per_cluster + options.label_shrinkage);
      EXPECT_NEAR(m.labels.values(label_row * dim + d), want, 1e-5);
      EXPECT_NEAR(Row(m, cold)[d], want, 1e-5);
    }
  }
  // LabelMapVector: the mean of the known labels; false when none is known.
  std::unordered_map<std::string, uint32_t> row_of_label;
  for (int l = 0; l < m.labels.labels_size(); ++l) row_of_label[m.labels.labels(l)] = l;
  std::vector<float> a, ab, none;
  ASSERT_TRUE(LabelMapVector(m.labels, row_of_label, {"c:A", "t:unknown"}, &a));
  ASSERT_TRUE(LabelMapVector(m.labels, row_of_label, {"c:A", "c:B"}, &ab));
  EXPECT_FALSE(LabelMapVector(m.labels, row_of_label, {"t:unknown"}, &none));
  EXPECT_FALSE(LabelMapVector(m.labels, row_of_label, {}, &none));
  ASSERT_EQ(a.size(), static_cast<size_t>(dim));
  EXPECT_EQ(a, std::vector<float>(Row(m, rows.at(Cold(0))), Row(m, rows.at(Cold(0))) + dim));
  for (int d = 0; d < dim; ++d) {
    EXPECT_NEAR(ab[d], (Row(m, rows.at(Cold(0)))[d] + Row(m, rows.at(Cold(1)))[d]) / 2, 1e-6);
  }
}

TEST_F(TrainModelTest, ManifestRecordsTheTraining) {
  TrainOptions options = PlantedTrainOptions(6);
  options.source = "csv:planted.csv";
  std::vector<std::pair<std::string, int>> progress;
  auto model =
      TrainModel(set_, options, [&](const std::string& stage, int step, int steps, double seconds) {
        progress.emplace_back(stage, step);
        EXPECT_GE(seconds, 0);
        if (stage == "als") {
          EXPECT_EQ(steps, options.als.iterations);
        }
      });
  ASSERT_TRUE(model.ok()) << model.status();
  const auto& mf = model->data.manifest;
  const int users = planted_.clusters * planted_.users_per_cluster;
  EXPECT_EQ(mf.dim(), 6);
  EXPECT_EQ(mf.users(), static_cast<uint64_t>(users));
  EXPECT_EQ(mf.events(), events_);
  EXPECT_EQ(mf.events(), set_.events());
  // Each user's click repeats one of its views: distinct pairs only.
  EXPECT_EQ(mf.interactions(), static_cast<uint64_t>(users * planted_.items_per_user));
  EXPECT_LT(mf.interactions(), mf.events());
  EXPECT_EQ(mf.trained_until_us(), set_.latest_us());
  EXPECT_EQ(mf.als_alpha(), options.als.alpha);
  EXPECT_EQ(mf.als_lambda(), options.als.lambda);
  EXPECT_EQ(mf.iterations(), options.als.iterations);
  const std::map<std::string, double> weights(mf.event_weights().begin(), mf.event_weights().end());
  EXPECT_EQ(weights, kWeights);
  EXPECT_EQ(mf.hnsw_m(), options.ann.m);
  EXPECT_EQ(mf.hnsw_ef_construction(), options.ann.ef_construction);
  EXPECT_EQ(mf.source(), "csv:planted.csv");
  EXPECT_EQ(mf.version().rfind("planted-", 0), 0u) << mf.version();
  EXPECT_GT(mf.created_at_us(), 0);
  EXPECT_GE(mf.train_seconds(), 0);
  EXPECT_EQ(mf.trained_items(), model->trained_rows);
  // YᵀY of all the rows.
  const auto& m = model->data;
  const std::vector<float> g = Gramian(m.vectors.data(), m.item_ids.size(), 6);
  ASSERT_EQ(mf.gramian_size(), 36);
  for (int i = 0; i < 36; ++i) EXPECT_NEAR(mf.gramian(i), g[i], 1e-4 * (1 + std::abs(g[i])));
  EXPECT_EQ(m.vectors.size(), m.item_ids.size() * 6);
  EXPECT_EQ(m.labels.dim(), 6);
  for (float x : m.vectors) ASSERT_TRUE(std::isfinite(x));
  // Progress: one "als" per iteration in order, then "index".
  ASSERT_EQ(progress.size(), static_cast<size_t>(options.als.iterations + 1));
  for (int i = 0; i < options.als.iterations; ++i) {
    EXPECT_EQ(progress[i], std::make_pair(std::string("als"), i + 1));
  }
  EXPECT_EQ(progress.back().first, "index");
}

TEST_F(TrainModelTest, TwoTrainingsGetDistinctVersions) {
  auto a = TrainModel(set_, PlantedTrainOptions(4));
  auto b = TrainModel(set_, PlantedTrainOptions(4));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->data.manifest.version(), b->data.manifest.version());
}

TEST_F(TrainModelTest, LabelOnlyOnItemsWithoutEventsGivesNoVector) {
  // "t:lonely" is carried by no trained item: it has nothing to average, so
  // it must not give "lonely" a vector (least of all a NaN with shrinkage 0).
  set_.SetItemLabels("lonely", {"t:lonely"});
  for (double shrinkage : {0.0, 1.0}) {
    TrainOptions options = PlantedTrainOptions(4);
    options.label_shrinkage = shrinkage;
    auto model = TrainModel(set_, options);
    ASSERT_TRUE(model.ok()) << "shrinkage " << shrinkage << ": " << model.status();
    const ModelData& m = model->data;
    auto rows = Rows(m);
    EXPECT_FALSE(rows.count("lonely")) << "shrinkage " << shrinkage;
    EXPECT_TRUE(rows.count(Cold(0))) << "shrinkage " << shrinkage;
    for (float x : m.vectors) ASSERT_TRUE(std::isfinite(x)) << "shrinkage " << shrinkage;
    for (float x : m.labels.values()) ASSERT_TRUE(std::isfinite(x)) << "shrinkage " << shrinkage;
  }
}

TEST(TrainModel, RejectsBadInputNamingTheField) {
  TrainingSet empty(kWeights);
  EXPECT_FALSE(empty.AddEvent("u", "i", "purchase", 1));
  empty.SetItemLabels("i", {"c:x"});
  auto s = TrainModel(empty, PlantedTrainOptions()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("no usable events"), std::string::npos) << s;

  TrainingSet set(kWeights);
  ASSERT_TRUE(set.AddEvent("u", "i", "view", 1));
  TrainOptions o = PlantedTrainOptions();
  o.label_shrinkage = -1;
  s = TrainModel(set, o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("label_shrinkage"), std::string::npos) << s;

  o = PlantedTrainOptions();
  o.als.factors = 0;
  s = TrainModel(set, o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("factors"), std::string::npos) << s;

  o = PlantedTrainOptions();
  o.ann.m = 1;
  s = TrainModel(set, o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("m"), std::string::npos) << s;
}

}  // namespace
}  // namespace recd::core
