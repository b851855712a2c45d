// Approximate nearest-neighbour search by inner product (maximum inner product
// search, MIPS) over item vectors. See DESIGN.md "ANN index".
//
// This header is the whole interface; the HNSW implementation lives in
// core/hnsw_index.{h,cc}, the only file that includes hnswlib.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recd::core {

// One search result. `score` is the exact inner product of the query with the
// item's vector: higher is better.
struct Neighbor {
  uint32_t id;
  float score;
};

struct AnnOptions {
  // Vector length; every vector and query has exactly `dim` floats. >= 1.
  int dim = 32;
  // HNSW graph degree (hnswlib M). In [2, 128].
  int m = 16;
  // Candidate list size while building. >= 1.
  int ef_construction = 200;
  // Candidate list size while searching; a search for n results uses
  // max(ef_search, n). >= 1.
  int ef_search = 100;
  // Threads used to build an index. In [1, 256].
  int num_threads = 2;
  // BuildAnnIndex: at most this many rows get an exact (brute-force) index
  // instead of HNSW. >= 0; 0 = always HNSW.
  int exact_max_items = 0;
};

// OK, or INVALID_ARGUMENT naming the first field out of range.
[[nodiscard]] absl::Status ValidateAnnOptions(const AnnOptions& options);

// An immutable index: after construction nothing changes it, so Search and the
// accessors are safe from any number of threads at once.
class AnnIndex {
 public:
  virtual ~AnnIndex() = default;

  // Approximate top-n by inner product with `query` (dim() floats), best
  // first, ties by ascending id; min(n, size()) results, no id twice. Empty
  // when n <= 0 or the query has a non-finite value.
  virtual std::vector<Neighbor> Search(const float* query, int n) const = 0;

  // Copies the vector of `id` into out[0, dim()). False if `id` is absent.
  virtual bool GetVector(uint32_t id, float* out) const = 0;
  // The stored vector of `id` (dim() floats, valid for the index's
  // lifetime), or null if `id` is absent: ItemVectors reads a model's
  // vectors here instead of keeping a second copy.
  virtual const float* VectorData(uint32_t id) const = 0;

  // Every id in the index, in no particular order.
  virtual std::vector<uint32_t> Ids() const = 0;

  virtual size_t size() const = 0;
  virtual int dim() const = 0;
};

// Builds an HNSW index for maximum inner product search over `count` rows of
// `vectors` (row-major, options.dim floats each) with external ids `ids`.
// Uses options.num_threads threads and blocks until done (a million 64-d rows
// take minutes). The inputs are copied; the caller keeps ownership.
// Errors: INVALID_ARGUMENT for bad options (names the field), a null pointer
// with count > 0, a duplicate id or a non-finite value; RESOURCE_EXHAUSTED if
// memory runs out; INTERNAL for any other failure inside hnswlib.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AnnIndex>> BuildHnswIndex(const AnnOptions& options,
                                                                       const uint32_t* ids,
                                                                       const float* vectors,
                                                                       size_t count);

// An exact index: Search scores every row (ExactSearch). Same contract as
// the HNSW index, with perfect recall. Errors: INVALID_ARGUMENT for bad
// options, a null pointer with count > 0, a duplicate id or a non-finite
// value; RESOURCE_EXHAUSTED if memory runs out.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AnnIndex>> BuildExactIndex(const AnnOptions& options,
                                                                        const uint32_t* ids,
                                                                        const float* vectors,
                                                                        size_t count);

// BuildExactIndex when count <= options.exact_max_items, else BuildHnswIndex.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AnnIndex>> BuildAnnIndex(const AnnOptions& options,
                                                                      const uint32_t* ids,
                                                                      const float* vectors,
                                                                      size_t count);

// Exact top-n by inner product over `count` rows (row-major, `dim` floats
// each) by brute force: the reference for recall, and the scorer for small
// candidate sets. Best first, ties by ascending id. Thread-compatible.
std::vector<Neighbor> ExactSearch(const float* query, int n, const uint32_t* ids,
                                  const float* vectors, size_t count, int dim);

}  // namespace recd::core
