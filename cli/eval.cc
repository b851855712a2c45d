#include "cli/eval.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <random>
#include <limits>
#include <set>
#include <sstream>

#include "cli/flags.h"
#include "cli/inputs.h"
#include "cli/progress.h"
#include "cli/train.h"
#include "core/engine.h"
#include "core/sources.h"
#include "eval/ground_truth.h"
#include "eval/metrics.h"
#include "eval/popularity.h"
#include "eval/report.h"
#include "eval/split.h"
#include "spdlog/spdlog.h"

namespace recd::cli {
namespace {

namespace ev = recd::eval;
using recd::v1::eval::EvalRun;

constexpr const char* kUsage = R"(usage: recd eval --dataset FORMAT:PATH [flags]
Splits the dataset, trains on the train part (as recd train), loads the model
into a real engine, replays the train events through Track and the fold-in,
ranks every evaluated user with Recommend (each source alone, and blended as
served) and prints ranking metrics. Writes report.json / report.md / SVGs to
--out when given.
)";

constexpr int kReplayBatch = 1000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SetTs(int64_t us, google::protobuf::Timestamp* ts) {
  ts->set_seconds(us / 1000000);
  ts->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

// A surface that ranks with `source` alone: its weight 1, every other
// source and feature 0, no diversity, no exploration.
core::SurfaceOptions SourceOnly(const core::SurfaceOptions& base, const std::string& source) {
  core::SurfaceOptions s = base;
  for (auto& [name, w] : s.source_weights) w = name == source ? 1.0 : 0.0;
  s.source_weights[source] = 1.0;
  s.freshness_weight = 0;
  s.popularity_weight = 0;
  s.diversity = core::DiversityMode::kNone;
  s.explore_epsilon = 0;
  return s;
}

struct Producer {
  std::string name;     // row name
  std::string surface;  // engine surface
  recd::v1::eval::RowKind kind;
};

absl::Status WaitStatus(const std::function<absl::Status(std::function<void(absl::Status)>)>& f) {
  auto p = std::make_shared<std::promise<absl::Status>>();
  auto fut = p->get_future();
  if (auto st = f([p](absl::Status s) { p->set_value(std::move(s)); }); !st.ok()) return st;
  return fut.get();
}

// Upserts the dataset's catalog. Items without a creation time are dated at
// the dataset's first event (they exist from the start).
absl::Status LoadCatalog(core::Engine* engine, const ev::Dataset& d, int64_t start_us) {
  std::vector<recd::v1::Item> batch;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    auto items = std::move(batch);
    batch.clear();
    return WaitStatus([&](std::function<void(absl::Status)> done) {
      return engine->UpsertItemsAsync(
          std::move(items),
          [done](const absl::Status& s, uint64_t, uint64_t) { done(s); });
    });
  };
  for (const auto& m : d.items) {
    recd::v1::Item& item = batch.emplace_back();
    item.set_id(m.id);
    for (const auto& c : m.categories) item.add_categories(c);
    for (const auto& t : m.tags) item.add_tags(t);
    SetTs(m.created_us > 0 ? std::min(m.created_us, start_us) : start_us,
          item.mutable_created_at());
    if (auto st = core::ValidateItem(item, "items[" + m.id + "]", engine->options()); !st.ok()) {
      return st;
    }
    if (batch.size() >= 1000) {
      if (auto st = flush(); !st.ok()) return st;
    }
  }
  return flush();
}

// Replays events (in time order) through TrackAsync and waits until folded.
absl::Status Replay(core::Engine* engine, const std::vector<const ev::EventRow*>& events) {
  Progress bar("replay", static_cast<long>(events.size()));
  uint64_t last = 0;
  for (size_t i = 0; i < events.size(); i += kReplayBatch) {
    std::vector<recd::v1::records::StoredEvent> batch;
    for (size_t j = i; j < std::min(events.size(), i + kReplayBatch); ++j) {
      const ev::EventRow& e = *events[j];
      auto& s = batch.emplace_back();
      s.set_user_id(e.user);
      s.set_session_id(e.session);
      s.set_item_id(e.item);
      s.set_type(e.type);
      s.set_occurred_at_us(e.ts_us);
      if (e.has_value) {
        s.set_has_value(true);
        s.set_value(e.value);
      }
    }
    for (;;) {
      auto p = std::make_shared<std::promise<std::pair<absl::Status, uint64_t>>>();
      auto fut = p->get_future();
      auto st = engine->TrackAsync(batch, [p](const absl::Status& s, const core::CommitResult& r) {
        p->set_value({s, r.last_seq});
      });
      if (absl::IsResourceExhausted(st)) {  // the fold-in is behind: let it catch up
        engine->WaitFolded(engine->Stats().last_seq, 60);
        continue;
      }
      if (!st.ok()) return st;
      auto [s, seq] = fut.get();
      if (!s.ok()) return s;
      last = std::max(last, seq);
      break;
    }
    bar.Update(static_cast<long>(std::min(events.size(), i + kReplayBatch)));
  }
  bar.Done();
  if (!engine->WaitFolded(last, 600)) return absl::DeadlineExceededError("fold-in did not finish");
  // Trending lists are published incrementally during the replay; one full
  // rebuild makes them independent of the batch timing.
  if (!engine->RepublishPopularity(600)) {
    return absl::DeadlineExceededError("popularity republish did not finish");
  }
  return absl::OkStatus();
}

// ---- The pipeline: one engine over a train part -------------------------

// What a ranking producer returned for one user: items in slate order, with
// each item's per-source contributions (for blend tuning).
struct Listed {
  std::string item;
  std::map<std::string, float> parts;  // source or feature -> contribution
};
using Lists = std::map<std::string, std::vector<Listed>>;  // user -> list

struct PipelineSpec {
  const ev::Dataset* dataset = nullptr;
  const std::vector<size_t>* train = nullptr;  // indices into dataset->events
  std::vector<std::string> users;              // users to rank
  core::EngineOptions engine;                  // surfaces included
  core::TrainOptions train_options;
  std::map<std::string, double> weights;
  std::vector<Producer> producers;
  int k = 10;
  int64_t now_us = 0;
  int64_t first_us = 0;
  std::string work_dir;
};

struct PipelineResult {
  core::ModelLoadResult model;
  std::vector<Lists> lists;  // parallel to spec.producers
};

// Builds a fresh engine in a temp data dir, loads the catalog, trains on the
// train part and loads that model, replays the train events, and ranks
// every user with every producer through Engine::Recommend.
absl::StatusOr<PipelineResult> RunPipeline(const PipelineSpec& spec) {
  core::EngineOptions eo = spec.engine;
  eo.data_dir = spec.work_dir + "/recd-eval-" + std::to_string(::getpid()) + "-" +
                std::to_string(NowUs());
  std::error_code ec;
  std::filesystem::remove_all(eo.data_dir, ec);
  auto engine = core::Engine::Open(eo);
  if (!engine.ok()) return engine.status();
  struct Cleanup {
    std::string dir;
    std::unique_ptr<core::Engine>* engine;
    ~Cleanup() {
      engine->reset();
      std::error_code e;
      std::filesystem::remove_all(dir, e);
      std::filesystem::remove_all(dir + "-model", e);
    }
  } cleanup{eo.data_dir, &*engine};
  if (auto st = LoadCatalog(engine->get(), *spec.dataset, spec.first_us); !st.ok()) return st;

  core::TrainingSet set(spec.weights);
  AddDataset(*spec.dataset, spec.train, &set);
  auto model = TrainWithProgress(set, spec.train_options);
  if (!model.ok()) return model.status();
  const std::string model_dir = eo.data_dir + "-model";
  if (auto st = core::WriteModelSnapshot(&model->data, *model->index, model_dir); !st.ok()) {
    return st;
  }
  PipelineResult out;
  auto loaded = (*engine)->LoadModel(model_dir);
  if (!loaded.ok()) return loaded.status();
  out.model = *loaded;

  std::vector<const ev::EventRow*> events;
  events.reserve(spec.train->size());
  for (size_t i : *spec.train) events.push_back(&spec.dataset->events[i]);
  std::stable_sort(events.begin(), events.end(),
                   [](const ev::EventRow* a, const ev::EventRow* b) { return a->ts_us < b->ts_us; });
  if (auto st = Replay(engine->get(), events); !st.ok()) return st;

  out.lists.resize(spec.producers.size());
  Progress bar("rank", static_cast<long>(spec.users.size()));
  long done = 0;
  for (const auto& user : spec.users) {
    for (size_t p = 0; p < spec.producers.size(); ++p) {
      core::RecommendQuery q;
      q.user_id = user;
      q.surface = spec.producers[p].surface;
      q.k = spec.k;
      q.page_size = spec.k;
      q.now_us = spec.now_us;
      auto r = (*engine)->Recommend(q);
      if (!r.ok()) return r.status();
      auto& list = out.lists[p][user];
      for (const auto& it : r->slate.items) {
        // A source alone is scored on its own candidates, not the
        // freshness filler that tops up a short slate.
        if (spec.producers[p].kind == recd::v1::eval::ROW_KIND_SOURCE &&
            it.source == core::Source::kFresh) {
          continue;
        }
        Listed& l = list.emplace_back();
        l.item = it.item_id;
        for (const auto& c : it.reasons) l.parts[c.source] = c.value;
      }
    }
    bar.Update(++done);
  }
  bar.Done();
  return out;
}

std::vector<std::string> Items(const std::vector<Listed>& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& l : list) out.push_back(l.item);
  return out;
}

