#include "core/hnsw_index.h"

#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ann_index.h"
#include "gtest/gtest.h"

namespace recd::core {
namespace {

constexpr int kDim = 32;

// Non-normalised clustered vectors: norms vary 10x, so the top inner products
// differ from the nearest neighbours and MIPS matters.
struct Data {
  std::vector<uint32_t> ids;
  std::vector<float> vectors;
  size_t size() const { return ids.size(); }
  const float* row(size_t i) const { return vectors.data() + i * kDim; }
};

// 40 cluster centres, the same for every data set and query set.
const std::vector<float>& Centers() {
  static const std::vector<float> centers = [] {
    std::mt19937 rng(99);
    std::normal_distribution<float> normal;
    std::vector<float> c(40 * kDim);
    for (float& x : c) x = normal(rng);
    return c;
  }();
  return centers;
}

// Items: centre + noise, scaled by a factor in [min_scale, max_scale]
// (by default [0.3, 3]: norms vary 10x).
Data Clustered(size_t count, uint32_t seed, float min_scale = 0.3f, float max_scale = 3.0f) {
  std::mt19937 rng(seed);
  const std::vector<float>& centers = Centers();
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> scale(min_scale, max_scale);
  Data d;
  for (size_t i = 0; i < count; ++i) {
    const size_t c = rng() % 40;
    const float s = scale(rng);
    d.ids.push_back(static_cast<uint32_t>(1000 + 7 * i));  // sparse external ids
    for (int j = 0; j < kDim; ++j) {
      d.vectors.push_back(s * (centers[c * kDim + j] + 0.5f * normal(rng)));
    }
  }
  return d;
}

// Queries (user vectors) live in the same space: drawn like items.
std::vector<std::vector<float>> Queries(size_t count, uint32_t seed) {
  Data d = Clustered(count, seed);
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < count; ++i) out.emplace_back(d.row(i), d.row(i) + kDim);
  return out;
}

double Dot(const float* a, const float* b) {
  double s = 0;
  for (int j = 0; j < kDim; ++j) s += static_cast<double>(a[j]) * b[j];
  return s;
}

// Reference top-n ids, computed independently of the code under test.
std::vector<uint32_t> BruteForce(const Data& d, const float* q, int n) {
  std::vector<std::pair<double, uint32_t>> all;
  for (size_t i = 0; i < d.size(); ++i) all.emplace_back(-Dot(q, d.row(i)), d.ids[i]);
  std::partial_sort(all.begin(), all.begin() + n, all.end());
  std::vector<uint32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(all[i].second);
  return ids;
}

AnnOptions Options() {
  AnnOptions o;
  o.dim = kDim;
  return o;
}

std::unique_ptr<AnnIndex> Build(const Data& d, AnnOptions o = Options()) {
  auto built = BuildHnswIndex(o, d.ids.data(), d.vectors.data(), d.size());
  EXPECT_TRUE(built.ok()) << built.status();
  return built.ok() ? *std::move(built) : nullptr;
}

double RecallAt10(const AnnIndex& index, const Data& d,
                  const std::vector<std::vector<float>>& queries) {
  size_t hits = 0;
  for (const auto& q : queries) {
    const std::vector<uint32_t> truth = BruteForce(d, q.data(), 10);
    for (const Neighbor& x : index.Search(q.data(), 10)) {
      hits += std::count(truth.begin(), truth.end(), x.id);
    }
  }
  return static_cast<double>(hits) / (10.0 * queries.size());
}

void ExpectSameResults(const std::vector<Neighbor>& a, const std::vector<Neighbor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].score, b[i].score);
  }
}

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hnsw_index_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(ValidateAnnOptions, NamesTheBadField) {
  struct Case {
    void (*mutate)(AnnOptions*);
    const char* field;
  };
  const Case cases[] = {
      {[](AnnOptions* o) { o->dim = 0; }, "dim"},
      {[](AnnOptions* o) { o->m = 1; }, "m"},
      {[](AnnOptions* o) { o->m = 129; }, "m"},
      {[](AnnOptions* o) { o->ef_construction = 0; }, "ef_construction"},
      {[](AnnOptions* o) { o->ef_search = 0; }, "ef_search"},
      {[](AnnOptions* o) { o->num_threads = 0; }, "num_threads"},
  };
  EXPECT_TRUE(ValidateAnnOptions(Options()).ok());
  for (const Case& c : cases) {
    AnnOptions o = Options();
    c.mutate(&o);
    const absl::Status s = ValidateAnnOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(std::string("ann ") + c.field + ":"), std::string::npos) << s;
    EXPECT_EQ(BuildHnswIndex(o, nullptr, nullptr, 0).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(BuildHnswIndex, RejectsBadInput) {
  Data d = Clustered(10, 1);
  d.ids[3] = d.ids[5];
  auto dup = BuildHnswIndex(Options(), d.ids.data(), d.vectors.data(), d.size());
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("ids:"), std::string::npos);

  d = Clustered(10, 1);
  d.vectors[4 * kDim + 2] = std::numeric_limits<float>::quiet_NaN();
  auto nan = BuildHnswIndex(Options(), d.ids.data(), d.vectors.data(), d.size());
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("vectors:"), std::string::npos);

  EXPECT_EQ(BuildHnswIndex(Options(), nullptr, d.vectors.data(), 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HnswIndex, RecallAt10AgainstExactSearch) {
  const Data d = Clustered(5000, 7);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->size(), 5000u);
  EXPECT_EQ(index->dim(), kDim);
  const double recall = RecallAt10(*index, d, Queries(200, 8));
  std::printf("recall@10 over 5000 clustered vectors, 200 queries: %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
}

// The inner-product space keeps recall where the MIPS->L2 augmentation lost
// it (0.72 at 100k x 64-d with norms spread 10x): here 20k x 32-d items whose
// norms are scaled by a factor in [1, 10], at the default ef_search (100).
TEST(HnswIndex, RecallAt10WithTenfoldNormSpread) {
  const Data d = Clustered(20000, 31, 1.0f, 10.0f);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  ASSERT_EQ(index->size(), 20000u);
  const double recall = RecallAt10(*index, d, Queries(200, 32));
  std::printf("recall@10 over 20000 vectors with norms spread 10x, 200 queries: %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
}

// Some low-norm items have no in-links in an inner-product graph; a search
// for every item must still return every item, exactly ranked.
TEST(HnswIndex, SearchForAllItemsReturnsEveryItem) {
  const Data d = Clustered(2000, 33, 1.0f, 10.0f);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  for (const auto& q : Queries(3, 34)) {
    const std::vector<Neighbor> found = index->Search(q.data(), 2000);
    ASSERT_EQ(found.size(), 2000u);
    std::set<uint32_t> ids;
    for (size_t i = 0; i < found.size(); ++i) {
      ids.insert(found[i].id);
      if (i > 0) {
        EXPECT_TRUE(found[i - 1].score > found[i].score ||
                    (found[i - 1].score == found[i].score && found[i - 1].id < found[i].id));
      }
    }
    EXPECT_EQ(ids, std::set<uint32_t>(d.ids.begin(), d.ids.end()));
    EXPECT_EQ(index->Search(q.data(), 1999).size(), 1999u);
  }
}

TEST(HnswIndex, ScoresAreExactInnerProductsBestFirst) {
  const Data d = Clustered(2000, 11);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  std::vector<float> v(kDim);
  for (const auto& q : Queries(20, 12)) {
    const std::vector<Neighbor> found = index->Search(q.data(), 50);
    ASSERT_EQ(found.size(), 50u);
    std::set<uint32_t> seen;
    for (size_t i = 0; i < found.size(); ++i) {
      ASSERT_TRUE(index->GetVector(found[i].id, v.data()));
      EXPECT_NEAR(found[i].score, Dot(q.data(), v.data()), 1e-4 * std::abs(found[i].score) + 1e-4);
      if (i > 0) {
        EXPECT_GE(found[i - 1].score, found[i].score);
      }
      EXPECT_TRUE(seen.insert(found[i].id).second) << "id twice: " << found[i].id;
    }
  }
}

TEST(HnswIndex, ReturnsNResultsBeyondEf) {
  const Data d = Clustered(1000, 13);
  AnnOptions o = Options();
  o.ef_search = 10;
  const auto index = Build(d, o);
  ASSERT_NE(index, nullptr);
  const auto q = Queries(1, 14)[0];
  const std::vector<Neighbor> found = index->Search(q.data(), 300);
  ASSERT_EQ(found.size(), 300u);
  std::set<uint32_t> distinct;
  for (const Neighbor& x : found) distinct.insert(x.id);
  EXPECT_EQ(distinct.size(), 300u);
  EXPECT_EQ(index->Search(q.data(), 5000).size(), 1000u);
  EXPECT_TRUE(index->Search(q.data(), 0).empty());
  std::vector<float> bad = q;
  bad[0] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(index->Search(bad.data(), 10).empty());
}

TEST(HnswIndex, GetVectorAndIds) {
  const Data d = Clustered(300, 15);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  std::vector<float> v(kDim);
  for (size_t i = 0; i < d.size(); ++i) {
    ASSERT_TRUE(index->GetVector(d.ids[i], v.data()));
    EXPECT_EQ(v, std::vector<float>(d.row(i), d.row(i) + kDim));
  }
  EXPECT_FALSE(index->GetVector(3, v.data()));
  std::vector<uint32_t> ids = index->Ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, d.ids);  // d.ids is ascending
}

TEST(HnswIndex, EmptyIndexFindsNothing) {
  auto built = BuildHnswIndex(Options(), nullptr, nullptr, 0);
  ASSERT_TRUE(built.ok()) << built.status();
  const std::vector<float> q(kDim, 1.0f);
  EXPECT_TRUE((*built)->Search(q.data(), 10).empty());
  EXPECT_EQ((*built)->size(), 0u);
}

TEST(HnswIndex, ConcurrentSearchesMatchSerialOnes) {
  const Data d = Clustered(2000, 17);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  const auto queries = Queries(50, 18);
  std::vector<std::vector<Neighbor>> expected;
  for (const auto& q : queries) expected.push_back(index->Search(q.data(), 20));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < queries.size(); ++i) {
          ExpectSameResults(index->Search(queries[i].data(), 20), expected[i]);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(ExactSearch, MatchesBruteForce) {
  const Data d = Clustered(3000, 19);
  for (const auto& q : Queries(10, 20)) {
    const std::vector<Neighbor> found =
        ExactSearch(q.data(), 10, d.ids.data(), d.vectors.data(), d.size(), kDim);
    ASSERT_EQ(found.size(), 10u);
    const std::vector<uint32_t> truth = BruteForce(d, q.data(), 10);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(found[i].id, truth[i]);
  }
}

TEST_F(FileTest, SaveLoadRoundTripGivesIdenticalResults) {
  const Data d = Clustered(3000, 21);
  const auto index = Build(d);
  ASSERT_NE(index, nullptr);
  const std::string path = Path("index.hnsw");
  ASSERT_TRUE(SaveHnswIndex(*index, path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto loaded = LoadHnswIndex(path, Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), index->size());
  for (const auto& q : Queries(50, 22)) {
    ExpectSameResults((*loaded)->Search(q.data(), 30), index->Search(q.data(), 30));
  }
  // A loaded index saves to the same bytes.
  ASSERT_TRUE(SaveHnswIndex(**loaded, Path("again.hnsw")).ok());
  EXPECT_EQ(ReadAll(Path("again.hnsw")), ReadAll(path));
}

TEST_F(FileTest, EmptyIndexRoundTrips) {
  auto empty = BuildHnswIndex(Options(), nullptr, nullptr, 0);
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(SaveHnswIndex(**empty, Path("empty.hnsw")).ok());
  auto loaded = LoadHnswIndex(Path("empty.hnsw"), Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), 0u);
}

TEST_F(FileTest, TruncatedFileIsDataLoss) {
  const auto index = Build(Clustered(500, 23));
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(SaveHnswIndex(*index, Path("index.hnsw")).ok());
  const std::string bytes = ReadAll(Path("index.hnsw"));
  for (size_t keep : {size_t{0}, size_t{10}, size_t{64}, bytes.size() / 2, bytes.size() - 1}) {
    WriteAll(Path("cut.hnsw"), bytes.substr(0, keep));
    const absl::Status s = LoadHnswIndex(Path("cut.hnsw"), Options()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "kept " << keep << ": " << s;
  }
}

TEST_F(FileTest, FlippedByteIsDataLoss) {
  const auto index = Build(Clustered(500, 25));
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(SaveHnswIndex(*index, Path("index.hnsw")).ok());
  const std::string bytes = ReadAll(Path("index.hnsw"));
  for (size_t at : {size_t{0}, size_t{13}, size_t{20}, size_t{60}, size_t{64}, bytes.size() / 3,
                    bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x10;
    WriteAll(Path("bad.hnsw"), bad);
    const absl::Status s = LoadHnswIndex(Path("bad.hnsw"), Options()).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << at << ": " << s;
  }
}

// The file checksum (core/hnsw_index.cc), restated so a test can forge a
// well-formed file of another format version.
uint64_t FileChecksum(std::string bytes) {
  std::memset(bytes.data() + 56, 0, 8);
  auto word = [&](size_t at) {
    uint64_t w = 0;
    std::memcpy(&w, bytes.data() + at, std::min<size_t>(8, bytes.size() - at));
    return w;
  };
  auto step = [](uint64_t h, uint64_t w) { return std::rotl((h ^ w) * 0x9e3779b97f4a7c15ULL, 27); };
  uint64_t h = 0x52454344484e5357ULL;
  size_t at = 0;
  for (; at + 8 <= bytes.size(); at += 8) h = step(h, word(at));
  h = step(step(h, at < bytes.size() ? word(at) : 0), bytes.size());
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

TEST_F(FileTest, OldFormatVersionIsRefused) {
  const auto index = Build(Clustered(200, 29));
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(SaveHnswIndex(*index, Path("index.hnsw")).ok());
  std::string bytes = ReadAll(Path("index.hnsw"));
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, sizeof(version));
  EXPECT_EQ(version, 2u);
  // The forged checksum is right: the restated algorithm matches the file's.
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + 56, sizeof(stored));
  ASSERT_EQ(FileChecksum(bytes), stored);

  // A well-formed version-1 (MIPS->L2 augmented) header is refused by version.
  const uint32_t old_version = 1;
  std::memcpy(bytes.data() + 8, &old_version, sizeof(old_version));
  const uint64_t checksum = FileChecksum(bytes);
  std::memcpy(bytes.data() + 56, &checksum, sizeof(checksum));
  WriteAll(Path("v1.hnsw"), bytes);
  const absl::Status s = LoadHnswIndex(Path("v1.hnsw"), Options()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("format version 1"), std::string::npos) << s;
}

TEST_F(FileTest, LoadReportsMissingFileAndWrongDim) {
  EXPECT_EQ(LoadHnswIndex(Path("none.hnsw"), Options()).status().code(),
            absl::StatusCode::kNotFound);
  const auto index = Build(Clustered(100, 27));
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(SaveHnswIndex(*index, Path("index.hnsw")).ok());
  AnnOptions o = Options();
  o.dim = 16;
  const absl::Status s = LoadHnswIndex(Path("index.hnsw"), o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("dim:"), std::string::npos) << s;
}

TEST_F(FileTest, SaveRejectsOtherIndexTypes) {
  class Fake : public AnnIndex {
   public:
    std::vector<Neighbor> Search(const float*, int) const override { return {}; }
    bool GetVector(uint32_t, float*) const override { return false; }
    const float* VectorData(uint32_t) const override { return nullptr; }
    std::vector<uint32_t> Ids() const override { return {}; }
    size_t size() const override { return 0; }
    int dim() const override { return kDim; }
  };
  EXPECT_EQ(SaveHnswIndex(Fake(), Path("fake.hnsw")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(Path("fake.hnsw")));
}

}  // namespace
}  // namespace recd::core
