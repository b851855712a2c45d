// Engine::LoadModel (DESIGN.md "Model lifecycle"): verify, gate, keep under
// <data_dir>/models, reconcile the catalog, swap atomically under load.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "core/hnsw_index.h"
#include "core/model_files.h"
#include "core/train.h"
#include "gtest/gtest.h"
#include "tests/core/planted_model.h"
#include "tests/core/slate_util.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

namespace fs = std::filesystem;
using recd::testing::MakeItem;
using recd::testing::MakeStoredEvent;
using recd::testing::NowUs;
using recd::testing::TempDir;
using recd::v1::Item;
using recd::v1::RecommendRequest;
using recd::v1::records::StoredEvent;
using test::Ids;
using test::PlantedCategory;
using test::PlantedItem;

constexpr int kDim = 8;  // the catalog's vectors
constexpr int kClusters = 2;
constexpr int kItems = 10;                        // per cluster
constexpr auto kWait = std::chrono::seconds(60);  // a bound, never a synchroniser
constexpr double kFoldTimeoutSeconds = 10;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Catalog vectors that group the items differently from the planted
// clusters: items 0-4 of every cluster along axis 0, items 5-9 along axis 1.
// So under the catalog model a user of a0..a2 is shown b0..b4 as well; under
// a trained model only the rest of cluster A.
Item CatalogItem(int cluster, int i) {
  std::vector<float> v(kDim, 0.f);
  v[i < 5 ? 0 : 1] = 1.f;
  v[2 + cluster] = 0.05f * (1 + i);  // distinct vectors
  return MakeItem(PlantedItem(cluster, i), {PlantedCategory(cluster)}, {}, v);
}

