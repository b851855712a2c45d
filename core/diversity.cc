#include "core/diversity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include <Eigen/Core>

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

// Loads every candidate's vector, scaled to unit length, into a row-major
// n x dim matrix; rows of items without a (non-zero) vector stay zero, which
// makes their cosine with anything 0.
absl::Status LoadUnitVectors(std::span<const RankedCandidate> candidates,
                             const ItemVectorFn& vector_of, std::vector<float>* matrix,
                             size_t* dim) {
  *dim = 0;
  std::vector<float> buffer;
  const size_t n = candidates.size();
  for (size_t i = 0; i < n; ++i) {
    buffer.clear();
    if (!vector_of(candidates[i].item, &buffer) || buffer.empty()) continue;
    if (*dim == 0) {
      *dim = buffer.size();
      matrix->assign(n * *dim, 0.0f);
    } else if (buffer.size() != *dim) {
      return absl::InvalidArgumentError(absl::StrCat("candidates[", i, "]: vector dimension ",
                                                     buffer.size(), " differs from ", *dim));
    }
    double norm2 = 0.0;
    for (float x : buffer) norm2 += static_cast<double>(x) * x;
    if (!(norm2 > 0.0) || !std::isfinite(norm2)) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
    float* row = matrix->data() + i * *dim;
    for (size_t d = 0; d < *dim; ++d) row[d] = buffer[d] * inv;
  }
  return absl::OkStatus();
}

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

  std::vector<float> unit;  // n x dim, unit rows
  size_t dim = 0;
  if (lambda < 1.0) {
    if (absl::Status s = LoadUnitVectors(candidates, vector_of, &unit, &dim); !s.ok()) return s;
  }
  const double range = static_cast<double>(hi) - lo;
  // max_sim[i]: max cosine of i with the picked items; -inf marks "picked".
  constexpr double kPicked = -std::numeric_limits<double>::infinity();
  std::vector<double> max_sim(n, 0.0);
  for (size_t step = 0; step < k; ++step) {
    size_t best = n;
    double best_value = kPicked;
    for (size_t i = 0; i < n; ++i) {
      if (max_sim[i] == kPicked) continue;
      const double rel = range > 0.0 ? (candidates[i].score - lo) / range : 1.0;
      const double penalty = step == 0 ? 0.0 : max_sim[i];
      const double value = lambda * rel - (1.0 - lambda) * penalty;
      if (best == n || value > best_value) {
        best = i;
        best_value = value;
      }
    }
    out.push_back(candidates[best]);
    // On the first pick the empty set's penalty (0) gives way to real maxima.
    const bool first = step == 0;
    max_sim[best] = kPicked;
    if (dim == 0 || step + 1 == k) continue;
    const float* b = unit.data() + best * dim;
    for (size_t i = 0; i < n; ++i) {
      if (max_sim[i] == kPicked) continue;
      const float dot = Eigen::Map<const Eigen::VectorXf>(unit.data() + i * dim, dim)
                            .dot(Eigen::Map<const Eigen::VectorXf>(b, dim));
      max_sim[i] = first ? dot : std::max(max_sim[i], static_cast<double>(dot));
    }
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
