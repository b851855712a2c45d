#include "core/engine.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include "core/file_util.h"
#include "core/hnsw_index.h"
#include "core/model_files.h"
#include "core/train.h"
#include "spdlog/spdlog.h"
#include "storage/keys.h"

namespace recd::core {

using recd::v1::Item;
using recd::v1::records::Impression;
using recd::v1::records::ImpressionSlate;
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

std::vector<std::string> ContentKeys(const Item& item) {
  return LabelKeys(item.categories(), item.tags());
}

std::string ModelsDir(const std::string& data_dir) { return data_dir + "/models"; }

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

namespace {

using Row = std::pair<std::string, std::string>;  // key, value

// Scans `cf` on this thread and hands the rows, in batches, to `consume` on
// `threads` other threads (at most a few batches queued). With one thread
// the batches are consumed in key order.
absl::Status ScanInParallel(storage::Store& store, storage::Cf cf, int threads,
                            const std::function<void(const std::vector<Row>&)>& consume) {
  constexpr size_t kBatchRows = 512, kMaxQueued = 8;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Row>> queue;
  bool scanned = false;
  auto work = [&] {
    for (;;) {
      std::vector<Row> batch;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !queue.empty() || scanned; });
        if (queue.empty()) return;
        batch = std::move(queue.front());
        queue.pop_front();
      }
      cv.notify_all();
      consume(batch);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(work);
  std::vector<Row> batch;
  auto push = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return queue.size() < kMaxQueued; });
    queue.push_back(std::move(batch));
    batch.clear();
    cv.notify_all();
  };
  absl::Status st = store.Scan(cf, "", [&](std::string_view key, std::string_view v) {
    batch.emplace_back(key, v);
    if (batch.size() >= kBatchRows) push();
    return true;
  });
  if (!batch.empty()) push();
  {
    std::lock_guard lock(mu);
    scanned = true;
  }
  cv.notify_all();
  for (auto& t : workers) t.join();
  return st;
}

}  // namespace

absl::Status Engine::RestoreCovisitation(uint64_t* skipped) {
  // Renumbering a row looks up each neighbour's id (about 20M lookups at 1M
  // items, most of them cache misses), so rows are decoded on two threads
  // while this one scans; Restore itself is serialised.
  std::mutex restore_mu;
  return ScanInParallel(*store_, storage::Cf::kCovisit, 2, [&](const std::vector<Row>& rows) {
    for (const auto& [key, row] : rows) {
      const uint32_t item = catalog_.Intern(key);
      absl::StatusOr<std::string> summary;
      {
        Catalog::Reader r(catalog_);
        summary = Covisitation::DecodeRow(
            item, row, [&r](absl::Span<const std::string_view> ids, std::optional<uint32_t>* out) {
              r.FindMany(ids, out);
            });
      }
      if (absl::IsNotFound(summary.status())) {  // a neighbour known only from its events
        summary = Covisitation::DecodeRow(
            item, row,
            [this](absl::Span<const std::string_view> ids, std::optional<uint32_t>* out) {
              for (size_t i = 0; i < ids.size(); ++i) out[i] = catalog_.Intern(ids[i]);
            });
      }
      std::lock_guard lock(restore_mu);
      absl::Status rs = summary.ok() ? covisit_->Restore(item, *summary) : summary.status();
      // One line for the first few, then a count: a data dir of an older
      // format would otherwise log a line per item.
      if (!rs.ok() && ++*skipped <= 5) {
        spdlog::warn("covisit CF: skipping {}: {}", key, rs.ToString());
      }
    }
  });
}

