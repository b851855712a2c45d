#include "core/train.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"

namespace recd::core {

using recd::v1::records::LabelVectors;

TrainingSet::TrainingSet(std::map<std::string, double> event_weights)
    : weights_(std::move(event_weights)) {}

uint32_t TrainingSet::Item(std::string_view id) {
  auto [it, added] = items_.try_emplace(std::string(id), static_cast<uint32_t>(item_ids_.size()));
  if (added) {
    item_ids_.emplace_back(id);
    item_labels_.emplace_back();
  }
  return it->second;
}

bool TrainingSet::AddEvent(std::string_view user, std::string_view item, std::string_view type,
                           int64_t ts_us) {
  auto w = weights_.find(std::string(type));
  if (w == weights_.end() || user.empty() || item.empty() || w->second == 0) {
    ++skipped_;
    return false;
  }
  auto [u, added] = users_.try_emplace(std::string(user), static_cast<uint32_t>(users_.size()));
  interactions_.push_back({u->second, Item(item), static_cast<float>(w->second)});
  ++events_;
  latest_us_ = std::max(latest_us_, ts_us);
  return true;
}

void TrainingSet::SetItemLabels(std::string_view item, std::vector<std::string> labels) {
  item_labels_[Item(item)] = std::move(labels);
}

bool LabelMapVector(const LabelVectors& map,
                    const std::unordered_map<std::string, uint32_t>& row_of_label,
                    const std::vector<std::string>& labels, std::vector<float>* out) {
  const int dim = map.dim();
  out->assign(dim, 0.f);
  int n = 0;
  for (const auto& l : labels) {
    auto it = row_of_label.find(l);
    if (it == row_of_label.end()) continue;
    const float* v = map.values().data() + static_cast<size_t>(it->second) * dim;
    for (int d = 0; d < dim; ++d) (*out)[d] += v[d];
    ++n;
  }
  if (n == 0) return false;
  for (float& x : *out) x /= static_cast<float>(n);
  return true;
}

absl::StatusOr<TrainedModel> TrainModel(
    const TrainingSet& set, const TrainOptions& options,
    const std::function<void(const std::string&, int, int, double)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (set.interactions().empty()) {
    return absl::InvalidArgumentError(
        "train: no usable events (is every event type listed in event_types with a non-zero "
        "weight?)");
  }
  if (!(options.label_shrinkage >= 0)) {
    return absl::InvalidArgumentError("label_shrinkage: must be >= 0");
  }
  const AlsParams& p = options.als;
  const uint32_t num_items = static_cast<uint32_t>(set.item_ids().size());
  auto als = TrainAls(set.interactions(), static_cast<uint32_t>(set.users()), num_items, p,
                      [&](int it, double sec) {
                        if (progress) progress("als", it, p.iterations, sec);
                      });
  if (!als.ok()) return als.status();
  const int dim = p.factors;

  // Items with at least one interaction keep their ALS vector.
  std::vector<bool> trained(num_items, false);
  for (const auto& x : set.interactions()) trained[x.item] = true;

  // Label map from the trained items.
  TrainedModel out;
  LabelVectors& labels = out.data.labels;
  labels.set_dim(dim);
  std::unordered_map<std::string, uint32_t> row_of_label;
  std::vector<double> sums;
  std::vector<double> counts;
  // Only labels carried by a trained item enter the map: a label with
  // nothing to average would give its items a zero vector (NaN when
  // label_shrinkage is 0).
  for (uint32_t i = 0; i < num_items; ++i) {
    if (!trained[i]) continue;
    for (const auto& l : set.item_labels()[i]) {
      auto [it, added] = row_of_label.try_emplace(l, static_cast<uint32_t>(counts.size()));
      if (added) {
        labels.add_labels(l);
        counts.push_back(0);
        sums.resize(sums.size() + dim, 0.0);
      }
      counts[it->second] += 1;
      const float* y = als->item_factors.data() + static_cast<size_t>(i) * dim;
      for (int d = 0; d < dim; ++d) sums[static_cast<size_t>(it->second) * dim + d] += y[d];
    }
  }
  labels.mutable_values()->Reserve(static_cast<int>(sums.size()));
  for (size_t l = 0; l < counts.size(); ++l) {
    for (int d = 0; d < dim; ++d) {
      labels.add_values(
          static_cast<float>(sums[l * dim + d] / (counts[l] + options.label_shrinkage)));
    }
  }

  // Rows: trained items, then untrained items that the label map reaches.
  ModelData& m = out.data;
  std::vector<float> v;
  for (uint32_t i = 0; i < num_items; ++i) {
    const float* y = als->item_factors.data() + static_cast<size_t>(i) * dim;
    if (trained[i]) {
      m.item_ids.push_back(set.item_ids()[i]);
      m.vectors.insert(m.vectors.end(), y, y + dim);
      ++out.trained_rows;
    }
  }
  for (uint32_t i = 0; i < num_items; ++i) {
    if (trained[i] || !LabelMapVector(labels, row_of_label, set.item_labels()[i], &v)) continue;
    m.item_ids.push_back(set.item_ids()[i]);
    m.vectors.insert(m.vectors.end(), v.begin(), v.end());
  }

  AnnOptions ann = options.ann;
  ann.dim = dim;
  std::vector<uint32_t> rows(m.item_ids.size());
  for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
  const auto index_start = std::chrono::steady_clock::now();
  auto index = BuildHnswIndex(ann, rows.data(), m.vectors.data(), rows.size());
  if (!index.ok()) return index.status();
  out.index = std::move(*index);
  if (progress) {
    progress("index", 1, 1,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - index_start).count());
  }

  auto& mf = m.manifest;
  mf.set_version(NewModelVersion(options.version_prefix, std::random_device{}()));
  mf.set_created_at_us(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  mf.set_dim(dim);
  mf.set_users(set.users());
  mf.set_events(set.events());
  mf.set_trained_until_us(set.latest_us());
  mf.set_als_alpha(p.alpha);
  mf.set_als_lambda(p.lambda);
  mf.set_iterations(p.iterations);
  for (const auto& [type, w] : set.event_weights()) (*mf.mutable_event_weights())[type] = w;
  mf.set_hnsw_m(ann.m);
  mf.set_hnsw_ef_construction(ann.ef_construction);
  const std::vector<float> g = Gramian(m.vectors.data(), m.item_ids.size(), dim);
  mf.mutable_gramian()->Add(g.begin(), g.end());
  mf.set_source(options.source);
  mf.set_trained_items(out.trained_rows);
  {
    // Distinct (user, item) pairs, for the record.
    std::vector<uint64_t> keys;
    keys.reserve(set.interactions().size());
    for (const auto& x : set.interactions()) keys.push_back((uint64_t{x.user} << 32) | x.item);
    std::sort(keys.begin(), keys.end());
    mf.set_interactions(std::unique(keys.begin(), keys.end()) - keys.begin());
  }
  mf.set_train_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

}  // namespace recd::core
