#include "core/recommender.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/diversity.h"
#include "core/explore.h"
#include "core/fold.h"
#include "core/user_state.h"

namespace recd::core {
namespace {

using recd::v1::records::UserState;

constexpr float kFallbackWeight = 0.01f;
// Recent session items whose co-visited neighbours are looked up.
constexpr int kCovisitSeeds = 5;
// Affinities (strongest first) that the content source looks at.
constexpr int kContentLabels = 8;
// Candidates handed to the diversity stage, as a multiple of k (a category
// cap needs room to find other categories below a dominant one).
constexpr int kDiversityPool = 10;

// Share of the ANN query given to the current session's items.

void Normalize(std::vector<float>* v) {
  double n = 0;
  for (float x : *v) n += double{x} * x;
  if (n <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(n));
  for (float& x : *v) x *= inv;
}

// uvec <- (1 - s) * unit(uvec) + s * unit(mean of the vectors of the session
// items within the co-visitation window of the latest one).
void BlendSessionIntent(const UserState& state, const Catalog::Reader& r,
                        const ItemVectors& vectors, const EngineOptions& o, float share,
                        std::vector<float>* uvec) {
  if (state.session_size() == 0 || share <= 0) return;
  const int dim = vectors.dim();
  const int64_t latest = state.session(state.session_size() - 1).t_us();
  const int64_t window = static_cast<int64_t>(o.covisit.window_seconds * 1e6);
  std::vector<float> sv(dim, 0.f), v(dim);
  bool any = false;
  const bool cached = DenseValid(state, r);
  for (const auto& s : state.session()) {
    if (latest - s.t_us() > window) continue;
    auto d = DenseOf(r, cached, s);
    if (!d || !vectors.Get(*d, v.data())) continue;
    for (int i = 0; i < dim; ++i) sv[i] += static_cast<float>(s.weight()) * v[i];
    any = true;
  }
  if (!any) return;
  Normalize(uvec);
  Normalize(&sv);
  for (int i = 0; i < dim; ++i) (*uvec)[i] = (1 - share) * (*uvec)[i] + share * sv[i];
}

// Candidates each source may add. A category cap must look deeper: when one
// category dominates the best candidates, the others are further down.
size_t CandidateBudget(int k, const EngineOptions& o, const SurfaceOptions& surface) {
  const size_t base = static_cast<size_t>(k) * o.candidate_multiplier;
  return surface.diversity == DiversityMode::kCategoryCap ? base * 4 : base;
}

// Splits a source's candidate budget between its seeds (session items,
// followed labels) in proportion to their weights, at least one each: a
// source adds about `total` candidates however many seeds it has.
std::vector<size_t> Apportion(size_t total, const std::vector<float>& weights) {
  double sum = 0;
  for (float w : weights) sum += std::max(0.f, w);
  std::vector<size_t> out;
  for (float w : weights) {
    const double share = sum > 0 ? std::max(0.f, w) / sum : 1.0 / weights.size();
    out.push_back(std::max<size_t>(1, static_cast<size_t>(std::ceil(total * share))));
  }
  return out;
}

// Per-request filter over dense ids; holds the catalog's read view.
class Eligibility {
 public:
  // item_dense: ItemDenseIds of `state`.
  Eligibility(const Catalog::Reader& r, const RecommendQuery& q, const SurfaceOptions& surface,
              const UserState* state, std::span<const std::optional<uint32_t>> item_dense)
      : r_(r), now_us_(q.now_us) {
    max_age_us_ = static_cast<int64_t>(surface.max_item_age_seconds * 1e6);
    for (const auto& id : q.exclude_item_ids) {
      if (auto d = r.Find(id)) excluded_.insert(*d);
    }
    if (state != nullptr) {
      const uint64_t seen_bits = TypeBits(*state, surface.seen_event_types);
      for (int i = 0; i < state->items_size(); ++i) {
        if (!item_dense[i] || !HasType(state->items(i), seen_bits, surface.seen_event_types)) {
          continue;
        }
        seen_.insert(*item_dense[i]);
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

  // allow_seen: continuation candidates come back although seen.
  bool operator()(uint32_t dense, bool allow_seen = false) const {
    if (dense >= r_.capacity()) return false;
    const ItemRow& row = r_.Row(dense);
    if (!row.alive || !row.available) return false;
    if (row.expires_at_us != 0 && row.expires_at_us <= now_us_) return false;
    if (max_age_us_ > 0 && now_us_ - row.created_at_us > max_age_us_) return false;
    if (excluded_.count(dense)) return false;
    if (!allow_seen && seen_.count(dense)) return false;
    auto has = [&](uint32_t label) {
      const auto cats = row.categories();
      return std::binary_search(cats.begin(), cats.end(), label);
    };
    if (include_any_ && std::none_of(include_.begin(), include_.end(), has)) return false;
    if (std::any_of(exclude_.begin(), exclude_.end(), has)) return false;
    return true;
  }
  void Exclude(uint32_t dense) { excluded_.insert(dense); }
  // Starts loading what operator()(dense) reads (a hint).
  void Prefetch(uint32_t dense) const { r_.PrefetchRow(dense); }

 private:
  const Catalog::Reader& r_;
  int64_t now_us_;
  int64_t max_age_us_ = 0;
  absl::flat_hash_set<uint32_t> excluded_, seen_;
  bool include_any_ = false;
  std::vector<uint32_t> include_, exclude_;
};

struct Candidate {
  std::array<float, kNumSources> raw{};  // per-source raw score (0: not found)
  std::array<const char*, kNumSources> detail{};
};

// Collects candidates from the sources, then blends them.
class Pool {
 public:
  Pool(const SurfaceOptions& surface, size_t want) : want_(want) {
    for (int s = 0; s < kNumSources; ++s) {
      auto it = surface.source_weights.find(std::string(SourceName(static_cast<Source>(s))));
      weights_[s] = it == surface.source_weights.end() ? 0.0 : it->second;
    }
    cands_.reserve(want * 4);
  }

  double Weight(Source s) const { return weights_[static_cast<int>(s)]; }
  // Adds raw > 0 evidence from source s (accumulating for the same item).
  void Add(Source s, uint32_t item, float raw, const char* detail) {
    auto& c = cands_[item];
    c.raw[static_cast<int>(s)] += raw;
    c.detail[static_cast<int>(s)] = detail;
  }
  bool Has(uint32_t item) const { return cands_.count(item) > 0; }
  size_t size() const { return cands_.size(); }
  size_t want() const { return want_; }
  const absl::flat_hash_map<uint32_t, Candidate>& cands() const { return cands_; }

 private:
  std::array<double, kNumSources> weights_;
  size_t want_;
  absl::flat_hash_map<uint32_t, Candidate> cands_;
};

// Blends normalised source scores and features. Rank scores every candidate
// without allocating; Explain builds the reasons of the few items shown.
class Blender {
 public:
  Blender(const Pool& pool, const SurfaceOptions& surface, const Catalog::Reader& r,
          const Popularity& pop, int64_t now_us)
      : pool_(pool), surface_(surface), r_(r), pop_(pop), now_us_(now_us) {
    // Per-source normaliser: raw / max over this request's candidates (every
    // raw score is > 0; for ann, items orthogonal or opposite to the user's
    // vector bring no evidence and are not candidates at all). A min-max
    // normalisation would hand the weakest retrieved item half the weight
    // however unrelated it is, and crowd out content-only newcomers.
    hi_.fill(0.f);
    for (const auto& [id, c] : pool.cands()) {
      // What Rank reads per candidate, requested now: a cache miss each at
      // a million items, overlapped here instead of waited for there.
      if (surface.freshness_weight > 0) r.PrefetchRow(id);
      if (surface.popularity_weight > 0) pop.PrefetchRelative(id);
      for (int s = 0; s < kNumSources; ++s) {
        if (c.detail[s] != nullptr) hi_[s] = std::max(hi_[s], c.raw[s]);
      }
    }
  }

  // The best `limit` candidates, best first, ties by dense id.
  std::vector<RankedCandidate> Rank(size_t limit) const {
    std::vector<RankedCandidate> out;
    out.reserve(pool_.size());
    Parts parts;
    for (const auto& [id, c] : pool_.cands()) {
      const int n = PartsOf(id, c, &parts);
      if (n == 0) continue;
      float score = 0;
      for (int i = 0; i < n; ++i) score += parts[i].value;
      out.push_back({id, score});
    }
    auto better = [](const RankedCandidate& a, const RankedCandidate& b) {
      return a.score != b.score ? a.score > b.score : a.item < b.item;
    };
    limit = std::min(limit, out.size());
    std::partial_sort(out.begin(), out.begin() + limit, out.end(), better);
    out.resize(limit);
    return out;
  }

  // What made up the score of `id`, largest first.
  std::vector<Contribution> Explain(uint32_t id) const {
    std::vector<Contribution> reasons;
    auto it = pool_.cands().find(id);
    if (it == pool_.cands().end()) return reasons;
    Parts parts;
    const int n = PartsOf(id, it->second, &parts);
    for (int i = 0; i < n; ++i) reasons.push_back({parts[i].source, parts[i].value, parts[i].detail});
    std::stable_sort(reasons.begin(), reasons.end(),
                     [](const auto& a, const auto& b) { return a.value > b.value; });
    return reasons;
  }

 private:
  struct Part {
    const char* source;
    float value;
    const char* detail;
  };
  using Parts = std::array<Part, kNumSources + 2>;

  int PartsOf(uint32_t id, const Candidate& c, Parts* out) const {
    int n = 0;
    for (int s = 0; s < kNumSources; ++s) {
      if (c.detail[s] == nullptr) continue;
      const Source src = static_cast<Source>(s);
      const float norm = hi_[s] > 0 ? c.raw[s] / hi_[s] : 0.f;
      const float w =
          src == Source::kFresh ? kFallbackWeight : static_cast<float>(pool_.Weight(src));
      const float v = w * norm;
      if (v > 0) (*out)[n++] = {SourceName(src).data(), v, c.detail[s]};
    }
    if (surface_.freshness_weight > 0) {
      const double fresh_h_us = surface_.freshness_half_life_seconds * 1e6;
      const double age = std::max<int64_t>(0, now_us_ - r_.Row(id).created_at_us);
      const float v = static_cast<float>(surface_.freshness_weight * std::exp2(-age / fresh_h_us));
      if (v > 1e-4f) (*out)[n++] = {"freshness", v, "new"};
    }
    if (surface_.popularity_weight > 0) {
      const float v = static_cast<float>(surface_.popularity_weight) * pop_.Relative(id);
      if (v > 1e-4f) (*out)[n++] = {"popularity", v, "popular overall"};
    }
    return n;
  }

  const Pool& pool_;
  const SurfaceOptions& surface_;
  const Catalog::Reader& r_;
  const Popularity& pop_;
  const int64_t now_us_;
  std::array<float, kNumSources> hi_;
};

// Calls fn(e) for the entries of `list` in order while it returns true,
// with the catalog row of the entry kAhead further on requested first: the
// filter reads one row per entry, a cache miss each at a million items, and
// rejects an entry in a few ns, so the rows are asked for well ahead.
template <typename List, typename ItemOf, typename Fn>
void ForEachPrefetched(const List& list, const Eligibility& eligible, ItemOf item_of, Fn fn) {
  constexpr size_t kAhead = 16;
  const size_t n = list.size();
  for (size_t i = 0; i < std::min(n, kAhead); ++i) eligible.Prefetch(item_of(list[i]));
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) eligible.Prefetch(item_of(list[i + kAhead]));
    if (!fn(list[i])) return;
  }
}

// Adds up to pool.want() eligible items from a best-first list.
template <typename List, typename ItemOf, typename ScoreOf>
void AddList(Pool& pool, Source s, const List& list, const Eligibility& eligible, ItemOf item_of,
             ScoreOf score_of, const char* detail) {
  size_t taken = 0;
  ForEachPrefetched(list, eligible, item_of, [&](const auto& e) {
    if (taken >= pool.want()) return false;
    const uint32_t id = item_of(e);
    if (!eligible(id)) return true;
    const float raw = score_of(e);
    // No evidence (for ann: orthogonal or opposite to the user's taste).
    if (!(raw > 0)) return true;
    pool.Add(s, id, raw, detail);
    ++taken;
    return true;
  });
}

void AddFallback(Pool& pool, size_t k, const Catalog::Reader& r, const ContentIndex& content,
                 const Eligibility& eligible) {
  if (pool.size() >= k) return;
  // Newest items first (the content index keeps them); then any item.
  auto newest = content.Newest(ContentIndex::kAll);
  float rank = 0;
  for (const auto& e : *newest) {
    if (pool.size() >= k) return;
    if (!pool.Has(e.item) && eligible(e.item)) {
      pool.Add(Source::kFresh, e.item, 1.f / (1.f + rank++), "new in the catalog");
    }
  }
  for (uint32_t d = 0; d < r.capacity() && pool.size() < k; ++d) {
    if (!pool.Has(d) && eligible(d)) pool.Add(Source::kFresh, d, 1e-3f, "in the catalog");
  }
}

// Runs the diversity stage and turns the result into ranked items.
Slate Finish(const Blender& blender, size_t k, const SurfaceOptions& surface,
             const Catalog::Reader& r, const ItemVectors& vectors) {
  // MMR costs O(k * n * dim): it sees the best k * kDiversityPool. A category
  // cap is a single greedy pass and sees every candidate.
  const size_t depth = surface.diversity == DiversityMode::kCategoryCap ? SIZE_MAX
                       : surface.diversity == DiversityMode::kMmr     ? k * kDiversityPool
                                                                      : k;
  std::vector<RankedCandidate> blended = blender.Rank(depth);
  DiversityOptions div;
  div.mode = surface.diversity;
  div.mmr_lambda = surface.mmr_lambda;
  div.max_per_category = static_cast<uint32_t>(surface.max_per_category);
  // MMR reads the candidates' vectors lazily but in blend order (the next
  // unread candidate is the next evaluated, nearly always): gathered
  // kGather at a time, their cache misses overlap (ItemVectors::GetMany).
  constexpr size_t kGather = 16;
  const size_t dim = static_cast<size_t>(vectors.dim());
  size_t gathered_begin = 0, gathered_end = 0;
  std::vector<uint32_t> gathered_ids;
  std::vector<float> gathered(kGather * dim);
  bool present[kGather];
  auto vector_of = [&](uint32_t item, std::vector<float>* v) {
    v->resize(dim);
    size_t at = gathered_end;
    for (size_t j = gathered_begin; j < gathered_end; ++j) {
      if (blended[j].item == item) at = j;
    }
    if (at == gathered_end && at < blended.size() && blended[at].item == item) {
      gathered_begin = at;
      gathered_end = std::min(blended.size(), at + kGather);
      gathered_ids.clear();
      for (size_t j = gathered_begin; j < gathered_end; ++j)
        gathered_ids.push_back(blended[j].item);
      vectors.GetMany(gathered_ids, gathered.data(), present);
    }
    if (at >= gathered_end) return vectors.Get(item, v->data());  // out of order
    const size_t slot = at - gathered_begin;
    if (!present[slot]) return false;
    std::copy_n(gathered.data() + slot * dim, dim, v->data());
    return true;
  };
  auto categories_of = [&](uint32_t item) { return r.Row(item).categories(); };
  auto chosen = Diversify(blended, k, div, vector_of, categories_of);
  if (!chosen.ok()) {  // options are validated at start; keep the blend order
    blended.resize(std::min(blended.size(), k));
    chosen = std::move(blended);
  }
  Slate slate;
  for (const auto& c : *chosen) {
    RankedItem item;
    item.dense = c.item;
    item.item_id = r.Id(c.item);
    item.score = c.score;
    item.reasons = blender.Explain(c.item);
    for (const auto& reason : item.reasons) {
      if (auto s = SourceFromName(reason.source)) {
        item.source = *s;
        break;
      }
    }
    item.deterministic_item_id = item.item_id;
    slate.items.push_back(std::move(item));
  }
  return slate;
}

}  // namespace

absl::StatusOr<Slate> Recommender::Recommend(const RecommendQuery& q,
                                             const std::string& recommendation_id) const {
  const EngineOptions& o = *d_.options;
  const std::shared_ptr<LiveModel> model = d_.model->Pin();
  const ItemVectors& vectors = *model->vectors;
  const SurfaceOptions& surface = o.surfaces.at(q.surface);
  auto state_or = d_.users->Get(UserKey(q.user_id, q.session_id));
  if (!state_or.ok()) return state_or.status();
  const UserState* state = state_or->get();

  Catalog::Reader r(*d_.catalog);
  // The dense ids of the user's items, looked up once for every stage.
  const std::vector<std::optional<uint32_t>> item_dense = ItemDenseIds(r, state);

  // The user vector: as folded, or solved here when it was solved against
  // another model version (vectors of two trainings are not comparable) or
  // the fold-in deferred its solve while behind.
  std::vector<float> uvec;
  const double w_ann = surface.source_weights.count("ann") ? surface.source_weights.at("ann") : 0;
  if (state != nullptr && w_ann > 0) {
    if (VectorCurrent(*state, *model)) {
      uvec.assign(state->vector().begin(), state->vector().end());
    } else {
      // Stored by the fold-in (unless the state changed meanwhile), so the
      // user's next requests do not solve again and the fold-in need not.
      if (SolveUserVector(*state, item_dense, *model, o.user_recent_items, &uvec) &&
          d_.refresh_user) {
        d_.refresh_user(UserKey(q.user_id, q.session_id), *state_or, uvec, model->version);
      }
    }
  }
  // Session intent: the ANN query leans toward what the current session is
  // about, so a few clicks move the list at once even for a user with a long
  // history (the fold-in weighs all of it).
  if (!uvec.empty()) {
    BlendSessionIntent(*state, r, vectors, o, static_cast<float>(surface.session_intent), &uvec);
  }
  auto trending = d_.popularity->TrendingTop();
  auto popular = d_.popularity->PopularTop();

  const bool cached = state != nullptr && DenseValid(*state, r);
  Eligibility eligible(r, q, surface, state, item_dense);
  Pool pool(surface, CandidateBudget(q.k, o, surface));

  if (!uvec.empty()) {
    const int n = static_cast<int>(pool.want() + state->items_size());
    AddList(pool, Source::kAnn, model->index->Search(uvec.data(), n), eligible,
            [](const Neighbor& x) { return x.id; }, [](const Neighbor& x) { return x.score; },
            "similar to what you liked");
  }
  if (pool.Weight(Source::kCovisit) > 0 && state != nullptr) {
    // The latest session items, most recent first, each weighted by recency.
    const int n = state->session_size();
    std::vector<float> recency;
    for (int used = 0; used < std::min(n, kCovisitSeeds); ++used) {
      recency.push_back(1.f / (1.f + used));
    }
    const std::vector<size_t> budget = Apportion(pool.want(), recency);
    for (int i = n - 1, used = 0; i >= 0 && used < kCovisitSeeds; --i, ++used) {
      auto seed = DenseOf(r, cached, state->session(i));
      if (!seed) continue;
      auto top = d_.covisit->Top(*seed);
      if (top == nullptr) continue;
      size_t taken = 0;
      ForEachPrefetched(
          *top, eligible, [](const auto& nb) { return nb.id; },
          [&](const auto& nb) {
            if (taken >= budget[used]) return false;
            if (nb.score <= 0 || !eligible(nb.id)) return true;
            pool.Add(Source::kCovisit, nb.id, recency[used] * nb.score,
                     "often viewed together with recent items");
            ++taken;
            return true;
          });
    }
  }
  if (pool.Weight(Source::kContent) > 0 && state != nullptr && state->affinities_size() > 0) {
    const double best = state->affinities(0).log2_score();
    const double fresh_h_us = surface.freshness_half_life_seconds * 1e6;
    const int64_t max_age_us = static_cast<int64_t>(o.content_max_age_seconds * 1e6);
    const int labels = std::min(kContentLabels, state->affinities_size());
    std::vector<float> affinity;
    for (int i = 0; i < labels; ++i) {
      affinity.push_back(static_cast<float>(std::exp2(state->affinities(i).log2_score() - best)));
    }
    const std::vector<size_t> budget = Apportion(pool.want(), affinity);
    for (int i = 0; i < labels; ++i) {
      const auto& aff = state->affinities(i);
      const float a = affinity[i];
      // The label must still be on the item (relabelled items stay listed).
      const bool is_tag = aff.label().rfind("t:", 0) == 0;
      auto label = r.Label(aff.label().substr(2));
      if (!label) continue;
      size_t taken = 0;
      const auto newest = d_.content->Newest(aff.label());
      ForEachPrefetched(
          *newest, eligible, [](const auto& e) { return e.item; },
          [&](const auto& e) {
            const int64_t age = q.now_us - e.created_at_us;
            if (age > max_age_us) return false;  // newest first: the rest are older
            if (taken >= budget[i]) return false;
            if (!eligible(e.item)) return true;
            const auto labels = is_tag ? r.Row(e.item).tags() : r.Row(e.item).categories();
            if (!std::binary_search(labels.begin(), labels.end(), *label)) return true;
            const float fresh =
                static_cast<float>(std::exp2(-std::max<int64_t>(0, age) / fresh_h_us));
            pool.Add(Source::kContent, e.item, a * fresh, "new in a topic you follow");
            ++taken;
            return true;
          });
    }
  }
  if (pool.Weight(Source::kTrending) > 0 && !trending->empty()) {
    const double best = trending->front().log2_score;
    AddList(pool, Source::kTrending, *trending, eligible,
            [](const TrendingEntry& e) { return e.item; },
            [best](const TrendingEntry& e) { return static_cast<float>(std::exp2(e.log2_score - best)); },
            "trending now");
  }
  if (pool.Weight(Source::kPopular) > 0 && !popular->empty()) {
    const double best = popular->front().log2_score;
    AddList(pool, Source::kPopular, *popular, eligible,
            [](const TrendingEntry& e) { return e.item; },
            [best](const TrendingEntry& e) { return static_cast<float>(std::exp2(e.log2_score - best)); },
            "popular");
  }
  if (pool.Weight(Source::kContinuation) > 0 && state != nullptr) {
    // Recency rank: the item the user touched last scores 1, the one before
    // 1/2, and so on. (A score in elapsed days left every item of a session
    // tied at ~1, so the blend lost the order that matters most there.)
    std::vector<int> order(state->items_size());
    for (int i = 0; i < state->items_size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return state->items(a).last_us() > state->items(b).last_us();
    });
    const uint64_t started_bits = TypeBits(*state, surface.continuation_event_types);
    const uint64_t finished_bits = TypeBits(*state, surface.finish_event_types);
    absl::flat_hash_set<uint32_t> consumed;
    for (const auto& d : item_dense) {
      if (d) consumed.insert(*d);
    }
    for (int rank = 0; rank < static_cast<int>(order.size()); ++rank) {
      const auto& it = state->items(order[rank]);
      const auto& d = item_dense[order[rank]];
      if (!d) continue;
      const float recency = 1.f / (1.f + rank);
      const bool started = HasType(it, started_bits, surface.continuation_event_types);
      const bool finished = HasType(it, finished_bits, surface.finish_event_types);
      if (started && !finished && eligible(*d, /*allow_seen=*/true)) {
        pool.Add(Source::kContinuation, *d, recency, "you started this");
      }
      // The next episode of a series the user is in.
      if (auto next = r.NextInSeries(*d)) {
        if (!consumed.contains(*next) && eligible(*next)) {
          pool.Add(Source::kContinuation, *next, recency, "next in the series");
        }
      }
    }
  }
  AddFallback(pool, static_cast<size_t>(q.k), r, *d_.content, eligible);