absl::Status Engine::Load() {
  const EngineOptions& o = options_;
  AnnOptions ann;
  ann.dim = o.dimension;
  ann.m = o.hnsw_m;
  ann.ef_construction = o.hnsw_ef_construction;
  ann.ef_search = o.hnsw_ef_search;
  ann.exact_max_items = o.exact_search_max_items;
  popularity_ = std::make_unique<Popularity>(o.trending_half_life_seconds,
                                             o.popular_half_life_seconds, o.trending_prior,
                                             kPopularTopSize);
  // The per-session cap counts the session's events (UserState.
  // session_events), not its ring of the last session_items: it was set
  // above the ring's size to keep full rings pairing, and so never capped.
  auto covisit = Covisitation::Create(o.covisit);
  if (!covisit.ok()) return covisit.status();
  covisit_ = std::move(*covisit);
  content_ = std::make_unique<ContentIndex>(o.content_items_per_label);
  users_ = std::make_unique<UserStore>(store_.get(), o.user_cache_entries);
  slates_ = std::make_unique<SlateCache>(o.slate_cache_entries);
  impressions_ = std::make_unique<ImpressionBuffer>(o.impression_buffer);

  // The id index sized once rather than rehashed at every doubling.
  catalog_.Reserve(static_cast<size_t>(store_->EstimateKeys(storage::Cf::kItems)));
  // Seconds per start-up phase, logged at the end.
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&t0] {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - t0).count();
    t0 = now;
    return s;
  };
  // The model: the current trained snapshot if there is one, else the
  // catalog's own vectors.
  std::string current;
  {
    std::ifstream in(ModelsDir(o.data_dir) + "/CURRENT");
    if (in) std::getline(in, current);
  }
  if (!current.empty()) {
    ModelLoadResult info;
    // CURRENT names a snapshot that passed the recall gate when it was
    // loaded; its checksums are verified again, the gate (32 exact scans,
    // ~1 s at 1M items) is not.
    auto m = PrepareModel(ModelsDir(o.data_dir) + "/" + current, /*gate=*/false, &info);
    if (!m.ok()) {
      // A snapshot that fails verification is not served; the catalog's
      // vectors are (LoadModel can install a good one).
      spdlog::error("model {} not loaded: {}", current, m.status().ToString());
    } else {
      writer_model_ = std::move(*m);
    }
  }
  if (writer_model_ == nullptr) {
    writer_model_ = std::make_shared<LiveModel>();
    writer_model_->als_alpha = o.als_alpha;
    writer_model_->als_lambda = o.als_lambda;
    writer_model_->vectors = std::make_unique<ItemVectors>(o.dimension);
    writer_model_->index = std::make_unique<VectorIndex>(ann, o.fresh_tier_max);
  }

  const double model_s = lap();
  // Catalog, vectors, content index.
  // RocksDB's scan (block reads, decompression) on this thread, parsing and
  // applying in key order on another: the two halves are of similar cost.
  absl::Status parse;
  content_->StartLoading();
  auto st = ScanInParallel(*store_, storage::Cf::kItems, 1, [&](const std::vector<Row>& rows) {
    Item item;
    for (const auto& [key, v] : rows) {
      if (!parse.ok()) return;  // the rest of the scan is passed over
      if (!item.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        parse = absl::DataLossError("items CF: cannot parse item " + key);
        return;
      }
      ApplyUpsert(item, *writer_model_, /*loading=*/true);
    }
  });
  content_->FinishLoading();
  if (!st.ok()) return st;
  if (!parse.ok()) return parse;
  writer_model_->vectors->PublishGramian();
  if (!writer_model_->trained || writer_model_->index->NeedsRebuild()) {
    if (auto rb = writer_model_->index->Rebuild(); !rb.ok()) return rb;
  }
  model_.Set(writer_model_);
  const double catalog_s = lap();

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
  const double stats_s = lap();
  uint64_t covisit_skipped = 0;
  st = RestoreCovisitation(&covisit_skipped);
  if (!st.ok()) return st;
  if (covisit_skipped > 5) {
    spdlog::warn("covisit CF: skipped {} rows in all; their co-visitation restarts",
                 covisit_skipped);
  }
  covisit_->Publish();
  covisit_->TakeChanged();
  spdlog::info(
      "loaded {} items ({} vectors, model {}) from {}; seconds: model {:.2f}, catalog {:.2f}, "
      "item stats {:.2f}, co-visitation {:.2f} ({:.0f} MiB)",
      catalog_.size(), writer_model_->index->size(), writer_model_->version, o.data_dir, model_s,
      catalog_s, stats_s, lap(), covisit_->ApproxBytes() / 1048576.0);

  FoldDeps deps{store_.get(),  &catalog_, popularity_.get(), users_.get(),
                covisit_.get(), &model_,   slates_.get()};
  fold_ = std::make_unique<FoldWorker>(deps, &options_, &fold_stats_);

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
      RecommenderDeps{&options_, &catalog_, &model_, popularity_.get(), users_.get(),
                      covisit_.get(), content_.get(),
                      [this](const std::string& key, UserStatePtr from, std::vector<float> x,
                             const std::string& version) {
                        fold_->RequestRefresh(key, {std::move(from), std::move(x), version});
                      }});
  return absl::OkStatus();
}

Engine::~Engine() { Shutdown(); }

