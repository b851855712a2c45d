#include "eval/metrics.h"

#include <cmath>
#include <string>
#include <vector>

#include "eval/dataset.h"
#include "eval/popularity.h"
#include "gtest/gtest.h"

namespace recd::eval {
namespace {

constexpr double kEps = 1e-9;

// Catalog a..e; train: a by u1,u2,u3 (u1 twice), b by u1,u2, c by u1.
// pop: a=3, b=2, c=1, d=0, e=0; 3 train users.
struct Fixture {
  std::vector<ItemMeta> catalog;
  std::vector<EventRow> events;
  std::vector<size_t> train;
  Fixture() {
    for (const char* id : {"a", "b", "c", "d", "e"}) catalog.push_back(ItemMeta{id, {}, {}, "", 0});
    auto add = [&](const char* u, const char* i) {
      EventRow e;
      e.user = u;
      e.item = i;
      e.type = "view";
      train.push_back(events.size());
      events.push_back(e);
    };
    add("u1", "a");
    add("u2", "a");
    add("u3", "a");
    add("u1", "a");
    add("u1", "b");
    add("u2", "b");
    add("u1", "c");
  }
};

TEST(UserMetrics, HitsAtRanksOneThreeFive) {
  // ranked a x b y c, relevant {a,b,c,d} (R = 4): hits at ranks 1, 3, 5.
  const std::vector<std::string> ranked = {"a", "x", "b", "y", "c"};
  const ItemSet relevant = {"a", "b", "c", "d"};

  // k = 5: precision 3/5; recall 3/4;
  // DCG = 1/log2(2) + 1/log2(4) + 1/log2(6) = 1 + 0.5 + 0.3868528072 = 1.8868528072
  // IDCG (min(5,4) = 4 terms) = 1 + 0.6309297536 + 0.5 + 0.4306765581 = 2.5616063117
  // nDCG = 0.7365907;  AP = 1/1 + 2/3 + 3/5 = 2.2666667;
  // MAP = AP / min(5,4) = 0.5666667; MAP(MS) = AP / 4 = 0.5666667; MRR = 1; HR = 1.
  UserMetrics m5 = ComputeUserMetrics(ranked, relevant, 5);
  EXPECT_NEAR(m5.precision, 0.6, kEps);
  EXPECT_NEAR(m5.recall, 0.75, kEps);
  EXPECT_NEAR(m5.ndcg, 1.8868528072 / 2.5616063117, 1e-8);
  EXPECT_NEAR(m5.map, (1.0 + 2.0 / 3 + 3.0 / 5) / 4, kEps);
  EXPECT_NEAR(m5.map_ms, (1.0 + 2.0 / 3 + 3.0 / 5) / 4, kEps);
  EXPECT_NEAR(m5.mrr, 1.0, kEps);
  EXPECT_NEAR(m5.hit_rate, 1.0, kEps);

  // k = 3 (< R, so the two MAPs differ): hits at 1, 3.
  // precision 2/3; recall 2/4; DCG = 1 + 0.5 = 1.5;
  // IDCG = 1 + 0.6309297536 + 0.5 = 2.1309297536 -> nDCG = 0.7039180890;
  // AP = 1 + 2/3 = 1.6666667; MAP = AP/3 = 0.5555556; MAP(MS) = AP/4 = 0.4166667.
  UserMetrics m3 = ComputeUserMetrics(ranked, relevant, 3);
  EXPECT_NEAR(m3.precision, 2.0 / 3, kEps);
  EXPECT_NEAR(m3.recall, 0.5, kEps);
  EXPECT_NEAR(m3.ndcg, 0.7039180890, 1e-8);
  EXPECT_NEAR(m3.map, (5.0 / 3) / 3, kEps);
  EXPECT_NEAR(m3.map_ms, (5.0 / 3) / 4, kEps);
  EXPECT_NEAR(m3.mrr, 1.0, kEps);
}

TEST(UserMetrics, FirstHitAtRankThree) {
  const std::vector<std::string> ranked = {"x", "y", "b"};
  const ItemSet relevant = {"b"};
  // k = 2: no hit, all zeros.
  UserMetrics m2 = ComputeUserMetrics(ranked, relevant, 2);
  EXPECT_EQ(m2.precision, 0);
  EXPECT_EQ(m2.ndcg, 0);
  EXPECT_EQ(m2.mrr, 0);
  EXPECT_EQ(m2.hit_rate, 0);
  // k = 3: precision 1/3; recall 1/1; nDCG = (1/log2 4) / (1/log2 2) = 0.5;
  // AP = 1/3 -> MAP = MAP(MS) = 1/3; MRR = 1/3; HR = 1.
  UserMetrics m3 = ComputeUserMetrics(ranked, relevant, 3);
  EXPECT_NEAR(m3.precision, 1.0 / 3, kEps);
  EXPECT_NEAR(m3.recall, 1.0, kEps);
  EXPECT_NEAR(m3.ndcg, 0.5, kEps);
  EXPECT_NEAR(m3.map, 1.0 / 3, kEps);
  EXPECT_NEAR(m3.map_ms, 1.0 / 3, kEps);
  EXPECT_NEAR(m3.mrr, 1.0 / 3, kEps);
  EXPECT_NEAR(m3.hit_rate, 1.0, kEps);
}

TEST(UserMetrics, ShortListStillDividesPrecisionByK) {
  // ranked [a], relevant {a, b}, k = 10: precision 1/10; recall 1/2;
  // nDCG = 1 / (1 + 1/log2 3) = 1 / 1.6309297536 = 0.6131471928;
  // AP = 1 -> MAP = 1/min(10,2) = 0.5, MAP(MS) = 1/2 = 0.5.
  UserMetrics m = ComputeUserMetrics({"a"}, {"a", "b"}, 10);
  EXPECT_NEAR(m.precision, 0.1, kEps);
  EXPECT_NEAR(m.recall, 0.5, kEps);
  EXPECT_NEAR(m.ndcg, 0.6131471928, 1e-9);
  EXPECT_NEAR(m.map, 0.5, kEps);
  EXPECT_NEAR(m.map_ms, 0.5, kEps);
}

TEST(UserMetrics, RepeatedItemCountsOnce) {
  // ranked a a b, relevant {a}: only rank 1 is a hit -> precision@3 = 1/3, not 2/3.
  UserMetrics m = ComputeUserMetrics({"a", "a", "b"}, {"a"}, 3);
  EXPECT_NEAR(m.precision, 1.0 / 3, kEps);
  EXPECT_NEAR(m.recall, 1.0, kEps);
  EXPECT_NEAR(m.map, 1.0, kEps);
}

TEST(UserMetrics, EmptyRelevantOrBadKGivesZeros) {
  UserMetrics m = ComputeUserMetrics({"a"}, {}, 5);
  EXPECT_EQ(m.precision, 0);
  EXPECT_EQ(m.ndcg, 0);
  UserMetrics z = ComputeUserMetrics({"a"}, {"a"}, 0);
  EXPECT_EQ(z.precision, 0);
  EXPECT_EQ(z.hit_rate, 0);
}

TEST(MetricsAccumulator, MeansOverUsersWithEmptyListAsZeros) {
  Fixture f;
  PopularityStats pop(f.events, f.train, f.catalog);
  MetricsAccumulator acc({5, 3, 3, 0, -1}, pop);  // -> {3, 5}
  ASSERT_EQ(acc.ks(), (std::vector<int>{3, 5}));
  acc.AddUser({"a", "x", "b", "y", "c"}, {"a", "b", "c", "d"});
  acc.AddUser({}, {"z"});
  std::vector<MetricsAtK> r = acc.Results();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].k, 3);
  EXPECT_EQ(r[0].users, 2);
  // Means of the first user's values (HitsAtRanksOneThreeFive) and zeros.
  EXPECT_NEAR(r[0].precision, (2.0 / 3) / 2, kEps);
  EXPECT_NEAR(r[0].map_ms, ((5.0 / 3) / 4) / 2, kEps);
  EXPECT_NEAR(r[1].precision, 0.6 / 2, kEps);
  EXPECT_NEAR(r[1].recall, 0.75 / 2, kEps);
  EXPECT_NEAR(r[1].hit_rate, 0.5, kEps);
}

