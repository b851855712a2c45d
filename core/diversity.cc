#include "core/diversity.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace recd::core {
namespace {

absl::Status CheckLambda(double lambda) {
  if (!(lambda >= 0.0 && lambda <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("mmr_lambda: must be in [0, 1], got ", lambda));
  }
  return absl::OkStatus();
}

absl::Status CheckCap(uint32_t max_per_category) {
  if (max_per_category == 0) {
    return absl::InvalidArgumentError("max_per_category: must be >= 1, got 0");
  }
  return absl::OkStatus();
}

// The candidates' vectors scaled to unit length, each loaded on first use
// (re-ranking reads only the candidates that could still be picked). An
// item without a (non-zero) vector has cosine 0 with anything.
class UnitRows {
 public:
  UnitRows(std::span<const RankedCandidate> candidates, const ItemVectorFn& vector_of)
      : candidates_(candidates), vector_of_(vector_of), kind_(candidates.size(), kUnloaded) {}

  // INVALID_ARGUMENT "candidates[i]: vector dimension" when row i's vector
  // differs in dimension from the rows loaded before it.
  absl::Status Load(size_t i) {
    if (kind_[i] != kUnloaded) return absl::OkStatus();
    kind_[i] = kZero;
    buffer_.clear();
    if (!vector_of_(candidates_[i].item, &buffer_) || buffer_.empty()) return absl::OkStatus();
    if (dim_ == 0) {
      dim_ = buffer_.size();
      rows_ = std::make_unique_for_overwrite<float[]>(candidates_.size() * dim_);
    } else if (buffer_.size() != dim_) {
      return absl::InvalidArgumentError(absl::StrCat("candidates[", i, "]: vector dimension ",
                                                     buffer_.size(), " differs from ", dim_));
    }
    double norm2 = 0.0;
    for (float x : buffer_) norm2 += static_cast<double>(x) * x;
    if (!(norm2 > 0.0) || !std::isfinite(norm2)) return absl::OkStatus();
    const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
    float* row = rows_.get() + i * dim_;
    for (size_t d = 0; d < dim_; ++d) row[d] = buffer_[d] * inv;
    kind_[i] = kVector;
    return absl::OkStatus();
  }

  // Both rows loaded.
  double Cosine(size_t i, size_t j) const {
    if (kind_[i] != kVector || kind_[j] != kVector) return 0.0;
    return Eigen::Map<const Eigen::VectorXf>(rows_.get() + i * dim_, dim_)
        .dot(Eigen::Map<const Eigen::VectorXf>(rows_.get() + j * dim_, dim_));
  }

 private:
  enum Kind : uint8_t { kUnloaded, kZero, kVector };
  std::span<const RankedCandidate> candidates_;
  const ItemVectorFn& vector_of_;
  std::vector<Kind> kind_;
  size_t dim_ = 0;
  std::unique_ptr<float[]> rows_;  // n x dim_, row i valid when kind_[i] == kVector
  std::vector<float> buffer_;
};

}  // namespace

absl::Status ValidateDiversityOptions(const DiversityOptions& options) {
  if (absl::Status s = CheckLambda(options.mmr_lambda); !s.ok()) return s;
  return CheckCap(options.max_per_category);
}

