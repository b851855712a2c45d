#include "core/engine.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "spdlog/spdlog.h"
#include "storage/keys.h"

namespace recd::core {

using recd::v1::Item;
using recd::v1::records::Impression;
using recd::v1::records::ItemStats;
using recd::v1::records::StoredEvent;

namespace {

constexpr int kPopularTopSize = 5000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t TsUs(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

ItemInfo InfoOf(const Item& item) {
  ItemInfo info;
  info.id = item.id();
  info.created_at_us = item.has_created_at() ? TsUs(item.created_at()) : 0;
  info.expires_at_us = item.has_expires_at() ? TsUs(item.expires_at()) : 0;
  info.available = !item.unavailable();
  info.has_vector = item.vector_size() > 0;
  info.categories.assign(item.categories().begin(), item.categories().end());
  info.tags.assign(item.tags().begin(), item.tags().end());
  auto series = item.properties().find("series_id");
  auto index = item.properties().find("series_index");
  if (series != item.properties().end() && !series->second.empty() &&
      index != item.properties().end()) {
    char* end = nullptr;
    double v = std::strtod(index->second.c_str(), &end);
    if (end != index->second.c_str() && *end == '\0' && std::isfinite(v)) {
      info.series_id = series->second;
      info.series_index = v;
    }
  }
  return info;
}

// Content index keys of an item: "c:<category>", "t:<tag>".
std::vector<std::string> ContentKeys(const Item& item) {
  std::vector<std::string> keys;
  for (const auto& c : item.categories()) keys.push_back("c:" + c);
  for (const auto& t : item.tags()) keys.push_back("t:" + t);
  return keys;
}

std::string NewRecommendationId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

Engine::Engine(const EngineOptions& options) : options_(options) {
  for (const auto& [name, w] : options_.event_weights) {
    events_by_type_[name];
    fold_stats_.attributed[name];
  }
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  std::unique_ptr<Engine> e(new Engine(options));
  storage::StoreOptions so;
  so.path = options.data_dir;
  so.block_cache_mb = options.block_cache_mb;
  auto store = storage::Store::Open(so);
  if (!store.ok()) return store.status();
  e->store_ = std::move(*store);
  if (auto st = e->Load(); !st.ok()) return st;
  return e;
}

absl::Status Engine::Load() {
  const EngineOptions& o = options_;
  AnnOptions ann;
  ann.dim = o.dimension;
  ann.m = o.hnsw_m;
  ann.ef_construction = o.hnsw_ef_construction;
  ann.ef_search = o.hnsw_ef_search;
  index_ = std::make_unique<VectorIndex>(ann, o.fresh_tier_max);
  item_vectors_ = std::make_unique<ItemVectors>(o.dimension);
  popularity_ = std::make_unique<Popularity>(o.trending_half_life_seconds,
                                             o.popular_half_life_seconds, o.trending_prior,
                                             kPopularTopSize);
  CovisitOptions co = o.covisit;
  // The session ring holds at most session_items items, so the covisit
  // per-session cap (which counts the ring) must sit above it; otherwise a
  // session that fills its ring would stop forming pairs altogether.
  co.max_session_items = o.session_items + 1;
  auto covisit = Covisitation::Create(co);
  if (!covisit.ok()) return covisit.status();
  covisit_ = std::move(*covisit);
  content_ = std::make_unique<ContentIndex>(o.content_items_per_label);
  users_ = std::make_unique<UserStore>(store_.get(), o.user_cache_entries);
  slates_ = std::make_unique<SlateCache>(o.slate_cache_entries);
  impressions_ = std::make_unique<ImpressionBuffer>(o.impression_buffer);

  // Catalog, vectors, content index.
  absl::Status parse;
  auto st = store_->Scan(storage::Cf::kItems, "", [&](std::string_view key, std::string_view v) {
    Item item;
    if (!item.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      parse = absl::DataLossError("items CF: cannot parse item " + std::string(key));
      return false;
    }
    ApplyUpsert(item);
    return true;
  });
  if (!st.ok()) return st;
  if (!parse.ok()) return parse;
  item_vectors_->PublishGramian();
  if (auto rb = index_->Rebuild(); !rb.ok()) return rb;

  // Derived state: popularity and co-visitation.
  st = store_->Scan(storage::Cf::kItemStats, "", [&](std::string_view key, std::string_view v) {
    ItemStats stats;
    if (stats.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      popularity_->Set(catalog_.Intern(key), stats.trending(), stats.popular(), stats.clock_us());
    }
    return true;
  });
  if (!st.ok()) return st;
  popularity_->Publish();
  st = store_->Scan(storage::Cf::kCovisit, "", [&](std::string_view key, std::string_view v) {
    if (auto rs = covisit_->Restore(catalog_.Intern(key), v); !rs.ok()) {
      spdlog::warn("covisit CF: skipping {}: {}", key, rs.ToString());
    }
    return true;
  });
  if (!st.ok()) return st;
  covisit_->Publish();
  covisit_->TakeChanged();
  spdlog::info("loaded {} items ({} vectors) from {}", catalog_.size(), index_->size(), o.data_dir);

  FoldDeps deps{store_.get(),  &catalog_,           popularity_.get(), users_.get(),
                covisit_.get(), item_vectors_.get(), slates_.get()};
  fold_ = std::make_unique<FoldWorker>(deps, &options_, model_version(), &fold_stats_);

  IngestOptions io;
  io.fsync = o.fsync;
  io.queue_capacity = o.queue_capacity;
  io.max_batch_events = o.max_batch_events;
  io.dedupe_window_seconds = o.dedupe_window_seconds;
  ingest_ = std::make_unique<Ingestor>(
      store_.get(), io, [this](const std::vector<StoredEvent>& events, uint64_t last_seq) {
        for (const auto& e : events) {
          auto it = events_by_type_.find(e.type());
          if (it != events_by_type_.end()) it->second.fetch_add(1, std::memory_order_relaxed);
        }
        fold_->Notify(last_seq);
      });
  recommender_ = std::make_unique<Recommender>(
      RecommenderDeps{&options_, &catalog_, index_.get(), item_vectors_.get(), popularity_.get(),
                      users_.get(), covisit_.get(), content_.get()});
  return absl::OkStatus();
}

Engine::~Engine() { Shutdown(); }

void Engine::Shutdown() {
  if (shut_down_.exchange(true)) return;
  if (ingest_) {
    // The last impressions go through the commit thread before it stops.
    (void)ingest_->SubmitTask([this] { FlushImpressions(); });
    ingest_->Stop();
  }
  if (fold_) fold_->Stop();
  if (store_) {
    if (auto st = store_->Flush(); !st.ok()) spdlog::warn("flush at shutdown: {}", st.ToString());
  }
}

absl::Status Engine::TrackAsync(std::vector<StoredEvent> events, Ingestor::EventsDone done) {
  const uint64_t lag = ingest_->last_seq() - fold_->folded_seq();
  if (lag > static_cast<uint64_t>(options_.max_fold_lag_events)) {
    return absl::ResourceExhaustedError("ingest: fold-in is " + std::to_string(lag) +
                                        " events behind (ingest.max_fold_lag_events); retry with "
                                        "backoff");
  }
  return ingest_->SubmitEvents(std::move(events), std::move(done));
}

void Engine::ApplyUpsert(const Item& item) {
  uint32_t dense = catalog_.Upsert(InfoOf(item));
  if (item.vector_size() == options_.dimension) {
    item_vectors_->Set(dense, item.vector().data());
    // Validated finite and of the right dimension, so this fails only when
    // the fresh tier is exhausted; the item is then served without ANN.
    if (auto st = index_->Upsert(dense, item.vector().data()); !st.ok()) {
      spdlog::error("vector of {}: {}", item.id(), st.ToString());
    }
  } else {
    item_vectors_->Clear(dense);
    index_->Remove(dense);
  }
  content_->Add(dense, item.has_created_at() ? TsUs(item.created_at()) : 0, ContentKeys(item));
}

absl::Status Engine::UpsertItemsAsync(std::vector<Item> items, CountDone done) {
  return ingest_->SubmitTask([this, items = std::move(items), done = std::move(done)]() mutable {
    const int64_t now = NowUs();
    storage::WriteBatch batch;
    {
      Catalog::Reader r(catalog_);
      for (auto& item : items) {
        if (!item.has_created_at()) {
          // Unset created_at: the time of the first upsert.
          auto d = r.Find(item.id());
          int64_t us = d && r.Row(*d).alive ? r.Row(*d).created_at_us : now;
          item.mutable_created_at()->set_seconds(us / 1000000);
          item.mutable_created_at()->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
        }
        batch.Put(storage::Cf::kItems, item.id(), item.SerializeAsString());
      }
    }
    if (auto st = store_->Write(batch, options_.fsync); !st.ok()) {
      done(st, 0, 0);
      return;
    }
    for (const auto& item : items) ApplyUpsert(item);
    item_vectors_->PublishGramian();
    if (index_->NeedsRebuild()) {
      if (auto st = index_->Rebuild(); !st.ok()) spdlog::error("index rebuild: {}", st.ToString());
    }
    done(absl::OkStatus(), items.size(), 0);
  });
}

absl::Status Engine::DeleteItemsAsync(std::vector<std::string> ids, CountDone done) {
  return ingest_->SubmitTask([this, ids = std::move(ids), done = std::move(done)] {
    storage::WriteBatch batch;
    std::vector<std::string> present;
    {
      Catalog::Reader r(catalog_);
      for (const auto& id : ids) {
        auto d = r.Find(id);
        if (d && r.Row(*d).alive) {
          present.push_back(id);
          batch.Delete(storage::Cf::kItems, id);
        }
      }
    }
    if (!batch.Empty()) {
      if (auto st = store_->Write(batch, options_.fsync); !st.ok()) {
        done(st, 0, 0);
        return;
      }
    }
    uint64_t deleted = 0;
    for (const auto& id : present) {
      if (auto d = catalog_.Remove(id)) {
        index_->Remove(*d);
        item_vectors_->Clear(*d);
        ++deleted;
      }
    }
    item_vectors_->PublishGramian();
    done(absl::OkStatus(), deleted, ids.size() - deleted);
  });
}

absl::StatusOr<std::optional<Item>> Engine::GetItem(const std::string& id) const {
  auto raw = store_->Get(storage::Cf::kItems, id);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Item>();
  Item item;
  if (!item.ParseFromString(**raw)) return absl::DataLossError("items CF: cannot parse " + id);
  return std::optional<Item>(std::move(item));
}

absl::StatusOr<RecommendResult> Engine::Recommend(const RecommendQuery& q) {
  std::string id = NewRecommendationId();
  const uint64_t folded = fold_->folded_seq();
  return Log(q, std::move(id), folded, recommender_->Recommend(q, id, model_version()));
}

absl::StatusOr<RecommendResult> Engine::Related(const RecommendQuery& q,
                                                const std::string& item_id) {
  std::string id = NewRecommendationId();
  const uint64_t folded = fold_->folded_seq();
  return Log(q, std::move(id), folded, recommender_->Related(q, item_id));
}

absl::StatusOr<RecommendResult> Engine::Log(const RecommendQuery& q, std::string recommendation_id,
                                            uint64_t folded, absl::StatusOr<Slate> slate) {
  if (!slate.ok()) return slate.status();
  RecommendResult result;
  result.recommendation_id = std::move(recommendation_id);
  result.model_version = model_version();
  result.folded_seq = folded;
  result.slate = std::move(*slate);

  const int64_t now = NowUs();
  const std::string user_key = UserKey(q.user_id, q.session_id);
  std::vector<Impression> log;
  std::vector<std::pair<std::string, Source>> shown;
  log.reserve(result.slate.items.size());
  for (size_t i = 0; i < result.slate.items.size(); ++i) {
    const RankedItem& it = result.slate.items[i];
    Impression& imp = log.emplace_back();
    imp.set_recommendation_id(result.recommendation_id);
    imp.set_user_key(user_key);
    imp.set_surface(q.surface);
    imp.set_position(static_cast<int32_t>(i));
    imp.set_item_id(it.item_id);
    imp.set_score(it.score);
    imp.set_source(std::string(SourceName(it.source)));
    imp.set_explored(it.explored);
    imp.set_propensity(it.propensity);
    imp.set_deterministic_item_id(it.deterministic_item_id);
    imp.set_pool_size(it.pool_size);
    imp.set_epsilon(it.epsilon);
    imp.set_model_version(result.model_version);
    imp.set_seed(result.slate.seed);
    imp.set_shown_at_us(now);
    shown.emplace_back(it.item_id, it.source);
    shown_by_source_[static_cast<int>(it.source)].fetch_add(1, std::memory_order_relaxed);
  }
  slates_->Put(result.recommendation_id, std::move(shown));
  if (!log.empty() && impressions_->Append(std::move(log))) {
    // First impressions since the last flush: schedule one on the commit
    // thread (it fails only while shutting down, which flushes anyway).
    (void)ingest_->SubmitTask([this] { FlushImpressions(); });
  }
  return result;
}

void Engine::FlushImpressions() {
  auto imps = impressions_->Take();
  if (imps.empty()) return;
  storage::WriteBatch batch;
  for (const auto& imp : imps) {
    batch.Put(storage::Cf::kImpressions,
              imp.recommendation_id() + "/" +
                  storage::EncodeU64(static_cast<uint64_t>(imp.position())).substr(4),
              imp.SerializeAsString());
  }
  // Impressions are asynchronous by design: no fsync.
  if (auto st = store_->Write(batch, /*sync=*/false); !st.ok()) {
    spdlog::warn("impressions lost: {}", st.ToString());
  }
}

EngineStats Engine::Stats() const {
  EngineStats s;
  s.items = catalog_.size();
  s.vectors = index_->size();
  s.fresh_vectors = index_->fresh_size();
  s.last_seq = ingest_->last_seq();
  s.folded_seq = fold_->folded_seq();
  s.queued_events = ingest_->queued_events();
  s.events_folded = fold_stats_.events_folded.load(std::memory_order_relaxed);
  s.events_skipped = fold_stats_.events_skipped.load(std::memory_order_relaxed);
  s.impressions_dropped = impressions_->dropped();
  for (const auto& [name, n] : events_by_type_) s.events_by_type[name] = n.load();
  for (int i = 0; i < kNumSources; ++i) s.shown_by_source[i] = shown_by_source_[i].load();
  for (const auto& [type, arr] : fold_stats_.attributed) {
    auto& out = s.attributed[type];
    for (int i = 0; i < kNumSources; ++i) out[i] = arr[i].load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace recd::core
