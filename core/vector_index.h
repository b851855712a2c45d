// The live item-vector index the server searches (DESIGN.md "ANN index"): a
// main HNSW index, immutable between rebuilds, plus an exact "fresh tier" for
// vectors added or changed since, and removals applied after search.
//
// Threads: ONE writer thread calls Upsert, Remove, Rebuild and Reset. Search,
// Get, size, fresh_size and NeedsRebuild may be called from any thread at any
// time, concurrently with the writer and with each other. Readers never block
// on the writer, not even during a Rebuild: they pin an immutable snapshot
// (a shared_ptr copied under a mutex held only for that copy) and read fresh
// rows the writer publishes with a release store of the row count, so they
// never see a torn row. Each search
// sees every item at most once, with one of its vectors: the one current when
// the search started or a newer one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ann_index.h"

namespace recd::core {

class VectorIndex {
 public:
  // INVALID_ARGUMENT naming the field for bad `options` or fresh_tier_max < 1.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<VectorIndex>> Create(
      const AnnOptions& options, int fresh_tier_max);

  // An empty index. REQUIRES: ValidateAnnOptions(options).ok() and
  // fresh_tier_max >= 1 (Create checks both).
  VectorIndex(AnnOptions options, int fresh_tier_max);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // ---- Writer thread only ----

  // Makes `v` (dim floats, copied) the vector of `id`: appended to the fresh
  // tier and scored exactly, superseding any earlier vector of `id`. Searches
  // starting after this returns see it.
  // Errors: INVALID_ARGUMENT for a non-finite value; RESOURCE_EXHAUSTED if the
  // fresh tier has 2^31 rows or memory runs out (Rebuild first).
  [[nodiscard]] absl::Status Upsert(uint32_t id, const float* v);

  // Drops `id`: searches starting after this returns never return it (until
  // it is upserted again). False if `id` was not present.
  bool Remove(uint32_t id);

  // Builds a new main index (BuildAnnIndex: exact when small enough, else
  // HNSW) from every live vector (main + fresh) and swaps
  // it in, emptying the fresh tier and forgetting removals. Blocks the caller
  // for the whole build (minutes for a million items); searches carry on with
  // the previous snapshot meanwhile. REQUIRES: called on the writer thread, so
  // no Upsert or Remove runs during the build and none is lost.
  // Errors: those of BuildHnswIndex; on error nothing changes.
  [[nodiscard]] absl::Status Rebuild();

  // Replaces the whole content with `main` (e.g. from LoadHnswIndex): the
  // fresh tier and removals are dropped.
  // Errors: INVALID_ARGUMENT if `main` is null or its dim differs.
  [[nodiscard]] absl::Status Reset(std::shared_ptr<const AnnIndex> main);

  // ---- Any thread ----

  // Top-n live vectors by inner product with `query` (dim floats), best first
  // (ties by ascending id), no id twice: the main index's approximate results
  // (over-fetched to make up for removed and superseded ids) merged with the
  // fresh tier's exact ones. Returns min(n, live) results, up to HNSW recall.
  // Empty when n <= 0 or the query has a non-finite value.
  std::vector<Neighbor> Search(const float* query, int n) const;

  // Copies the current vector of `id` into *out (resized to dim). False if
  // `id` is not live. Costs a scan of the fresh tier's ids.
  bool Get(uint32_t id, std::vector<float>* out) const;

  // Live vectors.
  size_t size() const { return live_.load(std::memory_order_relaxed); }
  // Rows appended to the fresh tier since the last Rebuild/Reset, superseded
  // and removed ones included: what each search scans exactly.
  size_t fresh_size() const { return fresh_rows_.load(std::memory_order_relaxed); }
  // fresh_size() > fresh_tier_max, or more than 20% of all rows (main +
  // fresh) are dead (removed or superseded).
  bool NeedsRebuild() const;

  const AnnOptions& options() const { return options_; }

 private:
  struct FreshChunk;
  struct FreshTier;
  struct MainPart;
  struct Snapshot;

  FreshChunk* ChunkForRow(uint32_t row);
  // Marks the live row of `id` dead with `value` (a fresh row or kRemoved).
  // False if `id` has no live row.
  bool Retire(uint32_t id, uint32_t value);
  // Makes `main` (holding exactly `ids`) the whole content and publishes it.
  void Install(std::shared_ptr<const AnnIndex> main, const std::vector<uint32_t>& ids);
  // Makes `next` what readers pin from now on.
  void Publish(std::shared_ptr<const Snapshot> next);
  std::shared_ptr<const Snapshot> Pin() const;
  // Frees a replaced main index here, on the writer thread, once no reader
  // holds it, so readers rarely pay for its destruction.
  void CollectGarbage();

  const AnnOptions options_;
  const int fresh_tier_max_;

  // What readers pin. (Not std::atomic<std::shared_ptr>: libstdc++ 12's
  // load() unlocks with a relaxed store, which ThreadSanitizer reports.)
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // guarded by snapshot_mu_

  // Writer-only state. The writer mutates the atomics inside main_ and fresh_
  // that readers see through snapshot_.
  std::shared_ptr<MainPart> main_;
  std::shared_ptr<FreshTier> fresh_;
  std::unordered_map<uint32_t, uint32_t> fresh_row_of_;  // live fresh id -> row
  std::shared_ptr<MainPart> replaced_main_;

  // Counters the writer keeps and any thread may read.
  std::atomic<size_t> live_{0};
  std::atomic<size_t> fresh_rows_{0};
  std::atomic<size_t> main_rows_{0};
  std::atomic<size_t> dead_rows_{0};
};

}  // namespace recd::core