class ModelSwapTest : public ::testing::Test {
 protected:
  ModelSwapTest() {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = false;
    options_.block_cache_mb = 8;
    options_.dimension = kDim;
    options_.hnsw_m = 8;
    options_.hnsw_ef_construction = 40;
    options_.hnsw_ef_search = 40;
    options_.fresh_tier_max = 1000;
    options_.user_cache_entries = 1000;
    SurfaceOptions ann_only;
    ann_only.explore_epsilon = 0;
    ann_only.diversity = DiversityMode::kNone;
    ann_only.source_weights = {{"ann", 1.0}};
    ann_only.freshness_weight = 0;
    ann_only.popularity_weight = 0;
    options_.surfaces["ann_only"] = ann_only;
    // The default surface (every source, MMR, exploration) as configured.
    // The snapshot's HNSW file is loaded (and verified) also for these small
    // models, rather than scanned exactly.
    options_.exact_search_max_items = 0;
  }

  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  void Open() {
    auto e = Engine::Open(options_);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  void Reopen() {
    engine_.reset();
    Open();
  }

  absl::Status Upsert(std::vector<Item> items) {
    auto p = std::make_shared<std::promise<absl::Status>>();
    auto f = p->get_future();
    absl::Status st = engine_->UpsertItemsAsync(
        std::move(items), [p](const absl::Status& s, uint64_t, uint64_t) { p->set_value(s); });
    if (!st.ok()) return st;
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("upsert: no callback");
    }
    return f.get();
  }
  absl::Status Delete(std::vector<std::string> ids) {
    auto p = std::make_shared<std::promise<absl::Status>>();
    auto f = p->get_future();
    absl::Status st = engine_->DeleteItemsAsync(
        std::move(ids), [p](const absl::Status& s, uint64_t, uint64_t) { p->set_value(s); });
    if (!st.ok()) return st;
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("delete: no callback");
    }
    return f.get();
  }

  // Tracks the events and waits until they are folded.
  void TrackAndFold(std::vector<StoredEvent> events) {
    auto p = std::make_shared<std::promise<std::pair<absl::Status, uint64_t>>>();
    auto f = p->get_future();
    absl::Status st =
        engine_->TrackAsync(std::move(events), [p](const absl::Status& s, const CommitResult& r) {
          p->set_value({s, r.last_seq});
        });
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    auto [s, seq] = f.get();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(engine_->WaitFolded(seq, kFoldTimeoutSeconds));
  }

  // The planted catalog, and user "u" who viewed a0, a1, a2.
  void Populate() {
    std::vector<Item> items;
    for (int c = 0; c < kClusters; ++c) {
      for (int i = 0; i < kItems; ++i) items.push_back(CatalogItem(c, i));
    }
    ASSERT_TRUE(Upsert(std::move(items)).ok());
    const int64_t t = NowUs() - 60 * recd::testing::kSecondUs;
    TrackAndFold({MakeStoredEvent("u", "a0", "view", t), MakeStoredEvent("u", "a1", "view", t + 1),
                  MakeStoredEvent("u", "a2", "view", t + 2)});
  }

  absl::StatusOr<RecommendResult> Recommend(const std::string& user, int k,
                                            const std::string& surface = "ann_only") {
    RecommendRequest req;
    req.set_user_id(user);
    if (user.empty()) req.set_session_id("anonymous");
    req.set_k(k);
    req.set_surface(surface);
    auto q = ConvertRecommendRequest(req, engine_->options(), NowUs());
    if (!q.ok()) return q.status();
    return engine_->Recommend(*q);
  }
  std::vector<std::string> RecommendIds(const std::string& user, int k) {
    auto r = Recommend(user, k);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Ids(r->slate) : std::vector<std::string>{};
  }

  // Shuts the engine down and reads the state stored under `key`.
  recd::v1::records::UserState StoredStateAfterShutdown(const std::string& key) {
    return StoredStatesAfterShutdown({key}).at(0);
  }
  std::vector<recd::v1::records::UserState> StoredStatesAfterShutdown(
      const std::vector<std::string>& keys) {
    std::vector<recd::v1::records::UserState> states(keys.size());
    engine_->Shutdown();
    engine_.reset();
    storage::StoreOptions so;
    so.path = options_.data_dir;
    so.create_if_missing = false;
    auto store = storage::Store::Open(so);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return states;
    for (size_t i = 0; i < keys.size(); ++i) {
      auto raw = (*store)->Get(storage::Cf::kUsers, keys[i]);
      EXPECT_TRUE(raw.ok() && raw->has_value()) << keys[i];
      if (raw.ok() && raw->has_value()) {
        EXPECT_TRUE(states[i].ParseFromString(**raw));
      }
    }
    return states;
  }

  // Trains a model on the planted data and writes it under the temp dir;
  // returns the snapshot directory. `factors` may differ from the catalog's
  // dimension.
  std::string TrainSnapshot(int factors = kDim, uint32_t seed = 1,
                            const std::vector<std::pair<std::string, std::string>>& cold = {}) {
    TrainingSet set(options_.event_weights);
    test::PlantedOptions po;
    po.clusters = kClusters;
    po.items_per_cluster = kItems;
    po.seed = seed;
    test::AddPlanted(po, &set);
    for (const auto& [id, category] : cold) set.SetItemLabels(id, {"c:" + category});
    auto model = TrainModel(set, test::PlantedTrainOptions(factors));
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return "";
    const std::string dir = dir_.Sub("out/" + model->data.manifest.version());
    fs::create_directories(dir_.Sub("out"));
    const absl::Status st = WriteModelSnapshot(&model->data, *model->index, dir);
    EXPECT_TRUE(st.ok()) << st;
    return dir;
  }
  static std::string VersionOf(const std::string& snapshot) {
    auto m = ReadModelSnapshot(snapshot);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? m->manifest.version() : "";
  }
  // A copy of a snapshot under another name (to corrupt it).
  std::string CopySnapshot(const std::string& from, const std::string& name) {
    const std::string to = dir_.Sub(name);
    fs::copy(from, to, fs::copy_options::recursive);
    return to;
  }
  std::string ModelsDir() const { return options_.data_dir + "/models"; }
  std::string Current() const {
    std::string line;
    std::ifstream in(ModelsDir() + "/CURRENT");
    std::getline(in, line);
    return line;
  }

  static bool IsA(const std::string& id) { return !id.empty() && id[0] == 'a'; }
  // i of PlantedItem(cluster, i).
  static int Index(const std::string& id) { return std::stoi(id.substr(1)); }

  TempDir dir_{"recd-model-swap"};
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ModelSwapTest, LoadedModelServesAndRecommendationsFollowIt) {
  // u's solve is never left to a reader (a slow fold-in would), so the one
  // vector a reader hands over below is the one after the swap.
  options_.defer_solves_lag_ms = 1e9;
  Open();
  Populate();
  EXPECT_EQ(engine_->model_version(), kCatalogModelVersion);
  // Under the catalog vectors, the nearest unseen items of u are a3, a4 and
  // cluster B's first half.
  auto before = Recommend("u", 5);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->model_version, kCatalogModelVersion);
  const auto before_ids = Ids(before->slate);
  EXPECT_GE(std::count_if(before_ids.begin(), before_ids.end(), [](auto& id) { return !IsA(id); }),
            3)
      << ::testing::PrintToString(before_ids);

  const std::string snap = TrainSnapshot();
  const std::string version = VersionOf(snap);
  auto loaded = engine_->LoadModel(snap);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->version, version);
  EXPECT_EQ(loaded->items, static_cast<uint64_t>(kClusters * kItems));
  EXPECT_EQ(loaded->cold_items, 0u);
  EXPECT_GE(loaded->gate_recall, Engine::kModelGateRecall);
  EXPECT_FALSE(loaded->already_loaded);
  EXPECT_EQ(engine_->model_version(), version);
  const EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.model_version, version);
  EXPECT_TRUE(stats.model_trained);
  EXPECT_EQ(stats.vectors, static_cast<uint64_t>(kClusters * kItems));

  // Now u (who used only cluster A) is shown only the rest of cluster A.
  auto after = Recommend("u", 5);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->model_version, version);
  const auto ids = Ids(after->slate);
  ASSERT_EQ(ids.size(), 5u);
  for (const auto& id : ids) {
    EXPECT_TRUE(IsA(id)) << ::testing::PrintToString(ids);
    EXPECT_NE(id, "a0");  // seen
  }
  // A default-surface request (every source, MMR, exploration) also carries
  // the version.
  auto blended = Recommend("u", 10, "default");
  ASSERT_TRUE(blended.ok()) << blended.status();
  EXPECT_EQ(blended->model_version, version);
  EXPECT_FALSE(blended->slate.items.empty());

  // u's stored vector was solved against the catalog model; the read
  // re-solved it and asked the fold-in to store it, so later reads (and a
  // restart) need no solve. The fold-in drains such requests at stop, and
  // stores the vector the read solved rather than solving it again.
  engine_->Shutdown();
  const EngineStats drained = engine_->Stats();
  EXPECT_EQ(drained.vectors_refreshed, 1u);
  EXPECT_EQ(drained.refreshes_resolved, 0u);
  const recd::v1::records::UserState state = StoredStateAfterShutdown(UserKey("u", ""));
  EXPECT_EQ(state.vector_model(), version);
  EXPECT_EQ(state.vector_size(), kDim);
}

