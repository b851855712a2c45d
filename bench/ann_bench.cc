// `recd bench ann`: the HNSW index alone — recall@10/@100 against exact
// search, single-threaded search time and QPS for a few (M, ef) settings,
// the exact scan for comparison, and build/save/load times. The index is
// built through core's wrapper (core/ann_index.h, core/hnsw_index.h) and
// cached in --work-dir, so reruns only load it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <unordered_set>

#include "bench/datagen.h"
#include "bench/flags.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "core/ann_index.h"
#include "core/hnsw_index.h"

namespace recd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct AnnFlags {
  int64_t items = 1000000;
  int dim = 64;
  int clusters = 1000;
  double spread = 0.35;
  double norm_sigma = 0.6;
  std::vector<int64_t> m = {16, 32};
  std::vector<int64_t> ef = {16, 32, 64, 100, 200, 400};
  int ef_construction = 200;
  int64_t queries = 1000;
  int64_t exact_timed = 100;
  int threads = 0;
  int64_t seed = 1;
  bool rebuild = false;
};

double Recall(const std::vector<core::Neighbor>& approx, const std::vector<core::Neighbor>& exact,
              int k) {
  std::unordered_set<uint32_t> truth;
  for (int i = 0; i < k && i < static_cast<int>(exact.size()); ++i) truth.insert(exact[i].id);
  if (truth.empty()) return 0;
  int hit = 0;
  for (int i = 0; i < k && i < static_cast<int>(approx.size()); ++i) hit += truth.count(approx[i].id);
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

// Per-query search times (seconds) and mean recall@k of `index` over the
// queries, single-threaded.
struct SearchRun {
  std::vector<double> seconds;
  double recall = 0;
  double total_seconds = 0;
};

SearchRun TimeSearches(const core::AnnIndex& index, const std::vector<float>& queries, int dim,
                       const std::vector<std::vector<core::Neighbor>>& truth, int k) {
  SearchRun run;
  const size_t nq = truth.size();
  // Warm-up pass over a tenth of the queries (caches, page faults).
  for (size_t q = 0; q < std::max<size_t>(1, nq / 10); ++q) (void)index.Search(&queries[q * dim], k);
  run.seconds.reserve(nq);
  double recall_sum = 0;
  const auto all = Clock::now();
  for (size_t q = 0; q < nq; ++q) {
    const auto t = Clock::now();
    auto res = index.Search(&queries[q * dim], k);
    run.seconds.push_back(Since(t));
    recall_sum += Recall(res, truth[q], k);
  }
  run.total_seconds = Since(all);
  run.recall = nq ? recall_sum / static_cast<double>(nq) : 0;
  return run;
}

}  // namespace

