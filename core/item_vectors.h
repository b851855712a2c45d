// Item vectors by dense id, for the online model: the user-vector fold-in
// reads a user's item vectors and YᵀY (the Gramian of all item vectors),
// MMR diversity reads candidates' vectors. (The vector index keeps its own
// copy for search.)
//
// Storage: fixed-size chunks of rows reached through a directory of atomic
// chunk pointers (chunks never move); each row is guarded by a seqlock, so
// readers never wait and never see a torn vector.
//
// Thread safety: Set/Clear/PublishGramian from one writer thread (the commit
// thread); Get/Gramian/dim from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace recd::core {

class ItemVectors {
 public:
  explicit ItemVectors(int dim);
  ~ItemVectors();
  ItemVectors(const ItemVectors&) = delete;
  ItemVectors& operator=(const ItemVectors&) = delete;

  int dim() const { return dim_; }

  // Writer: sets or replaces the vector (dim floats) of `item` and, unless
  // `update_gramian` is false, YᵀY. Ids beyond kMaxItems are ignored (false).
  // Bulk loads skip the O(dim²) update per row and call ResetGramian once.
  bool Set(uint32_t item, const float* v, bool update_gramian = true);
  // Writer: replaces the running YᵀY with `yty` (dim*dim, row-major), e.g. a
  // model's cached Gramian after a bulk load, and publishes it.
  void ResetGramian(const float* yty);
  // Writer: drops the vector of `item` (and its share of YᵀY).
  void Clear(uint32_t item);
  // Writer: publishes the current YᵀY to readers.
  void PublishGramian();

  // Copies the vector of `item` into out (dim floats); false if none.
  bool Get(uint32_t item, float* out) const;
  // Whether `item` has a vector.
  bool Has(uint32_t item) const;
  // YᵀY as last published, dim*dim row-major, in double: the fold-in's
  // solves read it as is (a float copy was cast per solve).
  std::shared_ptr<const std::vector<double>> Gramian() const {
    return std::atomic_load(&gramian_);
  }
  size_t count() const { return count_.load(std::memory_order_relaxed); }

  static constexpr uint32_t kRowsPerChunk = 4096;
  static constexpr uint32_t kMaxChunks = 4096;  // 16.7M items
  static constexpr uint32_t kMaxItems = kRowsPerChunk * kMaxChunks;

 private:
  struct Chunk;
  Chunk* ChunkFor(uint32_t item, bool create);

  const int dim_;
  std::array<std::atomic<Chunk*>, kMaxChunks> chunks_{};
  std::vector<double> yty_;  // writer's running YᵀY (double: many updates)
  std::shared_ptr<const std::vector<double>> gramian_;
  std::atomic<size_t> count_{0};
};

}  // namespace recd::core
