#include "core/explore.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

using ::testing::HasSubstr;

std::vector<uint32_t> Range(uint32_t first, uint32_t count) {
  std::vector<uint32_t> v(count);
  for (uint32_t i = 0; i < count; ++i) v[i] = first + i;
  return v;
}

std::vector<SlotDecision> RunStage(const std::vector<uint32_t>& slate,
                                   const std::vector<uint32_t>& pool, std::vector<double> eps,
                                   uint64_t seed) {
  absl::StatusOr<std::vector<SlotDecision>> r = ExploreSlate(slate, pool, eps, seed);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : std::vector<SlotDecision>{};
}

TEST(ExploreSlateTest, EpsilonZeroReturnsSlateWithPropensityOne) {
  const std::vector<uint32_t> slate = {7, 3, 9, 1};
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto d = RunStage(slate, Range(100, 50), {0.0}, seed);
    ASSERT_EQ(d.size(), slate.size());
    for (size_t j = 0; j < slate.size(); ++j) {
      EXPECT_EQ(d[j].item, slate[j]);
      EXPECT_FALSE(d[j].explored);
      EXPECT_EQ(d[j].propensity, 1.0);
      EXPECT_EQ(d[j].deterministic_item, slate[j]);
      EXPECT_EQ(d[j].pool_size, 50u);
      EXPECT_EQ(d[j].epsilon, 0.0);
    }
  }
}

TEST(ExploreSlateTest, EmptyPoolNeverExplores) {
  // The pool holds only slate items, so P' is empty.
  auto d = RunStage({1, 2, 3}, {2, 3, 3}, {1.0}, 42);
  for (size_t j = 0; j < 3; ++j) {
    EXPECT_EQ(d[j].item, j + 1);
    EXPECT_FALSE(d[j].explored);
    EXPECT_EQ(d[j].pool_size, 0u);
    EXPECT_EQ(d[j].epsilon, 0.0);
    EXPECT_EQ(d[j].propensity, 1.0);
  }
  EXPECT_TRUE(RunStage({}, Range(0, 5), {0.5}, 1).empty());
}

TEST(ExploreSlateTest, SmallPoolCapsExplorationAtTheFirstSlots) {
  // eps = 1 with m = 2 < k = 4: slots 0 and 1 always explore, 2 and 3 never.
  auto d = RunStage({1, 2, 3, 4}, {10, 11}, {1.0}, 5);
  EXPECT_TRUE(d[0].explored && d[1].explored);
  EXPECT_FALSE(d[2].explored || d[3].explored);
  EXPECT_EQ(d[0].epsilon, 1.0);
  EXPECT_EQ(d[1].propensity, 0.5);
  EXPECT_EQ(d[2].epsilon, 0.0);
  EXPECT_EQ(d[3].propensity, 1.0);
}

TEST(ExploreSlateTest, NeverShowsAnItemTwiceAndNeverShiftsSlots) {
  struct Case {
    std::vector<uint32_t> slate, pool;
    std::vector<double> eps;
  };
  const std::vector<Case> cases = {
      {Range(0, 10), Range(5, 30), {0.5}},               // pool overlaps the slate
      {Range(0, 10), Range(10, 3), {0.9}},               // m < k
      {Range(0, 6), Range(6, 6), {1.0}},                 // m == k, everything explores
      {{9, 4, 7}, {4, 4, 7, 1, 1, 2}, {0.3, 1.0, 0.7}},  // duplicates in the pool
  };
  for (const Case& c : cases) {
    const std::set<uint32_t> slate_set(c.slate.begin(), c.slate.end());
    const std::set<uint32_t> pool_set(c.pool.begin(), c.pool.end());
    for (uint64_t seed = 0; seed < 5000; ++seed) {
      auto d = RunStage(c.slate, c.pool, c.eps, seed);
      ASSERT_EQ(d.size(), c.slate.size());
      std::set<uint32_t> shown;
      for (size_t j = 0; j < d.size(); ++j) {
        ASSERT_TRUE(shown.insert(d[j].item).second) << "seed " << seed << " slot " << j;
        EXPECT_EQ(d[j].deterministic_item, c.slate[j]);
        EXPECT_EQ(d[j].explored, d[j].item != c.slate[j]);
        if (d[j].explored) {
          EXPECT_TRUE(pool_set.count(d[j].item) && !slate_set.count(d[j].item));
        }
      }
    }
  }
}

