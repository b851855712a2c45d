// A growable array of doubles that one writer sets and extends while any
// thread reads, without a lock: fixed-size chunks that never move, each
// published through an atomic pointer in a directory sized for every
// uint32 index. Slots never written read as the fill value.
//
// Thread safety: Set from one writer thread; Get and size from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace recd::core {

class AtomicDoubleArray {
 public:
  explicit AtomicDoubleArray(double fill)
      : fill_(fill), dir_(new std::atomic<std::atomic<double>*>[kMaxChunks]()) {}
  ~AtomicDoubleArray() {
    for (size_t c = 0; c < kMaxChunks; ++c) delete[] dir_[c].load(std::memory_order_relaxed);
  }
  AtomicDoubleArray(const AtomicDoubleArray&) = delete;
  AtomicDoubleArray& operator=(const AtomicDoubleArray&) = delete;

  double Get(uint32_t i) const {
    const std::atomic<double>* chunk = dir_[i >> kShift].load(std::memory_order_acquire);
    return chunk == nullptr ? fill_ : chunk[i & kMask].load(std::memory_order_relaxed);
  }
  // Starts loading slot i (a hint: a Get soon after need not wait).
  void Prefetch(uint32_t i) const {
    const std::atomic<double>* chunk = dir_[i >> kShift].load(std::memory_order_acquire);
    if (chunk != nullptr) __builtin_prefetch(&chunk[i & kMask]);
  }
  void Set(uint32_t i, double v) {
    std::atomic<double>* chunk = dir_[i >> kShift].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      chunk = new std::atomic<double>[kChunk];
      for (size_t j = 0; j < kChunk; ++j) chunk[j].store(fill_, std::memory_order_relaxed);
      dir_[i >> kShift].store(chunk, std::memory_order_release);
    }
    chunk[i & kMask].store(v, std::memory_order_relaxed);
    if (i >= size_.load(std::memory_order_relaxed)) size_.store(i + 1, std::memory_order_release);
  }
  // Highest index set + 1.
  size_t size() const { return size_.load(std::memory_order_acquire); }

 private:
  static constexpr int kShift = 16;
  static constexpr size_t kChunk = size_t{1} << kShift;
  static constexpr uint32_t kMask = kChunk - 1;
  static constexpr size_t kMaxChunks = (size_t{1} << 32) >> kShift;

  const double fill_;
  std::unique_ptr<std::atomic<std::atomic<double>*>[]> dir_;
  std::atomic<size_t> size_{0};
};

}  // namespace recd::core