absl::StatusOr<std::vector<RankedCandidate>> MmrRerank(std::span<const RankedCandidate> candidates,
                                                       size_t k, double lambda,
                                                       const ItemVectorFn& vector_of) {
  if (absl::Status s = CheckLambda(lambda); !s.ok()) return s;
  const size_t n = candidates.size();
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const float s = candidates[i].score;
    if (!std::isfinite(s)) {
      return absl::InvalidArgumentError(absl::StrCat("candidates[", i, "].score: not finite"));
    }
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  k = std::min(k, n);
  std::vector<RankedCandidate> out;
  out.reserve(k);
  if (k == 0) return out;

  const double range = static_cast<double>(hi) - lo;
  auto value_of = [&](size_t i, double penalty) {
    const double rel = range > 0.0 ? (candidates[i].score - lo) / range : 1.0;
    return lambda * rel - (1.0 - lambda) * penalty;
  };
  // The first pick: the best relevance (the empty set's penalty is 0).
  size_t first = 0;
  for (size_t i = 1; i < n; ++i) {
    if (value_of(i, 0.0) > value_of(first, 0.0)) first = i;
  }
  out.push_back(candidates[first]);
  if (k == 1) return out;
  // Then lazy greedy, with the same picks as re-scoring every candidate at
  // every step (that was O(k * n * dim), ~10% of a Recommend's CPU at
  // n ~ 400, k = 20): a candidate's max similarity to the picked set only
  // grows, so a value computed at an earlier step bounds it from above, and
  // before its first evaluation a cosine of -1 does. The heap holds
  // (value, index), current as of upto[i] picks; the top is taken once its
  // value is current, else brought up to date and pushed back. Ties go to
  // the lower index, as in a full scan. Vectors are read only for the
  // candidates evaluated. With lambda = 1 similarity does not count.
  const bool similar = lambda < 1.0;
  UnitRows rows(candidates, vector_of);
  if (similar) {
    if (absl::Status s = rows.Load(first); !s.ok()) return s;
  }
  constexpr double kCosineFloor = -1.001;  // below any float cosine of unit rows
  std::vector<size_t> picks{first};
  std::vector<double> max_sim(n, 0.0);  // over picks[0, upto[i])
  std::vector<uint32_t> upto(n, 0);
  using Entry = std::pair<double, size_t>;
  auto worse = [](const Entry& a, const Entry& b) {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  };
  std::vector<Entry> heap;
  heap.reserve(n - 1);
  for (size_t i = 0; i < n; ++i) {
    if (i != first) heap.push_back({value_of(i, similar ? kCosineFloor : 0.0), i});
  }
  std::make_heap(heap.begin(), heap.end(), worse);
  while (out.size() < k) {
    std::pop_heap(heap.begin(), heap.end(), worse);
    const size_t i = heap.back().second;
    if (!similar || upto[i] == picks.size()) {
      heap.pop_back();
      out.push_back(candidates[i]);
      picks.push_back(i);
      continue;
    }
    if (absl::Status s = rows.Load(i); !s.ok()) return s;
    for (; upto[i] < picks.size(); ++upto[i]) {
      const double c = rows.Cosine(i, picks[upto[i]]);
      max_sim[i] = upto[i] == 0 ? c : std::max(max_sim[i], c);
    }
    heap.back().first = value_of(i, max_sim[i]);
    std::push_heap(heap.begin(), heap.end(), worse);
  }
  return out;
}

absl::StatusOr<std::vector<RankedCandidate>> CategoryCapRerank(
    std::span<const RankedCandidate> candidates, size_t k, uint32_t max_per_category,
    const ItemCategoriesFn& categories_of) {
  if (absl::Status s = CheckCap(max_per_category); !s.ok()) return s;
  k = std::min(k, candidates.size());
  std::vector<RankedCandidate> out;
  out.reserve(k);
  if (k == 0) return out;
  std::vector<size_t> skipped;
  std::unordered_map<uint32_t, uint32_t> kept_per_category;
  kept_per_category.reserve(4 * k);
  for (size_t i = 0; i < candidates.size() && out.size() < k; ++i) {
    const absl::Span<const uint32_t> cats = categories_of(candidates[i].item);
    bool full = false;
    for (uint32_t c : cats) {
      auto it = kept_per_category.find(c);
      if (it != kept_per_category.end() && it->second >= max_per_category) {
        full = true;
        break;
      }
    }
    if (full) {
      skipped.push_back(i);
      continue;
    }
    for (size_t a = 0; a < cats.size(); ++a) {
      if (std::find(cats.begin(), cats.begin() + a, cats[a]) != cats.begin() + a) continue;
      ++kept_per_category[cats[a]];
    }
    out.push_back(candidates[i]);
  }
  for (size_t s = 0; s < skipped.size() && out.size() < k; ++s) {
    out.push_back(candidates[skipped[s]]);
  }
  return out;
}

absl::StatusOr<std::vector<RankedCandidate>> Diversify(std::span<const RankedCandidate> candidates,
                                                       size_t k, const DiversityOptions& options,
                                                       const ItemVectorFn& vector_of,
                                                       const ItemCategoriesFn& categories_of) {
  if (absl::Status s = ValidateDiversityOptions(options); !s.ok()) return s;
  switch (options.mode) {
    case DiversityMode::kMmr:
      return MmrRerank(candidates, k, options.mmr_lambda, vector_of);
    case DiversityMode::kCategoryCap:
      return CategoryCapRerank(candidates, k, options.max_per_category, categories_of);
    case DiversityMode::kNone:
      break;
  }
  const size_t n = std::min(k, candidates.size());
  return std::vector<RankedCandidate>(candidates.begin(), candidates.begin() + n);
}

}  // namespace recd::core
