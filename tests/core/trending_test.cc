#include "core/trending.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/popularity.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

// A present-day event time (2024-06-01T00:00:00Z), in microseconds.
constexpr int64_t kToday = 1717200000LL * 1000000;
constexpr int64_t kHourUs = 3600LL * 1000000;

std::vector<uint32_t> TopIds(const Trending& t) {
  std::vector<uint32_t> ids;
  for (const auto& e : *t.Top()) ids.push_back(e.item);
  return ids;
}

TEST(TrendingTest, UnknownItemHasNegativeInfinity) {
  Trending t(3600, 10);
  EXPECT_EQ(t.Get(0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.Get(12345), -std::numeric_limits<double>::infinity());
  t.Add(3, 1.0, kToday);
  EXPECT_EQ(t.Get(2), -std::numeric_limits<double>::infinity()) << "gap ids stay empty";
}

TEST(TrendingTest, ScoreIsLog2OfForwardDecayedSum) {
  const double h = 3600;
  Trending t(h, 10);
  t.Add(0, 1.0, kToday);
  // log2(w * 2^(t/h)) = log2(w) + t/h, with t in the half-life's unit.
  const double t_over_h = static_cast<double>(kToday) / (h * 1e6);
  EXPECT_NEAR(t.Get(0), t_over_h, 1e-6);
  t.Add(0, 1.0, kToday);  // same weight at the same time: the sum doubles
  EXPECT_NEAR(t.Get(0), t_over_h + 1.0, 1e-6);
  t.Add(1, 8.0, kToday);
  EXPECT_NEAR(t.Get(1), t_over_h + 3.0, 1e-6);
}

// An old heavy event vs a recent light one: with weight 8 at t and weight 1
// at t + Δt, the ratio of decayed values is 8 / 2^(Δt/h), so the old one
// wins while Δt < 3h and loses once Δt > 3h.
TEST(TrendingTest, OrdersByDecayedValueWithHalfLifeArithmetic) {
  const double h_s = 3600;
  for (double hours : {1.0, 2.0, 2.9, 3.1, 4.0, 10.0}) {
    SCOPED_TRACE(hours);
    Trending t(h_s, 10);
    const uint32_t old_heavy = 0, recent_light = 1;
    t.Add(old_heavy, 8.0, kToday);
    const int64_t dt = static_cast<int64_t>(hours * kHourUs);
    t.Add(recent_light, 1.0, kToday + dt);
    // log2(S_recent / S_old) = Δt/h - log2(8).
    EXPECT_NEAR(t.Get(recent_light) - t.Get(old_heavy), hours - 3.0, 1e-6);
    // The decayed value ratio, computed in the linear domain at Δt.
    const double value_old_at_now = 8.0 * std::exp2(-hours);  // 8 decayed by Δt
    const double value_recent_at_now = 1.0;
    EXPECT_NEAR(std::exp2(t.Get(old_heavy) - t.Get(recent_light)),
                value_old_at_now / value_recent_at_now, 1e-6);
    t.Publish();
    auto top = TopIds(t);
    ASSERT_EQ(top.size(), 2u);
    if (hours < 3.0) {
      EXPECT_EQ(top, (std::vector<uint32_t>{old_heavy, recent_light}));
    } else {
      EXPECT_EQ(top, (std::vector<uint32_t>{recent_light, old_heavy}));
    }
  }
}

TEST(TrendingTest, LateEventsDecayByTheirOwnTime) {
  Trending t(3600, 10);
  // Same weight; the event that happened later counts more, whatever the
  // order in which they were added.
  t.Add(0, 1.0, kToday + kHourUs);
  t.Add(1, 1.0, kToday);
  EXPECT_NEAR(t.Get(0) - t.Get(1), 1.0, 1e-6);
}

TEST(TrendingTest, NoOverflowAtTodaysTimestamps) {
  // A one-second half-life puts t/h near 1.7e9: 2^(t/h) overflows any
  // double, its log2 does not.
  for (double h : {1.0, 60.0, 3600.0, 86400.0}) {
    SCOPED_TRACE(h);
    Trending t(h, 10);
    for (int i = 0; i < 1000; ++i) t.Add(0, 10.0, kToday + i * 1000000LL);
    t.Add(1, 1.0, kToday);
    EXPECT_TRUE(std::isfinite(t.Get(0)));
    EXPECT_TRUE(std::isfinite(t.Get(1)));
    EXPECT_GT(t.Get(0), t.Get(1));
    EXPECT_GT(t.Get(0), static_cast<double>(kToday) / (h * 1e6));
    t.Publish();
    EXPECT_EQ(TopIds(t), (std::vector<uint32_t>{0, 1}));
  }
}

TEST(TrendingTest, SumOfManySmallEventsMatchesClosedForm) {
  Trending t(86400, 10);
  // n events of weight 1 at the same instant: log2(n) + t/h.
  for (int i = 0; i < 1024; ++i) t.Add(5, 1.0, kToday);
  EXPECT_NEAR(t.Get(5), 10.0 + static_cast<double>(kToday) / 86400e6, 1e-6);
}

TEST(TrendingTest, TopIsEmptyUntilPublished) {
  Trending t(3600, 10);
  ASSERT_NE(t.Top(), nullptr);
  EXPECT_TRUE(t.Top()->empty());
  t.Add(0, 1.0, kToday);
  EXPECT_TRUE(t.Top()->empty()) << "readers see the last published list";
  t.Publish();
  EXPECT_EQ(TopIds(t), std::vector<uint32_t>{0});
}

TEST(TrendingTest, PublishOrdersBestFirstAndCapsSize) {
  Trending t(3600, 3);
  // Weights 1..6 at the same time on items 10..15 (and nothing on 0..9).
  for (uint32_t i = 0; i < 6; ++i) t.Add(10 + i, 1.0 + i, kToday);
  t.Publish();
  auto top = t.Top();
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ(TopIds(t), (std::vector<uint32_t>{15, 14, 13}));
  for (const auto& e : *top) EXPECT_DOUBLE_EQ(e.log2_score, t.Get(e.item));
  for (size_t i = 1; i < top->size(); ++i)
    EXPECT_GT((*top)[i - 1].log2_score, (*top)[i].log2_score);
}

TEST(TrendingTest, PublishReflectsLaterEventsAndKeepsOldSnapshots) {
  Trending t(3600, 5);
  t.Add(0, 5.0, kToday);
  t.Add(1, 1.0, kToday);
  t.Publish();
  auto before = t.Top();
  EXPECT_EQ(TopIds(t), (std::vector<uint32_t>{0, 1}));
  t.Add(1, 10.0, kToday + kHourUs);
  t.Add(2, 0.5, kToday);
  t.Publish();
  EXPECT_EQ(TopIds(t), (std::vector<uint32_t>{1, 0, 2}));
  // A reader holding the old snapshot still sees it unchanged.
  ASSERT_EQ(before->size(), 2u);
  EXPECT_EQ((*before)[0].item, 0u);
}

TEST(TrendingTest, SetRestoresAStoredScore) {
  Trending t(3600, 5);
  t.Set(4, 123.5);
  EXPECT_DOUBLE_EQ(t.Get(4), 123.5);
  t.Set(2, 200.0);
  t.Publish();
  EXPECT_EQ(TopIds(t), (std::vector<uint32_t>{2, 4}));
  // Adding on top of a restored score continues the sum in the log2 domain.
  Trending u(3600, 5);
  u.Add(0, 1.0, kToday);
  u.Add(0, 1.0, kToday);
  Trending v(3600, 5);
  Trending w(3600, 5);
  w.Add(0, 1.0, kToday);
  v.Set(0, w.Get(0));
  v.Add(0, 1.0, kToday);
  EXPECT_NEAR(v.Get(0), u.Get(0), 1e-9);
}

// The incremental publish must give the list a scan of every item gives:
// many rounds of random Adds (a hot set and a long tail) between Publishes,
// with a Set in the middle that lowers a leader.
TEST(TrendingTest, IncrementalPublishMatchesAFullScan) {
  std::mt19937 rng(7);
  Trending t(3600, 20);
  std::vector<double> brute(2000, -std::numeric_limits<double>::infinity());
  auto expect_same = [&] {
    std::vector<std::pair<double, uint32_t>> all;
    for (uint32_t i = 0; i < brute.size(); ++i) {
      if (!std::isinf(brute[i])) all.push_back({-t.Get(i), i});
    }
    std::sort(all.begin(), all.end());
    all.resize(std::min<size_t>(all.size(), 20));
    std::vector<uint32_t> want;
    for (auto& [neg, i] : all) want.push_back(i);
    EXPECT_EQ(TopIds(t), want);
  };
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE(round);
    for (int k = 0; k < 40; ++k) {
      const uint32_t item = rng() % 4 == 0 ? rng() % 30 : rng() % brute.size();
      t.Add(item, 1.0 + rng() % 5, kToday + round * kHourUs / 4);
      brute[item] = t.Get(item);
    }
    if (round == 25) {
      const uint32_t leader = TopIds(t).front();
      t.Set(leader, t.Get(leader) - 50);  // a restore may lower a score
      brute[leader] = t.Get(leader);
    }
    t.Publish();
    expect_same();
  }
}