// ingest.defer_solves_lag_ms: a fold-in that is behind leaves the user
// solve to the reader, which must not serve the stale vector.
TEST_F(ModelSwapTest, DeferredSolveIsDoneByTheReaderAndStored) {
  // No session intent: the ANN query is the user vector alone.
  options_.surfaces["ann_only"].session_intent = 0;
  options_.defer_solves_lag_ms = 1e9;  // never: u's vector is solved at once
  Open();
  Populate();  // u viewed a0..a2, along axis 0 under the catalog model
  for (const auto& id : RecommendIds("u", 5)) {
    EXPECT_LT(Index(id), 5) << id;
  }
  EXPECT_EQ(engine_->Stats().solves_deferred, 0u);

  options_.defer_solves_lag_ms = 0;  // always
  Reopen();
  // u now mostly views a5..a7 (axis 1): the solved vector turns to axis 1.
  std::vector<StoredEvent> events;
  const int64_t t = NowUs() - 30 * recd::testing::kSecondUs;
  for (int r = 0; r < 10; ++r) {
    for (int i = 5; i < 8; ++i) {
      events.push_back(MakeStoredEvent("u", PlantedItem(0, i), "view", t + r * 10 + i));
    }
  }
  TrackAndFold(std::move(events));
  EXPECT_GE(engine_->Stats().solves_deferred, 1u);
  // The stored vector still points along axis 0 (and cluster A); served,
  // it would rank a3 and a4 first. Solved, the unseen axis-1 items of
  // cluster A lead.
  const auto ids = RecommendIds("u", 5);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(ids.begin(), ids.begin() + 2),
            (std::vector<std::string>{"a8", "a9"}))
      << ::testing::PrintToString(ids);
  // The reader asked the fold-in to store what it solved (drained at stop).
  const recd::v1::records::UserState state = StoredStateAfterShutdown(UserKey("u", ""));
  EXPECT_FALSE(state.vector_stale());
  EXPECT_EQ(state.vector_size(), kDim);
  EXPECT_GT(std::abs(state.vector(1)), std::abs(state.vector(0)));
}

