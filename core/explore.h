// Exploration: the LAST ranking stage (DESIGN.md "Exploration is the last
// stage"). It may replace slots of the deterministic slate by items of an
// explore pool; it never shifts or reorders slots. Pure functions, no I/O,
// safe from any thread.
//
// THE RANDOM PROCESS. Let r_0..r_{k-1} be the deterministic slate, P' the
// set of pool items minus the items of r, m = |P'|, eps_j the configured
// probability of slot j. From the seed alone the stage draws
//   - one coin per slot, c_j ~ Bernoulli(eps_j), independent, and
//   - a uniformly random ordering a_0, a_1, ... of P', independent of the
//     coins.
// With H_j = #{l < j : c_l = 1}, slot j EXPLORES iff c_j = 1 and H_j < m, and
// then shows a_{H_j}; every other slot shows r_j. Explored items are distinct
// positions of one ordering of P', and P' excludes r, so no item is shown
// twice.
//
// WHAT THE PROPENSITY MEANS. The seed is the only randomness (the slate,
// pool and eps are fixed inputs of the call). Over a uniformly random seed
// (treating splitmix64 as ideal), exactly
//   P(slot j shows i) = (1 - q_j) * [i = r_j] + (q_j / m) * [i in P'],
//   q_j = eps_j * P(H_j < m),
// the marginal probability for slot j on its own. q_j, the EFFECTIVE epsilon,
// equals eps_j whenever m >= k (then H_j < m always, as in DESIGN.md's
// formula) and for every slot j < m, is 0 when m = 0, and for slots j >= m
// of a slate longer than the pool is eps_j times the probability that fewer
// than m earlier coins came up (computed by a Poisson-binomial recursion). Each
// SlotDecision logs q_j, m, and for the item actually shown
//   propensity = explored ? q_j / m : 1 - q_j,
// which is > 0 for anything that can happen. The two cases never overlap
// (r_j is not in P'), so explored == (item != deterministic_item). The
// propensity of ANY candidate i at slot j, needed by off-policy estimators,
// follows from the logged fields and membership of i in P'. Nothing is
// conditioned on: there is no hidden partition, every item of P' can appear
// at every slot that can explore.
// Slots are not independent (explored items are drawn without replacement).
// When m >= k the probability of the whole slate is
//   prod_j (explored_j ? eps_j : 1 - eps_j) * (m - s)! / m!,
// s = number of explored slots.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace recd::core {

struct SlotDecision {
  uint32_t item;                // shown at this slot (dense id)
  bool explored;                // item came from the pool
  double propensity;            // P(this slot shows `item`), see above
  uint32_t deterministic_item;  // r_j
  uint32_t pool_size;           // m = |P'|, the same for every slot
  double epsilon;               // q_j, the effective exploration probability
};

// Runs the stage. `epsilon` holds one value for all slots or one per slot
// (size == slate.size()), each in [0, 1]. The pool is used as a set: its
// order and duplicates do not change the result, and items of the slate in
// it are ignored. The result, one decision per slot in slate order, is a
// pure function of (slate, set of pool items, epsilon, seed): the same seed
// gives the same slate (so eval can replay it). O(k log k + |pool| log |pool|
// + k * min(m, k)) time.
// INVALID_ARGUMENT: "epsilon: ..." for a wrong size, "epsilon[j]: ..." for a
// value outside [0, 1], "slate[j]: ..." for an item that appears twice.
[[nodiscard]] absl::StatusOr<std::vector<SlotDecision>> ExploreSlate(
    std::span<const uint32_t> slate, std::span<const uint32_t> pool,
    std::span<const double> epsilon, uint64_t seed);

// The seed for ExploreSlate from a recommendation id: FNV-1a 64 of its bytes.
// Stable across builds, platforms and releases (logged seeds stay valid).
uint64_t SeedFromId(std::string_view recommendation_id);

}  // namespace recd::core
