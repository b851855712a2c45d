#include "core/recommender.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace recd::core {
namespace {

constexpr float kFallbackWeight = 0.01f;

// Per-request filter over dense ids; holds the catalog's read view.
class Eligibility {
 public:
  Eligibility(const Catalog::Reader& r, const RecommendQuery& q, const SurfaceOptions& surface,
              const recd::v1::records::UserState* state)
      : r_(r), now_us_(q.now_us) {
    max_age_us_ = static_cast<int64_t>(surface.max_item_age_seconds * 1e6);
    for (const auto& id : q.exclude_item_ids) {
      if (auto d = r.Find(id)) excluded_.insert(*d);
    }
    if (state != nullptr) {
      for (const auto& item : state->items()) {
        bool seen = std::any_of(item.types().begin(), item.types().end(), [&](const auto& t) {
          return std::find(surface.seen_event_types.begin(), surface.seen_event_types.end(), t) !=
                 surface.seen_event_types.end();
        });
        if (!seen) continue;
        if (auto d = r.Find(item.item_id())) excluded_.insert(*d);
      }
    }
    include_any_ = !q.include_categories.empty();
    for (const auto& c : q.include_categories) {
      if (auto l = r.Label(c)) include_.push_back(*l);
    }
    for (const auto& c : q.exclude_categories) {
      if (auto l = r.Label(c)) exclude_.push_back(*l);
    }
  }

  bool operator()(uint32_t dense) const {
    if (dense >= r_.capacity()) return false;
    const ItemRow& row = r_.Row(dense);
    if (!row.alive || !row.available) return false;
    if (row.expires_at_us != 0 && row.expires_at_us <= now_us_) return false;
    if (max_age_us_ > 0 && now_us_ - row.created_at_us > max_age_us_) return false;
    if (excluded_.count(dense)) return false;
    auto has = [&](uint32_t label) {
      return std::binary_search(row.categories.begin(), row.categories.end(), label);
    };
    if (include_any_ && std::none_of(include_.begin(), include_.end(), has)) return false;
    if (std::any_of(exclude_.begin(), exclude_.end(), has)) return false;
    return true;
  }

 private:
  const Catalog::Reader& r_;
  int64_t now_us_;
  int64_t max_age_us_ = 0;
  std::unordered_set<uint32_t> excluded_;
  bool include_any_ = false;
  std::vector<uint32_t> include_, exclude_;
};

struct Candidate {
  float score = 0;
  std::vector<Contribution> reasons;
};

double SourceWeight(const SurfaceOptions& s, const std::string& name) {
  auto it = s.source_weights.find(name);
  return it == s.source_weights.end() ? 0.0 : it->second;
}

// The user vector: recency-ordered items' vectors weighted by evidence.
bool UserVector(const recd::v1::records::UserState& state, const Catalog::Reader& r,
                const VectorIndex& vectors, int recent, int dim, std::vector<float>* out) {
  std::vector<const recd::v1::records::UserItem*> items;
  for (const auto& it : state.items()) items.push_back(&it);
  std::sort(items.begin(), items.end(),
            [](const auto* a, const auto* b) { return a->last_us() > b->last_us(); });
  if (static_cast<int>(items.size()) > recent) items.resize(recent);
  out->assign(dim, 0.f);
  std::vector<float> v;
  double total = 0;
  for (const auto* it : items) {
    auto d = r.Find(it->item_id());
    if (!d || !vectors.Get(*d, &v)) continue;
    for (int i = 0; i < dim; ++i) (*out)[i] += static_cast<float>(it->weight()) * v[i];
    total += it->weight();
  }
  if (total <= 0) return false;
  for (auto& x : *out) x = static_cast<float>(x / total);
  return true;
}

}  // namespace

Recommender::Recommender(const EngineOptions* options, const Catalog* catalog,
                         const VectorIndex* vectors, const Trending* trending, UserStore* users)
    : options_(options), catalog_(catalog), vectors_(vectors), trending_(trending), users_(users) {}