void Engine::Shutdown() {
  if (shut_down_.exchange(true)) return;
  {
    // A model load in flight finishes (or fails) before the commit thread
    // stops; its done callback still runs.
    std::thread loader;
    {
      std::lock_guard<std::mutex> l(loader_mu_);
      loader = std::move(loader_);
    }
    if (loader.joinable()) loader.join();
  }
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
  // The fold-in never passes the committed sequence, but the two are read
  // at different moments: a commit and its fold between the reads would
  // make the unsigned difference huge (a spurious RESOURCE_EXHAUSTED). So
  // the folded one is read first (the commit publishes last_seq before it
  // notifies the fold-in), and the difference clamped.
  const uint64_t folded = fold_->folded_seq();
  const uint64_t last = ingest_->last_seq();
  const uint64_t lag = last - std::min(last, folded);
  if (lag > static_cast<uint64_t>(options_.max_fold_lag_events)) {
    return absl::ResourceExhaustedError("ingest: fold-in is " + std::to_string(lag) +
                                        " events behind (ingest.max_fold_lag_events); retry with "
                                        "backoff");
  }
  return ingest_->SubmitEvents(std::move(events), std::move(done));
}

void Engine::ApplyUpsert(const Item& item, LiveModel& model, bool loading) {
  const uint32_t dense = catalog_.Upsert(InfoOf(item));
  const std::vector<std::string> keys = ContentKeys(item);
  content_->Add(dense, item.has_created_at() ? TsUs(item.created_at()) : 0, keys);

  // A catalog model takes the item's own vector. A trained model keeps the
  // vectors of its snapshot and gives other items one from its label map
  // (the item's own vector is from another space and is not used).
  std::vector<float> buf;
  const float* v = nullptr;
  if (!model.trained) {
    if (item.vector_size() == options_.dimension) v = item.vector().data();
  } else if (model.IsTrainedItem(dense)) {
    // Its trained vector stays; one deleted earlier returns to the index.
    if (model.removed_trained.erase(dense) == 0) return;
    buf.resize(model.dim());
    if (model.vectors->Get(dense, buf.data())) UpsertIndex(model, item.id(), dense, buf.data());
    return;
  } else if (loading && model.vectors->Has(dense)) {
    // At start-up a label-map row of the snapshot keeps its vector:
    // recomputing would push every such row into the fresh tier and force a
    // full rebuild.
    return;
  } else if (LabelMapVector(model.labels, model.row_of_label, keys, &buf)) {
    v = buf.data();
  }
  if (v != nullptr) {
    model.vectors->Set(dense, v);
    UpsertIndex(model, item.id(), dense, v);
  } else {
    model.vectors->Clear(dense);
    model.index->Remove(dense);
  }
}

