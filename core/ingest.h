// The commit thread: the single owner of event sequence numbers and the
// single writer of the events, event_ids and items column families
// (DESIGN.md "Write path and durability").
//
// Handlers validate and Submit; the commit thread drains the queue, drops
// duplicate event ids, assigns sequence numbers and writes one WriteBatch
// per group (one WAL sync per group), then answers every waiting call and
// wakes the fold-in worker. Catalog writes are tasks run on the same thread,
// in submission order.
//
// Thread safety: Submit*/Stop from any thread; callbacks run on the commit
// thread and must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "recd/v1/records.pb.h"
#include "storage/store.h"

namespace recd::core {

struct CommitResult {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t last_seq = 0;  // 0 when nothing was written
};

struct IngestOptions {
  bool fsync = true;
  int queue_capacity = 100000;
  int max_batch_events = 2000;
  double dedupe_window_seconds = 86400;
};

class Ingestor {
 public:
  using EventsDone = std::function<void(const absl::Status&, const CommitResult&)>;
  // Called on the commit thread after each successful group write with the
  // group's events (for statistics) and the new last sequence number.
  using OnCommit =
      std::function<void(const std::vector<recd::v1::records::StoredEvent>&, uint64_t last_seq)>;

  // Starts the commit thread. REQUIRES: store outlives this object.
  Ingestor(storage::Store* store, IngestOptions options, OnCommit on_commit);
  ~Ingestor();  // Stop()

  // Queues events (seq and received time are filled in here). Returns
  // RESOURCE_EXHAUSTED (and never calls done) when the queue is full or the
  // ingestor is stopped; otherwise done is called exactly once.
  [[nodiscard]] absl::Status SubmitEvents(std::vector<recd::v1::records::StoredEvent> events,
                                          EventsDone done);
  // Queues a task to run on the commit thread (catalog writes). Returns
  // UNAVAILABLE when stopped.
  [[nodiscard]] absl::Status SubmitTask(std::function<void()> task);

  // Writes everything queued so far, then stops the thread. Idempotent.
  void Stop();

  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  size_t queued_events() const { return queued_events_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::vector<recd::v1::records::StoredEvent> events;
    EventsDone done;
    std::function<void()> task;
  };
  void Run();
  void CommitGroup(std::vector<Entry>& group);

  storage::Store* store_;
  IngestOptions options_;
  OnCommit on_commit_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Entry> queue_;
  bool stopping_ = false;
  std::atomic<size_t> queued_events_{0};
  std::atomic<uint64_t> last_seq_{0};
  std::thread thread_;
};

}  // namespace recd::core
