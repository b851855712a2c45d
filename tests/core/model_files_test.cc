#include "core/model_files.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/als.h"
#include "core/ann_index.h"
#include "core/hnsw_index.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

namespace fs = std::filesystem;
using recd::testing::TempDir;

constexpr int kDim = 4;
constexpr int kRows = 60;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool Mentions(const absl::Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

AnnOptions Ann(int dim = kDim) {
  AnnOptions o;
  o.dim = dim;
  o.m = 8;
  o.ef_construction = 50;
  o.ef_search = 50;
  o.num_threads = 1;
  return o;
}

struct Snapshot {
  ModelData data;
  std::unique_ptr<AnnIndex> index;  // ids = rows
};

// A model of `rows` random items (ids "item-<r>"), two labels, and an index
// over the rows.
Snapshot MakeSnapshot(int rows = kRows, uint32_t seed = 7) {
  Snapshot s;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  ModelData& m = s.data;
  for (int r = 0; r < rows; ++r) {
    m.item_ids.push_back("item-" + std::to_string(r));
    for (int d = 0; d < kDim; ++d) m.vectors.push_back(normal(rng));
  }
  auto& mf = m.manifest;
  mf.set_version("test-20260101T000000Z-00ab");
  mf.set_created_at_us(1767225600000000);
  mf.set_dim(kDim);
  mf.set_users(17);
  mf.set_interactions(123);
  mf.set_events(150);
  mf.set_trained_until_us(1767225000000000);
  mf.set_als_alpha(12.5);
  mf.set_als_lambda(0.25);
  mf.set_iterations(9);
  (*mf.mutable_event_weights())["view"] = 1;
  (*mf.mutable_event_weights())["click"] = 2.5;
  mf.set_hnsw_m(8);
  mf.set_hnsw_ef_construction(50);
  const std::vector<float> g = Gramian(m.vectors.data(), m.item_ids.size(), kDim);
  mf.mutable_gramian()->Add(g.begin(), g.end());
  mf.set_train_seconds(1.5);
  mf.set_source("csv:events.csv");
  mf.set_trained_items(rows > 5 ? rows - 5 : rows);
  m.labels.set_dim(kDim);
  for (const char* l : {"c:shoes", "t:red"}) {
    m.labels.add_labels(l);
    for (int d = 0; d < kDim; ++d) m.labels.add_values(normal(rng));
  }
  std::vector<uint32_t> ids(rows);
  for (int r = 0; r < rows; ++r) ids[r] = static_cast<uint32_t>(r);
  auto index = BuildHnswIndex(Ann(), ids.data(), m.vectors.data(), ids.size());
  EXPECT_TRUE(index.ok()) << index.status();
  if (index.ok()) s.index = std::move(*index);
  return s;
}

class ModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }

  // Writes a fresh snapshot to Sub(name) and returns its directory.
  std::string Write(const std::string& name = "snap", int rows = kRows) {
    Snapshot s = MakeSnapshot(rows);
    written_ = s.data;
    const std::string dir = tmp_.Sub(name);
    EXPECT_NE(s.index, nullptr);
    if (s.index == nullptr) return dir;
    const absl::Status st = WriteModelSnapshot(&s.data, *s.index, dir);
    EXPECT_TRUE(st.ok()) << st;
    written_ = s.data;
    return dir;
  }

  TempDir tmp_{"recd-model-files"};
  ModelData written_;  // what Write wrote, with the fields it set
};