// ---- Blend tuning ----------------------------------------------------------

// The blend is linear in its parts (core/recommender.cc Blend): score =
// sum_s w_s * norm_s + w_fresh * freshness + w_pop * popularity. Ranking
// the candidates of an all-weights-1 surface by sum_s w_s * part_s is that
// blend's order (before diversity), so weights can be searched without
// re-ranking through the engine; the result is then checked through it.
constexpr const char* kTuned[] = {"ann",          "covisit",   "content",   "trending",
                                  "popular",      "continuation", "freshness", "popularity"};
constexpr double kGrid[] = {0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5};

double MeanNdcg(const Lists& lists, const std::vector<std::string>& users,
                const ev::GroundTruth& truth, const std::map<std::string, double>& w, int k) {
  double sum = 0;
  std::vector<std::pair<double, const std::string*>> scored;
  for (const auto& u : users) {
    auto it = lists.find(u);
    if (it == lists.end()) continue;
    scored.clear();
    for (const auto& l : it->second) {
      double s = 0;
      for (const auto& [part, v] : l.parts) {
        auto wi = w.find(part);
        if (wi != w.end()) s += wi->second * v;
      }
      if (s > 0) scored.push_back({s, &l.item});
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::string> ranked;
    for (size_t i = 0; i < scored.size() && ranked.size() < static_cast<size_t>(k); ++i) {
      ranked.push_back(*scored[i].second);
    }
    sum += ev::ComputeUserMetrics(ranked, truth.relevant.at(u), k).ndcg;
  }
  return users.empty() ? 0 : sum / users.size();
}

// Coordinate ascent over kGrid for each weight, from `start`, for a few
// rounds; returns the best weights and their validation nDCG@k.
std::pair<std::map<std::string, double>, double> TuneWeights(
    const Lists& lists, const std::vector<std::string>& users, const ev::GroundTruth& truth,
    std::map<std::string, double> start, int k) {
  double best = MeanNdcg(lists, users, truth, start, k);
  for (int round = 0; round < 3; ++round) {
    bool improved = false;
    for (const char* name : kTuned) {
      for (double g : kGrid) {
        auto trial = start;
        trial[name] = g;
        const double v = MeanNdcg(lists, users, truth, trial, k);
        if (v > best + 1e-6) {
          best = v;
          start = trial;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return {start, best};
}

}  // namespace

int RunEval(const std::vector<std::string>& args) {
  Flags flags;
  flags.Add("dataset", "", "FORMAT:PATH (movielens-100k, movielens-1m, trivago, csv)");
  flags.Add("split", "time", "time (global time cut) | leave-last | stratified");
  flags.Add("train-fraction", "0.8",
            "time/stratified: share of events (per user for stratified) in train");
  flags.Add("leave-n", "1", "leave-last: test events per user");
  flags.Add("split-seed", "42", "stratified: shuffle seed; --max-users: sampling seed");
  flags.Add("ks", "1,5,10,20,50", "cutoffs");
  flags.Add("relevant-types", "",
            "comma-separated test event types that count as relevant [dataset profile; all]");
  flags.Add("sources", "ann,covisit,content,trending,popular,continuation",
            "sources ranked alone (comma-separated; empty: blend only)");
  flags.Add("time-slices", "4", "time split: test-period slices to score separately (0: none)");
  flags.Add("max-users", "0", "evaluate at most this many users (0: all), sampled with --split-seed");
  flags.Add("diversity", "", "override the blend's diversity: none | mmr | category_cap");
  flags.Add("session-intent", "", "override the blend's session_intent (0..1)");
  flags.Add("tune-blend", "false",
            "true: fit the blend weights on a validation part of train (same split method), "
            "then score that tuned blend too");
  flags.Add("tune-fraction", "0.9", "tune-blend: share of train kept as inner train");
  flags.Add("out", "", "directory for report.json, report.md and the SVG charts");
  flags.Add("work-dir", "", "where temporary data dirs go (default: the system temp dir)");
  AddTrainFlags(&flags);
  if (auto st = flags.Parse(args); !st.ok() || flags.help()) {
    if (!st.ok()) std::cerr << "recd eval: " << st.message() << "\n";
    (st.ok() ? std::cout : std::cerr) << kUsage << flags.Usage();
    return st.ok() ? 0 : 2;
  }
  auto fail = [](const absl::Status& st) {
    std::cerr << "recd eval: " << st.ToString() << "\n";
    return 1;
  };
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_us = NowUs();
  if (flags.Get("dataset").empty()) {
    std::cerr << "recd eval: --dataset is required\n" << kUsage;
    return 2;
  }
  auto spec = ParseDatasetSpec(flags.Get("dataset"), "dataset");
  if (!spec.ok()) return fail(spec.status());
  std::vector<int> ks;
  double train_fraction = 0, tune_fraction = 0;
  int leave_n = 0, seed = 0, slices = 0, max_users = 0;
  for (const auto& st :
       {flags.GetIntList("ks", &ks), flags.GetDouble("train-fraction", &train_fraction),
        flags.GetInt("leave-n", &leave_n), flags.GetInt("split-seed", &seed),
        flags.GetInt("time-slices", &slices), flags.GetInt("max-users", &max_users),
        flags.GetDouble("tune-fraction", &tune_fraction)}) {
    if (!st.ok()) return fail(st);
  }
  const std::string tune_flag = flags.Get("tune-blend");
  if (tune_flag != "true" && tune_flag != "false") {
    return fail(absl::InvalidArgumentError("--tune-blend: true or false"));
  }
  const bool tune = tune_flag == "true";
  const int max_k = *std::max_element(ks.begin(), ks.end());
  const int primary_k = std::find(ks.begin(), ks.end(), 10) != ks.end() ? 10 : max_k;
  auto config = EngineOptionsFromFlags(flags);
  if (!config.ok()) return fail(config.status());
  core::EngineOptions eo = *config;
  auto train_options = TrainOptionsFromFlags(flags, eo);
  if (!train_options.ok()) return fail(train_options.status());
  train_options->source = flags.Get("dataset");

  std::map<std::string, double> weights = DefaultWeights(spec->format);
  if (weights.empty()) weights = eo.event_weights;
  if (auto st = ApplyWeightOverrides(flags.List("weight"), "weight", &weights); !st.ok()) {
    return fail(st);
  }

  std::cerr << "loading " << spec->format << " from " << spec->path << "\n";
  auto dataset = ev::LoadDataset(spec->format, spec->path);
  if (!dataset.ok()) return fail(dataset.status());

  ev::SplitParams sp;
  const std::string split_flag = flags.Get("split");
  sp.method = split_flag == "time"         ? "global_time"
              : split_flag == "leave-last" ? "leave_last_n"
              : split_flag == "stratified" ? "stratified_random"
                                           : "";
  if (sp.method.empty()) {
    return fail(absl::InvalidArgumentError("--split: one of time, leave-last, stratified, got \"" +
                                           split_flag + "\""));
  }
  sp.train_fraction = train_fraction;
  sp.n = leave_n;
  sp.seed = static_cast<uint64_t>(seed);
  auto split = ev::MakeSplit(*dataset, sp);
  if (!split.ok()) return fail(split.status());

  const DatasetProfile profile = ProfileFor(spec->format);
  ev::GroundTruthOptions gto;
  gto.relevant_types = profile.relevant_types;
  if (!flags.Get("relevant-types").empty()) {
    gto.relevant_types.clear();
    std::stringstream ss(flags.Get("relevant-types"));
    for (std::string t; std::getline(ss, t, ',');) gto.relevant_types.push_back(t);
  }
  auto sample_users = [&](std::vector<std::string> users) {
    if (max_users > 0 && users.size() > static_cast<size_t>(max_users)) {
      std::mt19937_64 rng(static_cast<uint64_t>(seed));
      std::shuffle(users.begin(), users.end(), rng);
      users.resize(static_cast<size_t>(max_users));
      std::sort(users.begin(), users.end());
    }
    return users;
  };
  ev::GroundTruth truth = ev::BuildGroundTruth(dataset->events, *split, gto);
  truth.users = sample_users(truth.users);
  if (truth.users.empty()) {
    return fail(absl::FailedPreconditionError("no user has both train and test events"));
  }
  ev::PopularityStats popularity(dataset->events, split->train, dataset->items);

  // The replay's "now": the cut (time split) or just after the last train event.
  auto clock_of = [&](const ev::Split& s) {
    int64_t last = 0;
    for (size_t i : s.train) last = std::max(last, dataset->events[i].ts_us);
    return s.cut_time_us > 0 ? s.cut_time_us : last + 1;
  };
  int64_t first_us = std::numeric_limits<int64_t>::max();
  for (const auto& e : dataset->events) first_us = std::min(first_us, e.ts_us);

  // Engine options for an offline replay.
  eo.fsync = false;
  eo.event_weights = weights;
  eo.limits.max_k = std::max({eo.limits.max_k, max_k, 200});
  eo.max_user_items = std::max(eo.max_user_items, 100000);  // the seen filter must see all
  eo.user_cache_entries =
      std::max<int>(eo.user_cache_entries, static_cast<int>(truth.users.size()) * 2);
  eo.max_fold_lag_events = std::max(eo.max_fold_lag_events, 2 * kReplayBatch);
  eo.dedupe_window_seconds = 1;
  std::vector<std::string> all_types;
  for (const auto& [t, w] : weights) all_types.push_back(t);
  core::SurfaceOptions blend = eo.surfaces.at("default");
  // Items the user has in train are filtered as seen (all types unless the
  // dataset's profile says otherwise); continuation as the profile says.
  blend.seen_event_types = profile.seen_types.empty() ? all_types : profile.seen_types;
  blend.continuation_event_types = profile.continuation_types;
  blend.finish_event_types = profile.finish_types;
  blend.explore_epsilon = 0;  // deterministic ranking
  blend.max_item_age_seconds = 0;
  if (flags.Has("diversity")) {
    const std::string d = flags.Get("diversity");
    if (d == "none") {
      blend.diversity = core::DiversityMode::kNone;
    } else if (d == "mmr") {
      blend.diversity = core::DiversityMode::kMmr;
    } else if (d == "category_cap") {
      blend.diversity = core::DiversityMode::kCategoryCap;
    } else {
      return fail(absl::InvalidArgumentError("--diversity: none | mmr | category_cap"));
    }
  }
  if (flags.Has("session-intent")) {
    double si = 0;
    if (auto st = flags.GetDouble("session-intent", &si); !st.ok()) return fail(st);
    if (si < 0 || si > 1) return fail(absl::InvalidArgumentError("--session-intent: 0..1"));
    blend.session_intent = si;
  }
  const std::string work = flags.Get("work-dir").empty()
                               ? std::filesystem::temp_directory_path().string()
                               : flags.Get("work-dir");

  EvalRun run;
  std::vector<Producer> producers;
  eo.surfaces.clear();
  eo.surfaces["default"] = blend;
  producers.push_back({"blend", "default", recd::v1::eval::ROW_KIND_BLEND});

  // Blend tuning on a validation part of train.
  if (tune) {
    ev::Dataset inner;
    inner.name = dataset->name;
    inner.items = dataset->items;
    inner.events = ev::Select(dataset->events, split->train);
    inner.has_timestamps = dataset->has_timestamps;
    ev::SplitParams isp = sp;
    isp.train_fraction = tune_fraction;
    auto isplit = ev::MakeSplit(inner, isp);
    if (!isplit.ok()) return fail(isplit.status());
    ev::GroundTruth itruth = ev::BuildGroundTruth(inner.events, *isplit, gto);
    itruth.users = sample_users(itruth.users);
    core::SurfaceOptions all = blend;
    for (const char* s : kTuned) all.source_weights[s] = 1;
    all.source_weights.erase("freshness");
    all.source_weights.erase("popularity");
    all.freshness_weight = 1;
    all.popularity_weight = 1;
    all.diversity = core::DiversityMode::kNone;
    PipelineSpec ps;
    ps.dataset = &inner;
    ps.train = &isplit->train;
    ps.users = itruth.users;
    ps.engine = eo;
    ps.engine.surfaces = {{"default", all}};
    ps.train_options = *train_options;
    ps.weights = weights;
    ps.producers = {{"all", "default", recd::v1::eval::ROW_KIND_BLEND}};
    ps.k = 200;
    ps.now_us = clock_of(*isplit);
    ps.first_us = first_us;
    ps.work_dir = work;
    std::cerr << "tuning the blend on " << isplit->train.size() << " inner-train / "
              << isplit->test.size() << " validation events, " << itruth.users.size()
              << " users\n";
    auto tuned_run = RunPipeline(ps);
    if (!tuned_run.ok()) return fail(tuned_run.status());
    std::map<std::string, double> start = blend.source_weights;
    start["freshness"] = blend.freshness_weight;
    start["popularity"] = blend.popularity_weight;
    const double before = MeanNdcg(tuned_run->lists[0], itruth.users, itruth, start, primary_k);
    auto [w, after] = TuneWeights(tuned_run->lists[0], itruth.users, itruth, start, primary_k);
    core::SurfaceOptions tuned = blend;
    for (const char* s : kTuned) {
      if (std::string(s) == "freshness") {
        tuned.freshness_weight = w[s];
      } else if (std::string(s) == "popularity") {
        tuned.popularity_weight = w[s];
      } else {
        tuned.source_weights[s] = w[s];
      }
    }
    eo.surfaces["tuned"] = tuned;
    producers.push_back({"blend (tuned)", "tuned", recd::v1::eval::ROW_KIND_BLEND});
    std::ostringstream yaml;
    yaml << "surfaces:\n  default:\n    source_weights: {";
    bool first = true;
    for (const auto& [s, v] : tuned.source_weights) {
      yaml << (first ? "" : ", ") << s << ": " << v;
      first = false;
    }
    yaml << "}\n    freshness_weight: " << tuned.freshness_weight
         << "\n    popularity_weight: " << tuned.popularity_weight << "\n";
    std::cerr << "tuned blend: validation nDCG@" << primary_k << " " << before << " -> " << after
              << "\n" << yaml.str();
    run.add_notes("Blend tuned on validation (the last part of train by the same split method, "
                  "inner train fraction " + std::to_string(tune_fraction) + "): nDCG@" +
                  std::to_string(primary_k) + " " + std::to_string(before) + " -> " +
                  std::to_string(after) + " before diversity. As config:\n" + yaml.str());
  }
  {
    std::stringstream ss(flags.Get("sources"));
    for (std::string src; std::getline(ss, src, ',');) {
      if (!core::SourceFromName(src) || src == "fresh" || src == "explore") {
        return fail(absl::InvalidArgumentError("--sources: unknown source \"" + src + "\""));
      }
      eo.surfaces["only-" + src] = SourceOnly(blend, src);
      producers.push_back({src, "only-" + src, recd::v1::eval::ROW_KIND_SOURCE});
    }
  }

  PipelineSpec ps;
  ps.dataset = &*dataset;
  ps.train = &split->train;
  ps.users = truth.users;
  ps.engine = eo;
  ps.train_options = *train_options;
  ps.weights = weights;
  ps.producers = producers;
  ps.k = max_k;
  ps.now_us = clock_of(*split);
  ps.first_us = first_us;
  ps.work_dir = work;
  auto result = RunPipeline(ps);
  if (!result.ok()) return fail(result.status());

  run.set_run_id(std::to_string(started_us));
  run.set_started_at_us(started_us);
  *run.mutable_dataset() = ev::MakeDatasetInfo(*dataset, spec->format, spec->path);
  *run.mutable_split() = ev::MakeSplitInfo(sp, *split, static_cast<int64_t>(truth.users.size()));
  auto* cfg = run.mutable_config();
  cfg->set_model_version(result->model.version);
  for (int k : ks) cfg->add_ks(k);
  auto& params = *cfg->mutable_params();
  params["factors"] = std::to_string(train_options->als.factors);
  params["alpha"] = std::to_string(train_options->als.alpha);
  params["lambda"] = std::to_string(train_options->als.lambda);
  params["iterations"] = std::to_string(train_options->als.iterations);
  params["cg_steps"] = std::to_string(train_options->als.cg_steps);
  for (const auto& [t, w] : weights) params["weight." + t] = std::to_string(w);
  params["blend.diversity"] = blend.diversity == core::DiversityMode::kNone  ? "none"
                              : blend.diversity == core::DiversityMode::kMmr ? "mmr"
                                                                             : "category_cap";
  params["blend.session_intent"] = std::to_string(blend.session_intent);
  for (const auto& [s, w] : blend.source_weights) params["blend.weight." + s] = std::to_string(w);

  for (size_t p = 0; p < producers.size(); ++p) {
    ev::MetricsAccumulator acc(ks, popularity);
    for (const auto& user : truth.users) {
      acc.AddUser(Items(result->lists[p][user]), truth.relevant.at(user));
    }
    *run.add_rows() = ev::MakeMetricsRow(producers[p].name, producers[p].kind, acc.Results());
  }
  {
    // Reference: most popular in train, the user's train items removed.
    auto top = popularity.MostPopular(static_cast<size_t>(max_k) + 2000);
    ev::MetricsAccumulator acc(ks, popularity);
    for (const auto& user : truth.users) {
      std::vector<std::string> list;
      const auto& seen = truth.train_items.at(user);
      for (const auto& i : top) {
        if (list.size() >= static_cast<size_t>(max_k)) break;
        if (!seen.count(i)) list.push_back(i);
      }
      acc.AddUser(list, truth.relevant.at(user));
    }
    *run.add_rows() = ev::MakeMetricsRow("most-popular (reference)",
                                         recd::v1::eval::ROW_KIND_BASELINE, acc.Results());
  }
  // Time slices of the test period: the same lists, scored against what
  // each user did in each slice.
  if (sp.method == "global_time" && slices > 0) {
    auto windows = ev::SliceByTime(dataset->events, split->test, slices);
    for (size_t w = 0; w < windows.size(); ++w) {
      ev::Split part;
      part.train = split->train;
      part.test = windows[w].indices;
      ev::GroundTruth t = ev::BuildGroundTruth(dataset->events, part, gto);
      const std::string label = "slice " + std::to_string(w + 1);
      for (size_t p = 0; p < producers.size(); ++p) {
        ev::MetricsAccumulator acc(ks, popularity);
        for (const auto& user : t.users) {
          auto it = result->lists[p].find(user);
          if (it != result->lists[p].end()) acc.AddUser(Items(it->second), t.relevant.at(user));
        }
        if (acc.users() == 0) continue;
        *run.add_time_slices() =
            ev::MakeTimeSliceRow(label, windows[w], producers[p].name, acc.Results());
      }
    }
  }
  run.add_notes("Rankings come from Engine::Recommend (the server's code) after the train events "
                "were replayed through Track and the fold-in; items the user has in train are "
                "filtered as seen; exploration is off.");
  run.add_notes("Source rows rank with that source alone (weight 1, features and diversity off) "
                "and drop the freshness filler; blend rows are served surfaces.");
  run.add_notes("Model " + result->model.version + ": " + std::to_string(result->model.items) +
                " rows, gate recall@10 " + std::to_string(result->model.gate_recall) + ".");
  run.set_duration_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

  std::cout << ev::RunToText(run);
  if (!flags.Get("out").empty()) {
    auto written = ev::WriteReport(run, flags.Get("out"));
    if (!written.ok()) return fail(written.status());
    std::cerr << "wrote " << written->size() << " files to " << flags.Get("out") << "\n";
  }
  return 0;
}

}  // namespace recd::cli
