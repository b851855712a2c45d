#include "core/worker_pool.h"

#include <pthread.h>

#include <algorithm>
#include <system_error>

namespace recd::core {

WorkerPool::WorkerPool(int helpers, const std::string& name) {
  for (int i = 0; i < helpers; ++i) {
    try {
      helpers_.emplace_back([this, name] {
        pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
        HelperLoop();
      });
    } catch (const std::system_error&) {
      break;
    }
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : helpers_) t.join();
}

void WorkerPool::Drain(const std::function<void(size_t)>& fn, size_t n) {
  for (size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n;
       i = next_.fetch_add(1, std::memory_order_relaxed)) {
    fn(i);
  }
}

void WorkerPool::HelperLoop() {
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || (fn_ != nullptr && generation_ != seen); });
    if (stopping_) return;
    seen = generation_;
    const std::function<void(size_t)>* fn = fn_;
    const size_t n = n_;
    ++busy_;
    lock.unlock();
    Drain(*fn, n);
    lock.lock();
    if (--busy_ == 0) done_cv_.notify_one();
  }
}

void WorkerPool::ForEach(size_t n, const std::function<void(size_t)>& fn, size_t min_parallel) {
  if (helpers_.empty() || n < std::max<size_t>(min_parallel, 2)) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard lock(mu_);
    next_.store(0, std::memory_order_relaxed);
    fn_ = &fn;
    n_ = n;
    ++generation_;
  }
  work_cv_.notify_all();
  Drain(fn, n);
  // Every index is claimed: close the loop, so a helper that wakes only now
  // does not join it, and wait for those running a claimed index.
  std::unique_lock lock(mu_);
  fn_ = nullptr;
  done_cv_.wait(lock, [&] { return busy_ == 0; });
}

}  // namespace recd::core
