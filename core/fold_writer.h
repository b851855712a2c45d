// Persists the fold-in's derived state behind it (DESIGN.md "Derived state
// has watermarks"). The fold-in publishes a batch's effects in memory first
// — that is when its events are visible — and hands the batch here. This
// thread writes whatever batches are queued together, in one WriteBatch:
// the latest state of each key once, with the highest watermark among
// them. So the persisted watermark never runs ahead of the persisted state,
// and after a crash the fold-in replays from it; folding is deterministic,
// so the replay rebuilds exactly what readers had seen.
//
// A RocksDB stall (memtable flush, compaction, a slow disk) then delays
// persistence, not visibility. Memory stays bounded: Push blocks while
// more than `max_pending_events` events are queued unwritten, which stalls
// the fold-in and, through ingest.max_fold_lag_events, refuses Track.
// User states stay readable until written: UserStore pins every state it
// is given until MarkPersisted, so eviction cannot expose an older one.
//
// A failed write is retried (every 100 ms) with everything queued since;
// nothing is applied twice, since the in-memory state moved on already.
//
// Thread safety: Push and Stop from one thread (the fold-in); the rest
// from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/user_store.h"
#include "storage/store.h"

namespace recd::core {

// An item's popularity at a batch's end (records.ItemStats, encoded here).
struct ItemStatsUpdate {
  std::string id;
  double trending = 0, popular = 0;
  int64_t clock_us = 0;
};

// What one fold-in step changed, up to and including `watermark`.
struct DerivedBatch {
  uint64_t watermark = 0;
  size_t events = 0;                                        // counted against max_pending_events
  std::vector<std::pair<std::string, UserStatePtr>> users;  // key -> state
  std::vector<ItemStatsUpdate> item_stats;
  std::vector<std::pair<std::string, std::string>> covisit;  // id -> row ("": delete)
};

class FoldWriter {
 public:
  // `persisted`: the watermark already in the store.
  FoldWriter(storage::Store* store, UserStore* users, uint64_t persisted,
             size_t max_pending_events);
  ~FoldWriter();  // Stop()

  // Queues a batch; blocks while the queue holds max_pending_events events
  // (a batch larger than that waits for an empty queue), but not once Stop
  // has begun (the batch is then written, or given up, with the rest).
  void Push(DerivedBatch batch);
  // Highest watermark written to the store.
  uint64_t persisted_seq() const { return persisted_.load(std::memory_order_acquire); }
  // Events queued or being written.
  size_t pending_events() const;
  // Seconds Push has blocked since start (the fold-in waiting for this
  // writer: max_pending_events reached).
  double push_wait_seconds() const {
    return static_cast<double>(push_wait_us_.load(std::memory_order_relaxed)) / 1e6;
  }
  // Writes everything queued, then stops the thread.
  void Stop();

 private:
  // Scheduling niceness of the writer thread (Linux: per thread).
  static constexpr int kWriterNice = 10;
  void Run();
  // One WriteBatch for `group`, latest state per key; sets *written to
  // the watermark it wrote.
  absl::Status Write(const std::vector<DerivedBatch>& group, uint64_t* written);

  storage::Store* store_;
  UserStore* users_;
  const size_t max_pending_events_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // the thread waits for batches
  std::condition_variable space_cv_;  // Push waits for room
  std::deque<DerivedBatch> queue_;    // guarded by mu_
  size_t pending_events_ = 0;         // queued + being written; guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::atomic<uint64_t> persisted_;
  std::atomic<uint64_t> push_wait_us_{0};
  std::thread thread_;
};

}  // namespace recd::core