TEST(ExploreSlateTest, PureFunctionOfSlatePoolSetEpsilonAndSeed) {
  const std::vector<uint32_t> slate = Range(0, 8);
  std::vector<uint32_t> pool = Range(3, 40);
  std::vector<uint32_t> shuffled(pool.rbegin(), pool.rend());
  shuffled.push_back(20);  // a duplicate
  int differing = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto a = RunStage(slate, pool, {0.4}, seed);
    auto b = RunStage(slate, shuffled, {0.4}, seed);
    auto c = RunStage(slate, pool, {0.4}, seed + 1000);
    ASSERT_EQ(a.size(), b.size());
    bool same_as_c = true;
    for (size_t j = 0; j < a.size(); ++j) {
      EXPECT_EQ(a[j].item, b[j].item);
      EXPECT_EQ(a[j].propensity, b[j].propensity);
      same_as_c = same_as_c && a[j].item == c[j].item;
    }
    differing += same_as_c ? 0 : 1;
  }
  EXPECT_GT(differing, 150) << "the seed must matter";
}

// Runs `n` seeds and checks, for every (slot, item) pair of slate ∪ pool,
// that (a) the logged propensity is the same in every draw that shows the
// pair, (b) it equals the formula of explore.h, and (c) the empirical
// frequency is within 4 standard errors sqrt(p(1-p)/n) of it. Pairs with
// propensity 0 must never occur.
void CheckPropensitiesMatchFrequencies(const std::vector<uint32_t>& slate,
                                       const std::vector<uint32_t>& pool,
                                       const std::vector<double>& eps, int n) {
  const size_t k = slate.size();
  std::map<std::pair<size_t, uint32_t>, int> count;
  std::map<std::pair<size_t, uint32_t>, double> logged;
  std::vector<SlotDecision> first;
  for (int s = 0; s < n; ++s) {
    auto d = RunStage(slate, pool, eps, SeedFromId("rec-" + std::to_string(s)));
    ASSERT_EQ(d.size(), k);
    if (first.empty()) first = d;
    for (size_t j = 0; j < k; ++j) {
      ASSERT_EQ(d[j].epsilon, first[j].epsilon);
      ASSERT_EQ(d[j].pool_size, first[j].pool_size);
      const auto key = std::make_pair(j, d[j].item);
      ++count[key];
      auto [it, inserted] = logged.emplace(key, d[j].propensity);
      ASSERT_EQ(it->second, d[j].propensity) << "slot " << j << " item " << d[j].item;
    }
  }
  const std::set<uint32_t> slate_set(slate.begin(), slate.end());
  std::set<uint32_t> universe(pool.begin(), pool.end());
  universe.insert(slate.begin(), slate.end());
  const double m = first[0].pool_size;
  for (size_t j = 0; j < k; ++j) {
    const double q = first[j].epsilon;
    for (uint32_t i : universe) {
      const bool in_pool_prime = !slate_set.count(i) && std::count(pool.begin(), pool.end(), i);
      const double p = (i == slate[j] ? 1.0 - q : 0.0) + (in_pool_prime ? q / m : 0.0);
      const auto key = std::make_pair(j, i);
      const int c = count.count(key) ? count[key] : 0;
      if (c > 0) {
        EXPECT_NEAR(logged[key], p, 1e-12) << "slot " << j << " item " << i;
      }
      const double freq = static_cast<double>(c) / n;
      const double se = std::sqrt(p * (1.0 - p) / n);
      if (p == 0.0) {
        EXPECT_EQ(c, 0) << "slot " << j << " item " << i;
      } else {
        EXPECT_NEAR(freq, p, 4.0 * se) << "slot " << j << " item " << i;
      }
    }
  }
}

