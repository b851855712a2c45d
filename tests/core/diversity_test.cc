#include "core/diversity.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<uint32_t> Items(const std::vector<RankedCandidate>& v) {
  std::vector<uint32_t> ids;
  for (const auto& c : v) ids.push_back(c.item);
  return ids;
}

// Items 0..4 form cluster A (near e1), items 10..14 cluster B (near e2).
bool ClusterVector(uint32_t item, std::vector<float>* v) {
  const float jitter = 0.01f * static_cast<float>(item % 10);
  *v = item < 10 ? std::vector<float>{1.0f, jitter, 0.0f} : std::vector<float>{jitter, 1.0f, 0.0f};
  return true;
}

std::vector<RankedCandidate> ClusterCandidates() {
  // Cluster A holds the best five scores.
  return {{0, 1.0f},  {1, 0.99f},  {2, 0.98f},  {3, 0.97f},  {4, 0.96f},
          {10, 0.9f}, {11, 0.89f}, {12, 0.88f}, {13, 0.87f}, {14, 0.86f}};
}

TEST(MmrRerankTest, LambdaOneKeepsInputOrderWithoutVectors) {
  const auto in = ClusterCandidates();
  bool called = false;
  auto out = MmrRerank(in, 6, 1.0, [&](uint32_t, std::vector<float>*) {
    called = true;
    return false;
  });
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Items(*out), ElementsAre(0, 1, 2, 3, 4, 10));
  EXPECT_FALSE(called);
  EXPECT_EQ((*out)[1].score, 0.99f) << "original scores are kept";
}

TEST(MmrRerankTest, HalfLambdaTakesTheTopTwoFromDifferentClusters) {
  auto out = MmrRerank(ClusterCandidates(), 4, 0.5, ClusterVector);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 4u);
  EXPECT_EQ((*out)[0].item, 0u);
  EXPECT_GE((*out)[1].item, 10u) << "second pick comes from cluster B";
  EXPECT_EQ((*out)[1].score, 0.9f);
}

TEST(MmrRerankTest, ItemsWithoutVectorsHaveNoSimilarity) {
  // Without any vectors MMR reduces to relevance order.
  auto out =
      MmrRerank(ClusterCandidates(), 3, 0.2, [](uint32_t, std::vector<float>*) { return false; });
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(Items(*out), ElementsAre(0, 1, 2));
}

TEST(MmrRerankTest, EmptyAndShortInputs) {
  auto empty = MmrRerank({}, 5, 0.5, ClusterVector);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  const std::vector<RankedCandidate> two = {{3, 2.0f}, {4, 2.0f}};
  auto out = MmrRerank(two, 10, 0.5, ClusterVector);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(Items(*out), ElementsAre(3, 4));
  auto none = MmrRerank(two, 0, 0.5, ClusterVector);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(MmrRerankTest, RejectsBadInputNamingTheField) {
  EXPECT_THAT(MmrRerank({}, 1, 1.5, ClusterVector).status().message(), HasSubstr("mmr_lambda"));
  const std::vector<RankedCandidate> nan = {{1, 1.0f}, {2, std::nanf("")}};
  EXPECT_THAT(MmrRerank(nan, 1, 0.5, ClusterVector).status().message(),
              HasSubstr("candidates[1].score"));
  auto ragged = [](uint32_t item, std::vector<float>* v) {
    v->assign(item == 0 ? 3 : 4, 1.0f);
    return true;
  };
  const std::vector<RankedCandidate> two = {{0, 1.0f}, {1, 0.5f}};
  EXPECT_THAT(MmrRerank(two, 2, 0.5, ragged).status().message(), HasSubstr("candidates[1]"));
}

// MMR by definition: every remaining candidate re-scored at every step.
std::vector<uint32_t> MmrByFullScans(const std::vector<RankedCandidate>& c, size_t k, double lambda,
                                     const std::vector<std::vector<float>>& vec) {
  const size_t n = c.size();
  float lo = c[0].score, hi = c[0].score;
  for (const auto& x : c) lo = std::min(lo, x.score), hi = std::max(hi, x.score);
  std::vector<std::vector<float>> unit(n);
  for (size_t i = 0; i < n; ++i) {
    double norm2 = 0;
    for (float x : vec[c[i].item]) norm2 += static_cast<double>(x) * x;
    unit[i].assign(vec[c[i].item].size(), 0.f);
    if (norm2 > 0) {
      const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
      for (size_t d = 0; d < unit[i].size(); ++d) unit[i][d] = vec[c[i].item][d] * inv;
    }
  }
  std::vector<bool> picked(n, false);
  std::vector<size_t> picks;
  std::vector<uint32_t> out;
  for (size_t step = 0; step < std::min(k, n); ++step) {
    size_t best = n;
    double best_value = 0;
    for (size_t i = 0; i < n; ++i) {
      if (picked[i]) continue;
      double penalty = 0;
      for (size_t s = 0; s < picks.size(); ++s) {
        double dot = 0;
        for (size_t d = 0; d < unit[i].size(); ++d) dot += unit[i][d] * unit[picks[s]][d];
        penalty = s == 0 ? dot : std::max(penalty, dot);
      }
      const double rel = hi > lo ? (c[i].score - lo) / (static_cast<double>(hi) - lo) : 1.0;
      const double value = lambda * rel - (1.0 - lambda) * penalty;
      if (best == n || value > best_value) best = i, best_value = value;
    }
    picked[best] = true;
    picks.push_back(best);
    out.push_back(c[best].item);
  }
  return out;
}

TEST(MmrRerankTest, PicksAsFullScansDo) {
  // Random clustered vectors (some zero), scores with ties, several lambdas
  // and k: the lazy greedy must give exactly MMR's picks. The vectors are
  // unit already (one +-1, or four +-1/2), so every cosine is exact in any
  // summation order, and equal values (ties) are common.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 80, dim = 1 + rng() % 8;
    std::vector<std::vector<float>> vec(n);
    std::vector<RankedCandidate> c;
    for (uint32_t i = 0; i < n; ++i) {
      vec[i].assign(dim, 0.f);
      const uint32_t kind = rng() % 10;
      if (kind >= 1 && (kind < 5 || dim < 4)) {
        vec[i][rng() % dim] = rng() % 2 ? 1.f : -1.f;
      } else if (kind >= 5) {
        for (size_t set = 0; set < 4;) {
          float& x = vec[i][rng() % dim];
          if (x == 0.f) x = rng() % 2 ? 0.5f : -0.5f, ++set;
        }
      }
      c.push_back({i, static_cast<float>(rng() % 12) / 4});
    }
    const double lambda = std::vector<double>{0.0, 0.3, 0.5, 0.8, 0.95, 1.0}[trial % 6];
    const size_t k = 1 + rng() % (n + 3);
    auto vector_of = [&](uint32_t item, std::vector<float>* v) {
      *v = vec[item];
      return true;
    };
    auto out = MmrRerank(c, k, lambda, vector_of);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(Items(*out), MmrByFullScans(c, k, lambda, vec))
        << "trial " << trial << " n " << n << " k " << k << " lambda " << lambda;
  }
}

