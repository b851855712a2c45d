#include "eval/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace recd::eval {
namespace {

EventRow Ev(const std::string& user, const std::string& item, int64_t ts) {
  EventRow e;
  e.user = user;
  e.item = item;
  e.type = "view";
  e.ts_us = ts;
  return e;
}

// Train and test are ascending, disjoint, and cover 0..n-1.
void ExpectPartition(const Split& s, size_t n) {
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  std::vector<size_t> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i);
}

TEST(GlobalTimeSplit, NoFutureLeakageWithManyTies) {
  // 2000 events over only 37 distinct times, in scrambled order.
  std::vector<EventRow> events;
  for (int i = 0; i < 2000; ++i) {
    events.push_back(Ev(absl::StrCat("u", i % 53), absl::StrCat("i", i % 101),
                        1000000 + static_cast<int64_t>((i * 7919) % 37) * 1000));
  }
  for (double f : {0.05, 0.1, 0.25, 0.5, 0.8, 0.9, 0.99}) {
    auto s = GlobalTimeSplit(events, f);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectPartition(*s, events.size());
    ASSERT_FALSE(s->test.empty());
    int64_t max_train = INT64_MIN, min_test = INT64_MAX;
    for (size_t i : s->train) max_train = std::max(max_train, events[i].ts_us);
    for (size_t i : s->test) min_test = std::min(min_test, events[i].ts_us);
    if (!s->train.empty()) {
      EXPECT_LT(max_train, min_test) << "fraction " << f;
    }
    EXPECT_EQ(s->cut_time_us, min_test);
    // Ties go to test, so train never exceeds the requested share.
    EXPECT_LE(s->train.size(), static_cast<size_t>(std::floor(f * events.size())));
  }
}

TEST(GlobalTimeSplit, TiesAtTheCutGoToTest) {
  // Sorted times 1 2 2 2 3; fraction 0.4 -> rank floor(0.4 * 5) = 2 -> cut 2.
  std::vector<EventRow> events = {Ev("a", "x", 2), Ev("a", "y", 1), Ev("b", "x", 3),
                                  Ev("b", "y", 2), Ev("c", "x", 2)};
  auto s = GlobalTimeSplit(events, 0.4);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cut_time_us, 2);
  EXPECT_EQ(s->train, (std::vector<size_t>{1}));
  EXPECT_EQ(s->test, (std::vector<size_t>{0, 2, 3, 4}));
}

TEST(GlobalTimeSplit, AllEqualTimesLeaveTrainEmpty) {
  std::vector<EventRow> events = {Ev("a", "x", 5), Ev("b", "x", 5), Ev("c", "x", 5)};
  auto s = GlobalTimeSplit(events, 0.7);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->train.empty());
  EXPECT_EQ(s->test.size(), 3u);
}

TEST(GlobalTimeSplit, RejectsFractionOutsideOpenUnitInterval) {
  std::vector<EventRow> events = {Ev("a", "x", 1)};
  for (double f : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    auto s = GlobalTimeSplit(events, f);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("train_fraction"), std::string::npos);
  }
}

TEST(LeaveLastN, LatestPerUserToTestTiesByInputOrder) {
  std::vector<EventRow> events = {
      Ev("u1", "a", 10),  // 0
      Ev("u2", "a", 5),   // 1
      Ev("u1", "b", 30),  // 2  latest time of u1, tied with 5
      Ev("u1", "c", 20),  // 3
      Ev("u3", "a", 1),   // 4
      Ev("u1", "d", 5),   // 5
      Ev("u2", "b", 6),   // 6
      Ev("u1", "e", 30),  // 7  tied with 2 at 30 but later in input: latest
  };
  auto s = LeaveLastN(events, 2);
  ASSERT_TRUE(s.ok());
  ExpectPartition(*s, events.size());
  // u1 (5 events): 7 and 2 (both at 30) to test. u2 has 2 <= n, u3 has 1: all train.
  EXPECT_EQ(s->test, (std::vector<size_t>{2, 7}));
  EXPECT_EQ(s->train.size(), 6u);

  auto one = LeaveLastN(events, 1);
  ASSERT_TRUE(one.ok());
  // n = 1: u1's latest is 7 (tie at 30 broken by input order); u2's is 6 (ts 6).
  EXPECT_EQ(one->test, (std::vector<size_t>{6, 7}));
}

