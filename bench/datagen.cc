#include "bench/datagen.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace recd::bench {
namespace {

// Unit directions, one per cluster.
std::vector<std::vector<float>> Directions(const ClusteredVectorsSpec& spec,
                                           std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<std::vector<float>> dirs(static_cast<size_t>(std::max(1, spec.clusters)),
                                       std::vector<float>(static_cast<size_t>(spec.dim)));
  for (auto& d : dirs) {
    double norm = 0;
    for (auto& x : d) {
      x = normal(rng);
      norm += static_cast<double>(x) * x;
    }
    norm = std::sqrt(std::max(norm, 1e-12));
    for (auto& x : d) x = static_cast<float>(x / norm);
  }
  return dirs;
}

}  // namespace

std::vector<float> ClusteredVectors(const ClusteredVectorsSpec& spec,
                                    std::vector<int>* cluster_of) {
  std::mt19937_64 rng(spec.seed);
  const auto dirs = Directions(spec, rng);
  // Cluster sizes are themselves power-law: a few big topics, many small.
  const PowerLaw pick(static_cast<int64_t>(dirs.size()), 0.5);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::normal_distribution<double> log_norm(0.0, spec.norm_sigma);
  const double noise = spec.spread / std::sqrt(static_cast<double>(spec.dim));
  std::vector<float> out(static_cast<size_t>(spec.count) * spec.dim);
  std::vector<double> v(static_cast<size_t>(spec.dim));
  if (cluster_of != nullptr) cluster_of->assign(static_cast<size_t>(spec.count), 0);
  for (int64_t i = 0; i < spec.count; ++i) {
    const int cluster = static_cast<int>(pick(rng));
    if (cluster_of != nullptr) (*cluster_of)[static_cast<size_t>(i)] = cluster;
    const auto& c = dirs[static_cast<size_t>(cluster)];
    double norm = 0;
    for (int d = 0; d < spec.dim; ++d) {
      v[d] = c[d] + noise * normal(rng);
      norm += v[d] * v[d];
    }
    const double scale = std::exp(log_norm(rng)) / std::sqrt(std::max(norm, 1e-12));
    float* row = &out[static_cast<size_t>(i) * spec.dim];
    for (int d = 0; d < spec.dim; ++d) row[d] = static_cast<float>(v[d] * scale);
  }
  return out;
}

PowerLaw::PowerLaw(int64_t n, double s) : n_(std::max<int64_t>(1, n)), s_(s) {
  a_ = s_ == 1.0 ? std::log(static_cast<double>(n_) + 1)
                 : std::pow(static_cast<double>(n_) + 1, 1 - s_) - 1;
}

int64_t PowerLaw::operator()(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  // Inverse CDF of a density proportional to x^-s on [1, n+1).
  const double x = s_ == 1.0 ? std::exp(u * a_) : std::pow(1 + u * a_, 1 / (1 - s_));
  return std::clamp<int64_t>(static_cast<int64_t>(x) - 1, 0, n_ - 1);
}

std::vector<core::Interaction> PowerLawInteractions(const InteractionSpec& spec) {
  std::mt19937_64 rng(spec.seed);
  std::vector<uint32_t> user_perm(spec.users), item_perm(spec.items);
  std::iota(user_perm.begin(), user_perm.end(), 0u);
  std::iota(item_perm.begin(), item_perm.end(), 0u);
  std::shuffle(user_perm.begin(), user_perm.end(), rng);
  std::shuffle(item_perm.begin(), item_perm.end(), rng);
  const PowerLaw user_pick(spec.users, spec.user_exponent);
  const PowerLaw item_pick(spec.items, spec.item_exponent);
  static constexpr float kWeights[] = {1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 6, 10};  // view-heavy
  std::uniform_int_distribution<int> type(0, sizeof(kWeights) / sizeof(kWeights[0]) - 1);

  const int64_t space = static_cast<int64_t>(spec.users) * spec.items;
  const int64_t want = std::min<int64_t>(spec.interactions, space / 2);
  // Draw with replacement, sum duplicates, top up until enough are distinct.
  std::vector<std::pair<uint64_t, float>> pairs;
  pairs.reserve(static_cast<size_t>(want * 1.3) + 16);
  std::vector<core::Interaction> out;
  for (int round = 0; round < 8; ++round) {
    const int64_t missing = want - static_cast<int64_t>(out.size());
    if (missing <= 0) break;
    for (int64_t i = 0; i < missing + missing / 4 + 16; ++i) {
      const uint64_t u = user_perm[static_cast<size_t>(user_pick(rng))];
      const uint64_t it = item_perm[static_cast<size_t>(item_pick(rng))];
      pairs.emplace_back(u << 32 | it, kWeights[type(rng)]);
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::pair<uint64_t, float>> merged;
    merged.reserve(pairs.size());
    for (const auto& p : pairs) {
      if (!merged.empty() && merged.back().first == p.first) {
        merged.back().second += p.second;
      } else {
        merged.push_back(p);
      }
    }
    pairs = std::move(merged);
    out.clear();
    for (const auto& [key, w] : pairs) {
      out.push_back({static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key), w});
    }
  }
  if (static_cast<int64_t>(out.size()) > want) {
    std::shuffle(out.begin(), out.end(), rng);
    out.resize(static_cast<size_t>(want));
  }
  return out;
}

}  // namespace recd::bench