// Readers call Get while the writer grows the array.
TEST(TrendingTest, GetIsSafeWhileTheWriterGrows) {
  Trending t(3600, 10);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (uint32_t i = 0; i < 300000; i += 997) {
        const double v = t.Get(i);
        ASSERT_TRUE(std::isinf(v) || v > 0);
      }
    }
  });
  for (uint32_t i = 0; i < 300000; ++i) t.Add(i, 1.0, kToday);
  done = true;
  reader.join();
  EXPECT_EQ(t.size(), 300000u);
}

// The trending list of Popularity, published incrementally after each batch,
// equals the list of a twin that saw the same events in one batch (which
// scans every item on its first publish).
TEST(PopularityTest, IncrementalTrendingMatchesAFreshScan) {
  std::mt19937 rng(11);
  Popularity inc(3600, 30 * 86400, 5, 25);
  std::vector<std::tuple<uint32_t, double, int64_t>> events;
  for (int batch = 0; batch < 40; ++batch) {
    for (int k = 0; k < 30; ++k) {
      // A steady heavy set (popular, not trending) and bursts on others.
      const uint32_t item = k % 3 == 0 ? rng() % 10 : 10 + (batch * 7 + rng() % 15) % 3000;
      const int64_t t = kToday + batch * 60LL * 1000000;  // a minute per batch
      const double w = 1.0 + rng() % 3;
      inc.Add(item, w, t);
      events.emplace_back(item, w, t);
    }
    inc.Publish();
    Popularity fresh(3600, 30 * 86400, 5, 25);
    for (auto& [item, w, t] : events) fresh.Add(item, w, t);
    fresh.Publish();
    SCOPED_TRACE(batch);
    ASSERT_EQ(inc.TrendingTop()->size(), fresh.TrendingTop()->size());
    for (size_t i = 0; i < fresh.TrendingTop()->size(); ++i) {
      EXPECT_EQ((*inc.TrendingTop())[i].item, (*fresh.TrendingTop())[i].item) << i;
    }
    ASSERT_FALSE(inc.PopularTop()->empty());
    EXPECT_FLOAT_EQ(inc.Relative(inc.PopularTop()->front().item), 1.f);
    EXPECT_EQ(inc.Relative(999999), 0.f);
  }
}