void Engine::UpsertIndex(LiveModel& model, const std::string& id, uint32_t dense, const float* v) {
  // Validated finite and of the right dimension, so this fails only when
  // the fresh tier is exhausted; the item is then served without ANN.
  if (auto st = model.index->Upsert(dense, v); !st.ok()) {
    spdlog::error("vector of {}: {}", id, st.ToString());
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
    for (const auto& item : items) ApplyUpsert(item, *writer_model_);
    writer_model_->vectors->PublishGramian();
    if (writer_model_->index->NeedsRebuild()) {
      if (auto st = writer_model_->index->Rebuild(); !st.ok()) {
        spdlog::error("index rebuild: {}", st.ToString());
      }
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
        writer_model_->index->Remove(*d);
        if (writer_model_->IsTrainedItem(*d)) {
          // Its trained vector stays, so a re-added item gets it back.
          writer_model_->removed_trained.insert(*d);
        } else {
          writer_model_->vectors->Clear(*d);
        }
        ++deleted;
      }
    }
    writer_model_->vectors->PublishGramian();
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
  return Log(q, std::move(id), folded, recommender_->Recommend(q, id));
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
  result.model_version = slate->model_version;
  result.folded_seq = folded;
  result.slate = std::move(*slate);

  ImpressionSlate log;
  log.set_recommendation_id(result.recommendation_id);
  log.set_user_key(UserKey(q.user_id, q.session_id));
  log.set_surface(q.surface);
  log.set_model_version(result.model_version);
  log.set_seed(result.slate.seed);
  log.set_shown_at_us(NowUs());
  std::vector<std::pair<std::string, Source>> shown;
  shown.reserve(result.slate.items.size());
  for (size_t i = 0; i < result.slate.items.size(); ++i) {
    const RankedItem& it = result.slate.items[i];
    Impression& imp = *log.add_items();
    imp.set_position(static_cast<int32_t>(i));
    imp.set_item_id(it.item_id);
    imp.set_score(it.score);
    imp.set_source(std::string(SourceName(it.source)));
    imp.set_explored(it.explored);
    imp.set_propensity(it.propensity);
    imp.set_deterministic_item_id(it.deterministic_item_id);
    imp.set_pool_size(it.pool_size);
    imp.set_epsilon(it.epsilon);
    shown.emplace_back(it.item_id, it.source);
    shown_by_source_[static_cast<int>(it.source)].fetch_add(1, std::memory_order_relaxed);
  }
  slates_->Put(result.recommendation_id, std::move(shown));
  if (log.items_size() > 0 && impressions_->Append(std::move(log))) {
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
  for (const auto& slate : imps) {
    batch.Put(storage::Cf::kImpressions, slate.recommendation_id(), slate.SerializeAsString());
  }
  // Impressions are asynchronous by design: no fsync.
  if (auto st = store_->Write(batch, /*sync=*/false); !st.ok()) {
    spdlog::warn("impressions lost: {}", st.ToString());
  }
}

EngineStats Engine::Stats() const {
  EngineStats s;
  s.items = catalog_.size();
  const auto model = model_.Pin();
  s.vectors = model->index->size();
  s.fresh_vectors = model->index->fresh_size();
  s.model_version = model->version;
  s.model_trained = model->trained;
  s.last_seq = ingest_->last_seq();
  s.folded_seq = fold_->folded_seq();
  s.persisted_seq = fold_->persisted_seq();
  s.unpersisted_events = fold_->unpersisted_events();
  s.fold_writer_wait_seconds = fold_->writer_wait_seconds();
  s.queued_events = ingest_->queued_events();
  s.events_folded = fold_stats_.events_folded.load(std::memory_order_relaxed);
  s.events_skipped = fold_stats_.events_skipped.load(std::memory_order_relaxed);
  s.solves_deferred = fold_stats_.solves_deferred.load(std::memory_order_relaxed);
  s.vectors_refreshed = fold_stats_.vectors_refreshed.load(std::memory_order_relaxed);
  s.refreshes_resolved = fold_stats_.refreshes_resolved.load(std::memory_order_relaxed);
  s.impressions_dropped = impressions_->dropped();
  for (const auto& [name, n] : events_by_type_) s.events_by_type[name] = n.load();
  for (int i = 0; i < kNumSources; ++i) s.shown_by_source[i] = shown_by_source_[i].load();
  for (const auto& [type, arr] : fold_stats_.attributed) {
    auto& out = s.attributed[type];
    for (int i = 0; i < kNumSources; ++i) out[i] = arr[i].load(std::memory_order_relaxed);
  }
  return s;
}

// ---- Model lifecycle ------------------------------------------------------

absl::StatusOr<std::shared_ptr<LiveModel>> Engine::PrepareModel(const std::string& dir, bool gate,
                                                                ModelLoadResult* result) {
  // The vectors are kept only where they are used: the recall gate and a
  // small model's exact index; a large one's are read from its HNSW file.
  auto data = ReadModelSnapshot(dir, gate ? std::numeric_limits<size_t>::max()
                                          : static_cast<size_t>(options_.exact_search_max_items));
  if (!data.ok()) return data.status();
  const auto& mf = data->manifest;
  const int dim = mf.dim();
  const size_t rows = data->item_ids.size();
  if (mf.trained_items() > rows) {
    return absl::DataLossError("model " + dir + ": trained_items exceeds its rows");
  }
  std::vector<uint32_t> dense(rows);
  catalog_.InternAll(data->item_ids, dense.data());

  AnnOptions ann;
  ann.dim = dim;
  ann.m = mf.hnsw_m();
  ann.ef_construction = mf.hnsw_ef_construction();
  ann.ef_search = options_.hnsw_ef_search;
  ann.exact_max_items = options_.exact_search_max_items;
  // A small model is scanned exactly (model.exact_search_max_items); its
  // HNSW file is then not needed.
  auto main = rows <= static_cast<size_t>(ann.exact_max_items)
                  ? BuildExactIndex(ann, dense.data(), data->vectors.data(), rows)
                  : LoadHnswIndex(ModelIndexPath(dir), ann, &dense);
  if (!main.ok()) return main.status();
  if ((*main)->size() != rows) {
    return absl::DataLossError("model " + dir + ": the index does not hold every row");
  }

  // Gate: the index must find what exact search finds, on sampled rows. As
  // in ann-benchmarks, a result counts when its score is within a small
  // tolerance of the exact 10th score: many near-equal scores (items with
  // few interactions sit near the origin) make id sets differ while the
  // scores returned are as good.
  const size_t samples = gate ? std::min<size_t>(rows, 32) : 0;
  double recall = 1;
  if (samples > 0) {
    double hits = 0, want = 0;
    for (size_t s = 0; s < samples; ++s) {
      const float* q = data->vectors.data() + (s * rows / samples) * dim;
      auto exact = ExactSearch(q, 10, dense.data(), data->vectors.data(), rows, dim);
      if (exact.empty()) continue;
      auto approx = (*main)->Search(q, 10);
      const float tol = 1e-3f * std::fabs(exact.front().score);
      const float kth = exact.back().score - tol;
      for (const auto& n : approx) hits += n.score >= kth ? 1 : 0;
      want += static_cast<double>(exact.size());
    }
    recall = want > 0 ? std::min(1.0, hits / want) : 1;
  }
  result->gate_recall = recall;
  if (recall < kModelGateRecall) {
    return absl::FailedPreconditionError(
        "model " + dir + ": HNSW recall@10 " + std::to_string(recall) + " on sampled rows is below " +
        std::to_string(kModelGateRecall));
  }

  auto m = std::make_shared<LiveModel>();
  m->version = mf.version();
  m->trained = true;
  m->als_alpha = mf.als_alpha();
  m->als_lambda = mf.als_lambda();
  // The vectors are read where the index stores them, with no second copy:
  // the index was built from these rows (vectors.bin) and holds every one
  // of them (checked above), and both files passed their checksums.
  const std::shared_ptr<const AnnIndex> main_index = std::move(*main);
  m->vectors = std::make_unique<ItemVectors>(dim);
  m->vectors->SetBase(main_index);
  m->vectors->ResetGramian(mf.gramian().data());
  auto index = VectorIndex::Create(ann, options_.fresh_tier_max);
  if (!index.ok()) return index.status();
  m->index = std::move(*index);
  if (auto st = m->index->Reset(main_index); !st.ok()) return st;
  m->labels = std::move(data->labels);
  for (int l = 0; l < m->labels.labels_size(); ++l) {
    m->row_of_label.emplace(m->labels.labels(l), static_cast<uint32_t>(l));
  }
  for (size_t r = 0; r < mf.trained_items(); ++r) {
    if (dense[r] >= m->trained_item.size()) m->trained_item.resize(dense[r] + 1, false);
    m->trained_item[dense[r]] = true;
  }
  result->version = mf.version();
  result->items = rows;
  return m;
}

uint64_t Engine::ReconcileModel(LiveModel& model) {
  uint64_t given = 0;
  if (model.trained) {
    std::vector<float> v(model.dim());
    std::vector<std::pair<uint32_t, std::vector<float>>> cold;
    {
      Catalog::Reader r(catalog_);
      for (uint32_t d = 0; d < r.capacity(); ++d) {
        const ItemRow& row = r.Row(d);
        if (!row.alive || model.vectors->Get(d, v.data())) continue;
        std::vector<float> out;
        if (LabelMapVector(model.labels, model.row_of_label, LabelKeys(r, row), &out)) {
          cold.emplace_back(d, std::move(out));
        }
      }
    }
    for (const auto& [d, vec] : cold) {
      model.vectors->Set(d, vec.data());
      if (model.index->Upsert(d, vec.data()).ok()) ++given;
    }
  }
  model.vectors->PublishGramian();
  if (model.index->NeedsRebuild()) {
    if (auto st = model.index->Rebuild(); !st.ok()) spdlog::error("index rebuild: {}", st.ToString());
  }
  return given;
}

absl::StatusOr<std::string> Engine::KeepSnapshot(const std::string& dir,
                                                 const std::string& version) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dest = fs::path(ModelsDir(options_.data_dir)) / version;
  // Already kept (or loaded from there): versions are unique, so it is the
  // same model.
  if (fs::exists(dest, ec)) return dest.string();
  const fs::path tmp = dest.string() + ".tmp";
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return absl::InternalError("cannot create " + tmp.string() + ": " + ec.message());
  for (const char* name : {"MANIFEST", "vectors.bin", "labels.pb", "index.hnsw"}) {
    const fs::path from = fs::path(dir) / name, to = tmp / name;
    fs::create_hard_link(from, to, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(from, to, ec);
      if (ec) {
        fs::remove_all(tmp, ec);
        return absl::InternalError("cannot copy " + from.string() + ": " + ec.message());
      }
      File f(std::fopen(to.c_str(), "rbe"));
      if (f == nullptr) return IoError("cannot open", to.string());
      if (auto st = SyncAndClose(std::move(f), to.string()); !st.ok()) return st;
    }
  }
  if (auto st = SyncDir(tmp.string()); !st.ok()) return st;
  fs::rename(tmp, dest, ec);
  if (ec) return absl::InternalError("cannot rename " + tmp.string() + ": " + ec.message());
  if (auto st = SyncParentDir(dest.string()); !st.ok()) return st;
  return dest.string();
}