TEST(MetricsAccumulator, CoverageNoveltyAndPopularityPercentile) {
  Fixture f;
  PopularityStats pop(f.events, f.train, f.catalog);
  MetricsAccumulator acc({1, 2}, pop);
  acc.AddUser({"a", "b"}, {"b"});
  acc.AddUser({"c", "zz"}, {"c"});  // zz is not in the catalog
  std::vector<MetricsAtK> r = acc.Results();
  ASSERT_EQ(r.size(), 2u);
  // Self-information: a -log2(3/3) = 0; b -log2(2/3) = 0.5849625007;
  // c and zz (pop 0 counts as 1) -log2(1/3) = 1.5849625007.
  // Percentiles over sorted pops [0,0,1,2,3]: a (4 + 0.5)/5 = 90, b 70, c 50,
  // zz (0 + 2/2)/5 = 20.
  // k = 1: slots a, c. coverage {a,c}/5 = 0.4; novelty (0 + 1.585)/2;
  //        pop% (90 + 50)/2 = 70; precision (0 + 1)/2 = 0.5.
  EXPECT_NEAR(r[0].coverage, 0.4, kEps);
  EXPECT_NEAR(r[0].novelty, 1.5849625007 / 2, 1e-9);
  EXPECT_NEAR(r[0].popularity_percentile, 70, kEps);
  EXPECT_NEAR(r[0].precision, 0.5, kEps);
  // k = 2: slots a, b, c, zz. coverage {a,b,c}/5 = 0.6 (zz not counted);
  //        novelty (0 + 0.585 + 1.585 + 1.585)/4 = 0.9387218755;
  //        pop% (90 + 70 + 50 + 20)/4 = 57.5;
  //        nDCG: u1 hit at 2 -> 1/log2(3) = 0.6309297536, u2 hit at 1 -> 1; mean 0.8154648768;
  //        MRR (1/2 + 1)/2 = 0.75.
  EXPECT_NEAR(r[1].coverage, 0.6, kEps);
  EXPECT_NEAR(r[1].novelty, 0.9387218755, 1e-9);
  EXPECT_NEAR(r[1].popularity_percentile, 57.5, kEps);
  EXPECT_NEAR(r[1].ndcg, 0.8154648768, 1e-9);
  EXPECT_NEAR(r[1].mrr, 0.75, kEps);
}