TEST(TrendingTest, MergeTopKeepsOrderDropsChangedAndCaps) {
  const std::vector<TrendingEntry> old = {{1, 9}, {2, 7}, {3, 5}, {4, 3}};
  // Item 2 changed (to 8.5); item 7 is new (6); cap at 4.
  auto out = MergeTop(old, {2, 7}, {{7, 6}, {2, 8.5}}, 4);
  std::vector<uint32_t> ids;
  for (const auto& e : out) ids.push_back(e.item);
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2, 7, 3}));
  EXPECT_DOUBLE_EQ(out[1].log2_score, 8.5);
  // Ties break by item id, as everywhere else.
  auto tie = MergeTop({{5, 1}}, {}, {{4, 1}}, 10);
  EXPECT_EQ(tie[0].item, 4u);
  EXPECT_TRUE(MergeTop({}, {}, {}, 3).empty());
}

TEST(TrendingTest, MergeTopDropsSweptItemsAndTellsCollidingIdsApart) {
  // 1, 65537 and 131073 share a bit of MergeTop's membership mask.
  const std::vector<TrendingEntry> old = {{1, 9}, {65537, 8}, {131073, 7}, {20, 6}, {21, 5}};
  auto out = MergeTop(old, {65537}, {{65537, 1}, {20, 6.5}}, 10, ItemRange{20, 22});
  std::vector<uint32_t> ids;
  for (const auto& e : out) ids.push_back(e.item);
  // 21 was swept (its rescored entry is not in `fresh`: gone).
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 131073, 20, 65537}));
}