absl::Status Engine::MarkCurrent(const std::string& version) {
  namespace fs = std::filesystem;
  const std::string dir = ModelsDir(options_.data_dir);
  std::string previous;
  {
    std::ifstream in(dir + "/CURRENT");
    if (in) std::getline(in, previous);
  }
  const std::string tmp = dir + "/CURRENT.tmp";
  {
    File f(std::fopen(tmp.c_str(), "we"));
    if (f == nullptr) return IoError("cannot create", tmp);
    if (std::fputs((version + "\n").c_str(), f.get()) < 0) return IoError("cannot write", tmp);
    if (auto st = SyncAndClose(std::move(f), tmp); !st.ok()) return st;
  }
  std::error_code ec;
  fs::rename(tmp, dir + "/CURRENT", ec);
  if (ec) return absl::InternalError("cannot rename " + tmp + ": " + ec.message());
  if (auto st = SyncDir(dir); !st.ok()) return st;
  // Keep the current and the previous snapshot (rollback); drop the rest.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == version || name == previous) continue;
    fs::remove_all(entry.path(), ec);
  }
  return absl::OkStatus();
}

absl::Status Engine::LoadModelAsync(std::string dir, ModelDone done) {
  std::lock_guard<std::mutex> l(loader_mu_);
  if (shut_down_.load()) return absl::FailedPreconditionError("LoadModel: shutting down");
  if (loading_) return absl::FailedPreconditionError("LoadModel: another model load is running");
  if (loader_.joinable()) loader_.join();  // the previous load, finished
  loading_ = true;
  loader_ = std::thread([this, dir = std::move(dir), done = std::move(done)]() mutable {
    pthread_setname_np(pthread_self(), "recd-loader");
    const auto start = std::chrono::steady_clock::now();
    auto finish = [this, done](absl::StatusOr<ModelLoadResult> r) {
      {
        std::lock_guard<std::mutex> l(loader_mu_);
        loading_ = false;
      }
      done(std::move(r));
    };
    auto result = std::make_shared<ModelLoadResult>();
    auto prepared = PrepareModel(dir, /*gate=*/true, result.get());
    if (!prepared.ok()) return finish(prepared.status());
    if ((*prepared)->version == model_version()) {
      result->already_loaded = true;
      return finish(*result);
    }
    auto kept = KeepSnapshot(dir, result->version);
    if (!kept.ok()) return finish(kept.status());
    std::shared_ptr<LiveModel> model = std::move(*prepared);
    auto st = ingest_->SubmitTask([this, model, result, start, finish]() {
      result->cold_items = ReconcileModel(*model);
      writer_model_ = model;
      model_.Set(model);
      if (auto mark = MarkCurrent(model->version); !mark.ok()) {
        spdlog::error("model {} is serving but not recorded as current: {}", model->version,
                      mark.ToString());
      }
      result->seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      spdlog::info("model {} loaded: {} rows, {} catalog items from the label map, gate "
                   "recall@10 {:.3f}, {:.2f} s",
                   model->version, result->items, result->cold_items, result->gate_recall,
                   result->seconds);
      finish(*result);
    });
    if (!st.ok()) finish(st);
  });
  return absl::OkStatus();
}

absl::StatusOr<ModelLoadResult> Engine::LoadModel(const std::string& dir) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<ModelLoadResult>>>();
  auto future = promise->get_future();
  if (auto st = LoadModelAsync(dir, [promise](absl::StatusOr<ModelLoadResult> r) {
        promise->set_value(std::move(r));
      });
      !st.ok()) {
    return st;
  }
  return future.get();
}

}  // namespace recd::core