TEST_F(ModelFilesTest, WriteReadRoundTrip) {
  const std::string dir = Write();
  // The writer filled in format, items and the checksums.
  EXPECT_EQ(written_.manifest.format(), kModelFormat);
  EXPECT_EQ(written_.manifest.items(), static_cast<uint64_t>(kRows));
  EXPECT_NE(written_.manifest.vectors_checksum(), 0u);
  EXPECT_NE(written_.manifest.labels_checksum(), 0u);

  auto read = ReadModelSnapshot(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->item_ids, written_.item_ids);
  EXPECT_EQ(read->vectors, written_.vectors);  // bit-exact floats
  ASSERT_EQ(read->labels.labels_size(), 2);
  EXPECT_EQ(read->labels.labels(0), "c:shoes");
  EXPECT_EQ(read->labels.labels(1), "t:red");
  EXPECT_EQ(read->labels.dim(), kDim);
  EXPECT_EQ(std::vector<float>(read->labels.values().begin(), read->labels.values().end()),
            std::vector<float>(written_.labels.values().begin(), written_.labels.values().end()));

  const auto& a = read->manifest;
  const auto& b = written_.manifest;
  EXPECT_EQ(a.format(), kModelFormat);
  EXPECT_EQ(a.version(), "test-20260101T000000Z-00ab");
  EXPECT_EQ(a.created_at_us(), b.created_at_us());
  EXPECT_EQ(a.dim(), kDim);
  EXPECT_EQ(a.items(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(a.users(), 17u);
  EXPECT_EQ(a.interactions(), 123u);
  EXPECT_EQ(a.events(), 150u);
  EXPECT_EQ(a.trained_until_us(), b.trained_until_us());
  EXPECT_EQ(a.als_alpha(), 12.5);
  EXPECT_EQ(a.als_lambda(), 0.25);
  EXPECT_EQ(a.iterations(), 9);
  ASSERT_EQ(a.event_weights().size(), 2u);
  EXPECT_EQ(a.event_weights().at("view"), 1);
  EXPECT_EQ(a.event_weights().at("click"), 2.5);
  EXPECT_EQ(a.hnsw_m(), 8);
  EXPECT_EQ(a.hnsw_ef_construction(), 50);
  EXPECT_EQ(a.source(), "csv:events.csv");
  EXPECT_EQ(a.trained_items(), static_cast<uint64_t>(kRows - 5));
  EXPECT_EQ(a.train_seconds(), 1.5);
  EXPECT_EQ(a.vectors_checksum(), b.vectors_checksum());
  EXPECT_EQ(a.labels_checksum(), b.labels_checksum());
  // YᵀY survives and is the Gramian of the vectors read back.
  ASSERT_EQ(a.gramian_size(), kDim * kDim);
  const std::vector<float> g = Gramian(read->vectors.data(), read->item_ids.size(), kDim);
  for (int i = 0; i < kDim * kDim; ++i) {
    EXPECT_EQ(a.gramian(i), b.gramian(i));
    EXPECT_NEAR(a.gramian(i), g[i], 1e-4 * (1 + std::abs(g[i])));
  }

  // Exactly the four files, and no temporary directory left behind.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"MANIFEST", "vectors.bin", "labels.pb", "index.hnsw"}));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));

  // The index file is the index over rows: row r's vector finds row r.
  EXPECT_EQ(ModelIndexPath(dir), dir + "/index.hnsw");
  auto index = LoadHnswIndex(ModelIndexPath(dir), Ann());
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ((*index)->size(), static_cast<size_t>(kRows));
  std::vector<float> v(kDim);
  for (uint32_t r = 0; r < kRows; ++r) {
    ASSERT_TRUE((*index)->GetVector(r, v.data()));
    EXPECT_EQ(v, std::vector<float>(read->vectors.begin() + r * kDim,
                                    read->vectors.begin() + (r + 1) * kDim));
  }
}

// Every single-byte corruption of a checksummed file must be reported as an
// error naming that file; none may crash or be accepted.
void ExpectEveryFlipRejected(const std::string& dir, const std::string& name,
                             size_t keep_vectors_up_to = std::numeric_limits<size_t>::max()) {
  const std::string path = dir + "/" + name;
  const std::string good = ReadAll(path);
  ASSERT_FALSE(good.empty());
  int accepted = 0;
  for (size_t at = 0; at < good.size(); ++at) {
    // One low bit, or the whole byte, on alternate bytes.
    const int mask = at % 2 ? 0x01 : 0xff;
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ mask);
    WriteAll(path, bad);
    const absl::Status s = ReadModelSnapshot(dir, keep_vectors_up_to).status();
    if (s.ok()) {
      if (++accepted <= 5) {
        ADD_FAILURE() << name << ": flipping byte " << at << " (mask " << mask << ") was accepted";
      }
      continue;
    }
    // DATA_LOSS, or FAILED_PRECONDITION when the flip hits a format field;
    // either way the message says which file.
    EXPECT_TRUE(s.code() == absl::StatusCode::kDataLoss ||
                s.code() == absl::StatusCode::kFailedPrecondition)
        << name << " byte " << at << ": " << s;
    EXPECT_TRUE(Mentions(s, name) || Mentions(s, dir)) << name << " byte " << at << ": " << s;
  }
  EXPECT_EQ(accepted, 0) << name << ": " << accepted << " corrupted versions were accepted";
  WriteAll(path, good);
  EXPECT_TRUE(ReadModelSnapshot(dir).ok());
}

TEST_F(ModelFilesTest, EveryFlippedByteInVectorsIsDataLoss) {
  ExpectEveryFlipRejected(Write("snap", /*rows=*/12), "vectors.bin");
}

// Vectors streamed past (not kept) are verified all the same.
TEST_F(ModelFilesTest, EveryFlippedByteInVectorsIsDataLossWhenTheyAreNotKept) {
  ExpectEveryFlipRejected(Write("snap", /*rows=*/12), "vectors.bin", /*keep_vectors_up_to=*/0);
}

// A snapshot of more rows than keep_vectors_up_to gives its ids and labels
// without the vectors; up to it, with them.
TEST_F(ModelFilesTest, VectorsAreKeptOnlyUpToTheRowLimit) {
  const std::string dir = Write("snap", /*rows=*/12);
  auto without = ReadModelSnapshot(dir, 11);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(without->item_ids, written_.item_ids);
  EXPECT_TRUE(without->vectors.empty());
  EXPECT_EQ(without->labels.labels_size(), written_.labels.labels_size());
  auto with = ReadModelSnapshot(dir, 12);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(with->vectors, written_.vectors);
}

TEST_F(ModelFilesTest, EveryFlippedByteInLabelsIsDataLoss) {
  ExpectEveryFlipRejected(Write("snap", /*rows=*/12), "labels.pb");
}

TEST_F(ModelFilesTest, EveryFlippedByteInManifestIsRejected) {
  ExpectEveryFlipRejected(Write("snap", /*rows=*/12), "MANIFEST");
}

TEST_F(ModelFilesTest, FlippedByteInIndexIsDataLossNamingTheFile) {
  const std::string dir = Write();
  const std::string path = ModelIndexPath(dir);
  const std::string good = ReadAll(path);
  std::vector<uint32_t> relabel(kRows);
  for (uint32_t r = 0; r < kRows; ++r) relabel[r] = 1000 + r;
  for (size_t at = 0; at < good.size(); at += std::max<size_t>(1, good.size() / 97)) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    WriteAll(path, bad);
    const absl::Status s = LoadHnswIndex(path, Ann(), &relabel).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << at << ": " << s;
    EXPECT_TRUE(Mentions(s, "index.hnsw")) << s;
  }
}

