#include "core/explore.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recd::core {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, passes BigCrush; the
// seed is scrambled by the output function, so nearby seeds do not give
// related streams.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1) on a 2^-53 grid.
  double NextUnit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Exactly uniform in [0, n), n >= 1 (Lemire's multiply-and-reject).
  uint64_t Below(uint64_t n) {
    unsigned __int128 product = static_cast<unsigned __int128>(Next()) * n;
    uint64_t low = static_cast<uint64_t>(product);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

 private:
  uint64_t state_;
};

absl::Status CheckEpsilon(std::span<const double> epsilon, size_t k) {
  if (epsilon.size() != 1 && epsilon.size() != k) {
    return absl::InvalidArgumentError(
        absl::StrCat("epsilon: must hold 1 value or one per slot (", k, "), got ", epsilon.size()));
  }
  for (size_t j = 0; j < epsilon.size(); ++j) {
    if (!(epsilon[j] >= 0.0 && epsilon[j] <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("epsilon[", j, "]: must be in [0, 1], got ", epsilon[j]));
    }
  }
  return absl::OkStatus();
}

// q_j = eps_j * P(H_j < m) with H_j = number of heads among slots < j
// (independent Bernoulli(eps_l)). REQUIRES: 1 <= m < k.
void CappedEpsilons(std::span<const double> eps, size_t m, std::vector<double>* q) {
  std::vector<double> dist(m, 0.0);  // dist[t] = P(H_j = t), t < m
  dist[0] = 1.0;
  for (size_t j = 0; j < eps.size(); ++j) {
    double below = 0.0;
    for (double p : dist) below += p;
    (*q)[j] = eps[j] * below;
    for (size_t t = m - 1; t > 0; --t) dist[t] = dist[t] * (1.0 - eps[j]) + dist[t - 1] * eps[j];
    dist[0] *= 1.0 - eps[j];
  }
}

}  // namespace

absl::StatusOr<std::vector<SlotDecision>> ExploreSlate(std::span<const uint32_t> slate,
                                                       std::span<const uint32_t> pool,
                                                       std::span<const double> epsilon,
                                                       uint64_t seed) {
  const size_t k = slate.size();
  if (absl::Status s = CheckEpsilon(epsilon, k); !s.ok()) return s;
  std::vector<uint32_t> sorted_slate(slate.begin(), slate.end());
  std::sort(sorted_slate.begin(), sorted_slate.end());
  if (auto dup = std::adjacent_find(sorted_slate.begin(), sorted_slate.end());
      dup != sorted_slate.end()) {
    const size_t j = std::find(slate.begin(), slate.end(), *dup) - slate.begin();
    return absl::InvalidArgumentError(
        absl::StrCat("slate[", j, "]: item ", *dup, " appears more than once"));
  }

  // P' in ascending id order, so the result does not depend on pool order.
  std::vector<uint32_t> sorted_pool(pool.begin(), pool.end());
  std::sort(sorted_pool.begin(), sorted_pool.end());
  sorted_pool.erase(std::unique(sorted_pool.begin(), sorted_pool.end()), sorted_pool.end());
  std::vector<uint32_t> pool_prime;
  pool_prime.reserve(sorted_pool.size());
  std::set_difference(sorted_pool.begin(), sorted_pool.end(), sorted_slate.begin(),
                      sorted_slate.end(), std::back_inserter(pool_prime));
  const size_t m = pool_prime.size();

  std::vector<double> eps(k);
  for (size_t j = 0; j < k; ++j) eps[j] = epsilon.size() == 1 ? epsilon[0] : epsilon[j];
  std::vector<double> q(k, 0.0);
  if (m >= k) {
    q = eps;
  } else if (m > 0) {
    CappedEpsilons(eps, m, &q);
  }

  // Stream layout: k coin draws first, then the Fisher-Yates steps of the
  // ordering of P'. Step h always uses the same outputs whichever slots
  // trigger it, so the ordering is independent of the coins.
  SplitMix64 rng(seed);
  std::vector<bool> heads(k);
  for (size_t j = 0; j < k; ++j) heads[j] = rng.NextUnit() < eps[j];

  std::vector<SlotDecision> out(k);
  size_t h = 0;  // heads so far = index of the next ordering position
  for (size_t j = 0; j < k; ++j) {
    SlotDecision& d = out[j];
    d.deterministic_item = slate[j];
    d.pool_size = static_cast<uint32_t>(m);
    d.epsilon = q[j];
    if (heads[j] && h < m) {
      std::swap(pool_prime[h], pool_prime[h + rng.Below(m - h)]);
      d.item = pool_prime[h];
      d.explored = true;
      d.propensity = q[j] / static_cast<double>(m);
    } else {
      d.item = slate[j];
      d.explored = false;
      d.propensity = 1.0 - q[j];
    }
    if (heads[j]) ++h;
  }
  return out;
}

uint64_t SeedFromId(std::string_view recommendation_id) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : recommendation_id) {
    hash ^= c;
    hash *= 0x100000001b3ULL;  // FNV 64 prime
  }
  return hash;
}

}  // namespace recd::core