TEST(ExploreSlateTest, LoggedPropensitiesMatchFrequencies) {
  // k = 5, eps = 0.2, pool of 25 of which 2 are in the slate: m = 23.
  std::vector<uint32_t> pool = Range(100, 23);
  pool.push_back(2);
  pool.push_back(4);
  CheckPropensitiesMatchFrequencies({0, 1, 2, 3, 4}, pool, {0.2}, 200000);
}

TEST(ExploreSlateTest, PerSlotEpsilonPropensitiesMatchFrequencies) {
  CheckPropensitiesMatchFrequencies({0, 1, 2, 3, 4}, Range(50, 9), {0.1, 0.0, 0.5, 1.0, 0.3},
                                    100000);
}

TEST(ExploreSlateTest, CappedPropensitiesMatchFrequenciesWhenPoolIsSmallerThanSlate) {
  // m = 3 < k = 6: later slots explore less often than eps; q_j is exact.
  auto d = RunStage(Range(0, 6), {10, 11, 12}, {0.6}, 1);
  EXPECT_EQ(d[0].epsilon, 0.6);
  EXPECT_LT(d[5].epsilon, 0.6);
  CheckPropensitiesMatchFrequencies(Range(0, 6), {10, 11, 12}, {0.6}, 100000);
}

TEST(ExploreSlateTest, InversePropensityEstimateIsUnbiased) {
  // Target policy: per slot, uniform over P' ∪ {r_j}. Reward 1 for even ids.
  const std::vector<uint32_t> slate = {0, 1, 2, 3, 4};
  const std::vector<uint32_t> pool = Range(10, 13);  // 6 or 7 even ids
  const int n = 200000;
  const double m = 13;
  const double target = 1.0 / (m + 1);
  std::vector<double> sum(slate.size()), sum2(slate.size());
  for (int s = 0; s < n; ++s) {
    auto d = RunStage(slate, pool, {0.3}, static_cast<uint64_t>(s) * 7919 + 1);
    for (size_t j = 0; j < slate.size(); ++j) {
      const double w = d[j].item % 2 == 0 ? target / d[j].propensity : 0.0;
      sum[j] += w;
      sum2[j] += w * w;
    }
  }
  const double even_in_pool = 7;  // 10, 12, ..., 22
  for (size_t j = 0; j < slate.size(); ++j) {
    const double mean = sum[j] / n;
    const double se = std::sqrt((sum2[j] / n - mean * mean) / n);
    const double truth = (even_in_pool + (slate[j] % 2 == 0 ? 1 : 0)) / (m + 1);
    EXPECT_NEAR(mean, truth, 4 * se) << "slot " << j;
  }
}

TEST(ExploreSlateTest, RejectsBadInputNamingTheField) {
  auto bad = [](std::vector<uint32_t> slate, std::vector<double> eps) {
    return ExploreSlate(slate, std::vector<uint32_t>{50, 51}, eps, 1).status();
  };
  EXPECT_THAT(bad({1, 2, 3}, {0.1, 0.1}).message(), HasSubstr("epsilon:"));
  EXPECT_THAT(bad({1, 2}, {0.1, 1.5}).message(), HasSubstr("epsilon[1]:"));
  EXPECT_THAT(bad({1, 2}, {-0.1}).message(), HasSubstr("epsilon[0]:"));
  EXPECT_THAT(bad({1, 2}, {std::nan("")}).message(), HasSubstr("epsilon[0]:"));
  absl::Status dup = bad({1, 2, 1}, {0.1});
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.message(), HasSubstr("slate[0]: item 1"));
}

TEST(SeedFromIdTest, IsFnv1a64) {
  EXPECT_EQ(SeedFromId(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(SeedFromId("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(SeedFromId("foobar"), 0x85944171f73967e8ULL);
}

}  // namespace
}  // namespace recd::core