// The fold-in stores a vector the reader solved only while the user's state
// is the one it was solved from: events folded in between make it solve
// again, else the stored vector would ignore them and pass for current.
TEST_F(ModelSwapTest, ReaderSolvedVectorIsSolvedAgainWhenTheStateMovedOn) {
  options_.surfaces["ann_only"].session_intent = 0;
  options_.defer_solves_lag_ms = 0;  // every solve is left to readers
  Open();
  Populate();
  const int64_t t = NowUs() - 30 * recd::testing::kSecondUs;
  // Each round's user viewed a0..a2 (axis 0 under the catalog model).
  constexpr int kRounds = 5;
  std::vector<std::string> users, keys;
  for (int round = 0; round < kRounds; ++round) {
    users.push_back("turner" + std::to_string(round));
    keys.push_back(UserKey(users.back(), ""));
    TrackAndFold({MakeStoredEvent(users.back(), "a0", "view", t),
                  MakeStoredEvent(users.back(), "a1", "view", t + 1),
                  MakeStoredEvent(users.back(), "a2", "view", t + 2)});
  }
  for (const auto& user : users) {
    // A backlog of other users' events: the fold-in stores readers' vectors
    // only when no event waits, so the hand-over below usually waits behind
    // it, and the user's turn is folded first. (When the fold-in gets there
    // first the hand-over is stored and the turn marks it stale: right too.)
    std::vector<std::future<void>> acks;
    for (int call = 0; call < 20; ++call) {
      std::vector<StoredEvent> events;
      for (int n = 0; n < 1000; ++n) {
        events.push_back(MakeStoredEvent("other" + std::to_string(n % 300),
                                         PlantedItem(n % kClusters, n % kItems), "view", t + n));
      }
      auto p = std::make_shared<std::promise<void>>();
      acks.push_back(p->get_future());
      const absl::Status st =
          engine_->TrackAsync(std::move(events), [p](auto&&...) { p->set_value(); });
      ASSERT_TRUE(st.ok()) << st;
    }
    ASSERT_EQ(acks.back().wait_for(kWait), std::future_status::ready);
    // The reader solves the user's deferred vector from a0..a2 and hands it
    // over; then the user turns to a5..a7 (axis 1).
    EXPECT_FALSE(RecommendIds(user, 3).empty());
    std::vector<StoredEvent> turn;
    for (int r = 0; r < 10; ++r) {
      for (int i = 5; i < 8; ++i) {
        turn.push_back(MakeStoredEvent(user, PlantedItem(0, i), "view", t + 10 + r));
      }
    }
    TrackAndFold(std::move(turn));
  }
  engine_->Shutdown();
  const EngineStats s = engine_->Stats();
  EXPECT_EQ(s.vectors_refreshed, static_cast<uint64_t>(kRounds));
  // Most rounds go as planned; that none does would take a fold-in that
  // outran a backlog of 20,000 events five times over.
  EXPECT_GE(s.refreshes_resolved, 1u);
  // Stored: stale, or solved with a5..a7; never the reader's vector as if
  // it were current.
  for (const auto& state : StoredStatesAfterShutdown(keys)) {
    if (state.vector_stale()) continue;
    EXPECT_GT(std::abs(state.vector(1)), std::abs(state.vector(0)));
  }
}

TEST_F(ModelSwapTest, ModelOfAnotherDimensionThanTheCatalogServes) {
  Open();
  Populate();
  const std::string snap = TrainSnapshot(/*factors=*/5);
  auto loaded = engine_->LoadModel(snap);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto ids = RecommendIds("u", 5);
  ASSERT_EQ(ids.size(), 5u);
  for (const auto& id : ids) EXPECT_TRUE(IsA(id)) << ::testing::PrintToString(ids);
  // Events keep folding against the new model, and items keep coming.
  TrackAndFold({MakeStoredEvent("u", "a3", "view", NowUs() - 1000)});
  ASSERT_TRUE(Upsert({CatalogItem(0, 3)}).ok());
  ids = RecommendIds("u", 4);
  ASSERT_EQ(ids.size(), 4u);
  for (const auto& id : ids) EXPECT_TRUE(IsA(id) && id != "a3") << ::testing::PrintToString(ids);
}

