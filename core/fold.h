// The fold-in worker: a background thread that reads the event log from its
// own watermark and folds each event into derived state (DESIGN.md "Derived
// state has watermarks"):
//   - the user's state: per-item aggregates, counts per event type, the
//     session ring, decayed category/tag affinities, and the user vector by
//     the closed-form implicit-ALS fold-in against the current item vectors
//     (one solve per changed user per batch);
//   - item popularity (two half-lives; its lists republished at most every
//     kPopularityPublishInterval, so they trail by up to 20 ms) and session
//     co-visitation;
//   - attribution of events that carry a recommendation id to the source
//     that showed the item.
// A batch's user-state reads, user solves and co-visitation row encodings
// are spread over ingest.fold_threads threads; this thread alone changes
// state. A batch is published in memory first (its events are then
// visible: folded_seq) and then handed to a FoldWriter (core/fold_writer.h),
// which writes the changed state with the batch's watermark in one
// WriteBatch behind the fold-in: after a crash it resumes from the
// persisted watermark and no acknowledged event is missing from user state
// and popularity. Changed co-visitation rows are taken every
// recommend.covisit.persist_interval_seconds and handed over a bounded
// number per batch (all of them at Stop): a crash loses about that much of
// co-visitation pair counts. Folding uses event time only, so a replay
// gives the same state.
//
// Thread safety: Notify/folded_seq/WaitFolded from any thread; everything
// else happens on the worker thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/covisit.h"
#include "core/fold_writer.h"
#include "core/histogram.h"
#include "core/impressions.h"
#include "core/item_vectors.h"
#include "core/model.h"
#include "core/options.h"
#include "core/popularity.h"
#include "core/sources.h"
#include "core/user_store.h"
#include "core/worker_pool.h"
#include "storage/store.h"

namespace recd::core {

// What the worker reads and writes. All must outlive the worker.
struct FoldDeps {
  storage::Store* store;
  Catalog* catalog;
  Popularity* popularity;
  UserStore* users;
  Covisitation* covisit;
  const ModelHolder* model;
  const SlateCache* slates;
};

// Counters the worker keeps, read by metrics.
struct FoldStats {
  std::atomic<uint64_t> events_folded{0};
  std::atomic<uint64_t> events_skipped{0};  // unparsable records passed over
  std::atomic<uint64_t> solves_deferred{0};  // user solves left to readers
  // Vectors solved by a reader that the fold-in stored (RequestRefresh), and
  // of those the ones it solved again: the state or model changed between.
  std::atomic<uint64_t> vectors_refreshed{0};
  std::atomic<uint64_t> refreshes_resolved{0};
  Histogram lag_seconds;                    // commit (ack) -> state visible
  Histogram visible_seconds;                // receipt -> state visible (adds the commit)
  // Events carrying a recommendation id whose item that slate showed, by
  // source and event type (index into the sorted configured types).
  std::map<std::string, std::array<std::atomic<uint64_t>, kNumSources>> attributed;
};

class FoldWorker {
 public:
  // Reads the watermark and starts the thread, which first replays the
  // events after it. User vectors are solved against the model pinned for
  // each batch and tagged with its version.
  FoldWorker(FoldDeps deps, const EngineOptions* options, FoldStats* stats);
  ~FoldWorker();  // Stop()

  // Wakes the worker: events up to `seq` are in the log.
  void Notify(uint64_t seq);
  // A user vector a reader solved (SolveUserVector) because the stored one
  // was not current: the state it was solved from, and the model version.
  struct SolvedVector {
    UserStatePtr from;
    std::vector<float> vector;
    std::string model_version;
  };
  // Asks the worker to store `solved` as the vector of `user_key`, if that
  // user's vector is still not current: as given when the user's state is
  // still `solved.from` and the model still that version, else re-solved.
  // Bounded: requests beyond kMaxRefreshPending are dropped (a later read
  // asks again). Any thread; never blocks on the worker.
  void RequestRefresh(const std::string& user_key, SolvedVector solved);
  // Highest sequence number whose effects are visible to readers.
  uint64_t folded_seq() const { return folded_.load(std::memory_order_acquire); }
  // Highest sequence number whose effects are persisted (<= folded_seq()).
  uint64_t persisted_seq() const { return writer_->persisted_seq(); }
  // Folded events whose derived state the writer has not written yet.
  size_t unpersisted_events() const { return writer_->pending_events(); }
  // Seconds the worker has waited for the writer (FoldWriter::Push).
  double writer_wait_seconds() const { return writer_->push_wait_seconds(); }
  // Blocks until folded_seq() >= seq, and the popularity lists include seq
  // (asking the worker to republish them now rather than at its next
  // interval), or the timeout passes; returns whether it got there. For
  // start-up, shutdown and tests — never on a reactor.
  bool WaitFolded(uint64_t seq, double timeout_seconds);
  // Republishes the popularity lists from a full scan on the worker thread
  // and waits for it (at most timeout_seconds; false on timeout). For
  // replays that must give the same lists whatever their batch timing
  // (`recd eval`); never on a reactor.
  bool RepublishPopularity(double timeout_seconds);
  // Folds what is in the log, then stops the thread.
  void Stop();