TEST_F(ModelFilesTest, TruncatedVectorsIsDataLoss) {
  const std::string dir = Write();
  const std::string path = dir + "/vectors.bin";
  const std::string good = ReadAll(path);
  for (size_t keep : {size_t{0}, size_t{7}, size_t{31}, size_t{32}, size_t{40}, good.size() / 2,
                      good.size() - 4, good.size() - 1}) {
    WriteAll(path, good.substr(0, keep));
    const absl::Status s = ReadModelSnapshot(dir).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "kept " << keep << ": " << s;
    EXPECT_TRUE(Mentions(s, "vectors.bin")) << s;
  }
  // Trailing bytes are corruption too.
  WriteAll(path, good + std::string(4, '\0'));
  const absl::Status s = ReadModelSnapshot(dir).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(Mentions(s, "vectors.bin")) << s;
}

TEST_F(ModelFilesTest, MissingDirOrFilesAreReported) {
  EXPECT_EQ(ReadModelSnapshot(tmp_.Sub("nothing-here")).status().code(),
            absl::StatusCode::kNotFound);
  fs::create_directories(tmp_.Sub("empty"));
  EXPECT_EQ(ReadModelSnapshot(tmp_.Sub("empty")).status().code(), absl::StatusCode::kNotFound);

  for (const char* name : {"vectors.bin", "labels.pb"}) {
    const std::string dir = Write(std::string("missing-") + name);
    fs::remove(dir + "/" + name);
    const absl::Status s = ReadModelSnapshot(dir).status();
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_TRUE(s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kDataLoss)
        << s;
    EXPECT_TRUE(Mentions(s, name)) << s;
  }
  const std::string dir = Write("missing-index");
  fs::remove(ModelIndexPath(dir));
  EXPECT_EQ(LoadHnswIndex(ModelIndexPath(dir), Ann()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelFilesTest, WriteRefusesAnExistingDirAndLeavesItAlone) {
  const std::string dir = tmp_.Sub("taken");
  fs::create_directories(dir);
  WriteAll(dir + "/keep.txt", "mine");
  Snapshot s = MakeSnapshot();
  ASSERT_NE(s.index, nullptr);
  const absl::Status st = WriteModelSnapshot(&s.data, *s.index, dir);
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  EXPECT_EQ(ReadAll(dir + "/keep.txt"), "mine");
  EXPECT_FALSE(fs::exists(dir + "/MANIFEST"));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));

  // A complete snapshot is not overwritten either.
  const std::string done = Write("done");
  const std::string before = ReadAll(done + "/vectors.bin");
  Snapshot other = MakeSnapshot(kRows, 99);
  ASSERT_NE(other.index, nullptr);
  EXPECT_EQ(WriteModelSnapshot(&other.data, *other.index, done).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(done + "/vectors.bin"), before);
}

