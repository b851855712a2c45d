// The engine: everything recd keeps on one host, wired together — the
// RocksDB store, the in-memory catalog, item vectors and the vector index,
// popularity, co-visitation, the content index, user states, the commit
// thread (Ingestor), the fold-in worker and the impression log — behind the
// calls the gRPC layer needs. No gRPC types here.
//
// Thread safety: every public method may be called from any thread. The
// *Async methods never block: they queue work for the commit thread and call
// `done` from it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/content_index.h"
#include "core/covisit.h"
#include "core/fold.h"
#include "core/impressions.h"
#include "core/ingest.h"
#include "core/item_vectors.h"
#include "core/model.h"
#include "core/options.h"
#include "core/popularity.h"
#include "core/recommender.h"
#include "core/user_store.h"
#include "core/validate.h"
#include "core/vector_index.h"
#include "recd/v1/recd.pb.h"
#include "storage/store.h"

namespace recd::core {

struct EngineStats {
  uint64_t items = 0;          // live catalog items
  uint64_t vectors = 0;        // live vectors in the index
  uint64_t fresh_vectors = 0;  // of which in the exact fresh tier
  std::string model_version;   // serving model
  bool model_trained = false;
  uint64_t last_seq = 0;       // last committed event
  uint64_t folded_seq = 0;     // last folded event (visible)
  uint64_t persisted_seq = 0;  // last event whose derived state is written
  uint64_t unpersisted_events = 0;  // folded, derived state not yet written
  double fold_writer_wait_seconds = 0;  // fold-in blocked on its writer since start
  uint64_t queued_events = 0;  // waiting for the commit thread
  uint64_t events_folded = 0;
  uint64_t events_skipped = 0;  // unparsable log records passed over
  uint64_t solves_deferred = 0;  // user-vector solves the fold-in left to readers
  uint64_t vectors_refreshed = 0;   // reader-solved vectors the fold-in stored
  uint64_t refreshes_resolved = 0;  // of those, solved again (state or model changed)
  uint64_t impressions_dropped = 0;
  std::map<std::string, uint64_t> events_by_type;  // committed since start
  std::array<uint64_t, kNumSources> shown_by_source{};
  // type -> per-source events attributed to a shown slate
  std::map<std::string, std::array<uint64_t, kNumSources>> attributed;
};

// What a model load did (Engine::LoadModel).
struct ModelLoadResult {
  std::string version;
  uint64_t items = 0;       // rows of the snapshot
  uint64_t cold_items = 0;  // catalog items given a label-map vector at load
  double gate_recall = 0;   // HNSW recall@10 vs exact on sampled rows
  double seconds = 0;       // wall time of the whole load
  bool already_loaded = false;
};

struct RecommendResult {
  std::string recommendation_id;
  std::string model_version;
  uint64_t folded_seq = 0;  // state reflects events up to here
  Slate slate;
};

class Engine {
 public:
  // Opens the store in options.data_dir, loads the catalog, vectors and
  // derived state, builds the index, and starts the commit and fold-in
  // threads (which replay any events not yet folded).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();  // Shutdown()

  const EngineOptions& options() const { return options_; }

  // Track: events already validated (ConvertEvents). RESOURCE_EXHAUSTED
  // (nothing written, done not called) when the commit queue is full or
  // the fold-in lags more than max_fold_lag_events behind.
  [[nodiscard]] absl::Status TrackAsync(std::vector<recd::v1::records::StoredEvent> events,
                                        Ingestor::EventsDone done);

  using CountDone = std::function<void(const absl::Status&, uint64_t count, uint64_t missing)>;
  // Items already validated (ValidateItem). Written atomically; recommendable
  // when done is called. done(status, upserted, 0).
  [[nodiscard]] absl::Status UpsertItemsAsync(std::vector<recd::v1::Item> items, CountDone done);
  // done(status, deleted, not_found).
  [[nodiscard]] absl::Status DeleteItemsAsync(std::vector<std::string> ids, CountDone done);

  // Reads an item from the store; nullopt when absent. (A disk read.)
  [[nodiscard]] absl::StatusOr<std::optional<recd::v1::Item>> GetItem(const std::string& id) const;

  // Ranks, logs the impressions (asynchronously) and remembers the slate
  // for attribution.
  [[nodiscard]] absl::StatusOr<RecommendResult> Recommend(const RecommendQuery& q);
  // Related items of item_id (Recommender::Related); logged the same way.
  [[nodiscard]] absl::StatusOr<RecommendResult> Related(const RecommendQuery& q,
                                                        const std::string& item_id);

