// The item-vector model the server scores with (DESIGN.md "Model
// lifecycle"): a version, the item vectors with YᵀY (core/item_vectors.h),
// the vector index (main HNSW + exact fresh tier, core/vector_index.h), the
// fold-in parameters, and — for a trained model — the metadata -> vector map
// that gives items without a trained vector one from their labels.
//
// Until a trained model is loaded the engine runs a "catalog" model whose
// vectors are those given with the items (Item.vector).
//
// Thread safety: ModelHolder::Pin/Set from any thread. The pinned model's
// vectors and index follow their own rules (one writer: the commit thread;
// readers anywhere). A request pins the model once and uses that pin
// throughout, so a swap never mixes two models within one request.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/item_vectors.h"
#include "core/vector_index.h"
#include "recd/v1/records.pb.h"

namespace recd::core {

inline constexpr char kCatalogModelVersion[] = "catalog";

struct LiveModel {
  std::string version = kCatalogModelVersion;
  bool trained = false;
  // Fold-in parameters (the model's training values for a trained model).
  double als_alpha = 10;
  double als_lambda = 0.1;
  std::unique_ptr<ItemVectors> vectors;
  std::unique_ptr<VectorIndex> index;
  // Trained models only: label map and its row per label; dense ids whose
  // vector was trained (the others come from the label map).
  recd::v1::records::LabelVectors labels;
  std::unordered_map<std::string, uint32_t> row_of_label;
  std::vector<bool> trained_item;  // by dense id
  // Trained items deleted from the catalog (out of the index; their vector
  // is kept for a re-add). Commit thread only.
  std::unordered_set<uint32_t> removed_trained;

  int dim() const { return vectors->dim(); }
  bool IsTrainedItem(uint32_t dense) const {
    return dense < trained_item.size() && trained_item[dense];
  }
};

class ModelHolder {
 public:
  std::shared_ptr<LiveModel> Pin() const {
    std::lock_guard<std::mutex> l(mu_);
    return model_;
  }
  void Set(std::shared_ptr<LiveModel> m) {
    std::shared_ptr<LiveModel> old;
    {
      std::lock_guard<std::mutex> l(mu_);
      old = std::move(model_);
      model_ = std::move(m);
    }
    // `old` is released here, outside the lock (or later by its last reader).
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<LiveModel> model_;
};

}  // namespace recd::core
