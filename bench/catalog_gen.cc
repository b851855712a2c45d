#include "bench/catalog_gen.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "bench/catalog_model.h"
#include "bench/datagen.h"
#include "bench/recd_process.h"
#include "bench/stats.h"
#include "core/engine.h"
#include "core/train.h"
#include "core/validate.h"
#include "storage/store.h"

namespace recd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Bumped whenever the generator's output changes, so that a catalog built by
// an older generator is rebuilt instead of reused.
// 2: the serve and startup scenarios run on a clone (CloneCatalogData);
// catalogs of version 1 carry the events and impressions of earlier runs.
constexpr int kGeneratorVersion = 2;
constexpr int64_t kDayUs = 86400LL * 1000000;
constexpr int kItemBatch = 10000;
constexpr int kEventBatch = 1000;
constexpr int kMaxBatchesInFlight = 16;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetTs(google::protobuf::Timestamp* ts, int64_t us) {
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

std::string DirName(const CatalogSpec& s) {
  return Sprintf("catalog-%lldx%d-c%d-u%lld-e%lld-s%llu%s", static_cast<long long>(s.items), s.dim,
                 s.categories, static_cast<long long>(s.users), static_cast<long long>(s.events),
                 static_cast<unsigned long long>(s.seed),
                 s.model ? Sprintf("-model%d", s.model_iterations).c_str() : "");
}

// Bounds the async engine calls in flight and collects their first error.
class Pipeline {
 public:
  explicit Pipeline(int max_in_flight) : max_(max_in_flight) {}
  // Blocks while max_in_flight calls are pending.
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < max_; });
    ++in_flight_;
  }
  // Called from the engine's commit thread when one call finishes.
  void Release(const absl::Status& st) {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (!st.ok() && error_.ok()) error_ = st;
    cv_.notify_all();
  }
  // Waits for every pending call; returns the first error.
  absl::Status Drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return error_;
  }
  absl::Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  absl::Status error_;
};

core::EngineOptions BuildOptions(const CatalogSpec& spec, const std::string& data_dir) {
  core::EngineOptions o;
  o.data_dir = data_dir;
  o.dimension = spec.dim;
  // Bulk load: the final server start builds the index; no rebuild on the
  // way (every one would be a full HNSW build), no WAL sync per group
  // (Shutdown flushes), and no fold-lag refusal while the history streams in.
  o.fsync = false;
  o.fresh_tier_max = static_cast<int>(std::min<int64_t>(spec.items + 1, INT32_MAX));
  o.max_fold_lag_events = INT32_MAX;
  return o;
}