TEST(MetricsAccumulator, MergeEqualsFeedingOne) {
  Fixture f;
  PopularityStats pop(f.events, f.train, f.catalog);
  MetricsAccumulator one({1, 2}, pop), left({1, 2}, pop), right({1, 2}, pop);
  one.AddUser({"a", "b"}, {"b"});
  one.AddUser({"c", "d"}, {"c"});
  left.AddUser({"a", "b"}, {"b"});
  right.AddUser({"c", "d"}, {"c"});
  left.Merge(right);
  std::vector<MetricsAtK> a = one.Results(), b = left.Results();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].users, b[i].users);
    EXPECT_DOUBLE_EQ(a[i].ndcg, b[i].ndcg);
    EXPECT_DOUBLE_EQ(a[i].coverage, b[i].coverage);
    EXPECT_DOUBLE_EQ(a[i].novelty, b[i].novelty);
  }
  EXPECT_NEAR(b[1].coverage, 4.0 / 5, kEps);  // a, b, c, d
}

TEST(MetricsAccumulator, NoUsersGivesZeros) {
  Fixture f;
  PopularityStats pop(f.events, f.train, f.catalog);
  MetricsAccumulator acc({10}, pop);
  std::vector<MetricsAtK> r = acc.Results();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].users, 0);
  EXPECT_EQ(r[0].precision, 0);
  EXPECT_EQ(r[0].novelty, 0);
}

}  // namespace
}  // namespace recd::eval
