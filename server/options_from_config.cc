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
  o.fresh_tier_max = c.model().fresh_tier_max();
  o.default_k = c.recommend().default_k();
  o.trending_half_life_seconds = c.recommend().trending_half_life_seconds();
  o.user_recent_items = c.recommend().user_recent_items();
  o.candidate_multiplier = c.recommend().candidate_multiplier();
  o.surfaces.clear();
  for (const auto& [name, s] : c.surfaces()) {
    core::SurfaceOptions so;
    so.source_weights.clear();
    for (const auto& [src, w] : s.source_weights()) so.source_weights[src] = w;
    so.seen_event_types.assign(s.seen_event_types().begin(), s.seen_event_types().end());
    so.max_item_age_seconds = s.max_item_age_seconds();
    o.surfaces[name] = std::move(so);
  }
  o.queue_capacity = c.ingest().queue_capacity();
  o.max_batch_events = c.ingest().max_batch_events();
  o.dedupe_window_seconds = c.ingest().dedupe_window_seconds();
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
