#include "bench/catalog_model.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "bench/stats.h"
#include "core/model_files.h"

namespace recd::bench {

absl::Status TrainAndLoadModel(core::Engine& engine, const core::TrainingSet& set,
                               const ModelSpec& spec, const std::string& snapshot_dir) {
  using Clock = std::chrono::steady_clock;
  const core::EngineOptions& eo = engine.options();
  core::TrainOptions to;
  to.als.factors = eo.dimension;
  to.als.alpha = eo.als_alpha;
  to.als.lambda = eo.als_lambda;
  to.als.iterations = spec.iterations;
  to.als.threads = spec.threads;
  to.ann.dim = eo.dimension;
  to.ann.m = spec.hnsw_m;
  to.ann.ef_construction = spec.hnsw_ef_construction;
  to.ann.ef_search = eo.hnsw_ef_search;
  to.ann.num_threads = spec.threads;
  to.version_prefix = "bench";
  to.source = "recd bench generated catalog";
  std::cout << Sprintf("catalog: training a model (%zu events, %zu users, %zu items, %d "
                       "iterations, then the HNSW index)\n",
                       set.events(), set.users(), set.items(), spec.iterations);
  auto start = Clock::now();
  auto model = core::TrainModel(set, to, [](const std::string& stage, int step, int steps,
                                            double seconds) {
    std::cout << Sprintf("  %s %d/%d: %.1f s\n", stage.c_str(), step, steps, seconds);
  });
  if (!model.ok()) return model.status();
  std::error_code ec;
  std::filesystem::remove_all(snapshot_dir, ec);
  if (auto st = core::WriteModelSnapshot(&model->data, *model->index, snapshot_dir); !st.ok()) {
    return st;
  }
  std::cout << Sprintf("catalog: model %s trained and written in %.1f s\n",
                       model->data.manifest.version().c_str(),
                       std::chrono::duration<double>(Clock::now() - start).count());
  start = Clock::now();
  auto loaded = engine.LoadModel(snapshot_dir);
  if (!loaded.ok()) return loaded.status();
  std::cout << Sprintf("catalog: model loaded in %.1f s (gate recall@10 %.3f, %llu cold items)\n",
                       std::chrono::duration<double>(Clock::now() - start).count(),
                       loaded->gate_recall,
                       static_cast<unsigned long long>(loaded->cold_items));
  return absl::OkStatus();
}

}  // namespace recd::bench