TEST_F(ModelFilesTest, WriteRejectsSizeMismatchesAndLeavesNothing) {
  struct Case {
    const char* what;
    void (*spoil)(Snapshot*);
  };
  const Case cases[] = {
      {"vectors shorter than ids x dim", [](Snapshot* s) { s->data.vectors.pop_back(); }},
      {"an extra id", [](Snapshot* s) { s->data.item_ids.push_back("extra"); }},
      {"dim 0", [](Snapshot* s) { s->data.manifest.set_dim(0); }},
      {"gramian not dim x dim", [](Snapshot* s) { s->data.manifest.add_gramian(1.f); }},
      {"labels of another dim", [](Snapshot* s) { s->data.labels.set_dim(kDim + 1); }},
      {"label values short", [](Snapshot* s) { s->data.labels.mutable_values()->RemoveLast(); }},
      {"index over fewer rows",
       [](Snapshot* s) {
         std::vector<uint32_t> ids = {0, 1, 2};
         s->index = *BuildHnswIndex(Ann(), ids.data(), s->data.vectors.data(), ids.size());
       }},
  };
  int n = 0;
  for (const Case& c : cases) {
    Snapshot s = MakeSnapshot();
    ASSERT_NE(s.index, nullptr);
    c.spoil(&s);
    const std::string dir = tmp_.Sub("bad-" + std::to_string(n++));
    const absl::Status st = WriteModelSnapshot(&s.data, *s.index, dir);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << st;
    EXPECT_FALSE(fs::exists(dir)) << c.what;
    EXPECT_FALSE(fs::exists(dir + ".tmp")) << c.what;
  }
}

// An index that passes the size checks but that SaveHnswIndex cannot write
// (not made by BuildHnswIndex): the write fails after files were created.
class ForeignIndex : public AnnIndex {
 public:
  explicit ForeignIndex(size_t size) : size_(size) {}
  std::vector<Neighbor> Search(const float*, int) const override { return {}; }
  bool GetVector(uint32_t, float*) const override { return false; }
  const float* VectorData(uint32_t) const override { return nullptr; }
  std::vector<uint32_t> Ids() const override { return {}; }
  size_t size() const override { return size_; }
  int dim() const override { return kDim; }

 private:
  size_t size_;
};