class CategoryCapRerankTest : public ::testing::Test {
 protected:
  // Items 0..19 are in category 1 (odd ones also in 2, listed with a
  // repeat); items 20..29 each in a category of their own (1000 + id); items
  // 30..99 in none.
  CategoryCapRerankTest() : categories_(100) {
    for (uint32_t i = 0; i < 20; ++i) {
      categories_[i] = i % 2 == 0 ? std::vector<uint32_t>{1} : std::vector<uint32_t>{1, 2, 1};
    }
    for (uint32_t i = 20; i < 30; ++i) categories_[i] = {1000 + i};
  }
  absl::Span<const uint32_t> Categories(uint32_t item) const { return categories_.at(item); }
  ItemCategoriesFn Fn() const {
    return [this](uint32_t item) { return Categories(item); };
  }
  std::vector<std::vector<uint32_t>> categories_;
};

TEST_F(CategoryCapRerankTest, NeverExceedsTheCapWhileEnoughItemsExist) {
  std::vector<RankedCandidate> in;
  for (uint32_t i = 0; i < 30; ++i) in.push_back({i, 100.0f - i});
  in.push_back({99, 1.0f});
  for (uint32_t cap = 1; cap <= 4; ++cap) {
    // Category 1 has 20 items, 20..29 are alone in theirs and 99 has none:
    // cap + 11 items are possible within the cap, so backfill must not start.
    const size_t k = cap + 11;
    auto out = CategoryCapRerank(in, k, cap, Fn());
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), k);
    std::map<uint32_t, uint32_t> per_category;
    for (const auto& c : *out) {
      for (uint32_t cat : std::set<uint32_t>(Categories(c.item).begin(), Categories(c.item).end()))
        ++per_category[cat];
    }
    for (const auto& [cat, n] : per_category) EXPECT_LE(n, cap) << "category " << cat;
    EXPECT_EQ((*out)[0].item, 0u);
  }
}

TEST_F(CategoryCapRerankTest, BackfillsSkippedItemsInOrderOnlyToReachK) {
  const std::vector<RankedCandidate> in = {{0, 9}, {1, 8}, {2, 7}, {20, 6}, {3, 5}};
  auto out = CategoryCapRerank(in, 4, 1, Fn());
  ASSERT_TRUE(out.ok());
  // Kept: 0 (cat 1), 20 (cat 1020); then backfilled 1, 2 in input order.
  EXPECT_THAT(Items(*out), ElementsAre(0, 20, 1, 2));
  EXPECT_EQ((*out)[2].score, 8.0f);
  auto short_k = CategoryCapRerank(in, 2, 1, Fn());
  ASSERT_TRUE(short_k.ok());
  EXPECT_THAT(Items(*short_k), ElementsAre(0, 20));
}

TEST_F(CategoryCapRerankTest, EmptyInputAndBadCap) {
  auto out = CategoryCapRerank({}, 3, 2, Fn());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
  EXPECT_THAT(CategoryCapRerank({}, 3, 0, Fn()).status().message(), HasSubstr("max_per_category"));
}

TEST(DiversifyTest, DispatchesOnModeAndValidates) {
  const auto in = ClusterCandidates();
  DiversityOptions none{.mode = DiversityMode::kNone};
  auto out = Diversify(in, 3, none, nullptr, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(Items(*out), ElementsAre(0, 1, 2));
  DiversityOptions mmr{.mode = DiversityMode::kMmr, .mmr_lambda = 0.5};
  out = Diversify(in, 2, mmr, ClusterVector, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_GE((*out)[1].item, 10u);
  DiversityOptions bad{.mode = DiversityMode::kNone, .max_per_category = 0};
  EXPECT_THAT(Diversify(in, 2, bad, nullptr, nullptr).status().message(),
              HasSubstr("max_per_category"));
}

}  // namespace
}  // namespace recd::core
