// Implicit-feedback ALS (Hu, Koren, Volinsky 2008; DESIGN.md "iALS").
//
// The model: user vectors X (num_users x f) and item vectors Y (num_items x f)
// minimising
//   sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + lambda (sum |x_u|^2 + sum |y_i|^2)
// over ALL (user, item) pairs, where for an observed pair with summed event
// weight w:  p = 1, c = 1 + alpha*w  if w >= 0;
//            p = 0, c = 1 + alpha*|w| if w < 0 (explicit negative feedback,
//            the convention of benfred/implicit);
// and p = 0, c = 1 for every unobserved pair.
//
// Two entry points share that definition of c and p:
// - FoldInUser: the exact closed-form user step for one user against fixed
//   item vectors (the online fold-in; Cholesky, never an inverse);
// - TrainAls: the batch training, alternating user and item steps, each row
//   solved approximately by warm-started conjugate gradient (benfred/implicit's
//   least_squares_cg).
//
// All matrices are dense, row-major float arrays: row r of an n x dim matrix
// is [r*dim, (r+1)*dim). Every function here is thread-compatible (no shared
// state): concurrent calls are safe as long as nothing else writes the arrays
// they read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recd::core {

struct AlsParams {
  int factors = 64;     // f, the vector length; >= 1
  double alpha = 40;    // confidence slope: c = 1 + alpha*|w|; >= 0
  double lambda = 0.1;  // L2 regularisation; >= 0
  int iterations = 15;  // TrainAls: user+item step pairs; >= 0
  int cg_steps = 3;     // TrainAls: CG iterations per row per step; >= 1
  int threads = 2;      // TrainAls: worker threads (caller included); >= 1
  uint64_t seed = 1;    // TrainAls: initial factors
};

// OK, or INVALID_ARGUMENT naming the first bad field ("factors: must be >= 1").
[[nodiscard]] absl::Status ValidateAlsParams(const AlsParams& p);

// YᵀY of `count` row-major vectors of `dim` floats each, as a dim*dim
// row-major (symmetric) matrix. Accumulates in double over blocks of rows, so
// it is accurate for millions of rows. REQUIRES: dim >= 1; rows non-null if
// count > 0.
std::vector<float> Gramian(const float* rows, size_t count, int dim);

// yty += sign * v vᵀ (all dim*dim entries): sign = +1 adds a row to the
// Gramian, -1 removes it, so a server can keep YᵀY current as item vectors
// change (remove the old vector, add the new one). Float rounding accumulates
// over many updates; recompute with Gramian() at each model load.
void GramianAddRow(float* yty, int dim, const float* v, float sign);

// The exact user step for one user: out = x_u solving
//   (YᵀY + Yᵀ(C_u - I)Y + lambda I) x_u = Yᵀ C_u p_u
// where the user's items are `item_vectors[i]` (dim floats each) with summed
// event weights `weights[i]` (c and p as at the top of this file), and `yty`
// is the dim*dim Gramian of ALL item vectors. Adds the user's rows as a rank
// update, factorises with LLT and solves in double; never forms an inverse.
// Uses p.alpha and p.lambda only (p.factors is not consulted: dim is the
// length). A user with no items gets the zero vector.
// Returns false, leaving *out untouched, if the arguments are malformed
// (dim < 1, sizes differ, a null vector, a non-finite weight, alpha or lambda
// negative or non-finite), the system is not positive definite (possible only
// when lambda == 0), or the solution is not finite. Otherwise *out is resized
// to dim and overwritten. Cost at dim 64 (one core, -O2): ~0.03 ms for 16
// items, ~0.14 ms for 256.
[[nodiscard]] bool FoldInUser(const double* yty, int dim,
                              const std::vector<const float*>& item_vectors,
                              const std::vector<float>& weights, const AlsParams& p,
                              std::vector<float>* out);

// The same solution as FoldInUser, reached by conjugate gradient from `start`
// (dim floats, e.g. the user's vector before the latest events): each step
// costs O(dim² + items·dim) instead of the rank update and factorisation, so
// a warm start a few events away converges in a handful of steps. Stops when
// the residual |b - Ax| <= 1e-5 |b|; if that takes more than dim/2 steps it
// finishes with FoldInUser. `yty_f` is `yty` cast to float: the steps run in
// float. Same contract and failures as FoldInUser.
[[nodiscard]] bool FoldInUserFrom(const double* yty, const float* yty_f, int dim,
                                  const std::vector<const float*>& item_vectors,
                                  const std::vector<float>& weights, const AlsParams& p,
                                  const float* start, std::vector<float>* out);

// One observed event aggregate. Several entries for the same (user, item)
// pair are summed.
struct Interaction {
  uint32_t user;
  uint32_t item;
  float weight;  // summed event-type weight; finite, may be negative (p = 0)
};

struct AlsModel {
  int factors = 0;
  std::vector<float> user_factors;  // num_users x factors, row-major
  std::vector<float> item_factors;  // num_items x factors, row-major
};

// Trains a model on `interactions` over users [0, num_users) and items
// [0, num_items). Factors start as seeded uniform values in [0, 0.01); each
// iteration then runs a user step and an item step, every row warm-started
// from its previous value and refined by p.cg_steps conjugate-gradient steps
// (the system's matrix is never formed). Rows are spread over p.threads
// threads (the caller's thread is one of them). The result depends only on
// the inputs and p.seed, not on p.threads or scheduling. iterations == 0
// returns the initial factors.
// `progress`, if set, is called on the calling thread after each iteration
// with the 1-based iteration number and that iteration's wall time.
// Errors: INVALID_ARGUMENT naming the field for bad params (see
// ValidateAlsParams), an out-of-range user or item ("interactions[7].item:
// ...") or a non-finite weight; RESOURCE_EXHAUSTED if memory runs out.
[[nodiscard]] absl::StatusOr<AlsModel> TrainAls(
    const std::vector<Interaction>& interactions, uint32_t num_users, uint32_t num_items,
    const AlsParams& p, const std::function<void(int iteration, double seconds)>& progress = {});

// The training objective at the top of this file for `model` (summing
// duplicates as TrainAls does), computed in double without visiting the
// unobserved pairs. Each exact step cannot increase it; CG steps from a warm
// start cannot either, up to float rounding.
// Errors: INVALID_ARGUMENT for bad params, a model whose sizes do not match
// num_users/num_items/p.factors, or a bad interaction (as TrainAls).
[[nodiscard]] absl::StatusOr<double> AlsLoss(const std::vector<Interaction>& interactions,
                                             uint32_t num_users, uint32_t num_items,
                                             const AlsModel& model, const AlsParams& p);

}  // namespace recd::core