TEST_F(ModelSwapTest, InvalidSnapshotIsRefusedAndTheOldModelKeepsServing) {
  Open();
  Populate();
  const std::string good = TrainSnapshot(kDim, 1);
  const std::string version = VersionOf(good);
  ASSERT_TRUE(engine_->LoadModel(good).ok());
  const std::string other = TrainSnapshot(kDim, 2);
  const std::string other_version = VersionOf(other);
  ASSERT_NE(other_version, version);

  struct Case {
    std::string what;
    std::string dir;
    absl::StatusCode code;
    std::string mentions;
  };
  std::vector<Case> cases;
  cases.push_back({"missing dir", dir_.Sub("no-such-snapshot"), absl::StatusCode::kNotFound, ""});
  fs::create_directories(dir_.Sub("empty-dir"));
  cases.push_back({"empty dir", dir_.Sub("empty-dir"), absl::StatusCode::kNotFound, "MANIFEST"});
  for (const char* file : {"vectors.bin", "labels.pb", "index.hnsw"}) {
    const std::string copy = CopySnapshot(other, std::string("flipped-") + file);
    std::string bytes = ReadAll(copy + "/" + file);
    bytes[bytes.size() / 2] ^= 0x40;
    WriteAll(copy + "/" + file, bytes);
    cases.push_back(
        {std::string("flipped byte in ") + file, copy, absl::StatusCode::kDataLoss, file});
  }
  {
    const std::string copy = CopySnapshot(other, "truncated-vectors");
    const std::string bytes = ReadAll(copy + "/vectors.bin");
    WriteAll(copy + "/vectors.bin", bytes.substr(0, bytes.size() - 3));
    cases.push_back({"truncated vectors.bin", copy, absl::StatusCode::kDataLoss, "vectors.bin"});
  }
  {
    const std::string copy = CopySnapshot(other, "no-index");
    fs::remove(copy + "/index.hnsw");
    cases.push_back({"missing index.hnsw", copy, absl::StatusCode::kNotFound, "index.hnsw"});
  }
  {
    // Intact files, but an index over other vectors (the rows shuffled and
    // shrunk): what it finds is not what exact search finds, by id or by
    // score, so the recall gate fails.
    auto data = ReadModelSnapshot(other);
    ASSERT_TRUE(data.ok());
    const size_t n = data->item_ids.size();
    std::vector<size_t> perm(n);
    for (size_t r = 0; r < n; ++r) perm[r] = r;
    std::shuffle(perm.begin(), perm.end(), std::mt19937(5));
    std::vector<float> noise(data->vectors.size());
    for (size_t r = 0; r < n; ++r) {
      for (int d = 0; d < kDim; ++d)
        noise[r * kDim + d] = 1e-3f * data->vectors[perm[r] * kDim + d];
    }
    std::vector<uint32_t> rows(data->item_ids.size());
    for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
    AnnOptions ann;
    ann.dim = kDim;
    ann.m = 8;
    ann.ef_construction = 40;
    auto index = BuildHnswIndex(ann, rows.data(), noise.data(), rows.size());
    ASSERT_TRUE(index.ok());
    data->manifest.set_version("mismatched-index");
    ASSERT_TRUE(WriteModelSnapshot(&*data, **index, dir_.Sub("gate")).ok());
    cases.push_back({"index over other vectors", dir_.Sub("gate"),
                     absl::StatusCode::kFailedPrecondition, "recall"});
  }

  for (const Case& c : cases) {
    auto r = engine_->LoadModel(c.dir);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), c.code) << c.what << ": " << r.status();
    EXPECT_NE(r.status().message().find(c.mentions), std::string::npos)
        << c.what << ": " << r.status();
    // The old model still serves, every request succeeds.
    EXPECT_EQ(engine_->model_version(), version) << c.what;
    auto rec = Recommend("u", 5);
    ASSERT_TRUE(rec.ok()) << c.what << ": " << rec.status();
    EXPECT_EQ(rec->model_version, version);
    for (const auto& id : Ids(rec->slate)) EXPECT_TRUE(IsA(id)) << c.what;
    EXPECT_EQ(Current(), version) << c.what;
  }
  // Nothing of the refused snapshots was kept.
  EXPECT_FALSE(fs::exists(ModelsDir() + "/" + other_version));
  EXPECT_FALSE(fs::exists(ModelsDir() + "/mismatched-index"));
  // And the good one still loads.
  auto r = engine_->LoadModel(other);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(engine_->model_version(), other_version);
}

TEST_F(ModelSwapTest, ReopenLoadsTheCurrentModelFromTheDataDir) {
  Open();
  Populate();
  const std::string snap = TrainSnapshot();
  const std::string version = VersionOf(snap);
  ASSERT_TRUE(engine_->LoadModel(snap).ok());

  // Kept under <data_dir>/models/<version> (same bytes), named in CURRENT.
  EXPECT_EQ(Current(), version);
  const std::string kept = ModelsDir() + "/" + version;
  for (const char* file : {"MANIFEST", "vectors.bin", "labels.pb", "index.hnsw"}) {
    ASSERT_TRUE(fs::exists(kept + "/" + file)) << file;
    EXPECT_EQ(ReadAll(kept + "/" + file), ReadAll(snap + "/" + file)) << file;
  }
  EXPECT_FALSE(fs::exists(kept + ".tmp"));
  // The trainer's output can go: the server has its own copy (or links).
  fs::remove_all(snap);

  Reopen();
  EXPECT_EQ(engine_->model_version(), version);
  const EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.model_version, version);
  EXPECT_TRUE(stats.model_trained);
  EXPECT_EQ(stats.vectors, static_cast<uint64_t>(kClusters * kItems));
  auto rec = Recommend("u", 5);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->model_version, version);
  ASSERT_EQ(rec->slate.items.size(), 5u);
  for (const auto& id : Ids(rec->slate)) EXPECT_TRUE(IsA(id)) << id;

  // The kept snapshot is the one reloaded: asking for it again is a no-op.
  auto again = engine_->LoadModel(kept);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_loaded);
}

