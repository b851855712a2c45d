// Plain typed options of the engine, converted once from the config proto at
// start-up (server/options_from_config.cc). Core code reads only these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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
  // Source name -> blend weight; 0 or absent disables the source.
  std::map<std::string, double> source_weights = {{"ann", 1.0}, {"trending", 0.3}};
  std::vector<std::string> seen_event_types = {"view", "click", "purchase"};
  double max_item_age_seconds = 0;  // 0: no limit
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
  int fresh_tier_max = 20000;
  // Recommend.
  int default_k = 20;
  double trending_half_life_seconds = 86400;
  int user_recent_items = 50;
  int candidate_multiplier = 5;
  std::map<std::string, SurfaceOptions> surfaces = {{"default", SurfaceOptions{}}};
  // Ingest.
  int queue_capacity = 100000;
  int max_batch_events = 2000;
  double dedupe_window_seconds = 86400;
  // Most items kept per user state (least recent dropped first).
  int max_user_items = 500;
  // User states kept in memory (the rest are read from RocksDB on demand).
  int user_cache_entries = 200000;
};

}  // namespace recd::core
