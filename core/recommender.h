// The ranking path of Recommend: candidate sources, filters, blend.
// Sources (each switchable and weighted per surface):
//   ann      — the user vector (weighted mean of the vectors of the user's
//              recent items) searched in the vector index;
//   trending — time-decayed popularity;
// and, when they leave the slate short, a fallback of the newest eligible
// items, so that a cold user never gets an empty list while eligible items
// exist.
// Filters: deleted, unavailable, expired, older than the surface's max age,
// seen by the user (surface's event types), per-request exclusions and
// category include/exclude.
//
// Thread safety: Recommend is safe from many threads; it reads immutable
// snapshots and takes the catalog's shared lock for the request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/options.h"
#include "core/trending.h"
#include "core/user_store.h"
#include "core/validate.h"
#include "core/vector_index.h"

namespace recd::core {

struct Contribution {
  std::string source;
  float value = 0;
  std::string detail;
};

struct RankedItem {
  std::string item_id;
  float score = 0;
  std::vector<Contribution> reasons;  // largest contribution first
};

struct Slate {
  std::vector<RankedItem> items;  // best first, at most k
};

class Recommender {
 public:
  // REQUIRES: all pointers outlive this object.
  Recommender(const EngineOptions* options, const Catalog* catalog, const VectorIndex* vectors,
              const Trending* trending, UserStore* users);

  // REQUIRES: q was produced by ConvertRecommendRequest (surface exists).
  [[nodiscard]] absl::StatusOr<Slate> Recommend(const RecommendQuery& q) const;

 private:
  const EngineOptions* options_;
  const Catalog* catalog_;
  const VectorIndex* vectors_;
  const Trending* trending_;
  UserStore* users_;
};

}  // namespace recd::core
