// A fork-join pool: a fixed set of helper threads that run one parallel loop
// at a time together with the calling thread. The fold-in uses it to spread
// the independent parts of a batch (user solves and encodings, co-visitation
// row encodings) over the machine's cores while it stays the only writer.
//
// Thread safety: ForEach from one thread at a time (the owner); the helpers
// only run the function it passes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace recd::core {

class WorkerPool {
 public:
  // Starts `helpers` threads (>= 0) named `name` (at most 15 chars shown).
  // A helper that cannot be started is left out: its share falls to the rest.
  WorkerPool(int helpers, const std::string& name);
  ~WorkerPool();  // joins the helpers
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Calls fn(i) once for every i in [0, n), on the caller and the helpers,
  // and returns when every call has returned. Loops shorter than
  // `min_parallel` run on the caller alone (waking a helper costs more than
  // a few small calls). fn must not throw.
  void ForEach(size_t n, const std::function<void(size_t)>& fn, size_t min_parallel = 2);

  // Threads a loop runs on: the helpers started, plus the caller.
  int threads() const { return static_cast<int>(helpers_.size()) + 1; }

 private:
  void HelperLoop();
  // Claims and runs indices of the loop until none are left.
  void Drain(const std::function<void(size_t)>& fn, size_t n);

  std::mutex mu_;
  std::condition_variable work_cv_;  // helpers wait for a loop (or stop)
  std::condition_variable done_cv_;  // the caller waits for helpers to finish
  uint64_t generation_ = 0;          // guarded by mu_; +1 per parallel loop
  // The open loop (null once the caller has run out of indices: a helper
  // that wakes later has nothing to join). Guarded by mu_.
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;                 // guarded by mu_
  int busy_ = 0;                 // guarded by mu_; helpers inside the open loop
  bool stopping_ = false;        // guarded by mu_
  std::atomic<size_t> next_{0};  // next unclaimed index
  std::vector<std::thread> helpers_;
};

}  // namespace recd::core