TEST_F(ModelSwapTest, CorruptCurrentSnapshotFallsBackToTheCatalogAtOpen) {
  Open();
  Populate();
  const std::string snap = TrainSnapshot();
  const std::string version = VersionOf(snap);
  ASSERT_TRUE(engine_->LoadModel(snap).ok());
  engine_.reset();
  // Break the kept copy (not through a hard link: rewrite the file).
  const std::string kept_vectors = ModelsDir() + "/" + version + "/vectors.bin";
  std::string bytes = ReadAll(kept_vectors);
  bytes[bytes.size() - 2] ^= 0x01;
  fs::remove(kept_vectors);
  WriteAll(kept_vectors, bytes);
  Open();
  EXPECT_EQ(engine_->model_version(), kCatalogModelVersion);
  auto rec = Recommend("u", 5);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->model_version, kCatalogModelVersion);
  EXPECT_FALSE(rec->slate.items.empty());
  // The intact original loads again.
  auto r = engine_->LoadModel(snap);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(engine_->model_version(), version);
}

TEST_F(ModelSwapTest, KeepsTheCurrentAndThePreviousSnapshotOnly) {
  Open();
  Populate();
  std::vector<std::string> versions;
  for (uint32_t seed : {1, 2, 3}) {
    const std::string snap = TrainSnapshot(kDim, seed);
    versions.push_back(VersionOf(snap));
    auto r = engine_->LoadModel(snap);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  ASSERT_EQ(std::set<std::string>(versions.begin(), versions.end()).size(), 3u);
  EXPECT_FALSE(fs::exists(ModelsDir() + "/" + versions[0]));
  EXPECT_TRUE(fs::exists(ModelsDir() + "/" + versions[1] + "/MANIFEST"));
  EXPECT_TRUE(fs::exists(ModelsDir() + "/" + versions[2] + "/MANIFEST"));
  EXPECT_EQ(Current(), versions[2]);
}

TEST_F(ModelSwapTest, LoadingTheServingVersionAgainIsAlreadyLoaded) {
  Open();
  Populate();
  const std::string snap = TrainSnapshot();
  auto first = engine_->LoadModel(snap);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->already_loaded);
  auto second = engine_->LoadModel(snap);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->already_loaded);
  EXPECT_EQ(second->version, first->version);
  EXPECT_EQ(engine_->model_version(), first->version);
  EXPECT_EQ(Current(), first->version);
}

TEST_F(ModelSwapTest, CatalogItemsOutsideTheModelGetALabelMapVector) {
  Open();
  Populate();
  // In the catalog before the load, unknown to the model.
  ASSERT_TRUE(Upsert({MakeItem("a-before", {"A"})}).ok());
  const std::string snap = TrainSnapshot();
  auto loaded = engine_->LoadModel(snap);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->cold_items, 1u);
  const uint64_t vectors = engine_->Stats().vectors;
  EXPECT_EQ(vectors, static_cast<uint64_t>(kClusters * kItems + 1));

  // Upserted after the load, with a catalog vector from the other space
  // (along B's axis there): the model's label map decides, not that vector.
  std::vector<float> misleading(kDim, 0.f);
  misleading[3] = 5.f;
  ASSERT_TRUE(Upsert({MakeItem("a-after", {"A"}, {}, misleading)}).ok());
  EXPECT_EQ(engine_->Stats().vectors, vectors + 1);
  // An item whose labels the model does not know gets no vector.
  ASSERT_TRUE(Upsert({MakeItem("z-after", {"Z"})}).ok());
  EXPECT_EQ(engine_->Stats().vectors, vectors + 1);

  // u's unseen cluster-A items (a3..a9) and the two new A items fill k = 9;
  // the label-map vectors sit at the cluster's centre, so both are in.
  const auto ids = RecommendIds("u", 9);
  EXPECT_TRUE(test::Contains(ids, "a-after")) << ::testing::PrintToString(ids);
  EXPECT_TRUE(test::Contains(ids, "a-before")) << ::testing::PrintToString(ids);
  for (const auto& id : ids) EXPECT_TRUE(IsA(id)) << ::testing::PrintToString(ids);

  // A snapshot's own label-map rows count as model rows, not as cold items.
  const std::string with_cold = TrainSnapshot(kDim, 2, {{"a-before", "A"}});
  auto second = engine_->LoadModel(with_cold);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->items, static_cast<uint64_t>(kClusters * kItems + 1));
  EXPECT_EQ(second->cold_items, 1u);  // a-after
  EXPECT_EQ(engine_->Stats().vectors, vectors + 1);
}