  const Blender blender(pool, surface, r, *d_.popularity, q.now_us);
  Slate slate = Finish(blender, static_cast<size_t>(q.k), surface, r, vectors);
  slate.model_version = model->version;

  // Exploration, last: may replace slots with eligible newest items.
  slate.seed = SeedFromId(recommendation_id);
  if (surface.explore_epsilon > 0 && !slate.items.empty()) {
    std::vector<uint32_t> dense_slate;
    for (const auto& it : slate.items) dense_slate.push_back(it.dense);
    std::unordered_set<uint32_t> in_slate(dense_slate.begin(), dense_slate.end());
    std::vector<uint32_t> explore_pool;
    const auto newest = d_.content->Newest(ContentIndex::kAll);
    ForEachPrefetched(
        *newest, eligible, [](const auto& e) { return e.item; },
        [&](const auto& e) {
          if (static_cast<int>(explore_pool.size()) >= surface.explore_pool_size) return false;
          if (!in_slate.count(e.item) && eligible(e.item)) explore_pool.push_back(e.item);
          return true;
        });
    const double eps[1] = {surface.explore_epsilon};
    auto decisions = ExploreSlate(dense_slate, explore_pool, eps, slate.seed);
    if (decisions.ok()) {
      for (size_t j = 0; j < decisions->size(); ++j) {
        const SlotDecision& dec = (*decisions)[j];
        RankedItem& it = slate.items[j];
        it.propensity = dec.propensity;
        it.pool_size = dec.pool_size;
        it.epsilon = dec.epsilon;
        if (dec.explored) {
          it.item_id = r.Id(dec.item);
          it.dense = dec.item;
          it.explored = true;
          it.score = 0;
          it.source = Source::kExplore;
          it.reasons = {{"explore", 0.f, "exploring something new"}};
        }
      }
    }
  }
  return slate;
}

absl::StatusOr<Slate> Recommender::Related(const RecommendQuery& q,
                                           const std::string& item_id) const {
  const EngineOptions& o = *d_.options;
  const SurfaceOptions& surface = o.surfaces.at(q.surface);
  const std::shared_ptr<LiveModel> model = d_.model->Pin();
  const ItemVectors& vectors = *model->vectors;
  UserStatePtr state;
  if (!q.user_id.empty() || !q.session_id.empty()) {
    auto s = d_.users->Get(UserKey(q.user_id, q.session_id));
    if (!s.ok()) return s.status();
    state = *s;
  }
  Catalog::Reader r(*d_.catalog);
  auto anchor = r.Find(item_id);
  if (!anchor || !r.Row(*anchor).alive) {
    return absl::NotFoundError("item_id: no item \"" + item_id + "\"");
  }
  Eligibility eligible(r, q, surface, state.get(), ItemDenseIds(r, state.get()));
  eligible.Exclude(*anchor);
  Pool pool(surface, CandidateBudget(q.k, o, surface));

  if (pool.Weight(Source::kCovisit) > 0) {
    if (auto top = d_.covisit->Top(*anchor)) {
      AddList(pool, Source::kCovisit, *top, eligible, [](const Neighbor& x) { return x.id; },
              [](const Neighbor& x) { return x.score; }, "often viewed together");
    }
  }
  std::vector<float> v(vectors.dim());
  if (pool.Weight(Source::kAnn) > 0 && vectors.Get(*anchor, v.data())) {
    AddList(pool, Source::kAnn, model->index->Search(v.data(), static_cast<int>(pool.want()) + 1),
            eligible, [](const Neighbor& x) { return x.id; },
            [](const Neighbor& x) { return x.score; }, "similar");
  }
  if (pool.Weight(Source::kContent) > 0) {
    // Items sharing the anchor's categories and tags (any age), by how
    // many labels they share.
    const ItemRow& row = r.Row(*anchor);
    auto add_label = [&](uint32_t label, bool is_tag) {
      const std::string key = (is_tag ? "t:" : "c:") + r.LabelName(label);
      size_t taken = 0;
      const auto newest = d_.content->Newest(key);
      ForEachPrefetched(
          *newest, eligible, [](const auto& e) { return e.item; },
          [&](const auto& e) {
            if (taken >= pool.want()) return false;
            if (!eligible(e.item)) return true;
            const auto labels = is_tag ? r.Row(e.item).tags() : r.Row(e.item).categories();
            if (!std::binary_search(labels.begin(), labels.end(), label)) return true;
            pool.Add(Source::kContent, e.item, 1.f, "shares a category or tag");
            ++taken;
            return true;
          });
    };
    for (uint32_t c : row.categories()) add_label(c, false);
    for (uint32_t t : row.tags()) add_label(t, true);
  }
  const Blender blender(pool, surface, r, *d_.popularity, q.now_us);
  Slate slate = Finish(blender, static_cast<size_t>(q.k), surface, r, vectors);
  slate.model_version = model->version;
  return slate;
}

}  // namespace recd::core
