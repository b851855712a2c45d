#include "core/vector_index.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/hnsw_index.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

constexpr int kDim = 32;
using Vec = std::vector<float>;

// Non-normalised clustered vectors (norms vary 10x), drawn from one fixed set
// of centres so that queries and items share clusters.
class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {
    std::mt19937 centres_rng(99);
    for (float& x : centres_) x = normal_(centres_rng);
  }
  Vec Item() { return Draw(std::uniform_real_distribution<float>(0.3f, 3.0f)(rng_)); }
  Vec Query() { return Draw(1.0f); }
  uint32_t Below(uint32_t n) { return rng_() % n; }

 private:
  Vec Draw(float scale) {
    const size_t c = rng_() % 40;
    Vec v(kDim);
    for (int j = 0; j < kDim; ++j) v[j] = scale * (centres_[c * kDim + j] + 0.5f * normal_(rng_));
    return v;
  }
  std::mt19937 rng_;
  std::normal_distribution<float> normal_;
  float centres_[40 * kDim];
};

float Dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (int j = 0; j < kDim; ++j) s += static_cast<double>(a[j]) * b[j];
  return static_cast<float>(s);
}

AnnOptions Options() {
  AnnOptions o;
  o.dim = kDim;
  return o;
}

// The model the index must agree with: id -> current vector.
using Model = std::map<uint32_t, Vec>;

std::vector<uint32_t> Truth(const Model& model, const Vec& q, size_t n) {
  std::vector<std::pair<float, uint32_t>> all;
  for (const auto& [id, v] : model) all.emplace_back(-Dot(q, v), id);
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end());
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(all[i].second);
  return ids;
}

// Checks the invariants every result list must satisfy against `model`:
// live ids only, no id twice, exact current scores, best first.
void ExpectValid(const std::vector<Neighbor>& found, const Model& model, const Vec& q) {
  std::set<uint32_t> seen;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto it = model.find(found[i].id);
    ASSERT_NE(it, model.end()) << "dead id returned: " << found[i].id;
    EXPECT_TRUE(seen.insert(found[i].id).second) << "id twice: " << found[i].id;
    EXPECT_NEAR(found[i].score, Dot(q, it->second), 1e-3f) << "stale score for " << found[i].id;
    if (i > 0) {
      EXPECT_GE(found[i - 1].score, found[i].score);
    }
  }
}

double Recall(const VectorIndex& index, const Model& model, Gen* gen, int queries) {
  size_t hits = 0;
  for (int i = 0; i < queries; ++i) {
    const Vec q = gen->Query();
    const std::vector<uint32_t> truth = Truth(model, q, 10);
    const std::vector<Neighbor> found = index.Search(q.data(), 10);
    ExpectValid(found, model, q);
    for (const Neighbor& x : found) hits += std::count(truth.begin(), truth.end(), x.id);
  }
  return static_cast<double>(hits) / (10.0 * queries);
}

class VectorIndexTest : public ::testing::Test {
 protected:
  // Fills `count` items (ids 0..count-1) and rebuilds so they are in the main
  // index.
  void Fill(size_t count) {
    for (uint32_t id = 0; id < count; ++id) Upsert(id, gen_.Item());
    ASSERT_TRUE(index_.Rebuild().ok());
    ASSERT_EQ(index_.fresh_size(), 0u);
  }
  void Upsert(uint32_t id, const Vec& v) {
    ASSERT_TRUE(index_.Upsert(id, v.data()).ok());
    model_[id] = v;
  }
  void Remove(uint32_t id) {
    EXPECT_TRUE(index_.Remove(id));
    model_.erase(id);
  }
  std::vector<Neighbor> Search(const Vec& q, int n) {
    std::vector<Neighbor> found = index_.Search(q.data(), n);
    ExpectValid(found, model_, q);
    return found;
  }

  Gen gen_{1};
  VectorIndex index_{Options(), 500};
  Model model_;
};

TEST(VectorIndexCreate, NamesTheBadField) {
  auto bad_max = VectorIndex::Create(Options(), 0);
  EXPECT_EQ(bad_max.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_max.status().message().find("fresh_tier_max:"), std::string::npos);
  AnnOptions o = Options();
  o.ef_search = 0;
  auto bad_ef = VectorIndex::Create(o, 100);
  EXPECT_EQ(bad_ef.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_ef.status().message().find("ef_search:"), std::string::npos);
  EXPECT_TRUE(VectorIndex::Create(Options(), 100).ok());
}

TEST_F(VectorIndexTest, EmptyIndexFindsNothing) {
  const Vec q = gen_.Query();
  EXPECT_TRUE(index_.Search(q.data(), 10).empty());
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_FALSE(index_.NeedsRebuild());
  ASSERT_TRUE(index_.Rebuild().ok());
  EXPECT_TRUE(index_.Search(q.data(), 10).empty());
}

