// `recd train`: trains a model snapshot from a data dir's event log or a
// dataset file, writes it under --out, and optionally asks a running server
// to load it (Admin.LoadModel).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/flags.h"
#include "core/options.h"
#include "core/train.h"

namespace recd::cli {

// Returns the process exit code. args excludes "recd train".
int RunTrain(const std::vector<std::string>& args);

// Declares the training flags shared by `recd train` and `recd eval`
// (--factors, --alpha, --lambda, --iterations, --cg-steps, --threads,
// --weight, --config, --hnsw-m, --hnsw-ef-construction, --seed).
void AddTrainFlags(Flags* flags);

// Engine options from --config (built-in defaults without it). Errors name
// the config field.
[[nodiscard]] absl::StatusOr<core::EngineOptions> EngineOptionsFromFlags(const Flags& flags);

// Training options from those flags over the config's defaults (model.* of
// `config`). INVALID_ARGUMENT naming the flag.
[[nodiscard]] absl::StatusOr<core::TrainOptions> TrainOptionsFromFlags(
    const Flags& flags, const core::EngineOptions& config);

// Trains with a progress bar per stage.
[[nodiscard]] absl::StatusOr<core::TrainedModel> TrainWithProgress(
    const core::TrainingSet& set, const core::TrainOptions& options);

}  // namespace recd::cli