// The rolling sweep rescores every item once per period: after a period
// without a scan, the merged list is a fresh scan's, scores and all.
TEST(PopularityTest, RollingSweepRescoresEveryItemOncePerPeriod) {
  std::mt19937 rng(5);
  Popularity inc(3600, 30 * 86400, 5, 25, /*sweep_period_seconds=*/0.05);
  int64_t t = 0;
  for (int batch = 0; batch < 60; ++batch) {
    for (int k = 0; k < 20; ++k) {
      const uint32_t item = k % 3 == 0 ? rng() % 10 : 10 + rng() % 400;
      t = kToday + batch * 1000000LL;  // a second per batch
      inc.Add(item, 1.0 + rng() % 3, t);
    }
    inc.Publish();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // > one period
  // Two publishes at the same event time: the first sweeps from the cursor
  // to the last item, the second from the first item.
  inc.Add(3, 1.0, t);
  inc.Publish();
  inc.Add(4, 1.0, t);
  inc.Publish();
  Popularity fresh(3600, 30 * 86400, 5, 25);
  for (uint32_t i = 0; i < 410; ++i) {
    if (!std::isinf(inc.Log2Short(i))) fresh.Set(i, inc.Log2Short(i), inc.Log2Long(i), t);
  }
  fresh.Publish();
  const auto& a = *inc.TrendingTop();
  const auto& b = *fresh.TrendingTop();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].item, b[i].item) << "rank " << i;
    EXPECT_DOUBLE_EQ(a[i].log2_score, b[i].log2_score) << "rank " << i;
  }
}

// Batches seconds apart take the merge path, which keeps the unchanged
// items' ratios from an older "now" (under 1/256 of a half-life old): the
// published list must still rank items as a fresh scan does, to within
// that drift.
TEST(PopularityTest, MergedTrendingStaysWithinTheDriftOfAFreshScan) {
  std::mt19937 rng(5);
  Popularity inc(3600, 30 * 86400, 5, 25);
  for (int batch = 0; batch < 60; ++batch) {
    for (int k = 0; k < 20; ++k) {
      const uint32_t item = k % 3 == 0 ? rng() % 10 : 10 + rng() % 400;
      const int64_t t = kToday + batch * 1000000LL;  // a second per batch
      inc.Add(item, 1.0 + rng() % 3, t);
    }
    inc.Publish();
  }
  Popularity fresh(3600, 30 * 86400, 5, 25);
  // The same sums, restored: its first Publish scans every item.
  for (uint32_t i = 0; i < 410; ++i) {
    if (!std::isinf(inc.Log2Short(i))) fresh.Set(i, inc.Log2Short(i), inc.Log2Long(i), kToday + 59000000LL);
  }
  fresh.Publish();
  const auto& a = *inc.TrendingTop();
  const auto& b = *fresh.TrendingTop();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].log2_score, b[i].log2_score, 0.02) << "rank " << i;
  }
  // A full publish depends on the sums only: exactly the fresh scan.
  inc.Publish(/*full=*/true);
  const auto& c = *inc.TrendingTop();
  ASSERT_EQ(c.size(), b.size());
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_EQ(c[i].item, b[i].item) << "rank " << i;
    EXPECT_DOUBLE_EQ(c[i].log2_score, b[i].log2_score) << "rank " << i;
  }
}
}  // namespace
}  // namespace recd::core
