#include "core/diversity.h"

#include <cmath>
#include <cstdint>
#include <map>
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
