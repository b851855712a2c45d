#include "core/engine.h"

#include <chrono>

#include "spdlog/spdlog.h"

namespace recd::core {

using recd::v1::Item;
using recd::v1::records::ItemStats;
using recd::v1::records::StoredEvent;

namespace {

constexpr int kTrendingTopSize = 5000;

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
  return info;
}

}  // namespace

Engine::Engine(const EngineOptions& options) : options_(options) {
  for (const auto& [name, w] : options_.event_weights) events_by_type_[name];
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
  AnnOptions ann;
  ann.dim = options_.dimension;
  ann.m = options_.hnsw_m;
  ann.ef_construction = options_.hnsw_ef_construction;
  ann.ef_search = options_.hnsw_ef_search;
  vectors_ = std::make_unique<VectorIndex>(ann, options_.fresh_tier_max);
  trending_ = std::make_unique<Trending>(options_.trending_half_life_seconds, kTrendingTopSize);
  users_ = std::make_unique<UserStore>(store_.get(), options_.user_cache_entries);

  // Catalog and vectors.
  absl::Status parse;
  auto st = store_->Scan(storage::Cf::kItems, "", [&](std::string_view key, std::string_view v) {
    Item item;
    if (!item.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      parse = absl::DataLossError("items CF: cannot parse item " + std::string(key));
      return false;
    }
    uint32_t dense = catalog_.Upsert(InfoOf(item));
    if (item.vector_size() == options_.dimension) {
      parse = vectors_->Upsert(dense, item.vector().data());
      if (!parse.ok()) return false;
    }
    return true;
  });
  if (!st.ok()) return st;
  if (!parse.ok()) return parse;
  if (auto rb = vectors_->Rebuild(); !rb.ok()) return rb;

  // Trending scores.
  st = store_->Scan(storage::Cf::kItemStats, "", [&](std::string_view key, std::string_view v) {
    ItemStats stats;
    if (stats.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      trending_->Set(catalog_.Intern(key), stats.trending());
    }
    return true;
  });
  if (!st.ok()) return st;
  trending_->Publish();
  spdlog::info("loaded {} items ({} vectors) from {}", catalog_.size(), vectors_->size(),
               options_.data_dir);

  FoldOptions fo;
  fo.event_weights = options_.event_weights;
  fo.max_user_items = options_.max_user_items;
  fo.max_batch_events = options_.max_batch_events;
  fold_ = std::make_unique<FoldWorker>(store_.get(), &catalog_, trending_.get(), users_.get(), fo);

  IngestOptions io;
  io.fsync = options_.fsync;
  io.queue_capacity = options_.queue_capacity;
  io.max_batch_events = options_.max_batch_events;
  io.dedupe_window_seconds = options_.dedupe_window_seconds;
  ingest_ = std::make_unique<Ingestor>(
      store_.get(), io, [this](const std::vector<StoredEvent>& events, uint64_t last_seq) {
        for (const auto& e : events) {
          auto it = events_by_type_.find(e.type());
          if (it != events_by_type_.end()) it->second.fetch_add(1, std::memory_order_relaxed);
        }
        fold_->Notify(last_seq);
      });
  recommender_ = std::make_unique<Recommender>(&options_, &catalog_, vectors_.get(),
                                               trending_.get(), users_.get());
  return absl::OkStatus();
}

Engine::~Engine() { Shutdown(); }

void Engine::Shutdown() {
  if (shut_down_.exchange(true)) return;
  if (ingest_) ingest_->Stop();
  if (fold_) fold_->Stop();
  if (store_) {
    if (auto st = store_->Flush(); !st.ok()) spdlog::warn("flush at shutdown: {}", st.ToString());
  }
}

absl::Status Engine::TrackAsync(std::vector<StoredEvent> events, Ingestor::EventsDone done) {
  return ingest_->SubmitEvents(std::move(events), std::move(done));
}

void Engine::ApplyUpsert(const Item& item) {
  uint32_t dense = catalog_.Upsert(InfoOf(item));
  if (item.vector_size() > 0) {
    // Validated finite and of the right dimension, so this fails only when
    // the fresh tier is exhausted; the item is then served without a vector.
    if (auto st = vectors_->Upsert(dense, item.vector().data()); !st.ok()) {
      spdlog::error("vector of {}: {}", item.id(), st.ToString());
    }
  } else {
    vectors_->Remove(dense);
  }
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
    if (vectors_->NeedsRebuild()) {
      if (auto st = vectors_->Rebuild(); !st.ok()) spdlog::error("index rebuild: {}", st.ToString());
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
        vectors_->Remove(*d);
        ++deleted;
      }
    }
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

absl::StatusOr<Slate> Engine::Recommend(const RecommendQuery& q) const {
  return recommender_->Recommend(q);
}

EngineStats Engine::Stats() const {
  EngineStats s;
  s.items = catalog_.size();
  s.vectors = vectors_->size();
  s.fresh_vectors = vectors_->fresh_size();
  s.last_seq = ingest_->last_seq();
  s.folded_seq = fold_->folded_seq();
  s.queued_events = ingest_->queued_events();
  for (const auto& [name, n] : events_by_type_) s.events_by_type[name] = n.load();
  return s;
}

}  // namespace recd::core