// Upserts the items; their labels go to `set` too when it is not null.
absl::Status WriteItems(core::Engine& engine, const CatalogSpec& spec, const std::vector<float>& vecs,
                        const std::vector<int>& category, int64_t now, core::TrainingSet* set) {
  std::mt19937_64 rng(spec.seed * 7919 + 1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const PowerLaw tag_pick(spec.tags_per_category, 1.0);
  const PowerLaw brand_pick(2000, 1.0);
  Pipeline pipe(4);
  std::vector<recd::v1::Item> batch;
  int64_t next_report = spec.items / 10;
  for (int64_t i = 0; i < spec.items; ++i) {
    recd::v1::Item item;
    item.set_id(ItemId(i));
    const int c = category[static_cast<size_t>(i)];
    item.add_categories("cat" + std::to_string(c));
    if (unit(rng) < 0.1) item.add_categories("cat" + std::to_string(rng() % spec.categories));
    item.add_tags(Sprintf("cat%d-t%lld", c, static_cast<long long>(tag_pick(rng))));
    item.add_tags(Sprintf("cat%d-t%lld", c, static_cast<long long>(tag_pick(rng))));
    item.add_tags("brand" + std::to_string(brand_pick(rng)));
    // Ages up to 180 days, skewed young: a catalog keeps getting new items,
    // so the content source (items younger than 7 days) has candidates.
    const double age_days = 180 * unit(rng) * unit(rng);
    SetTs(item.mutable_created_at(), now - static_cast<int64_t>(age_days * kDayUs));
    (*item.mutable_properties())["title"] = "Generated item " + std::to_string(i);
    if (i % 500 < 5) {  // 1% of the items: series of five episodes
      (*item.mutable_properties())["series_id"] = "series" + std::to_string(i / 500);
      (*item.mutable_properties())["series_index"] = std::to_string(i % 500 + 1);
    }
    const float* v = &vecs[static_cast<size_t>(i) * spec.dim];
    item.mutable_vector()->Add(v, v + spec.dim);
    if (auto st = core::ValidateItem(item, "items[" + std::to_string(i) + "]", engine.options());
        !st.ok()) {
      return st;
    }
    if (set != nullptr) {
      std::vector<std::string> labels;
      for (const auto& cat : item.categories()) labels.push_back("c:" + cat);
      for (const auto& tag : item.tags()) labels.push_back("t:" + tag);
      set->SetItemLabels(item.id(), std::move(labels));
    }
    batch.push_back(std::move(item));
    if (static_cast<int>(batch.size()) == kItemBatch || i + 1 == spec.items) {
      pipe.Acquire();
      auto st = engine.UpsertItemsAsync(
          std::move(batch),
          [&pipe](const absl::Status& s, uint64_t, uint64_t) { pipe.Release(s); });
      if (!st.ok()) {
        pipe.Release(absl::OkStatus());
        (void)pipe.Drain();
        return st;
      }
      batch.clear();
      if (auto err = pipe.error(); !err.ok()) break;
    }
    if (i + 1 >= next_report) {
      std::cout << Sprintf("  items %lld/%lld\n", static_cast<long long>(i + 1),
                           static_cast<long long>(spec.items))
                << std::flush;
      next_report += std::max<int64_t>(1, spec.items / 10);
    }
  }
  return pipe.Drain();
}

// Writes the event history (and adds it to `set` when not null); returns
// the number of events and the last sequence number.
absl::Status WriteEvents(core::Engine& engine, const CatalogSpec& spec,
                         const std::vector<int>& category, int64_t now, core::TrainingSet* set,
                         int64_t* written, uint64_t* last_seq) {
  // Items of each category; the order inside a category is the popularity
  // rank (ids are assigned to clusters at random, so this order is random).
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(spec.categories));
  for (int64_t i = 0; i < spec.items; ++i) {
    members[static_cast<size_t>(category[static_cast<size_t>(i)])].push_back(i);
  }
  std::vector<PowerLaw> in_category;
  for (const auto& m : members) in_category.emplace_back(std::max<int64_t>(1, m.size()), 1.0);

  std::mt19937_64 rng(spec.seed * 104729 + 3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int64_t> any_item(0, spec.items - 1);
  const PowerLaw user_pick(spec.users, 0.8);
  const std::pair<const char*, double> kTypes[] = {
      {"view", 0.70}, {"click", 0.18}, {"save", 0.05}, {"cart", 0.05}, {"purchase", 0.02}};

  Pipeline pipe(kMaxBatchesInFlight);
  std::mutex seq_mu;
  google::protobuf::RepeatedPtrField<recd::v1::Event> events;
  auto flush = [&]() -> absl::Status {
    if (events.empty()) return absl::OkStatus();
    std::vector<recd::v1::records::StoredEvent> stored;
    if (auto st = core::ConvertEvents(events, 0, engine.options(), NowUs(), &stored); !st.ok()) {
      return st;
    }
    *written += events.size();
    events.Clear();
    pipe.Acquire();
    for (;;) {
      auto copy = stored;
      auto st = engine.TrackAsync(std::move(copy), [&](const absl::Status& s,
                                                       const core::CommitResult& r) {
        {
          std::lock_guard lock(seq_mu);
          *last_seq = std::max(*last_seq, r.last_seq);
        }
        pipe.Release(s);
      });
      if (st.ok()) break;
      if (!absl::IsResourceExhausted(st)) {
        pipe.Release(absl::OkStatus());
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // backpressure: retry
    }
    return pipe.error();
  };

  int64_t produced = 0, next_report = spec.events / 10;
  while (produced < spec.events) {
    const int64_t u = user_pick(rng);
    // A user's favourite categories are fixed: drawn from a generator
    // seeded by the user (size-weighted: the category of a random item).
    std::mt19937_64 user_rng(spec.seed ^ (static_cast<uint64_t>(u) * 0x9E3779B97F4A7C15ull));
    int favourites[3];
    const int n_fav = 1 + static_cast<int>(user_rng() % 3);
    for (int& f : favourites) {
      f = category[static_cast<size_t>(user_rng() % static_cast<uint64_t>(spec.items))];
    }
    const int topic = unit(rng) < 0.85 ? favourites[rng() % n_fav]
                                       : category[static_cast<size_t>(any_item(rng))];
    const int n = 2 + static_cast<int>(rng() % 11);
    int64_t t = now - static_cast<int64_t>(unit(rng) * 30 * kDayUs);
    const std::string session = Sprintf("u%lld-s%lld", static_cast<long long>(u),
                                        static_cast<long long>(t / (1800LL * 1000000)));
    for (int e = 0; e < n && produced < spec.events; ++e, ++produced) {
      const auto& pool = members[static_cast<size_t>(topic)];
      const int64_t item = pool.empty() ? any_item(rng)
                                        : pool[static_cast<size_t>(in_category[topic](rng))];
      const char* type = "view";
      double r = unit(rng), acc = 0;
      for (const auto& [name, p] : kTypes) {
        acc += p;
        if (r < acc) {
          type = name;
          break;
        }
      }
      t = std::min<int64_t>(now, t + 10 * 1000000LL + static_cast<int64_t>(unit(rng) * 110 * 1000000LL));
      recd::v1::Event* ev = events.Add();
      ev->set_user_id(UserId(u));
      ev->set_session_id(session);
      ev->set_item_id(ItemId(item));
      ev->set_type(type);
      SetTs(ev->mutable_occurred_at(), t);
      if (set != nullptr) set->AddEvent(ev->user_id(), ev->item_id(), ev->type(), t);
      if (events.size() >= kEventBatch) {
        if (auto st = flush(); !st.ok()) {
          (void)pipe.Drain();
          return st;
        }
      }
    }
    if (produced >= next_report) {
      std::cout << Sprintf("  events %lld/%lld (folded up to seq %llu)\n",
                           static_cast<long long>(produced), static_cast<long long>(spec.events),
                           static_cast<unsigned long long>(engine.folded_seq()))
                << std::flush;
      next_report += std::max<int64_t>(1, spec.events / 10);
    }
  }
  if (auto st = flush(); !st.ok()) {
    (void)pipe.Drain();
    return st;
  }
  return pipe.Drain();
}

absl::StatusOr<Catalog> ReadManifest(const fs::path& dir, const CatalogSpec& spec) {
  std::ifstream in(dir / "manifest.txt");
  if (!in) return absl::NotFoundError("no manifest");
  std::map<std::string, double> kv;
  std::string key;
  double value;
  while (in >> key >> value) kv[key] = value;
  if (kv["generator_version"] != kGeneratorVersion) {
    return absl::FailedPreconditionError("generator version changed");
  }
  Catalog c;
  c.spec = spec;
  c.dir = dir.string();
  c.data_dir = (dir / "data").string();
  c.config_path = (dir / "recd.yaml").string();
  c.reused = true;
  c.build_seconds = kv["build_seconds"];
  c.events_written = static_cast<int64_t>(kv["events_written"]);
  return c;
}

}  // namespace

std::string ItemId(int64_t n) { return "i" + std::to_string(n); }
std::string UserId(int64_t n) { return "u" + std::to_string(n); }

std::string CatalogConfigYaml(const CatalogSpec& spec) {
  std::string y =
      "# Written by `recd bench` for a generated catalog (bench/catalog_gen.h).\n"
      "demo: {enabled: false}\n"
      "model: {dimension: " +
      std::to_string(spec.dim) +
      "}\n"
      "surfaces:\n"
      "  default: {}\n"
      "  no_rerank: {diversity: {mode: none}, explore_epsilon: 0}\n";
  for (const char* source : {"ann", "covisit", "content", "trending", "popular", "continuation"}) {
    y += Sprintf("  only_%s: {source_weights: {%s: 1}, diversity: {mode: none}, "
                 "explore_epsilon: 0}\n",
                 source, source);
  }
  return y;
}

absl::StatusOr<Catalog> EnsureCatalog(const std::string& work_dir, const CatalogSpec& spec,
                                      bool rebuild) {
  const fs::path dir = fs::path(work_dir) / DirName(spec);
  if (!rebuild) {
    auto existing = ReadManifest(dir, spec);
    if (existing.ok()) {
      // The config is cheap and may have changed with the binary: rewrite it.
      if (auto st = WriteTextFile(existing->config_path, CatalogConfigYaml(spec)); !st.ok()) {
        return st;
      }
      std::cout << "catalog: reusing " << dir.string() << "\n";
      return existing;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  Catalog c;
  c.spec = spec;
  c.dir = dir.string();
  c.data_dir = (dir / "data").string();
  c.config_path = (dir / "recd.yaml").string();
  if (auto st = WriteTextFile(c.config_path, CatalogConfigYaml(spec)); !st.ok()) return st;

  std::cout << Sprintf("catalog: building %lld items x %d-d, %lld users, %lld events into %s\n",
                       static_cast<long long>(spec.items), spec.dim,
                       static_cast<long long>(spec.users), static_cast<long long>(spec.events),
                       dir.c_str())
            << std::flush;
  const auto start = Clock::now();
  ClusteredVectorsSpec vspec;
  vspec.count = spec.items;
  vspec.dim = spec.dim;
  vspec.clusters = spec.categories;
  vspec.seed = spec.seed;
  std::vector<int> category;
  const std::vector<float> vecs = ClusteredVectors(vspec, &category);

  auto engine = core::Engine::Open(BuildOptions(spec, c.data_dir));
  if (!engine.ok()) return engine.status();
  const int64_t now = NowUs();
  std::unique_ptr<core::TrainingSet> set;
  if (spec.model) set = std::make_unique<core::TrainingSet>((*engine)->options().event_weights);
  if (auto st = WriteItems(**engine, spec, vecs, category, now, set.get()); !st.ok()) return st;
  uint64_t last_seq = 0;
  if (auto st = WriteEvents(**engine, spec, category, now, set.get(), &c.events_written,
                            &last_seq);
      !st.ok()) {
    return st;
  }
  const double fold_timeout = std::max(600.0, static_cast<double>(spec.events) / 1000.0);
  if (last_seq > 0 && !(*engine)->WaitFolded(last_seq, fold_timeout)) {
    return absl::DeadlineExceededError(Sprintf("catalog: fold-in did not reach seq %llu in %.0f s",
                                               static_cast<unsigned long long>(last_seq),
                                               fold_timeout));
  }
  if (set != nullptr) {
    ModelSpec ms;
    ms.iterations = spec.model_iterations;
    ms.threads = spec.threads;
    if (auto st = TrainAndLoadModel(**engine, *set, ms, (dir / "snapshot").string()); !st.ok()) {
      return st;
    }
  }
  const core::EngineStats stats = (*engine)->Stats();
  if (static_cast<int64_t>(stats.items) != spec.items) {
    return absl::InternalError(Sprintf("catalog: engine holds %llu items, not %lld",
                                       static_cast<unsigned long long>(stats.items),
                                       static_cast<long long>(spec.items)));
  }
  (*engine)->Shutdown();
  engine->reset();
  c.build_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (auto st = WriteTextFile((dir / "manifest.txt").string(),
                              Sprintf("generator_version %d\nbuild_seconds %.3f\n"
                                      "events_written %lld\n",
                                      kGeneratorVersion, c.build_seconds,
                                      static_cast<long long>(c.events_written)));
      !st.ok()) {
    return st;
  }
  std::cout << Sprintf("catalog: built in %.1f s\n", c.build_seconds);
  return c;
}

void AddCatalogFlags(FlagSet* flags, CatalogSpec* spec, bool* rebuild) {
  flags->Add("items", &spec->items, "catalog items");
  flags->Add("dim", &spec->dim, "item vector dimension (model.dimension)");
  flags->Add("categories", &spec->categories, "categories (= vector clusters)");
  flags->Add("users", &spec->users, "users with history");
  flags->Add("events", &spec->events, "events in the history");
  flags->Add("catalog-seed", &spec->seed, "catalog generator seed");
  flags->Add("rebuild-catalog", rebuild, "rebuild the catalog even if --work-dir has it");
  flags->Add("model", &spec->model,
             "train a model on the history and make it current (index loaded at start)");
  flags->Add("model-iterations", &spec->model_iterations, "iALS iterations of that model");
}

void SmokeCatalog(const FlagSet& flags, CatalogSpec* spec, bool* rebuild) {
  SmokeDefault(flags, "items", &spec->items, int64_t{2000});
  SmokeDefault(flags, "dim", &spec->dim, 16);
  SmokeDefault(flags, "categories", &spec->categories, 10);
  SmokeDefault(flags, "users", &spec->users, int64_t{200});
  SmokeDefault(flags, "events", &spec->events, int64_t{5000});
  SmokeDefault(flags, "rebuild-catalog", rebuild, true);
}

absl::Status CloneCatalogData(const Catalog& c, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  {
    // RocksDB's checkpoint (Store::Checkpoint): table files hard-linked.
    // It needs a read-write open; the catalog's contents stay as they are.
    storage::StoreOptions so;
    so.path = c.data_dir;
    so.create_if_missing = false;
    so.block_cache_mb = 8;
    auto store = storage::Store::Open(so);
    if (!store.ok()) return store.status();
    if (auto st = (*store)->Checkpoint(to); !st.ok()) return st;
  }
  // The model snapshots beside it (never changed in place): hard links.
  const fs::path models = fs::path(c.data_dir) / "models";
  if (!fs::exists(models, ec)) return absl::OkStatus();
  for (auto it = fs::recursive_directory_iterator(models, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path dst = fs::path(to) / "models" / fs::relative(it->path(), models);
    if (it->is_directory()) {
      fs::create_directories(dst, ec);
    } else {
      fs::create_directories(dst.parent_path(), ec);
      if (!ec) fs::create_hard_link(it->path(), dst, ec);
    }
    if (ec) break;
  }
  if (ec) return absl::InternalError("cannot link " + models.string() + ": " + ec.message());
  return absl::OkStatus();
}

Json ToJson(const Catalog& c) {
  Json j = Json::Object();
  j.Set("items", c.spec.items).Set("dim", c.spec.dim).Set("categories", c.spec.categories);
  j.Set("users", c.spec.users).Set("events", c.events_written).Set("seed", c.spec.seed);
  j.Set("trained_model", c.spec.model).Set("model_iterations", c.spec.model_iterations);
  j.Set("dir", c.dir).Set("reused", c.reused).Set("build_seconds", c.build_seconds);
  return j;
}

}  // namespace recd::bench
