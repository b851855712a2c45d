// The exact AnnIndex (core/ann_index.h BuildExactIndex) and the choice
// between it and HNSW (BuildAnnIndex).
#include <algorithm>
#include <cmath>
#include <new>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "core/ann_index.h"

namespace recd::core {
namespace {

class ExactIndex final : public AnnIndex {
 public:
  ExactIndex(int dim, std::vector<uint32_t> ids, std::vector<float> rows)
      : dim_(dim), ids_(std::move(ids)), rows_(std::move(rows)) {
    row_of_.reserve(ids_.size());
    for (size_t r = 0; r < ids_.size(); ++r) row_of_.emplace(ids_[r], r);
  }

  std::vector<Neighbor> Search(const float* query, int n) const override {
    if (n <= 0) return {};
    for (int d = 0; d < dim_; ++d) {
      if (!std::isfinite(query[d])) return {};
    }
    return ExactSearch(query, n, ids_.data(), rows_.data(), ids_.size(), dim_);
  }
  bool GetVector(uint32_t id, float* out) const override {
    auto it = row_of_.find(id);
    if (it == row_of_.end()) return false;
    std::copy_n(rows_.data() + it->second * dim_, dim_, out);
    return true;
  }
  const float* VectorData(uint32_t id) const override {
    auto it = row_of_.find(id);
    return it == row_of_.end() ? nullptr : rows_.data() + it->second * dim_;
  }
  std::vector<uint32_t> Ids() const override { return ids_; }
  size_t size() const override { return ids_.size(); }
  int dim() const override { return dim_; }
  // Distinct ids (== size() unless an id was given twice).
  size_t RowCount() const { return row_of_.size(); }

 private:
  const int dim_;
  const std::vector<uint32_t> ids_;
  const std::vector<float> rows_;
  std::unordered_map<uint32_t, size_t> row_of_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AnnIndex>> BuildExactIndex(const AnnOptions& options,
                                                          const uint32_t* ids,
                                                          const float* vectors, size_t count) {
  if (absl::Status s = ValidateAnnOptions(options); !s.ok()) return s;
  if (count > 0 && (ids == nullptr || vectors == nullptr)) {
    return absl::InvalidArgumentError("exact index: null ids or vectors");
  }
  const size_t dim = static_cast<size_t>(options.dim);
  try {
    std::vector<uint32_t> id_copy(ids, ids + count);
    std::vector<float> rows(vectors, vectors + count * dim);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!std::isfinite(rows[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("exact index: non-finite value in the vector of id ", id_copy[i / dim]));
      }
    }
    auto index = std::make_unique<ExactIndex>(options.dim, std::move(id_copy), std::move(rows));
    if (index->RowCount() != count) {
      return absl::InvalidArgumentError("exact index: duplicate id");
    }
    return std::unique_ptr<AnnIndex>(std::move(index));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("exact index: out of memory");
  }
}

absl::StatusOr<std::unique_ptr<AnnIndex>> BuildAnnIndex(const AnnOptions& options,
                                                        const uint32_t* ids, const float* vectors,
                                                        size_t count) {
  if (count <= static_cast<size_t>(std::max(0, options.exact_max_items))) {
    return BuildExactIndex(options, ids, vectors, count);
  }
  return BuildHnswIndex(options, ids, vectors, count);
}

}  // namespace recd::core