TEST(LeaveLastN, DeterministicAndSized) {
  std::vector<EventRow> events;
  std::map<std::string, int> per_user;
  for (int i = 0; i < 500; ++i) {
    std::string u = absl::StrCat("u", (i * 31) % 17);
    ++per_user[u];
    events.push_back(Ev(u, absl::StrCat("i", i), (i * 13) % 50));
  }
  auto a = LeaveLastN(events, 3);
  auto b = LeaveLastN(events, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->train, b->train);
  EXPECT_EQ(a->test, b->test);
  size_t expected_test = 0;
  for (const auto& [u, n] : per_user) expected_test += n > 3 ? 3 : 0;
  EXPECT_EQ(a->test.size(), expected_test);
  EXPECT_FALSE(LeaveLastN(events, 0).ok());
}

// Users u1..u12 with 1..12 rows each, interleaved.
std::vector<EventRow> UsersWithOneToTwelveRows() {
  std::vector<EventRow> events;
  for (int round = 0; round < 12; ++round) {
    for (int n = 1; n <= 12; ++n) {
      if (round < n) events.push_back(Ev(absl::StrCat("u", n), absl::StrCat("i", round), round));
    }
  }
  return events;
}

std::map<std::string, int> TrainPerUser(const std::vector<EventRow>& events, const Split& s) {
  std::map<std::string, int> count;
  for (size_t i : s.train) ++count[events[i].user];
  return count;
}

TEST(StratifiedRandom, RoundHalfEvenSizesPerUser) {
  std::vector<EventRow> events = UsersWithOneToTwelveRows();
  auto s = StratifiedRandom(events, 0.75, 42);
  ASSERT_TRUE(s.ok());
  ExpectPartition(*s, events.size());
  // round(0.75 n), ties to even: n=1 0.75->1, 2 1.5->2, 3 2.25->2, 4 3, 5 3.75->4,
  // 6 4.5->4, 7 5.25->5, 8 6, 9 6.75->7, 10 7.5->8, 11 8.25->8, 12 9.
  const int expected[] = {1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9};
  std::map<std::string, int> train = TrainPerUser(events, *s);
  for (int n = 1; n <= 12; ++n) EXPECT_EQ(train[absl::StrCat("u", n)], expected[n - 1]) << n;
}

TEST(StratifiedRandom, FloorSizesPerUser) {
  std::vector<EventRow> events = UsersWithOneToTwelveRows();
  auto s = StratifiedRandom(events, 0.75, 42, StratifiedRounding::kFloor);
  ASSERT_TRUE(s.ok());
  ExpectPartition(*s, events.size());
  // #{i : i/n <= 0.75} = floor(0.75 n): 0 1 2 3 3 4 5 6 6 7 8 9.
  const int expected[] = {0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9};
  std::map<std::string, int> train = TrainPerUser(events, *s);
  for (int n = 1; n <= 12; ++n) EXPECT_EQ(train[absl::StrCat("u", n)], expected[n - 1]) << n;
}

TEST(StratifiedRandom, DeterministicPerSeedAndSeedMatters) {
  std::vector<EventRow> events;
  for (int i = 0; i < 400; ++i) events.push_back(Ev(i % 2 ? "a" : "b", absl::StrCat("i", i), i));
  auto s1 = StratifiedRandom(events, 0.75, 7);
  auto s2 = StratifiedRandom(events, 0.75, 7);
  auto s3 = StratifiedRandom(events, 0.75, 8);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(s1->train, s2->train);
  EXPECT_EQ(s1->test, s2->test);
  EXPECT_NE(s1->test, s3->test);  // 200-row users: equal picks are (practically) impossible
  EXPECT_EQ(s1->train.size(), 300u);
  EXPECT_EQ(s3->train.size(), 300u);
  // Not simply the last rows in input order: each user's rows are shuffled.
  std::vector<size_t> last_rows;
  for (size_t i = 300; i < 400; ++i) last_rows.push_back(i);
  EXPECT_NE(s1->test, last_rows);
  EXPECT_FALSE(StratifiedRandom(events, 1.0, 7).ok());
}