 private:
  void Run();
  // Folds events (watermark, up to max_batch_events]; returns how many.
  absl::StatusOr<int> FoldBatch();
  // Encodes up to `max_rows` of the pending co-visitation rows into `out`.
  void TakeCovisitRows(size_t max_rows, DerivedBatch* out);
  // Re-solves the users asked for by RequestRefresh; returns how many.
  absl::StatusOr<int> RefreshUsers();
  // Hands all of them to the writer (at Stop).
  void FlushCovisitRows();

  FoldDeps deps_;
  const EngineOptions* options_;
  FoldStats* stats_;

  std::mutex mu_;
  std::condition_variable cv_;         // worker waits for work
  std::condition_variable folded_cv_;  // WaitFolded waits for progress
  uint64_t target_ = 0;
  // Whether no committed event waits, and since when events have been
  // waiting without a break (solve deferral). Guarded by mu_.
  bool caught_up_ = true;
  std::chrono::steady_clock::time_point waiting_since_;
  // (last seq, wall time in us) of each commit notified and not yet folded:
  // the ack time of its events (lag_seconds). Guarded by mu_.
  static constexpr size_t kMaxAcks = 100000;
  std::deque<std::pair<uint64_t, int64_t>> acks_;
  bool stopping_ = false;
  uint64_t republish_asked_ = 0, republish_done_ = 0;  // guarded by mu_
  static constexpr size_t kMaxRefreshPending = 10000;
  std::unordered_map<std::string, SolvedVector> refresh_;  // guarded by mu_
  std::atomic<uint64_t> folded_{0};
  // Co-visitation rows changed since the last take, written
  // kCovisitRowsPerEvent per event of a batch or kCovisitRowsPerSecond
  // since the previous batch, whichever is more, at most kCovisitRowsMax
  // (worker thread only). A take happens every
  // options_->covisit_persist_seconds once the previous one is written.
  static constexpr size_t kCovisitRowsPerEvent = 1;
  static constexpr double kCovisitRowsPerSecond = 1000;
  static constexpr size_t kCovisitRowsMax = 2000;
  std::vector<uint32_t> covisit_pending_;
  size_t covisit_next_ = 0;
  std::chrono::steady_clock::time_point last_covisit_take_;
  std::chrono::steady_clock::time_point last_batch_ = std::chrono::steady_clock::now();
  // The popularity lists are republished at most every
  // kPopularityPublishInterval, and when a WaitFolded caller needs them:
  // they include events up to popularity_seq_; WaitFolded asks for
  // popularity_asked_. Guarded by mu_.
  static constexpr auto kPopularityPublishInterval = std::chrono::milliseconds(20);
  uint64_t popularity_seq_ = 0, popularity_asked_ = 0;
  std::chrono::steady_clock::time_point last_popularity_publish_;  // worker thread only
  // Whether events are folded but not in the lists, and a waiter asked for
  // them or the interval has passed (worker thread, mu_ held).
  bool PopularityDue() const;
  // Republishes the popularity lists (worker thread).
  void PublishPopularity(bool full);

  // The event log, followed from the watermark (worker thread only).
  std::unique_ptr<storage::Store::Tailer> events_;
  // Helpers for the batch's independent work (options->fold_threads - 1).
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<FoldWriter> writer_;  // stopped after thread_
  std::thread thread_;
};

// Whether the vector of `state` is its solution against `model`: solved
// against that version, and no event folded since (vector_stale). Else a
// reader solves it (SolveUserVector) and asks the fold-in to store it.
bool VectorCurrent(const recd::v1::records::UserState& state, const LiveModel& model);

// Solves the user vector of `state` against `model` from the user's
// `max_items` most recent items (recommend.user_recent_items; <= 0: all) by
// the implicit-ALS fold-in, warm-started from the state's own vector when it
// was solved against the same model version, with the model's alpha and
// lambda. False when none of those items has a vector. Any thread.
bool SolveUserVector(const recd::v1::records::UserState& state, const Catalog& catalog,
                     const LiveModel& model, int max_items, std::vector<float>* out);
// The same with the dense ids of state.items() already resolved
// (ItemDenseIds; item_dense.size() == items_size()).
bool SolveUserVector(const recd::v1::records::UserState& state,
                     std::span<const std::optional<uint32_t>> item_dense, const LiveModel& model,
                     int max_items, std::vector<float>* out);

}  // namespace recd::core
