// Item vectors by dense id, for the online model: the user-vector fold-in
// reads a user's item vectors and YᵀY (the Gramian of all item vectors),
// MMR diversity reads candidates' vectors.
//
// A trained model's vectors are not copied: SetBase points each row at the
// vector its ANN index stores (the index is immutable and co-owned here, so
// it outlives every read). Only vectors set afterwards (label-map vectors of
// new items, a catalog model's item vectors) are stored here, in a pool of
// rows reused after Clear. At 1M x 64-d the copy was 261 B per item.
//
// Storage: per item a seqlock word, an own-row slot and a base pointer, in
// fixed-size chunks reached through a directory of atomic chunk pointers
// (chunks never move); readers never wait and never see a torn vector.
//
// Thread safety: SetBase/Set/Clear/ResetGramian/PublishGramian from one
// writer thread (the commit thread, or the loader before the model is
// published); Get/Has/Gramian/dim/count from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace recd::core {
class AnnIndex;
}  // namespace recd::core

namespace recd::core {

class ItemVectors {
 public:
  explicit ItemVectors(int dim);
  ~ItemVectors();
  ItemVectors(const ItemVectors&) = delete;
  ItemVectors& operator=(const ItemVectors&) = delete;

  int dim() const { return dim_; }

  // Writer: makes `base` (an index of this dim) the source of every vector
  // it holds, replacing nothing set here. For a model being built, before
  // readers see it; YᵀY is not touched (call ResetGramian).
  void SetBase(std::shared_ptr<const AnnIndex> base);
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
  // Get of each of `items` into out + i * dim (present[i]: whether it had
  // one; rows without are left as they were). The reads overlap: a row's
  // slots and then its vector are prefetched a few items ahead, where a
  // loop of Get waits for each miss in turn (~4 cache misses per vector at a
  // million items).
  void GetMany(std::span<const uint32_t> items, float* out, bool* present) const;
  // Whether `item` has a vector.
  bool Has(uint32_t item) const;
  // YᵀY as last published, dim*dim row-major, in double for the fold-in's
  // exact solve and in float for its conjugate-gradient steps (twice the
  // SIMD lanes per instruction). Both are cast once here, not per solve.
  struct YtY {
    std::vector<double> d;
    std::vector<float> f;
  };
  std::shared_ptr<const YtY> Gramian() const { return std::atomic_load(&gramian_); }
  size_t count() const { return count_.load(std::memory_order_relaxed); }

  static constexpr uint32_t kRowsPerChunk = 4096;
  static constexpr uint32_t kMaxChunks = 4096;  // 16.7M items
  static constexpr uint32_t kMaxItems = kRowsPerChunk * kMaxChunks;
  static constexpr uint32_t kOwnRowsPerChunk = 256;
  static constexpr uint32_t kMaxOwnChunks = kMaxItems / kOwnRowsPerChunk;

 private:
  struct Chunk;
  struct OwnChunk;
  Chunk* ChunkFor(uint32_t item, bool create);
  std::atomic<float>* OwnRow(uint32_t slot) const;
  // Prefetch hints for GetMany: the item's slots, then (once those are in)
  // its vector.
  void PrefetchSlots(uint32_t item) const;
  void PrefetchVector(uint32_t item) const;
  // Copies the current vector of `item` (writer thread: no race).
  bool ReadForWriter(uint32_t item, float* out) const;

  const int dim_;
  std::array<std::atomic<Chunk*>, kMaxChunks> chunks_{};
  std::unique_ptr<std::atomic<OwnChunk*>[]> own_chunks_;  // kMaxOwnChunks
  uint32_t own_rows_ = 0;                                 // writer: own rows allocated
  std::vector<uint32_t> free_own_;                        // writer: own rows to reuse
  std::shared_ptr<const AnnIndex> base_;                  // writer sets once, before readers
  std::vector<double> yty_;  // writer's running YᵀY (double: many updates)
  std::shared_ptr<const YtY> gramian_;
  std::atomic<size_t> count_{0};
};

}  // namespace recd::core