TEST(SliceByTime, EqualWindowsCoverEveryEvent) {
  std::vector<EventRow> events;
  for (int i = 0; i < 100; ++i) events.push_back(Ev("u", "i", 1000 + i));
  std::vector<size_t> all;
  for (size_t i = 0; i < events.size(); i += 1) all.push_back(i);
  std::vector<TimeSlice> slices = SliceByTime(events, all, 4);
  ASSERT_EQ(slices.size(), 4u);
  for (int w = 0; w < 4; ++w) {
    EXPECT_EQ(slices[w].start_us, 1000 + 25 * w);
    EXPECT_EQ(slices[w].end_us, 1000 + 25 * (w + 1));
    EXPECT_EQ(slices[w].indices.size(), 25u);
    for (size_t i : slices[w].indices) {
      EXPECT_GE(events[i].ts_us, slices[w].start_us);
      EXPECT_LT(events[i].ts_us, slices[w].end_us);
    }
  }
  // 5 distinct times in 4 windows: the windows still hold every event once.
  std::vector<EventRow> few = {Ev("u", "i", 0), Ev("u", "i", 1), Ev("u", "i", 2), Ev("u", "i", 3),
                               Ev("u", "i", 4)};
  std::vector<TimeSlice> s = SliceByTime(few, {0, 1, 2, 3, 4}, 4);
  size_t total = 0;
  for (const TimeSlice& t : s) {
    total += t.indices.size();
    for (size_t i : t.indices) {
      EXPECT_GE(few[i].ts_us, t.start_us);
      EXPECT_LT(few[i].ts_us, t.end_us);
    }
  }
  EXPECT_EQ(total, 5u);
  EXPECT_TRUE(SliceByTime(few, {}, 4).empty());
}

TEST(MakeSplit, DispatchesByNameAndChecksTimestamps) {
  Dataset ds;
  ds.name = "tiny";
  for (int i = 0; i < 8; ++i) ds.events.push_back(Ev(i < 4 ? "a" : "b", absl::StrCat("i", i), i));
  SplitParams params;
  params.method = "global_time";
  params.train_fraction = 0.5;
  auto global = MakeSplit(ds, params);
  ASSERT_TRUE(global.ok());
  EXPECT_EQ(global->cut_time_us, 4);
  params.method = "leave_last_n";
  params.n = 1;
  auto last = MakeSplit(ds, params);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->test, (std::vector<size_t>{3, 7}));
  params.method = "stratified_random";
  auto strat = MakeSplit(ds, params);
  ASSERT_TRUE(strat.ok());
  EXPECT_EQ(strat->train.size(), 4u);  // round(0.5 * 4) = 2 of each user's 4 rows

  params.train_fraction = 1.5;
  auto bad = MakeSplit(ds, params);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("split.train_ratio", 0), 0u) << bad.status();
  params.method = "k_fold";
  auto unknown = MakeSplit(ds, params);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message().rfind("split.method", 0), 0u);

  ds.has_timestamps = false;  // e.g. the full ML-1M copy
  params.method = "global_time";
  params.train_fraction = 0.5;
  EXPECT_EQ(MakeSplit(ds, params).status().code(), absl::StatusCode::kFailedPrecondition);
  params.method = "leave_last_n";
  EXPECT_EQ(MakeSplit(ds, params).status().code(), absl::StatusCode::kFailedPrecondition);
  params.method = "stratified_random";
  EXPECT_TRUE(MakeSplit(ds, params).ok());
}

TEST(Select, CopiesRowsInIndexOrder) {
  std::vector<EventRow> events = {Ev("a", "x", 1), Ev("b", "y", 2), Ev("c", "z", 3)};
  std::vector<EventRow> out = Select(events, {2, 0});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].user, "c");
  EXPECT_EQ(out[1].user, "a");
}

}  // namespace
}  // namespace recd::eval
