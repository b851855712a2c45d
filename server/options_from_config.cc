#include "server/options_from_config.h"

namespace recd::server {

core::EngineOptions EngineOptionsFromConfig(const recd::v1::config::Config& c) {
  core::EngineOptions o;
  o.data_dir = c.storage().data_dir();
  o.fsync = c.storage().durability() == "fsync";
  o.block_cache_mb = c.storage().block_cache_mb();
  const auto& l = c.limits();
  o.limits.max_id_bytes = l.max_id_bytes();
  o.limits.max_label_bytes = l.max_label_bytes();
  o.limits.max_labels = l.max_labels();
  o.limits.max_properties = l.max_properties();
  o.limits.max_k = l.max_k();
  o.limits.max_exclusions = l.max_exclusions();
  o.limits.max_events_per_call = l.max_events_per_call();
  o.limits.max_items_per_call = l.max_items_per_call();
  o.limits.max_future_skew_seconds = l.max_future_skew_seconds();
  o.event_weights.clear();
  for (const auto& [name, t] : c.event_types()) o.event_weights[name] = t.weight();
  o.dimension = c.model().dimension();
  o.hnsw_m = c.model().hnsw_m();
  o.hnsw_ef_construction = c.model().hnsw_ef_construction();
  o.hnsw_ef_search = c.model().hnsw_ef_search();
  o.exact_search_max_items = c.model().exact_search_max_items();
  o.fresh_tier_max = c.model().fresh_tier_max();
  o.als_alpha = c.model().als_alpha();
  o.als_lambda = c.model().als_lambda();
  o.default_k = c.recommend().default_k();
  o.trending_half_life_seconds = c.recommend().trending_half_life_seconds();
  o.user_recent_items = c.recommend().user_recent_items();
  o.candidate_multiplier = c.recommend().candidate_multiplier();
  const auto& r = c.recommend();
  o.popular_half_life_seconds = r.popular_half_life_seconds();
  o.trending_prior = r.trending_prior();
  o.affinity_half_life_seconds = r.affinity_half_life_seconds();
  o.max_affinities = r.max_affinities();
  o.session_items = r.session_items();
  o.content_max_age_seconds = r.content_max_age_seconds();
  o.content_items_per_label = r.content_items_per_label();
  o.covisit.window_items = r.covisit().window_items();
  o.covisit.window_seconds = r.covisit().window_seconds();
  o.covisit.slots_per_item = r.covisit().slots_per_item();
  o.covisit.top_per_item = r.covisit().top_per_item();
  o.covisit.half_life_seconds = r.covisit().half_life_seconds();
  o.covisit.max_bytes = static_cast<size_t>(r.covisit().max_mb()) << 20;
  o.covisit_persist_seconds = r.covisit().persist_interval_seconds();
  o.surfaces.clear();
  for (const auto& [name, s] : c.surfaces()) {
    core::SurfaceOptions so;
    so.source_weights.clear();
    for (const auto& [src, w] : s.source_weights()) so.source_weights[src] = w;
    so.seen_event_types.assign(s.seen_event_types().begin(), s.seen_event_types().end());
    so.max_item_age_seconds = s.max_item_age_seconds();
    so.freshness_weight = s.freshness_weight();
    so.freshness_half_life_seconds = s.freshness_half_life_seconds();
    so.popularity_weight = s.popularity_weight();
    const std::string& mode = s.diversity().mode();
    so.diversity = mode == "none"  ? core::DiversityMode::kNone
                   : mode == "mmr" ? core::DiversityMode::kMmr
                                   : core::DiversityMode::kCategoryCap;
    so.mmr_lambda = s.diversity().mmr_lambda();
    so.max_per_category = s.diversity().max_per_category();
    so.explore_epsilon = s.explore_epsilon();
    so.session_intent = s.session_intent();
    so.explore_pool_size = s.explore_pool_size();
    so.continuation_event_types.assign(s.continuation_event_types().begin(),
                                       s.continuation_event_types().end());
    so.finish_event_types.assign(s.finish_event_types().begin(), s.finish_event_types().end());
    o.surfaces[name] = std::move(so);
  }
  o.queue_capacity = c.ingest().queue_capacity();
  o.max_batch_events = c.ingest().max_batch_events();
  o.dedupe_window_seconds = c.ingest().dedupe_window_seconds();
  o.max_fold_lag_events = c.ingest().max_fold_lag_events();
  o.fold_threads = c.ingest().fold_threads();
  o.defer_solves_lag_ms = c.ingest().defer_solves_lag_ms();
  o.max_unpersisted_events = c.ingest().max_unpersisted_events();
  return o;
}

core::DemoOptions DemoOptionsFromConfig(const recd::v1::config::Config& c) {
  core::DemoOptions d;
  d.items = c.demo().items();
  d.users = c.demo().users();
  d.seed = static_cast<uint64_t>(c.demo().seed());
  return d;
}

}  // namespace recd::server