  uint64_t folded_seq() const { return fold_->folded_seq(); }
  bool WaitFolded(uint64_t seq, double timeout_seconds) {
    return fold_->WaitFolded(seq, timeout_seconds);
  }
  // Rebuilds the popularity lists from a full scan (see FoldWorker), so a
  // replay's lists do not depend on its batch timing. Blocks.
  bool RepublishPopularity(double timeout_seconds) {
    return fold_->RepublishPopularity(timeout_seconds);
  }
  // Model version the scores come from. Until a trained model is loaded the
  // vectors are those given in the catalog ("catalog").
  std::string model_version() const { return model_.Pin()->version; }

  // Loads the model snapshot directory `dir` (core/model_files.h) in the
  // background and swaps it in atomically: requests already running finish
  // on the old model, later ones use the new one; none fails. The snapshot
  // is verified (checksums, sizes, finite values) and gated (HNSW recall@10
  // against exact search on sampled rows >= kModelGateRecall) before the
  // swap; on any failure the current model stays and `done` gets the error.
  // The loaded snapshot is kept in <data_dir>/models/<version> (hard links
  // when possible) and named in <data_dir>/models/CURRENT, so a restart
  // loads it again; the previous one is kept for rollback, older ones are
  // deleted. Catalog items without a vector in the model get one from its
  // label map. `done` runs on the loader or the commit thread.
  // Returns FAILED_PRECONDITION (done not called) while another load runs or
  // after Shutdown.
  using ModelDone = std::function<void(absl::StatusOr<ModelLoadResult>)>;
  [[nodiscard]] absl::Status LoadModelAsync(std::string dir, ModelDone done);
  // The same, waiting for the result (tools and tests; never on a reactor).
  [[nodiscard]] absl::StatusOr<ModelLoadResult> LoadModel(const std::string& dir);
  static constexpr double kModelGateRecall = 0.8;
  EngineStats Stats() const;
  const Histogram& fold_lag() const { return fold_stats_.lag_seconds; }
  const Histogram& event_visible() const { return fold_stats_.visible_seconds; }
  bool CatalogEmpty() const { return catalog_.size() == 0; }

  // Stops taking writes, commits and folds what was queued, writes the
  // buffered impressions, flushes the store. Idempotent.
  void Shutdown();

 private:
  explicit Engine(const EngineOptions& options);
  absl::Status Load();
  // Load: restores the covisit CF, counting rows skipped as unreadable.
  absl::Status RestoreCovisitation(uint64_t* skipped);
  // Commit thread (or Load, with loading = true).
  void ApplyUpsert(const recd::v1::Item& item, LiveModel& model, bool loading = false);
  void UpsertIndex(LiveModel& model, const std::string& id, uint32_t dense, const float* v);
  // Reads, verifies and (with `gate`) gates the snapshot at `dir` into a
  // model ready to swap in (no catalog item reconciled yet). Any thread.
  absl::StatusOr<std::shared_ptr<LiveModel>> PrepareModel(const std::string& dir, bool gate,
                                                          ModelLoadResult* result);
  // Gives catalog items without a vector in `model` one from its label map;
  // publishes YᵀY; rebuilds the index if the fresh tier overflowed. Commit
  // thread (or Load, before the threads start). Returns how many it gave.
  uint64_t ReconcileModel(LiveModel& model);
  // Copies (hard-links) the snapshot into <data_dir>/models/<version>.
  absl::StatusOr<std::string> KeepSnapshot(const std::string& dir, const std::string& version);
  // Names `version` in models/CURRENT and prunes old snapshots.
  absl::Status MarkCurrent(const std::string& version);
  absl::StatusOr<RecommendResult> Log(const RecommendQuery& q, std::string recommendation_id,
                                      uint64_t folded, absl::StatusOr<Slate> slate);
  void FlushImpressions();  // commit thread

  EngineOptions options_;
  std::unique_ptr<storage::Store> store_;
  Catalog catalog_;
  ModelHolder model_;
  std::shared_ptr<LiveModel> writer_model_;  // commit thread: the model it updates
  std::unique_ptr<Popularity> popularity_;
  std::unique_ptr<Covisitation> covisit_;
  std::unique_ptr<ContentIndex> content_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<SlateCache> slates_;
  std::unique_ptr<ImpressionBuffer> impressions_;
  FoldStats fold_stats_;
  std::unique_ptr<FoldWorker> fold_;
  std::unique_ptr<Ingestor> ingest_;
  std::unique_ptr<Recommender> recommender_;
  std::map<std::string, std::atomic<uint64_t>> events_by_type_;
  std::array<std::atomic<uint64_t>, kNumSources> shown_by_source_{};
  std::atomic<bool> shut_down_{false};
  std::mutex loader_mu_;  // guards loader_ and loading_
  std::thread loader_;
  bool loading_ = false;
};

}  // namespace recd::core