TEST_F(ModelFilesTest, FailedWriteLeavesNoTmpDirAndNoSnapshot) {
  Snapshot s = MakeSnapshot();
  const std::string dir = tmp_.Sub("failed");
  const absl::Status st = WriteModelSnapshot(&s.data, ForeignIndex(kRows), dir);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
  EXPECT_EQ(ReadModelSnapshot(dir).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelFilesTest, StaleTmpDirFromACrashIsReplaced) {
  const std::string dir = tmp_.Sub("snap");
  fs::create_directories(dir + ".tmp");
  WriteAll(dir + ".tmp/vectors.bin", "half a file");
  WriteAll(dir + ".tmp/junk", "x");
  Snapshot s = MakeSnapshot();
  ASSERT_NE(s.index, nullptr);
  ASSERT_TRUE(WriteModelSnapshot(&s.data, *s.index, dir).ok());
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
  EXPECT_FALSE(fs::exists(dir + "/junk"));
  auto read = ReadModelSnapshot(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->item_ids, s.data.item_ids);
}

TEST_F(ModelFilesTest, LoadHnswIndexRelabelsRowsToTheGivenIds) {
  const std::string dir = Write();
  auto data = ReadModelSnapshot(dir);
  ASSERT_TRUE(data.ok()) << data.status();
  // Row r becomes id 5000 + 3r (sparse, like catalog dense ids).
  std::vector<uint32_t> relabel(kRows);
  for (uint32_t r = 0; r < kRows; ++r) relabel[r] = 5000 + 3 * r;
  auto index = LoadHnswIndex(ModelIndexPath(dir), Ann(), &relabel);
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ((*index)->size(), static_cast<size_t>(kRows));
  std::vector<uint32_t> ids = (*index)->Ids();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, relabel);
  std::vector<float> v(kDim);
  EXPECT_FALSE((*index)->GetVector(0, v.data()));  // row numbers are gone
  for (uint32_t r = 0; r < kRows; ++r) {
    const float* q = data->vectors.data() + r * kDim;
    // Search returns the new ids, and agrees with exact search over them.
    const auto exact = ExactSearch(q, 5, relabel.data(), data->vectors.data(), kRows, kDim);
    const auto got = (*index)->Search(q, 5);
    ASSERT_EQ(got.size(), 5u);
    for (const auto& n : got) {
      EXPECT_TRUE(n.id >= 5000 && (n.id - 5000) % 3 == 0 && (n.id - 5000) / 3 < kRows) << n.id;
    }
    EXPECT_EQ(got[0].id, exact[0].id) << "row " << r;
    ASSERT_TRUE((*index)->GetVector(relabel[r], v.data()));
    EXPECT_EQ(v, std::vector<float>(q, q + kDim));
  }
}

TEST_F(ModelFilesTest, LoadHnswIndexRejectsABadRelabel) {
  const std::string dir = Write();
  std::vector<uint32_t> short_relabel(kRows - 1);
  for (uint32_t r = 0; r + 1 < kRows; ++r) short_relabel[r] = r + 100;
  absl::Status s = LoadHnswIndex(ModelIndexPath(dir), Ann(), &short_relabel).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(Mentions(s, "relabel")) << s;

  std::vector<uint32_t> empty;
  EXPECT_EQ(LoadHnswIndex(ModelIndexPath(dir), Ann(), &empty).status().code(),
            absl::StatusCode::kDataLoss);

  std::vector<uint32_t> duplicate(kRows);
  for (uint32_t r = 0; r < kRows; ++r) duplicate[r] = r;
  duplicate[kRows - 1] = 0;
  s = LoadHnswIndex(ModelIndexPath(dir), Ann(), &duplicate).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST(NewModelVersion, IsPrefixUtcTimeAndSaltHex) {
  const std::string v = NewModelVersion("als", 0x12345abcd);
  EXPECT_TRUE(std::regex_match(v, std::regex(R"(als-20\d{6}T\d{6}Z-abcd)"))) << v;
  EXPECT_NE(NewModelVersion("als", 1), NewModelVersion("als", 2));
}

}  // namespace
}  // namespace recd::core