TEST_F(VectorIndexTest, UpsertIsFoundExactlyAtOnce) {
  Fill(2000);
  Vec v = gen_.Item();
  for (float& x : v) x *= 4;  // the largest norm: it tops its own query
  Upsert(5000, v);
  EXPECT_EQ(index_.fresh_size(), 1u);
  EXPECT_EQ(index_.size(), 2001u);
  const std::vector<Neighbor> found = Search(v, 10);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].id, 5000u);
  EXPECT_FLOAT_EQ(found[0].score, Dot(v, v));
  Vec got;
  ASSERT_TRUE(index_.Get(5000, &got));
  EXPECT_EQ(got, v);
}

TEST_F(VectorIndexTest, ReVectoredIdReturnsNewScoreOnly) {
  Fill(2000);
  const Vec q = gen_.Query();
  const uint32_t id = Search(q, 1)[0].id;  // in the main index
  Vec v = q;
  for (float& x : v) x *= -1;  // now ranks last for q
  Upsert(id, v);
  for (const Neighbor& x : Search(q, 2001)) {
    if (x.id == id) {
      EXPECT_FLOAT_EQ(x.score, Dot(q, v));
    }
  }
  EXPECT_EQ(Search(q, 2001).size(), 2000u);
  // Re-vector a fresh-tier row twice more.
  Upsert(id, gen_.Item());
  Upsert(id, q);
  EXPECT_EQ(index_.size(), 2000u);
  EXPECT_EQ(index_.fresh_size(), 3u);
  const std::vector<Neighbor> found = Search(q, 2001);
  EXPECT_EQ(found.size(), 2000u);
  EXPECT_EQ(std::count_if(found.begin(), found.end(), [&](auto& x) { return x.id == id; }), 1);
  Vec got;
  ASSERT_TRUE(index_.Get(id, &got));
  EXPECT_EQ(got, q);
}

TEST_F(VectorIndexTest, RemovedIdIsNeverReturnedAlsoAfterRebuild) {
  Fill(1000);
  std::vector<uint32_t> removed;
  for (uint32_t id = 0; id < 1000; id += 3) removed.push_back(id);
  Upsert(2000, gen_.Item());  // a fresh-tier id
  Upsert(0, gen_.Item());     // moved from main to fresh, then removed
  removed.push_back(2000);
  for (uint32_t id : removed) Remove(id);
  EXPECT_FALSE(index_.Remove(2000));
  EXPECT_EQ(index_.size(), model_.size());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 50; ++i) Search(gen_.Query(), 100);
    Vec got;
    for (uint32_t id : removed) EXPECT_FALSE(index_.Get(id, &got)) << id;
    ASSERT_TRUE(index_.Rebuild().ok());
    EXPECT_EQ(index_.size(), model_.size());
  }
}

TEST_F(VectorIndexTest, SearchReturnsNWhileEnoughAreLive) {
  Fill(1000);
  // Remove the 600 best items for one query: HNSW's first answers are all dead.
  const Vec q = gen_.Query();
  for (const Neighbor& x : Search(q, 600)) Remove(x.id);
  ASSERT_EQ(index_.size(), 400u);
  EXPECT_EQ(Search(q, 100).size(), 100u);
  EXPECT_EQ(Search(q, 400).size(), 400u);
  EXPECT_EQ(Search(q, 1000).size(), 400u);
}

TEST_F(VectorIndexTest, MergedResultsHaveHighRecallBeforeAndAfterRebuild) {
  Fill(3000);
  for (int i = 0; i < 400; ++i) Upsert(gen_.Below(4000), gen_.Item());  // new and re-vectored
  for (int i = 0; i < 200; ++i) {
    const uint32_t id = gen_.Below(4000);
    if (model_.count(id)) Remove(id);
  }
  const double before = Recall(index_, model_, &gen_, 100);
  ASSERT_TRUE(index_.Rebuild().ok());
  EXPECT_EQ(index_.fresh_size(), 0u);
  EXPECT_EQ(index_.size(), model_.size());
  const double after = Recall(index_, model_, &gen_, 100);
  std::printf("recall@10 with fresh tier and removals: %.4f, after rebuild: %.4f\n", before, after);
  EXPECT_GE(before, 0.95);
  EXPECT_GE(after, 0.95);
  Vec got;
  for (const auto& [id, v] : model_) {
    ASSERT_TRUE(index_.Get(id, &got)) << id;
    EXPECT_EQ(got, v);
  }
}

TEST_F(VectorIndexTest, NeedsRebuildWhenFreshTierOrDeadShareGrows) {
  Fill(1000);
  EXPECT_FALSE(index_.NeedsRebuild());
  for (uint32_t id = 0; id < 200; ++id) Remove(id);  // 20%: not yet more
  EXPECT_FALSE(index_.NeedsRebuild());
  Remove(200);
  EXPECT_TRUE(index_.NeedsRebuild());
  ASSERT_TRUE(index_.Rebuild().ok());
  EXPECT_FALSE(index_.NeedsRebuild());
  for (uint32_t id = 5000; id < 5500; ++id) Upsert(id, gen_.Item());  // fresh_tier_max = 500
  EXPECT_FALSE(index_.NeedsRebuild());
  Upsert(6000, gen_.Item());
  EXPECT_TRUE(index_.NeedsRebuild());
}

