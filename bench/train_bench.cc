// `recd bench train`: seconds per implicit-ALS iteration (core/als.h
// TrainAls, conjugate-gradient steps as benfred/implicit does) vs the number
// of factors and the data size, on generated power-law interactions, with a
// per-core normalisation next to implicit's published CPU figure. With
// --dataset FORMAT:PATH the interactions come from a real dataset instead
// (recd_eval's loaders; every event weight 1, e.g. every MovieLens rating).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>
#include <string>
#include <unordered_map>

#include "bench/datagen.h"
#include "bench/flags.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "core/als.h"
#include "eval/dataset.h"

namespace recd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The dataset's events as interactions (weight 1 each) over dense ids.
absl::StatusOr<std::vector<core::Interaction>> DatasetInteractions(const std::string& spec,
                                                                  int64_t* users,
                                                                  int64_t* items) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError("--dataset: expected FORMAT:PATH, got \"" + spec + "\"");
  }
  auto d = eval::LoadDataset(spec.substr(0, colon), spec.substr(colon + 1));
  if (!d.ok()) return d.status();
  std::unordered_map<std::string, uint32_t> u, i;
  std::vector<core::Interaction> out;
  out.reserve(d->events.size());
  for (const auto& e : d->events) {
    const std::string& who = e.user.empty() ? e.session : e.user;
    auto uu = u.try_emplace(who, static_cast<uint32_t>(u.size())).first->second;
    auto ii = i.try_emplace(e.item, static_cast<uint32_t>(i.size())).first->second;
    out.push_back({uu, ii, 1.f});
  }
  *users = static_cast<int64_t>(u.size());
  *items = static_cast<int64_t>(i.size());
  return out;
}

// benfred/implicit's published CPU figure for its ALS (as given in issue 5):
// 0.84 s per iteration, 64 factors, MovieLens-20M (~20M interactions), on
// an 8-core desktop.
constexpr double kRefSecondsPerIteration = 0.84;
constexpr double kRefInteractionsM = 20.0;
constexpr int kRefCores = 8;
constexpr int kRefFactors = 64;

}  // namespace

