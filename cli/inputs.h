// Where `recd train` and `recd eval` get their events: a recd data dir (read
// only: a stopped server's dir or a checkpoint) or a public dataset file
// read by recd_eval's loaders, and the event-type weights that turn events
// into implicit-ALS confidence.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train.h"
#include "eval/dataset.h"

namespace recd::cli {

struct DatasetSpec {
  std::string format;  // eval::DatasetFormats()
  std::string path;
};

// Parses "FORMAT:PATH" (e.g. "movielens-100k:../shared/data/movielens-100k").
// INVALID_ARGUMENT naming `flag` when malformed or the format is unknown.
[[nodiscard]] absl::StatusOr<DatasetSpec> ParseDatasetSpec(const std::string& spec,
                                                          const std::string& flag);

// Event-type weights used when none are given for a dataset format:
//   movielens-*: rating = 1 (every rating is one interaction);
//   trivago: clickout_item 4, interaction_item_deals 2, the other item
//     interactions and search_for_item 1;
//   csv: empty (the config's event_types apply).
std::map<std::string, double> DefaultWeights(const std::string& format);

// How a dataset's event types map onto a surface for evaluation: which
// types filter an item as seen, which start an item (continuation) and
// which finish it, and which test events count as relevant. Empty lists
// mean "all types" for seen/relevant and "none" for continuation.
//   movielens-*: seen = all; relevant = all (MS Recommenders protocol).
//   trivago: seen = clickout_item (a hotel already clicked out on is done);
//     continuation = the item interactions and search_for_item, finished by
//     clickout_item; relevant = clickout_item (the conversion).
struct DatasetProfile {
  std::vector<std::string> seen_types;
  std::vector<std::string> continuation_types;
  std::vector<std::string> finish_types;
  std::vector<std::string> relevant_types;
};
DatasetProfile ProfileFor(const std::string& format);

// Applies "type=weight" overrides (weight finite; 0 drops the type).
// INVALID_ARGUMENT naming `flag` for a malformed one.
[[nodiscard]] absl::Status ApplyWeightOverrides(const std::vector<std::string>& specs,
                                                const std::string& flag,
                                                std::map<std::string, double>* weights);

// Adds every event of the data dir's log and every item's labels (read-only
// open; the dir may belong to a running server's checkpoint).
[[nodiscard]] absl::Status AddDataDir(const std::string& data_dir, core::TrainingSet* set);

// Adds the dataset's events at `indices` (all when null) and every item's
// labels ("c:<category>", "t:<tag>").
void AddDataset(const eval::Dataset& dataset, const std::vector<size_t>* indices,
                core::TrainingSet* set);

}  // namespace recd::cli