TEST_F(VectorIndexTest, FreshTierGrowsPastItsFirstDirectory) {
  for (uint32_t id = 0; id < 3000; ++id) Upsert(id, gen_.Item());  // 3 chunks > 1 slot
  EXPECT_EQ(index_.fresh_size(), 3000u);
  for (int i = 0; i < 20; ++i) {
    const Vec q = gen_.Query();
    const std::vector<Neighbor> found = Search(q, 10);
    const std::vector<uint32_t> truth = Truth(model_, q, 10);
    ASSERT_EQ(found.size(), 10u);
    for (size_t j = 0; j < 10; ++j) EXPECT_EQ(found[j].id, truth[j]);  // exact tier
  }
}

TEST_F(VectorIndexTest, RejectsNonFiniteVectorsAndQueries) {
  Vec v = gen_.Item();
  v[7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(index_.Upsert(1, v.data()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index_.size(), 0u);
  Upsert(2, gen_.Item());
  EXPECT_TRUE(index_.Search(v.data(), 10).empty());
}

TEST_F(VectorIndexTest, ResetInstallsALoadedIndex) {
  Fill(500);
  std::vector<uint32_t> ids;
  std::vector<float> vectors;
  for (const auto& [id, v] : model_) {
    ids.push_back(id);
    vectors.insert(vectors.end(), v.begin(), v.end());
  }
  auto built = BuildHnswIndex(Options(), ids.data(), vectors.data(), ids.size());
  ASSERT_TRUE(built.ok());
  std::string dir = ::testing::TempDir() + "vector_index_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  ASSERT_TRUE(SaveHnswIndex(**built, dir + "/main.hnsw").ok());
  auto loaded = LoadHnswIndex(dir + "/main.hnsw", Options());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  Upsert(9000, gen_.Item());  // dropped by Reset
  ASSERT_TRUE(index_.Reset(*std::move(loaded)).ok());
  model_.erase(9000);
  EXPECT_EQ(index_.size(), 500u);
  EXPECT_EQ(index_.fresh_size(), 0u);
  EXPECT_GE(Recall(index_, model_, &gen_, 50), 0.95);
  EXPECT_EQ(index_.Reset(nullptr).code(), absl::StatusCode::kInvalidArgument);
}

// Two readers search and Get while the writer upserts, re-vectors, removes and
// rebuilds. Readers check what holds at every instant: results are distinct
// ids that were ever written, best first, exactly n of them (at least 300
// items are live throughout), and Get returns full finite vectors.
TEST(VectorIndexConcurrency, ReadersStayValidWhileTheWriterChangesEverything) {
  constexpr uint32_t kIds = 3000;
  constexpr int kN = 20;
  AnnOptions options = Options();
  options.ef_construction = 64;  // many rebuilds; keeps the sanitizer run short
  VectorIndex index(options, 300);
  Gen gen(5);
  std::set<uint32_t> live;
  for (uint32_t id = 0; id < 1000; ++id) {
    ASSERT_TRUE(index.Upsert(id, gen.Item().data()).ok());
    live.insert(id);
  }
  ASSERT_TRUE(index.Rebuild().ok());

  std::atomic<bool> done{false};
  std::atomic<int> rebuilds{0};
  auto reader = [&](uint32_t seed) {
    Gen rgen(seed);
    Vec got;
    long searches = 0;
    do {
      const Vec q = rgen.Query();
      const std::vector<Neighbor> found = index.Search(q.data(), kN);
      ASSERT_EQ(found.size(), static_cast<size_t>(kN));
      std::set<uint32_t> seen;
      for (size_t i = 0; i < found.size(); ++i) {
        ASSERT_LT(found[i].id, kIds);
        ASSERT_TRUE(seen.insert(found[i].id).second) << "id twice: " << found[i].id;
        if (i > 0) {
          ASSERT_GE(found[i - 1].score, found[i].score);
        }
      }
      if (index.Get(rgen.Below(kIds), &got)) {
        ASSERT_EQ(got.size(), static_cast<size_t>(kDim));
        for (float x : got) ASSERT_TRUE(std::isfinite(x));
      }
      ++searches;
    } while (!done.load() || searches < 100);
  };
  std::thread r1(reader, 11), r2(reader, 12);

  for (int op = 0; op < 4000; ++op) {
    const uint32_t id = gen.Below(kIds);
    if (gen.Below(3) == 0 && live.size() > 300 && live.count(id)) {
      ASSERT_TRUE(index.Remove(id));
      live.erase(id);
    } else {
      ASSERT_TRUE(index.Upsert(id, gen.Item().data()).ok());
      live.insert(id);
    }
    if (index.NeedsRebuild()) {
      ASSERT_TRUE(index.Rebuild().ok());
      ++rebuilds;
    }
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_GT(rebuilds.load(), 3);
  EXPECT_EQ(index.size(), live.size());
}

}  // namespace
}  // namespace recd::core
