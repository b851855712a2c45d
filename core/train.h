// Offline training of a model snapshot (DESIGN.md "Model lifecycle"), shared
// by `recd train` and `recd eval` so both produce exactly what the server
// loads: implicit-ALS item vectors (core/als.h) with confidence from the
// event-type weights, the metadata -> vector map for items without
// interactions, YᵀY, and the HNSW index over the rows.
//
// The metadata -> vector map: each label (category "c:x", tag "t:y") gets
// the shrunk mean of the vectors of the trained items that carry it,
//   v(label) = sum_{i has label} y_i / (n_label + shrinkage),
// and an item's vector is the mean of its labels' vectors. (A ridge
// regression with the label Gram matrix replaced by its diagonal: exact for
// items with one label, and linear in the number of labels.)
//
// Thread safety: TrainingSet is thread-compatible; TrainModel uses
// options.als.threads threads and blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "core/als.h"
#include "core/ann_index.h"
#include "core/model_files.h"

namespace recd::core {

// Events and item labels to train on, interned as they are added.
class TrainingSet {
 public:
  // Types not in `event_weights` are skipped (counted in skipped_events()).
  explicit TrainingSet(std::map<std::string, double> event_weights);

  // Adds one event; false (and counted as skipped) for an unknown type or an
  // empty user or item.
  bool AddEvent(std::string_view user, std::string_view item, std::string_view type,
                int64_t ts_us);
  // Sets the labels ("c:<category>", "t:<tag>") of an item; the item becomes
  // part of the model even without events (through the label map).
  void SetItemLabels(std::string_view item, std::vector<std::string> labels);

  size_t events() const { return events_; }
  size_t skipped_events() const { return skipped_; }
  size_t users() const { return users_.size(); }
  size_t items() const { return item_ids_.size(); }
  int64_t latest_us() const { return latest_us_; }
  const std::map<std::string, double>& event_weights() const { return weights_; }
  const std::vector<Interaction>& interactions() const { return interactions_; }
  const std::vector<std::string>& item_ids() const { return item_ids_; }
  const std::vector<std::vector<std::string>>& item_labels() const { return item_labels_; }

 private:
  uint32_t Item(std::string_view id);

  std::map<std::string, double> weights_;
  std::unordered_map<std::string, uint32_t> users_;
  std::unordered_map<std::string, uint32_t> items_;
  std::vector<std::string> item_ids_;
  std::vector<std::vector<std::string>> item_labels_;
  std::vector<Interaction> interactions_;
  size_t events_ = 0;
  size_t skipped_ = 0;
  int64_t latest_us_ = 0;
};

struct TrainOptions {
  AlsParams als;
  AnnOptions ann;  // dim is set from als.factors
  double label_shrinkage = 1.0;
  std::string version_prefix = "als";
  std::string source;  // recorded in the manifest
};

struct TrainedModel {
  ModelData data;
  std::unique_ptr<AnnIndex> index;  // ids = row numbers
  size_t trained_rows = 0;          // rows with an ALS vector (the rest: label map)
};

// Trains on `set`. `progress(stage, step, steps, seconds)` is called on the
// calling thread: stage "als" after each iteration (step = iteration, with
// its wall time), then "index" once the index is built.
// Errors: INVALID_ARGUMENT for bad options (names the field) or a set with
// no usable events; those of TrainAls and BuildHnswIndex.
[[nodiscard]] absl::StatusOr<TrainedModel> TrainModel(
    const TrainingSet& set, const TrainOptions& options,
    const std::function<void(const std::string& stage, int step, int steps, double seconds)>&
        progress = {});

// The label-map vector of an item with `labels` under `map` (mean of the
// known labels' vectors); false when none of its labels is in the map.
bool LabelMapVector(const recd::v1::records::LabelVectors& map,
                    const std::unordered_map<std::string, uint32_t>& row_of_label,
                    const std::vector<std::string>& labels, std::vector<float>* out);

}  // namespace recd::core