absl::StatusOr<Json> RunTrainBench(const std::vector<std::string>& args,
                                   const CommonOptions& common) {
  std::vector<int64_t> sizes = {2000000, 20000000};
  std::vector<int64_t> factors = {32, 64, 128};
  int64_t users = 138493, items = 26744;  // MovieLens-20M's shape
  int iterations = 3, cg_steps = 3, threads = std::max(1, common.machine.cores);
  int64_t seed = 1;
  std::string dataset;
  FlagSet flags("recd bench train");
  flags.Add("dataset", &dataset,
            "FORMAT:PATH of a real dataset (e.g. movielens-1m:../shared/data/movielens-1m-partial) "
            "instead of generated data; --interactions/--users/--items are then ignored");
  flags.Add("interactions", &sizes, "distinct (user, item) pairs per data set");
  flags.Add("factors", &factors, "factor counts to train");
  flags.Add("users", &users, "users");
  flags.Add("items", &items, "items");
  flags.Add("iterations", &iterations, "iterations per training (the first is not averaged)");
  flags.Add("cg-steps", &cg_steps, "conjugate-gradient steps per row per step");
  flags.Add("threads", &threads, "training threads (default: all cores)");
  flags.Add("seed", &seed, "data seed");
  if (auto st = flags.Parse(args); !st.ok()) return st;
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return absl::CancelledError("help");
  }
  if (common.smoke) {
    SmokeDefault(flags, "interactions", &sizes, std::vector<int64_t>{20000});
    SmokeDefault(flags, "factors", &factors, std::vector<int64_t>{8, 16});
    SmokeDefault(flags, "users", &users, int64_t{2000});
    SmokeDefault(flags, "items", &items, int64_t{1000});
    SmokeDefault(flags, "iterations", &iterations, 2);
  }
  if (sizes.empty() || factors.empty() || iterations < 1 || users < 1 || items < 1 ||
      users > UINT32_MAX || items > UINT32_MAX) {
    return absl::InvalidArgumentError(
        "--interactions and --factors non-empty, --iterations >= 1, --users/--items in [1, 2^32)");
  }

  const double ref_core_seconds_per_m =
      kRefSecondsPerIteration * kRefCores / kRefInteractionsM;
  if (dataset.empty()) {
    std::cout << Sprintf("== train: implicit ALS, %lld users x %lld items, %d threads, %d CG steps\n",
                         static_cast<long long>(users), static_cast<long long>(items), threads,
                         cg_steps);
  } else {
    std::cout << Sprintf("== train: implicit ALS on %s, %d threads, %d CG steps\n", dataset.c_str(),
                         threads, cg_steps);
  }
  std::cout << Sprintf(
      "reference (benfred/implicit, CPU): %.2f s/iteration at %d factors on ~%.0fM interactions, "
      "%d cores\n  => %.2f s x %d cores / %.0f M interactions = %.3f core-seconds per M "
      "interactions per iteration\n",
      kRefSecondsPerIteration, kRefFactors, kRefInteractionsM, kRefCores, kRefSecondsPerIteration,
      kRefCores, kRefInteractionsM, ref_core_seconds_per_m);
  std::cout << Sprintf("%12s %8s | %10s %10s | %14s %10s\n", "interactions", "factors", "s/iter",
                       "min s/iter", "core-s/M/iter", "vs ref");

  Json rows = Json::Array();
  if (!dataset.empty()) sizes = {0};
  for (int64_t size : sizes) {
    InteractionSpec spec;
    spec.users = static_cast<uint32_t>(users);
    spec.items = static_cast<uint32_t>(items);
    spec.interactions = size;
    spec.seed = static_cast<uint64_t>(seed);
    const auto t0 = Clock::now();
    std::vector<core::Interaction> data;
    if (dataset.empty()) {
      data = PowerLawInteractions(spec);
    } else {
      auto loaded = DatasetInteractions(dataset, &users, &items);
      if (!loaded.ok()) return loaded.status();
      data = std::move(*loaded);
      spec.users = static_cast<uint32_t>(users);
      spec.items = static_cast<uint32_t>(items);
      std::cout << Sprintf("dataset %s: %zu interactions, %lld users, %lld items\n",
                           dataset.c_str(), data.size(), static_cast<long long>(users),
                           static_cast<long long>(items));
    }
    const double gen_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (data.empty()) return absl::InternalError("no interactions generated");
    const double nnz_m = static_cast<double>(data.size()) / 1e6;
    for (int64_t f : factors) {
      core::AlsParams p;
      p.factors = static_cast<int>(f);
      p.iterations = iterations;
      p.cg_steps = cg_steps;
      p.threads = threads;
      std::vector<double> per_iteration;
      auto model = core::TrainAls(data, spec.users, spec.items, p,
                                  [&](int, double seconds) { per_iteration.push_back(seconds); });
      if (!model.ok()) return model.status();
      if (static_cast<int>(per_iteration.size()) != iterations) {
        return absl::InternalError("TrainAls reported " + std::to_string(per_iteration.size()) +
                                   " iterations, not " + std::to_string(iterations));
      }
      // The first iteration is averaged only when it is the only one.
      const size_t skip = per_iteration.size() > 1 ? 1 : 0;
      const double mean = std::accumulate(per_iteration.begin() + skip, per_iteration.end(), 0.0) /
                          static_cast<double>(per_iteration.size() - skip);
      const double min = *std::min_element(per_iteration.begin(), per_iteration.end());
      const double per_core_m = mean * threads / nnz_m;
      std::cout << Sprintf("%12zu %8lld | %10.3f %10.3f | %14.3f %9.2fx\n", data.size(),
                           static_cast<long long>(f), mean, min, per_core_m,
                           per_core_m / ref_core_seconds_per_m);
      Json row = Json::Object();
      row.Set("interactions", static_cast<uint64_t>(data.size()));
      row.Set("factors", f);
      row.Set("seconds_per_iteration", mean).Set("seconds_per_iteration_min", min);
      Json all = Json::Array();
      for (double s : per_iteration) all.Push(s);
      row.Set("iteration_seconds", std::move(all));
      row.Set("core_seconds_per_m_interactions", per_core_m);
      row.Set("ratio_to_reference", per_core_m / ref_core_seconds_per_m);
      row.Set("data_generation_seconds", gen_seconds);
      rows.Push(std::move(row));
    }
  }
  std::cout << "(ratio > 1: slower per core than the reference; only comparable at "
            << kRefFactors << " factors)\n";

  Json out = Json::Object();
  Json params = Json::Object();
  params.Set("users", users).Set("items", items).Set("iterations", iterations);
  params.Set("cg_steps", cg_steps).Set("threads", threads).Set("seed", seed);
  params.Set("dataset", dataset);
  out.Set("params", std::move(params));
  Json ref = Json::Object();
  ref.Set("source", "benfred/implicit ALS on CPU, as quoted in issue 5");
  ref.Set("seconds_per_iteration", kRefSecondsPerIteration).Set("factors", kRefFactors);
  ref.Set("interactions_m", kRefInteractionsM).Set("cores", kRefCores);
  ref.Set("core_seconds_per_m_interactions", ref_core_seconds_per_m);
  out.Set("reference", std::move(ref));
  out.Set("runs", std::move(rows));
  return out;
}

}  // namespace recd::bench
