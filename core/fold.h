// The fold-in worker: a background thread that reads the event log from its
// own watermark and folds each event into derived state — the user's state
// (per-item aggregates) and the items' trending scores — then writes the
// changed state and the new watermark in one WriteBatch (DESIGN.md "Derived
// state has watermarks"). After a crash it resumes from the watermark, so no
// acknowledged event is missing from the state. Folding uses event time
// only, so a replay gives the same state.
//
// Thread safety: Notify/folded_seq/WaitFolded from any thread; everything
// else happens on the worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "core/catalog.h"
#include "core/trending.h"
#include "core/user_store.h"
#include "storage/store.h"

namespace recd::core {

struct FoldOptions {
  std::map<std::string, double> event_weights;
  int max_user_items = 500;
  int max_batch_events = 2000;
};

class FoldWorker {
 public:
  // Reads the watermark and starts the thread, which first replays the
  // events after it. REQUIRES: the other objects outlive this one.
  FoldWorker(storage::Store* store, Catalog* catalog, Trending* trending, UserStore* users,
             FoldOptions options);
  ~FoldWorker();  // Stop()

  // Wakes the worker: events up to `seq` are in the log.
  void Notify(uint64_t seq);
  // Highest sequence number whose effects are visible to readers.
  uint64_t folded_seq() const { return folded_.load(std::memory_order_acquire); }
  // Blocks until folded_seq() >= seq or the timeout passes; returns whether
  // it got there. For start-up, shutdown and tests — never on a reactor.
  bool WaitFolded(uint64_t seq, double timeout_seconds);
  // Folds what is in the log, then stops the thread.
  void Stop();

 private:
  void Run();
  // Folds events (watermark, up to max_batch_events]; returns how many.
  absl::StatusOr<int> FoldBatch();

  storage::Store* store_;
  Catalog* catalog_;
  Trending* trending_;
  UserStore* users_;
  FoldOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;       // worker waits for work
  std::condition_variable folded_cv_;  // WaitFolded waits for progress
  uint64_t target_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> folded_{0};
  static constexpr std::chrono::milliseconds kPublishInterval{200};
  std::chrono::steady_clock::time_point last_publish_;  // worker thread only
  std::thread thread_;
};

}  // namespace recd::core