TEST_F(ModelSwapTest, DeletedAndReaddedTrainedItemIsRecommendedAgain) {
  Open();
  Populate();
  ASSERT_TRUE(engine_->LoadModel(TrainSnapshot()).ok());
  const uint64_t vectors = engine_->Stats().vectors;
  ASSERT_TRUE(Delete({"a5"}).ok());
  EXPECT_FALSE(test::Contains(RecommendIds("u", 7), "a5"));
  ASSERT_TRUE(Upsert({CatalogItem(0, 5)}).ok());
  // Back in the catalog, with its trained vector: u's 7 unseen A items.
  EXPECT_EQ(engine_->Stats().vectors, vectors);
  const auto ids = RecommendIds("u", 7);
  EXPECT_TRUE(test::Contains(ids, "a5")) << ::testing::PrintToString(ids);
}

TEST_F(ModelSwapTest, SecondLoadWhileOneRunsIsFailedPrecondition) {
  Open();
  Populate();
  const std::string first = TrainSnapshot(kDim, 1);
  const std::string second = TrainSnapshot(kDim, 2);
  // Hold the commit thread (inside an upsert's callback) so that the first
  // load cannot finish its swap: it is certainly still running below.
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto holding = std::make_shared<std::promise<void>>();
  auto holding_future = holding->get_future();
  // Releases the commit thread however the test ends.
  struct Releaser {
    std::shared_ptr<std::promise<void>> p;
    void operator()() {
      if (p) p->set_value();
      p.reset();
    }
    ~Releaser() { (*this)(); }
  } releaser{release};
  ASSERT_TRUE(engine_
                  ->UpsertItemsAsync({MakeItem("x", {"A"})},
                                     [holding, released](const absl::Status&, uint64_t, uint64_t) {
                                       holding->set_value();
                                       released.wait();
                                     })
                  .ok());
  ASSERT_EQ(holding_future.wait_for(kWait), std::future_status::ready);

  auto done = std::make_shared<std::promise<absl::StatusOr<ModelLoadResult>>>();
  auto result = done->get_future();
  ASSERT_TRUE(
      engine_
          ->LoadModelAsync(
              first, [done](absl::StatusOr<ModelLoadResult> r) { done->set_value(std::move(r)); })
          .ok());
  const absl::Status busy = engine_->LoadModelAsync(second, [](absl::StatusOr<ModelLoadResult>) {
    ADD_FAILURE() << "a refused load must not call done";
  });
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition) << busy;
  EXPECT_NE(busy.message().find("another model load"), std::string::npos) << busy;
  auto sync = engine_->LoadModel(second);
  EXPECT_EQ(sync.status().code(), absl::StatusCode::kFailedPrecondition);
  // Requests are served meanwhile, from the old model.
  auto rec = Recommend("u", 5);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->model_version, kCatalogModelVersion);

  releaser();
  ASSERT_EQ(result.wait_for(kWait), std::future_status::ready);
  auto r = result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(engine_->model_version(), VersionOf(first));
  // Once it finished, the next load is accepted.
  auto next = engine_->LoadModel(second);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(engine_->model_version(), VersionOf(second));
}

TEST_F(ModelSwapTest, ShutdownDuringALoadFinishesItAndAnswers) {
  Open();
  Populate();
  const std::string snap = TrainSnapshot();
  const std::string version = VersionOf(snap);
  auto done = std::make_shared<std::promise<absl::StatusOr<ModelLoadResult>>>();
  auto result = done->get_future();
  ASSERT_TRUE(
      engine_
          ->LoadModelAsync(
              snap, [done](absl::StatusOr<ModelLoadResult> r) { done->set_value(std::move(r)); })
          .ok());
  engine_->Shutdown();
  // Shutdown waited for the load (done has run) and refuses new ones.
  ASSERT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, version);
  EXPECT_EQ(engine_
                ->LoadModelAsync(snap,
                                 [](absl::StatusOr<ModelLoadResult>) {
                                   ADD_FAILURE() << "a refused load must not call done";
                                 })
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Reopen();
  EXPECT_EQ(engine_->model_version(), version);
}

