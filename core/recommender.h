// The ranking path (DESIGN.md "Read path"): candidate sources -> filters ->
// blend -> diversity -> exploration (last). Sources, each weighted per
// surface (a weight of 0 switches it off):
//   ann          the user vector (implicit-ALS fold-in) in the vector index;
//   covisit      items co-visited with the session's recent items (works for
//                anonymous sessions);
//   content      the user's category/tag affinities x fresh items (reaches
//                brand-new items with no interactions);
//   trending     short/long popularity ratio; popular: long-term popularity;
//   continuation items saved/carted but not finished, and the next item of
//                a series the user is in.
// When they leave the slate short, the newest eligible items fill it
// ("fresh"), so a cold user never gets an empty list while eligible items
// exist. Filters: deleted, unavailable, expired, older than the surface's
// max age, seen by the user (surface's seen types; continuation candidates
// are exempt), per-request exclusions, category include/exclude.
//
// Thread safety: Recommend/Related are safe from many threads; they read
// immutable snapshots, seqlocked vectors, and take the catalog's shared lock.
#pragma once

#include <functional>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/content_index.h"
#include "core/covisit.h"
#include "core/item_vectors.h"
#include "core/model.h"
#include "core/options.h"
#include "core/popularity.h"
#include "core/sources.h"
#include "core/user_store.h"
#include "core/validate.h"
#include "core/vector_index.h"

namespace recd::core {

struct Contribution {
  std::string source;  // a source name or a feature ("freshness", "popularity")
  float value = 0;
  std::string detail;
};

struct RankedItem {
  std::string item_id;
  float score = 0;                    // 0 for explored slots
  std::vector<Contribution> reasons;  // largest contribution first
  Source source = Source::kFresh;     // largest contributing source
  bool explored = false;
  double propensity = 1;              // exact P(this item at this position), core/explore.h
  std::string deterministic_item_id;  // what the slot held before exploration
  uint32_t pool_size = 0;
  double epsilon = 0;
  uint32_t dense = 0;  // item_id's catalog dense id (this process)
};

struct Slate {
  std::vector<RankedItem> items;  // at most k, position order
  uint64_t seed = 0;              // exploration seed (from the recommendation id)
  std::string model_version;      // the model the scores come from
};

struct RecommenderDeps {
  const EngineOptions* options;
  const Catalog* catalog;
  const ModelHolder* model;
  const Popularity* popularity;
  UserStore* users;
  const Covisitation* covisit;
  const ContentIndex* content;
  // Hands the fold-in a user's vector that Recommend solved because the
  // stored one was solved against another model version or deferred: the
  // state it was solved from, the vector and that model version, for the
  // fold-in to store (FoldWorker::RequestRefresh). May be empty.
  std::function<void(const std::string& user_key, UserStatePtr solved_from,
                     std::vector<float> vector, const std::string& model_version)>
      refresh_user;
};

class Recommender {
 public:
  // REQUIRES: everything in deps outlives this object.
  explicit Recommender(RecommenderDeps deps) : d_(deps) {}

  // REQUIRES: q was produced by ConvertRecommendRequest. `recommendation_id`
  // seeds exploration. Pins the current model for the whole call (its
  // version is in the slate).
  [[nodiscard]] absl::StatusOr<Slate> Recommend(const RecommendQuery& q,
                                                const std::string& recommendation_id) const;

  // Items related to q.item_id: co-visited items, vector neighbours and
  // items sharing its categories/tags, blended with the surface's weights
  // and diversified (no exploration). The user/session in q, if any, only
  // filters what they have seen. NOT_FOUND when the item does not exist.
  [[nodiscard]] absl::StatusOr<Slate> Related(const RecommendQuery& q,
                                              const std::string& item_id) const;

 private:
  RecommenderDeps d_;
};

}  // namespace recd::core
