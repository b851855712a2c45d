// Diversity re-rank: the stage between blend and exploration (DESIGN.md
// "Blend"). Pure functions, no I/O; safe to call from any thread provided the
// callbacks are.
//
// Every function takes the blended candidates best first (distinct items),
// returns at most k of them best first with their ORIGINAL scores, and never
// invents an item. Errors are INVALID_ARGUMENT naming the bad field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace recd::core {

struct RankedCandidate {
  uint32_t item;  // dense id
  float score;    // blended score; higher is better
};

// Writes the item's vector into *vector (the callee overwrites it; the
// caller reuses the buffer) and returns true, or returns false when the item
// has no vector. All vectors must have the same dimension.
using ItemVectorFn = std::function<bool(uint32_t item, std::vector<float>* vector)>;
// The item's categories (dense category ids; empty when none). The span must
// stay valid until the next call.
using ItemCategoriesFn = std::function<absl::Span<const uint32_t>(uint32_t item)>;

enum class DiversityMode { kNone, kMmr, kCategoryCap };

struct DiversityOptions {
  DiversityMode mode = DiversityMode::kMmr;
  double mmr_lambda = 0.8;        // kMmr: 1 = relevance only. Range [0, 1].
  uint32_t max_per_category = 3;  // kCategoryCap: >= 1.
};

// INVALID_ARGUMENT "mmr_lambda: ..." or "max_per_category: ..." when out of
// range (checked whatever the mode).
[[nodiscard]] absl::Status ValidateDiversityOptions(const DiversityOptions& options);

// Greedy maximal marginal relevance. Repeatedly picks the unpicked i with the
// largest
//   lambda * rel(i) - (1 - lambda) * max_{j picked} sim(i, j)
// (the penalty is 0 while nothing is picked; ties go to the earlier input
// position), where rel(i) = (score_i - min score) / (max score - min score)
// over all candidates (1 for all when the scores are equal) and sim is the
// cosine of the item vectors (0 when either item has no vector or a zero
// vector). lambda = 1 therefore returns the input order when it is sorted by
// score (vector_of is not called then). The output is in pick order.
// Lazy greedy (a value computed earlier bounds the current one): vectors are
// read and compared only for candidates that could still be picked,
// O(k * n * dim) at worst; O(n * dim) memory allocated once.
// INVALID_ARGUMENT: lambda outside [0, 1] ("mmr_lambda"), a non-finite score
// ("candidates[i].score"), vectors of different dimensions
// ("candidates[i]: vector dimension").
[[nodiscard]] absl::StatusOr<std::vector<RankedCandidate>> MmrRerank(
    std::span<const RankedCandidate> candidates, size_t k, double lambda,
    const ItemVectorFn& vector_of);

// Walks the candidates in input order and keeps an item unless one of its
// categories already has max_per_category kept items, until k are kept. The
// kept items never exceed the cap. (This is greedy: with one category per
// item it keeps k whenever any k candidates fit the cap; with several per
// item an early item may block a set that would have fit.)
// BACKFILL: if fewer than k items were kept, the skipped items are appended
// after them in input order until k are reached; only then may a category
// exceed the cap. Items without categories are never capped; a category
// listed twice for one item counts once. Expected cost O(n * c), c =
// categories per item.
// INVALID_ARGUMENT "max_per_category: ..." when it is 0.
[[nodiscard]] absl::StatusOr<std::vector<RankedCandidate>> CategoryCapRerank(
    std::span<const RankedCandidate> candidates, size_t k, uint32_t max_per_category,
    const ItemCategoriesFn& categories_of);

// Dispatches on options.mode; kNone returns the first k candidates as given.
// Only the callback of the selected mode is called (the other may be empty).
// Validates options first (ValidateDiversityOptions).
[[nodiscard]] absl::StatusOr<std::vector<RankedCandidate>> Diversify(
    std::span<const RankedCandidate> candidates, size_t k, const DiversityOptions& options,
    const ItemVectorFn& vector_of, const ItemCategoriesFn& categories_of);

}  // namespace recd::core