// The requirement: swapping models under concurrent Recommend calls
// fails none of them. Readers run from before the first load until after the
// last; the main thread loads models of two dimensions in turn while events
// and catalog upserts keep coming.
TEST_F(ModelSwapTest, SwapsUnderConcurrentRecommendsFailNone) {
  Open();
  Populate();
  const std::string m1 = TrainSnapshot(kDim, 1);
  const std::string m2 = TrainSnapshot(/*factors=*/12, 2, {{"a-cold", "A"}});
  const std::string v1 = VersionOf(m1), v2 = VersionOf(m2);
  ASSERT_NE(v1, v2);
  // The versions in the order they serve.
  const std::vector<std::string> order = {kCatalogModelVersion, v1, v2, v1, v2};

  constexpr int kReaders = 3;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::mutex mu;
  std::vector<std::string> failures;  // guarded by mu
  std::set<std::string> seen;         // guarded by mu
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    if (failures.size() < 20) failures.push_back(what);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<std::pair<std::string, std::string>> queries = {
          {"u", "ann_only"}, {"u", "default"}, {"", "default"}, {"B-user-x", "default"}};
      size_t pos = 0;  // in `order`: versions only move forward
      std::set<std::string> mine;
      for (uint64_t n = t; !stop.load(); ++n) {
        const auto& [user, surface] = queries[n % queries.size()];
        auto r = Recommend(user, 5, surface);
        calls.fetch_add(1);
        if (!r.ok()) {
          fail("Recommend(" + user + ", " + surface + "): " + r.status().ToString());
          continue;
        }
        if (r->slate.items.empty()) fail("empty slate for " + user + " on " + surface);
        size_t at = pos;
        while (at < order.size() && order[at] != r->model_version) ++at;
        if (at == order.size()) {
          fail("model_version " + r->model_version + " after " + order[pos]);
        } else {
          pos = at;
        }
        mine.insert(r->model_version);
      }
      std::lock_guard<std::mutex> l(mu);
      seen.insert(mine.begin(), mine.end());
    });
  }
  // A writer: events that fold against whichever model serves, and catalog
  // items (with and without a trained vector) upserted during the swaps.
  std::atomic<int> upserted{0};
  threads.emplace_back([&] {
    for (int n = 0; !stop.load(); ++n) {
      const std::string item = PlantedItem(n % kClusters, n % kItems);
      auto p = std::make_shared<std::promise<absl::Status>>();
      auto f = p->get_future();
      std::vector<StoredEvent> events = {
          MakeStoredEvent("w" + std::to_string(n % 7), item, "view", NowUs() - 1000)};
      if (engine_
              ->TrackAsync(std::move(events),
                           [p](const absl::Status& s, const CommitResult&) { p->set_value(s); })
              .ok()) {
        if (f.wait_for(kWait) != std::future_status::ready || !f.get().ok()) fail("track");
      }
      if (n % 5 == 0 && upserted.load() < 30) {
        const int k = upserted.fetch_add(1);
        if (!Upsert({MakeItem("new-" + std::to_string(k), {k % 2 ? "B" : "A"})}).ok()) {
          fail("upsert");
        }
      }
    }
  });

  // Wait (bounded) until the readers made `more` calls beyond `from`.
  auto progress = [&](uint64_t more) {
    const uint64_t want = calls.load() + more;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (calls.load() < want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    return calls.load() >= want;
  };
  EXPECT_TRUE(progress(50));
  for (const std::string& snap : {m1, m2, m1, m2}) {
    auto r = engine_->LoadModel(snap);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(progress(2 * kReaders));
  }
  stop.store(true);
  for (auto& th : threads) th.join();

  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(calls.load(), 50u + 8u * kReaders);
  EXPECT_TRUE(seen.count(kCatalogModelVersion));
  EXPECT_TRUE(seen.count(v2));
  EXPECT_EQ(engine_->model_version(), v2);
  // Every item upserted during the swaps has a vector in the final model
  // (its label map: A and B are known labels); the snapshot's rows too.
  EXPECT_EQ(engine_->Stats().vectors,
            static_cast<uint64_t>(kClusters * kItems + 1 + upserted.load()));
  const auto ids = RecommendIds("u", 5);
  ASSERT_EQ(ids.size(), 5u);
}

}  // namespace
}  // namespace recd::core
