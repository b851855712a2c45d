// Synthetic data shared by the scenarios: clustered vectors shaped like
// implicit-ALS factors, power-law samplers, and generated interaction data.
// Everything is deterministic given the seed.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/als.h"

namespace recd::bench {

struct ClusteredVectorsSpec {
  int64_t count = 0;
  int dim = 64;
  int clusters = 256;
  // Spread of a point around its cluster's direction, relative to the unit
  // direction (0.35 => neighbouring clusters overlap a little).
  double spread = 0.35;
  // Norms are log-normal: exp(N(0, norm_sigma)); 0.6 gives a ~10x spread
  // between the 2.5% and 97.5% quantiles, as item factors of iALS show
  // (popular items get long vectors).
  double norm_sigma = 0.6;
  uint64_t seed = 1;
};

// Draws spec.count row-major vectors of spec.dim floats: a mixture of
// Gaussians around `clusters` random unit directions (cluster picked with
// power-law sizes), each point scaled to a log-normal norm. Queries drawn
// with another seed from the same spec look like user vectors. When
// `cluster_of` is not null it receives each point's cluster in [0, clusters).
std::vector<float> ClusteredVectors(const ClusteredVectorsSpec& spec,
                                    std::vector<int>* cluster_of = nullptr);

// Draws indexes in [0, n) with P(i) roughly proportional to 1/(i+1)^s
// (continuous inverse CDF of a power law; exact enough for benchmarks).
// s = 0 is uniform. REQUIRES: n >= 1, s >= 0.
class PowerLaw {
 public:
  PowerLaw(int64_t n, double s);
  int64_t operator()(std::mt19937_64& rng) const;
  int64_t n() const { return n_; }

 private:
  int64_t n_;
  double s_;
  double a_;  // n^(1-s) - 1 (or log n when s == 1)
};

struct InteractionSpec {
  uint32_t users = 100000;
  uint32_t items = 20000;
  int64_t interactions = 1000000;  // distinct (user, item) pairs wanted
  double user_exponent = 0.8;      // activity of users: power law
  double item_exponent = 1.0;      // popularity of items: power law (Zipf)
  uint64_t seed = 1;
};

// Distinct (user, item) pairs, ~spec.interactions of them (fewer when the
// space is too small), with summed event-type weights (view 1 ... purchase
// 10). Users and items are permuted so popularity is not correlated with id.
std::vector<core::Interaction> PowerLawInteractions(const InteractionSpec& spec);

}  // namespace recd::bench
