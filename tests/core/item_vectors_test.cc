#include "core/item_vectors.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "core/als.h"
#include "core/ann_index.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

constexpr int kDim = 8;

std::vector<float> Filled(float x) { return std::vector<float>(kDim, x); }

std::vector<float> GetOrEmpty(const ItemVectors& v, uint32_t item) {
  std::vector<float> out(kDim);
  if (!v.Get(item, out.data())) return {};
  return out;
}

// An index holding item i with every component i + 1 (ids 0..n-1).
std::shared_ptr<const AnnIndex> BaseIndex(uint32_t n, bool hnsw) {
  std::vector<uint32_t> ids(n);
  std::vector<float> rows;
  for (uint32_t i = 0; i < n; ++i) {
    ids[i] = i;
    for (int d = 0; d < kDim; ++d) rows.push_back(static_cast<float>(i + 1));
  }
  AnnOptions o;
  o.dim = kDim;
  o.exact_max_items = hnsw ? 0 : 1000000;
  auto built = hnsw ? BuildHnswIndex(o, ids.data(), rows.data(), n)
                    : BuildExactIndex(o, ids.data(), rows.data(), n);
  EXPECT_TRUE(built.ok()) << built.status();
  return std::shared_ptr<const AnnIndex>(std::move(*built));
}

TEST(ItemVectors, SetGetClearKeepTheGramianCurrent) {
  ItemVectors v(kDim);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> rows(5 * kDim);
  for (float& x : rows) x = normal(rng);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(v.Set(i * 1000, rows.data() + i * kDim));
  v.Clear(2000);
  v.Clear(2000);  // twice: no effect
  v.PublishGramian();
  EXPECT_EQ(v.count(), 4u);
  EXPECT_FALSE(v.Has(2000));
  EXPECT_TRUE(GetOrEmpty(v, 2000).empty());
  EXPECT_EQ(GetOrEmpty(v, 3000),
            std::vector<float>(rows.begin() + 3 * kDim, rows.begin() + 4 * kDim));
  std::vector<float> kept;
  for (int i : {0, 1, 3, 4})
    kept.insert(kept.end(), rows.begin() + i * kDim, rows.begin() + (i + 1) * kDim);
  const std::vector<float> want = Gramian(kept.data(), 4, kDim);
  const auto got = v.Gramian();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got->d[i], want[i], 1e-4) << i;
    EXPECT_EQ(got->f[i], static_cast<float>(got->d[i])) << i;
  }
  EXPECT_FALSE(v.Set(ItemVectors::kMaxItems, rows.data()));
}

class ItemVectorsBase : public ::testing::TestWithParam<bool> {};

TEST_P(ItemVectorsBase, ReadsTheIndexRowsAndOwnRowsWin) {
  ItemVectors v(kDim);
  auto base = BaseIndex(50, GetParam());
  v.SetBase(base);
  base.reset();  // co-owned: the vectors outlive the caller's handle
  EXPECT_EQ(v.count(), 50u);
  EXPECT_EQ(GetOrEmpty(v, 7), Filled(8));
  EXPECT_TRUE(v.Has(49));
  EXPECT_FALSE(v.Has(50));

  ASSERT_TRUE(v.Set(7, Filled(-1).data()));  // over a base row
  EXPECT_EQ(GetOrEmpty(v, 7), Filled(-1));
  v.Clear(7);
  EXPECT_FALSE(v.Has(7));
  EXPECT_TRUE(GetOrEmpty(v, 7).empty());
  v.Clear(8);  // a base row
  EXPECT_FALSE(v.Has(8));
  EXPECT_EQ(v.count(), 48u);

  // The freed own row serves another item; the cleared ones stay absent.
  ASSERT_TRUE(v.Set(100, Filled(5).data()));
  ASSERT_TRUE(v.Set(8, Filled(6).data()));
  EXPECT_EQ(GetOrEmpty(v, 100), Filled(5));
  EXPECT_EQ(GetOrEmpty(v, 8), Filled(6));
  EXPECT_TRUE(GetOrEmpty(v, 7).empty());
  EXPECT_EQ(GetOrEmpty(v, 9), Filled(10));
  EXPECT_EQ(v.count(), 50u);
}

// GetMany gives what Get gives, item by item, over base rows, own rows,
// cleared rows, ids never set and ids past kMaxItems, in any order and with
// repeats; rows of absent items are left as they were.
TEST_P(ItemVectorsBase, GetManyIsGetOfEachItem) {
  ItemVectors v(kDim);
  v.SetBase(BaseIndex(300, GetParam()));
  ASSERT_TRUE(v.Set(5, Filled(-1).data()));
  ASSERT_TRUE(v.Set(1000, Filled(-2).data()));
  v.Clear(6);
  std::mt19937 rng(4);
  std::vector<uint32_t> items = {ItemVectors::kMaxItems, 5, 6, 1000, 299, 300, 5};
  for (int i = 0; i < 200; ++i) items.push_back(rng() % 400);
  std::vector<float> out(items.size() * kDim, 42.f);
  std::unique_ptr<bool[]> present(new bool[items.size()]);
  v.GetMany(items, out.data(), present.get());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<float> row(out.begin() + i * kDim, out.begin() + (i + 1) * kDim);
    const std::vector<float> want = GetOrEmpty(v, items[i]);
    EXPECT_EQ(present[i], !want.empty()) << items[i];
    EXPECT_EQ(row, want.empty() ? Filled(42) : want) << items[i];
  }
  EXPECT_FALSE(present[0]);
  EXPECT_TRUE(present[1]);
  EXPECT_FALSE(present[2]);
  v.GetMany({}, nullptr, nullptr);  // nothing to read
}

INSTANTIATE_TEST_SUITE_P(ExactAndHnsw, ItemVectorsBase, ::testing::Bool());

// Readers racing the writer over base rows, own rows and reused own rows
// see whole vectors only: every component equal, and one of the values the
// item ever had.
TEST(ItemVectors, ReadersNeverSeeATornVector) {
  constexpr uint32_t kItems = 64;
  ItemVectors v(kDim);
  v.SetBase(BaseIndex(kItems, /*hnsw=*/false));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::vector<float> out(kDim);
      for (uint32_t i = t; !stop.load(std::memory_order_relaxed); i = (i + 7) % kItems) {
        if (!v.Get(i, out.data())) continue;
        reads.fetch_add(1, std::memory_order_relaxed);
        for (int d = 1; d < kDim; ++d) {
          if (out[d] != out[0]) torn.fetch_add(1);
        }
        const float x = out[0];
        if (x != static_cast<float>(i + 1) && x != -static_cast<float>(i + 1)) torn.fetch_add(1);
      }
    });
  }
  // At least 20,000 writes, and on until the readers have read (on a loaded
  // machine they may start after a short loop is over); capped at 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int round = 0;
       round < 20000 || (reads.load() < 20000 && std::chrono::steady_clock::now() < deadline);
       ++round) {
    const uint32_t i = round % kItems;
    if (round % 3 == 0) {
      v.Clear(i);
    } else {
      const float x = (round % 2 ? -1.0f : 1.0f) * static_cast<float>(i + 1);
      v.Set(i, Filled(x).data(), /*update_gramian=*/false);
    }
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace recd::core