absl::StatusOr<Slate> Recommender::Recommend(const RecommendQuery& q) const {
  const SurfaceOptions& surface = options_->surfaces.at(q.surface);
  auto state = users_->Get(UserKey(q.user_id, q.session_id));
  if (!state.ok()) return state.status();

  Catalog::Reader reader(*catalog_);
  Eligibility eligible(reader, q, surface, state->get());
  const size_t want = static_cast<size_t>(q.k) * options_->candidate_multiplier;
  std::unordered_map<uint32_t, Candidate> cands;

  // ann: user vector -> vector index.
  if (double w = SourceWeight(surface, "ann"); w > 0 && *state != nullptr) {
    std::vector<float> uvec;
    if (UserVector(**state, reader, *vectors_, options_->user_recent_items, options_->dimension,
                   &uvec)) {
      // Over-fetch to make up for filtered (mostly already seen) items.
      int n = static_cast<int>(want + (*state)->items_size());
      auto hits = vectors_->Search(uvec.data(), n);
      std::vector<std::pair<uint32_t, float>> kept;
      for (const auto& h : hits) {
        if (kept.size() >= want) break;
        if (eligible(h.id)) kept.emplace_back(h.id, h.score);
      }
      if (!kept.empty()) {
        float hi = kept.front().second, lo = kept.back().second;
        for (const auto& [id, s] : kept) {
          float norm = hi > lo ? (s - lo) / (hi - lo) : 1.f;
          float c = static_cast<float>(w) * (0.5f + 0.5f * norm);
          auto& cand = cands[id];
          cand.score += c;
          cand.reasons.push_back({"ann", c, "similar to your recent items"});
        }
      }
    }
  }

  // trending: forward-decayed popularity, normalised to the best item.
  if (double w = SourceWeight(surface, "trending"); w > 0) {
    auto top = trending_->Top();
    double best = 0;
    size_t taken = 0;
    for (const auto& e : *top) {
      if (taken >= want) break;
      if (!eligible(e.item)) continue;
      if (taken == 0) best = e.log2_score;
      float c = static_cast<float>(w * std::exp2(e.log2_score - best));
      auto& cand = cands[e.item];
      cand.score += c;
      cand.reasons.push_back({"trending", c, "popular right now"});
      ++taken;
    }
  }

  // Fallback: newest eligible items, when the sources leave the slate short.
  if (cands.size() < static_cast<size_t>(q.k)) {
    std::vector<std::pair<int64_t, uint32_t>> fresh;
    for (uint32_t d = 0; d < reader.capacity(); ++d) {
      if (!cands.count(d) && eligible(d)) fresh.emplace_back(reader.Row(d).created_at_us, d);
    }
    size_t need = std::min(fresh.size(), q.k - cands.size());
    std::partial_sort(fresh.begin(), fresh.begin() + need, fresh.end(), std::greater<>());
    for (size_t i = 0; i < need; ++i) {
      float c = kFallbackWeight * (1.f - static_cast<float>(i) / (need + 1));
      auto& cand = cands[fresh[i].second];
      cand.score += c;
      cand.reasons.push_back({"fresh", c, "new in the catalog"});
    }
  }

  std::vector<std::pair<uint32_t, Candidate*>> ranked;
  ranked.reserve(cands.size());
  for (auto& [id, c] : cands) ranked.emplace_back(id, &c);
  size_t k = std::min(ranked.size(), static_cast<size_t>(q.k));
  std::partial_sort(ranked.begin(), ranked.begin() + k, ranked.end(),
                    [](const auto& a, const auto& b) {
                      return a.second->score != b.second->score ? a.second->score > b.second->score
                                                                : a.first < b.first;
                    });
  Slate slate;
  slate.items.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    auto& c = *ranked[i].second;
    std::sort(c.reasons.begin(), c.reasons.end(),
              [](const auto& a, const auto& b) { return a.value > b.value; });
    slate.items.push_back({reader.Id(ranked[i].first), c.score, std::move(c.reasons)});
  }
  return slate;
}

}  // namespace recd::core
