// Plain typed options of the engine, converted once from the config proto at
// start-up (server/options_from_config.cc). Core code reads only these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/covisit.h"    // CovisitOptions
#include "core/diversity.h"  // DiversityMode

namespace recd::core {

struct Limits {
  int max_id_bytes = 256;
  int max_label_bytes = 256;
  int max_labels = 64;
  int max_properties = 64;
  int max_k = 500;
  int max_exclusions = 1000;
  int max_events_per_call = 1000;
  int max_items_per_call = 10000;
  double max_future_skew_seconds = 300;
};

struct SurfaceOptions {
  // Source name (core/sources.h) -> blend weight; 0 or absent disables it.
  std::map<std::string, double> source_weights = {{"ann", 1.0},     {"covisit", 0.8},
                                                  {"content", 0.4}, {"trending", 0.3},
                                                  {"popular", 0.1}, {"continuation", 0.6}};
  std::vector<std::string> seen_event_types = {"view", "click", "purchase"};
  double max_item_age_seconds = 0;  // 0: no limit
  double freshness_weight = 0.05;
  double freshness_half_life_seconds = 259200;
  double popularity_weight = 0.05;
  DiversityMode diversity = DiversityMode::kMmr;
  double mmr_lambda = 0.8;
  int max_per_category = 3;
  // Share of the ANN query taken from the current session's recent items
  // (the rest is the user's folded vector), in [0, 1].
  double session_intent = 0.5;
  double explore_epsilon = 0.05;
  int explore_pool_size = 100;
  std::vector<std::string> continuation_event_types = {"save", "cart"};
  std::vector<std::string> finish_event_types = {"purchase"};
};

struct EngineOptions {
  std::string data_dir = "./recd-data";
  bool fsync = true;
  int block_cache_mb = 256;
  Limits limits;
  std::map<std::string, double> event_weights = {
      {"view", 1}, {"click", 2}, {"save", 4}, {"cart", 6}, {"purchase", 10}};
  // Model / index.
  int dimension = 32;
  int hnsw_m = 16;
  int hnsw_ef_construction = 200;
  int hnsw_ef_search = 100;
  int exact_search_max_items = 20000;
  int fresh_tier_max = 20000;
  double als_alpha = 10;
  double als_lambda = 0.1;
  // Recommend.
  int default_k = 20;
  double trending_half_life_seconds = 86400;
  int user_recent_items = 500;
  int candidate_multiplier = 5;
  double popular_half_life_seconds = 2592000;
  double trending_prior = 5;
  double affinity_half_life_seconds = 1209600;
  int max_affinities = 32;
  int session_items = 20;
  double content_max_age_seconds = 604800;
  int content_items_per_label = 200;
  CovisitOptions covisit;
  std::map<std::string, SurfaceOptions> surfaces = {{"default", SurfaceOptions{}}};
  // Ingest.
  int queue_capacity = 100000;
  int max_batch_events = 2000;
  double dedupe_window_seconds = 86400;
  int max_fold_lag_events = 200000;
  // Threads of the fold-in (1: its own thread only).
  int fold_threads = 2;
  // When the fold-in has been busy this long without catching up, its
  // batches leave their user-vector solves to readers (0: always).
  double defer_solves_lag_ms = 2;
  // Folded events whose derived state the writer has not persisted yet;
  // beyond it the fold-in waits for the writer.
  int max_unpersisted_events = 20000;
  // How often the fold-in persists changed co-visitation summaries.
  double covisit_persist_seconds = 30;
  // Recent slates kept for attributing events to sources.
  int slate_cache_entries = 100000;
  // Impressions buffered for the commit thread before they are dropped.
  int impression_buffer = 100000;
  // Most items kept per user state (least recent dropped first).
  int max_user_items = 500;
  // User states kept in memory (the rest are read from RocksDB on demand).
  int user_cache_entries = 200000;
};

}  // namespace recd::core