absl::StatusOr<Json> RunAnnBench(const std::vector<std::string>& args, const CommonOptions& common) {
  AnnFlags f;
  f.threads = std::max(1, common.machine.cores);
  FlagSet flags("recd bench ann");
  flags.Add("items", &f.items, "vectors in the index");
  flags.Add("dim", &f.dim, "vector dimension");
  flags.Add("clusters", &f.clusters, "Gaussian clusters the vectors are drawn from");
  flags.Add("spread", &f.spread, "spread of a cluster around its direction");
  flags.Add("norm-sigma", &f.norm_sigma,
            "sigma of the log-normal vector norms (0: all norms 1; 0.6: ~10x spread, like iALS)");
  flags.Add("m", &f.m, "HNSW graph degrees M to build (one index each)");
  flags.Add("ef", &f.ef, "search ef values to measure per M");
  flags.Add("ef-construction", &f.ef_construction, "HNSW ef at build");
  flags.Add("queries", &f.queries, "query vectors (same distribution) for recall and timing");
  flags.Add("exact-timed", &f.exact_timed, "queries whose exact scan is timed single-threaded");
  flags.Add("threads", &f.threads, "threads for the index build and the exact ground truth");
  flags.Add("seed", &f.seed, "data seed");
  flags.Add("rebuild", &f.rebuild, "ignore a cached index in --work-dir");
  if (auto st = flags.Parse(args); !st.ok()) return st;
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return absl::CancelledError("help");
  }
  if (common.smoke) {
    SmokeDefault(flags, "items", &f.items, int64_t{2000});
    SmokeDefault(flags, "dim", &f.dim, 16);
    SmokeDefault(flags, "clusters", &f.clusters, 20);
    SmokeDefault(flags, "m", &f.m, std::vector<int64_t>{8, 16});
    SmokeDefault(flags, "ef", &f.ef, std::vector<int64_t>{10, 50});
    SmokeDefault(flags, "queries", &f.queries, int64_t{100});
    SmokeDefault(flags, "exact-timed", &f.exact_timed, int64_t{20});
    SmokeDefault(flags, "rebuild", &f.rebuild, true);
  }
  if (f.items < 100 || f.dim < 1 || f.queries < 1 || f.m.empty() || f.ef.empty()) {
    return absl::InvalidArgumentError(
        "--items >= 100, --dim >= 1, --queries >= 1, --m and --ef non-empty");
  }
  const fs::path dir = fs::path(common.work_dir) / "ann";
  fs::create_directories(dir);

  std::cout << Sprintf("== ann: %lld x %d-d vectors, %d clusters (spread %g, log-normal norms "
                       "sigma %g), %lld queries\n",
                       static_cast<long long>(f.items), f.dim, f.clusters, f.spread, f.norm_sigma,
                       static_cast<long long>(f.queries));
  // Data and queries from one mixture: the queries are extra points drawn
  // after the data (user vectors look like item vectors under iALS).
  ClusteredVectorsSpec spec;
  spec.count = f.items + f.queries;
  spec.dim = f.dim;
  spec.clusters = f.clusters;
  spec.spread = f.spread;
  spec.norm_sigma = f.norm_sigma;
  spec.seed = static_cast<uint64_t>(f.seed);
  auto t0 = Clock::now();
  std::vector<float> vectors = ClusteredVectors(spec);
  const std::vector<float> queries(vectors.begin() + static_cast<ptrdiff_t>(f.items * f.dim),
                                   vectors.end());
  vectors.resize(static_cast<size_t>(f.items * f.dim));
  std::cout << Sprintf("generated data and queries in %.1f s\n", Since(t0));
  std::vector<uint32_t> ids(static_cast<size_t>(f.items));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<uint32_t>(i);

  // Exact ground truth (top 100); the first exact_timed queries timed on one thread.
  const int kTruth = 100;
  std::vector<std::vector<core::Neighbor>> truth(static_cast<size_t>(f.queries));
  std::vector<double> exact_seconds;
  const int64_t timed = std::min(f.exact_timed, f.queries);
  for (int64_t q = 0; q < timed; ++q) {
    const auto t = Clock::now();
    truth[q] = core::ExactSearch(&queries[q * f.dim], kTruth, ids.data(), vectors.data(),
                                 ids.size(), f.dim);
    exact_seconds.push_back(Since(t));
  }
  {
    std::vector<std::thread> workers;
    std::atomic<int64_t> next{timed};
    for (int t = 0; t < f.threads; ++t) {
      workers.emplace_back([&] {
        for (int64_t q; (q = next.fetch_add(1)) < f.queries;) {
          truth[q] = core::ExactSearch(&queries[q * f.dim], kTruth, ids.data(), vectors.data(),
                                       ids.size(), f.dim);
        }
      });
    }
    for (auto& w : workers) w.join();
  }
  const Summary exact = Summarize(exact_seconds);
  std::cout << Sprintf("exact scan (single thread, top %d of %lld): %s\n", kTruth,
                       static_cast<long long>(f.items), FormatMs(exact).c_str());

  Json results = Json::Array();
  std::cout << Sprintf("%4s %5s | %7s %7s | %9s %8s %8s %8s | %9s %8s %8s %8s\n", "M", "ef",
                       "rec@10", "rec@100", "qps@10", "mean", "p50", "p99", "qps@100", "mean",
                       "p50", "p99");
  Json builds = Json::Array();
  for (int64_t m : f.m) {
    core::AnnOptions o;
    o.dim = f.dim;
    o.m = static_cast<int>(m);
    o.ef_construction = f.ef_construction;
    o.ef_search = 100;
    o.num_threads = std::clamp(f.threads, 1, 256);
    const fs::path file =
        dir / Sprintf("ann-%lldx%d-c%d-sp%g-ns%g-s%lld-m%lld-efc%d.hnsw",
                      static_cast<long long>(f.items), f.dim, f.clusters, f.spread, f.norm_sigma,
                      static_cast<long long>(f.seed), static_cast<long long>(m),
                      f.ef_construction);
    const fs::path sidecar = file.string() + ".build_seconds";
    double build_seconds = 0, save_seconds = 0;
    bool cached = !f.rebuild && fs::exists(file) && fs::exists(sidecar);
    if (cached) {
      std::ifstream(sidecar) >> build_seconds >> save_seconds;
    } else {
      auto t = Clock::now();
      auto index = core::BuildHnswIndex(o, ids.data(), vectors.data(), ids.size());
      if (!index.ok()) return index.status();
      build_seconds = Since(t);
      t = Clock::now();
      if (auto st = core::SaveHnswIndex(**index, file.string()); !st.ok()) return st;
      save_seconds = Since(t);
      std::ofstream(sidecar) << build_seconds << " " << save_seconds << "\n";
    }
    const double file_mb = static_cast<double>(fs::file_size(file)) / (1 << 20);
    std::vector<double> load_seconds;
    for (int64_t ef : f.ef) {
      o.ef_search = static_cast<int>(ef);
      const auto t = Clock::now();
      auto index = core::LoadHnswIndex(file.string(), o);
      if (!index.ok()) return index.status();
      load_seconds.push_back(Since(t));
      if ((*index)->size() != ids.size()) {
        return absl::InternalError("loaded index holds " + std::to_string((*index)->size()) +
                                   " vectors, not " + std::to_string(ids.size()));
      }
      const SearchRun r10 = TimeSearches(**index, queries, f.dim, truth, 10);
      const SearchRun r100 = TimeSearches(**index, queries, f.dim, truth, 100);
      const Summary s10 = Summarize(r10.seconds), s100 = Summarize(r100.seconds);
      const double qps10 = r10.seconds.size() / std::max(1e-9, r10.total_seconds);
      const double qps100 = r100.seconds.size() / std::max(1e-9, r100.total_seconds);
      if (!(r10.recall > 0) || !(r100.recall > 0)) {
        return absl::InternalError(Sprintf("recall not computed (M %lld, ef %lld)",
                                           static_cast<long long>(m), static_cast<long long>(ef)));
      }
      std::cout << Sprintf("%4lld %5lld | %7.4f %7.4f | %9.0f %8.4f %8.4f %8.4f | %9.0f %8.4f %8.4f "
                           "%8.4f\n",
                           static_cast<long long>(m), static_cast<long long>(ef), r10.recall,
                           r100.recall, qps10, s10.mean * 1e3, s10.p50 * 1e3, s10.p99 * 1e3, qps100,
                           s100.mean * 1e3, s100.p50 * 1e3, s100.p99 * 1e3);
      Json row = Json::Object();
      row.Set("m", m).Set("ef", ef);
      row.Set("recall_at_10", r10.recall).Set("recall_at_100", r100.recall);
      row.Set("qps_at_10_single_thread", qps10).Set("qps_at_100_single_thread", qps100);
      row.Set("search_ms_at_10", ToJson(s10, 1e3)).Set("search_ms_at_100", ToJson(s100, 1e3));
      row.Set("speedup_vs_exact_at_100", exact.mean / std::max(1e-12, s100.mean));
      results.Push(std::move(row));
    }
    std::cout << Sprintf("     M %lld: build %.1f s%s (%d threads), save %.2f s, load %.2f s "
                         "(first; min %.2f s), file %.1f MiB\n",
                         static_cast<long long>(m), build_seconds,
                         cached ? " (cached: measured when built)" : "", o.num_threads,
                         save_seconds, load_seconds.front(),
                         *std::min_element(load_seconds.begin(), load_seconds.end()), file_mb);
    Json b = Json::Object();
    b.Set("m", m).Set("build_seconds", build_seconds).Set("build_cached", cached);
    b.Set("build_threads", o.num_threads).Set("save_seconds", save_seconds);
    b.Set("load_seconds_first", load_seconds.front());
    b.Set("load_seconds_min", *std::min_element(load_seconds.begin(), load_seconds.end()));
    b.Set("file_mib", file_mb);
    builds.Push(std::move(b));
  }

  Json out = Json::Object();
  Json params = Json::Object();
  params.Set("items", f.items).Set("dim", f.dim).Set("clusters", f.clusters);
  params.Set("spread", f.spread).Set("norm_sigma", f.norm_sigma);
  params.Set("ef_construction", f.ef_construction).Set("queries", f.queries);
  params.Set("seed", f.seed);
  out.Set("params", std::move(params));
  out.Set("exact_scan_ms", ToJson(exact, 1e3));
  out.Set("settings", std::move(results));
  out.Set("indexes", std::move(builds));
  return out;
}

}  // namespace recd::bench
