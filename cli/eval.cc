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
#include "config/config.h"
#include "core/engine.h"
#include "core/sources.h"
#include "eval/ground_truth.h"
#include "eval/metrics.h"
#include "eval/popularity.h"
#include "eval/report.h"
#include "eval/split.h"
#include "server/options_from_config.h"
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
  return absl::OkStatus();
}

}  // namespace

int RunEval(const std::vector<std::string>& args) {
  Flags flags;
  flags.Add("dataset", "", "FORMAT:PATH (movielens-100k, movielens-1m, trivago, csv)");
  flags.Add("split", "time", "time (global time cut) | leave-last | stratified");
  flags.Add("train-fraction", "0.8", "time/stratified: share of events (per user for stratified) in train");
  flags.Add("leave-n", "1", "leave-last: test events per user");
  flags.Add("split-seed", "42", "stratified: shuffle seed; --max-users: sampling seed");
  flags.Add("ks", "1,5,10,20,50", "cutoffs");
  flags.Add("relevant-types", "", "comma-separated test event types that count as relevant (default: all)");
  flags.Add("sources", "ann,covisit,content,trending,popular,continuation",
            "sources ranked alone (comma-separated; empty: blend only)");
  flags.Add("time-slices", "4", "time split: test-period slices to score separately (0: none)");
  flags.Add("max-users", "0", "evaluate at most this many users (0: all), sampled with --seed");
  flags.Add("diversity", "", "override the blend's diversity: none | mmr | category_cap");
  flags.Add("session-intent", "", "override the blend's session_intent (0..1)");
  flags.Add("out", "", "directory for report.json, report.md and the SVG charts");
  flags.Add("work-dir", "", "where the temporary data dir goes (default: the system temp dir)");
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
  auto spec = ParseDatasetSpec(flags.Get("dataset"), "dataset");
  if (!spec.ok()) return fail(spec.status());
  std::vector<int> ks;
  double train_fraction = 0;
  int leave_n = 0, seed = 0, slices = 0, max_users = 0;
  for (auto st : {flags.GetIntList("ks", &ks), flags.GetDouble("train-fraction", &train_fraction),
                  flags.GetInt("leave-n", &leave_n), flags.GetInt("split-seed", &seed),
                  flags.GetInt("time-slices", &slices), flags.GetInt("max-users", &max_users)}) {
    if (!st.ok()) return fail(st);
  }
  const int max_k = *std::max_element(ks.begin(), ks.end());
  auto train_options = TrainOptionsFromFlags(flags);
  if (!train_options.ok()) return fail(train_options.status());

  // Engine options: the config's, with what an offline replay needs.
  auto config = flags.Get("config").empty()
                    ? absl::StatusOr<recd::v1::config::Config>(config::DefaultConfig())
                    : config::LoadFile(flags.Get("config"));
  if (!config.ok()) return fail(config.status());
  core::EngineOptions eo = server::EngineOptionsFromConfig(*config);

  std::map<std::string, double> weights = DefaultWeights(spec->format);
  if (weights.empty()) weights = eo.event_weights;
  if (auto st = ApplyWeightOverrides(flags.List("weight"), "weight", &weights); !st.ok()) {
    return fail(st);
  }

  std::cerr << "loading " << spec->format << " from " << spec->path << "\n";
  auto dataset = ev::LoadDataset(spec->format, spec->path);
  if (!dataset.ok()) return fail(dataset.status());

  // Split.
  absl::StatusOr<ev::Split> split = absl::InvalidArgumentError(
      "--split: one of time, leave-last, stratified, got \"" + flags.Get("split") + "\"");
  std::string method;
  if (flags.Get("split") == "time") {
    if (!dataset->has_timestamps) {
      return fail(absl::InvalidArgumentError(
          "--split time: this dataset has no timestamps (use --split stratified)"));
    }
    method = "global_time";
    split = ev::GlobalTimeSplit(dataset->events, train_fraction);
  } else if (flags.Get("split") == "leave-last") {
    method = "leave_last_n";
    split = ev::LeaveLastN(dataset->events, leave_n);
  } else if (flags.Get("split") == "stratified") {
    method = "stratified_random";
    split = ev::StratifiedRandom(dataset->events, train_fraction, static_cast<uint64_t>(seed));
  }
  if (!split.ok()) return fail(split.status());

  ev::GroundTruthOptions gto;
  if (!flags.Get("relevant-types").empty()) {
    std::stringstream ss(flags.Get("relevant-types"));
    for (std::string t; std::getline(ss, t, ',');) gto.relevant_types.push_back(t);
  }
  ev::GroundTruth truth = ev::BuildGroundTruth(dataset->events, *split, gto);
  if (max_users > 0 && truth.users.size() > static_cast<size_t>(max_users)) {
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    std::shuffle(truth.users.begin(), truth.users.end(), rng);
    truth.users.resize(static_cast<size_t>(max_users));
    std::sort(truth.users.begin(), truth.users.end());
  }
  if (truth.users.empty()) {
    return fail(absl::FailedPreconditionError("no user has both train and test events"));
  }
  ev::PopularityStats popularity(dataset->events, split->train, dataset->items);

  // Time: the replay's "now" is the cut (time split) or the last train event.
  int64_t first_us = std::numeric_limits<int64_t>::max(), last_train_us = 0;
  for (const auto& e : dataset->events) first_us = std::min(first_us, e.ts_us);
  for (size_t i : split->train) last_train_us = std::max(last_train_us, dataset->events[i].ts_us);
  const int64_t now_us = split->cut_time_us > 0 ? split->cut_time_us : last_train_us + 1;

  // Engine options for the replay.
  const std::string work =
      flags.Get("work-dir").empty() ? std::filesystem::temp_directory_path().string()
                                    : flags.Get("work-dir");
  const std::string data_dir =
      work + "/recd-eval-" + std::to_string(::getpid()) + "-" + std::to_string(NowUs());
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);
  eo.data_dir = data_dir;
  eo.fsync = false;
  eo.event_weights = weights;
  eo.limits.max_k = std::max(eo.limits.max_k, max_k);
  eo.max_user_items = std::max(eo.max_user_items, 100000);  // the seen filter must see all
  eo.user_cache_entries = std::max<int>(eo.user_cache_entries, static_cast<int>(truth.users.size()) * 2);
  eo.max_fold_lag_events = std::max(eo.max_fold_lag_events, 2 * kReplayBatch);
  eo.dedupe_window_seconds = 1;
  std::vector<std::string> all_types;
  for (const auto& [t, w] : weights) all_types.push_back(t);
  core::SurfaceOptions blend = eo.surfaces.at("default");
  blend.seen_event_types = all_types;  // seen items removed (MS protocol)
  blend.continuation_event_types.clear();
  blend.finish_event_types.clear();
  blend.explore_epsilon = 0;           // deterministic ranking
  blend.max_item_age_seconds = 0;
  if (flags.Has("diversity")) {
    const std::string d = flags.Get("diversity");
    if (d == "none") blend.diversity = core::DiversityMode::kNone;
    else if (d == "mmr") blend.diversity = core::DiversityMode::kMmr;
    else if (d == "category_cap") blend.diversity = core::DiversityMode::kCategoryCap;
    else return fail(absl::InvalidArgumentError("--diversity: none | mmr | category_cap"));
  }
  if (flags.Has("session-intent")) {
    double si;
    if (auto st = flags.GetDouble("session-intent", &si); !st.ok()) return fail(st);
    blend.session_intent = si;
  }
  std::vector<Producer> producers;
  eo.surfaces.clear();
  eo.surfaces["default"] = blend;
  producers.push_back({"blend", "default", recd::v1::eval::ROW_KIND_BLEND});
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

  auto engine = core::Engine::Open(eo);
  if (!engine.ok()) return fail(engine.status());
  struct Cleanup {
    std::string dir;
    std::unique_ptr<core::Engine>* engine;
    ~Cleanup() {
      engine->reset();
      std::error_code e;
      std::filesystem::remove_all(dir, e);
    }
  } cleanup{data_dir, &*engine};
  if (auto st = LoadCatalog(engine->get(), *dataset, first_us); !st.ok()) return fail(st);

  // Train on the train part and load the model into the engine.
  core::TrainingSet set(weights);
  AddDataset(*dataset, &split->train, &set);
  train_options->source = flags.Get("dataset");
  auto model = TrainWithProgress(set, *train_options);
  if (!model.ok()) return fail(model.status());
  const std::string model_dir = data_dir + "-model";
  if (auto st = core::WriteModelSnapshot(&model->data, *model->index, model_dir); !st.ok()) {
    return fail(st);
  }
  auto loaded = (*engine)->LoadModel(model_dir);
  std::filesystem::remove_all(model_dir, ec);
  if (!loaded.ok()) return fail(loaded.status());

  // Replay the train events in time order (stable: file order within a tie).
  std::vector<const ev::EventRow*> train_events;
  train_events.reserve(split->train.size());
  for (size_t i : split->train) train_events.push_back(&dataset->events[i]);
  std::stable_sort(train_events.begin(), train_events.end(),
                   [](const ev::EventRow* a, const ev::EventRow* b) { return a->ts_us < b->ts_us; });
  if (auto st = Replay(engine->get(), train_events); !st.ok()) return fail(st);

  // Rank every evaluated user with every producer.
  std::vector<std::map<std::string, std::vector<std::string>>> ranked(producers.size());
  {
    Progress bar("rank", static_cast<long>(truth.users.size()));
    long done = 0;
    for (const auto& user : truth.users) {
      for (size_t p = 0; p < producers.size(); ++p) {
        core::RecommendQuery q;
        q.user_id = user;
        q.surface = producers[p].surface;
        q.k = max_k;
        q.page_size = max_k;
        q.now_us = now_us;
        auto r = (*engine)->Recommend(q);
        if (!r.ok()) return fail(r.status());
        auto& list = ranked[p][user];
        for (const auto& it : r->slate.items) {
          // A source alone is scored on its own candidates, not the
          // freshness filler that tops up a short slate.
          if (producers[p].kind == recd::v1::eval::ROW_KIND_SOURCE &&
              it.source == core::Source::kFresh) {
            continue;
          }
          list.push_back(it.item_id);
        }
      }
      bar.Update(++done);
    }
  }

  EvalRun run;
  run.set_run_id(std::to_string(NowUs()));
  run.set_started_at_us(NowUs());
  *run.mutable_dataset() = ev::MakeDatasetInfo(*dataset, spec->format, spec->path);
  *run.mutable_split() = ev::MakeSplitInfo(method, *split);
  run.mutable_split()->set_train_fraction(method == "leave_last_n" ? 0 : train_fraction);
  run.mutable_split()->set_n(method == "leave_last_n" ? leave_n : 0);
  run.mutable_split()->set_seed(method == "stratified_random" ? seed : 0);
  run.mutable_split()->set_eval_users(static_cast<int64_t>(truth.users.size()));
  auto* cfg = run.mutable_config();
  cfg->set_model_version(loaded->version);
  for (int k : ks) cfg->add_ks(k);
  auto& params = *cfg->mutable_params();
  params["factors"] = std::to_string(train_options->als.factors);
  params["alpha"] = std::to_string(train_options->als.alpha);
  params["lambda"] = std::to_string(train_options->als.lambda);
  params["iterations"] = std::to_string(train_options->als.iterations);
  params["cg_steps"] = std::to_string(train_options->als.cg_steps);
  for (const auto& [t, w] : weights) params["weight." + t] = std::to_string(w);
  params["blend.diversity"] = blend.diversity == core::DiversityMode::kNone ? "none"
                              : blend.diversity == core::DiversityMode::kMmr ? "mmr"
                                                                             : "category_cap";
  params["blend.session_intent"] = std::to_string(blend.session_intent);
  for (const auto& [s, w] : blend.source_weights) params["blend.weight." + s] = std::to_string(w);

  for (size_t p = 0; p < producers.size(); ++p) {
    ev::MetricsAccumulator acc(ks, popularity);
    for (const auto& user : truth.users) acc.AddUser(ranked[p][user], truth.relevant.at(user));
    *run.add_rows() = ev::MakeMetricsRow(producers[p].name, producers[p].kind, acc.Results());
  }
  {
    // Reference: most popular in train, seen items removed.
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
    *run.add_rows() =
        ev::MakeMetricsRow("most-popular (reference)", recd::v1::eval::ROW_KIND_BASELINE,
                           acc.Results());
  }
  // Time slices of the test period: the same lists, scored against what
  // each user did in each slice.
  if (method == "global_time" && slices > 0) {
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
          auto it = ranked[p].find(user);
          if (it != ranked[p].end()) acc.AddUser(it->second, t.relevant.at(user));
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
                "and drop the freshness filler; the blend row is the served surface.");
  run.add_notes("Model " + loaded->version + ": " + std::to_string(loaded->items) + " rows, gate "
                "recall@10 " + std::to_string(loaded->gate_recall) + ".");
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
