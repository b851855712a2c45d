#include "core/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace recd::core {
namespace {

TEST(WorkerPool, RunsEveryIndexExactlyOnceOverManyLoops) {
  WorkerPool pool(2, "test-pool");
  EXPECT_EQ(pool.threads(), 3);
  for (size_t n : {0, 1, 2, 3, 7, 64, 1000, 5, 2}) {
    std::vector<std::atomic<int>> hits(n);
    pool.ForEach(n, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(WorkerPool, HelpersTakeAShareOfALongLoop) {
  WorkerPool pool(1, "test-pool");
  std::mutex mu;
  std::set<std::thread::id> ran_on;
  pool.ForEach(200, [&](size_t) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::lock_guard lock(mu);
    ran_on.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ran_on.size(), 2u);
}

TEST(WorkerPool, ShortLoopsAndNoHelpersRunOnTheCaller) {
  WorkerPool none(0, "test-pool");
  EXPECT_EQ(none.threads(), 1);
  WorkerPool pool(2, "test-pool");
  const auto caller = std::this_thread::get_id();
  for (WorkerPool* p : {&none, &pool}) {
    const size_t n = p == &none ? 100 : 7;
    std::atomic<int> elsewhere{0};
    p->ForEach(
        n, [&](size_t) { elsewhere += std::this_thread::get_id() != caller; }, /*min_parallel=*/8);
    EXPECT_EQ(elsewhere.load(), 0);
  }
}

TEST(WorkerPool, LoopsFromOneOwnerWhileHelpersAreSlowToWake) {
  // Back-to-back tiny parallel loops: a helper that wakes after the caller
  // has claimed everything must not run a later loop's function twice or
  // an earlier loop's function at all.
  WorkerPool pool(2, "test-pool");
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::atomic<int>> hits(3);
    pool.ForEach(3, [&](size_t i) { hits[i].fetch_add(1); });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1) << "round " << round;
  }
}

}  // namespace
}  // namespace recd::core
