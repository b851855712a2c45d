// The trained model of a generated catalog: what production runs with at a
// million items (the server then loads a saved HNSW index at start instead
// of building one from the catalog's vectors).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/engine.h"
#include "core/train.h"

namespace recd::bench {

struct ModelSpec {
  int iterations = 5;  // iALS iterations
  int threads = 2;     // training and index-build threads
  int hnsw_m = 16;
  int hnsw_ef_construction = 200;
};

// Trains a model snapshot on `set` (core/train.h: iALS with engine.options()
// dimension and weights, label map, HNSW index), writes it to
// `snapshot_dir` (replacing what is there) and loads it into `engine`
// (Engine::LoadModel), which keeps it as the data dir's current model.
// Prints the stages' times. Errors from training, writing or loading
// (including the load's recall gate) are returned as they are.
[[nodiscard]] absl::Status TrainAndLoadModel(core::Engine& engine, const core::TrainingSet& set,
                                             const ModelSpec& spec,
                                             const std::string& snapshot_dir);

}  // namespace recd::bench
