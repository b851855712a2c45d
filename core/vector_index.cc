#include "core/vector_index.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace recd::core {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr uint32_t kChunkRows = 1024;
// A row's `retired` word: kAlive, kRemoved, or the index of the fresh row that
// supersedes it. A reader that sees `visible` fresh rows treats a row as dead
// iff it was removed or its successor is among those rows, so it sees every
// item exactly once even while the writer re-vectors it.
constexpr uint32_t kAlive = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kRemoved = kAlive - 1;
constexpr uint32_t kMaxFreshRows = uint32_t{1} << 31;

bool Dead(uint32_t retired, uint32_t visible) { return retired < visible || retired == kRemoved; }

bool Finite(const float* v, int dim) {
  for (int i = 0; i < dim; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

bool Better(const Neighbor& a, const Neighbor& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// The best n neighbours pushed so far.
class TopN {
 public:
  explicit TopN(int n) : n_(static_cast<size_t>(n)) { heap_.reserve(n_); }

  void Push(Neighbor x) {
    if (std::isnan(x.score)) x.score = -std::numeric_limits<float>::infinity();
    if (heap_.size() < n_) {
      heap_.push_back(x);
      std::push_heap(heap_.begin(), heap_.end(), Better);  // front: the worst
    } else if (Better(x, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Better);
      heap_.back() = x;
      std::push_heap(heap_.begin(), heap_.end(), Better);
    }
  }

  // Best first.
  std::vector<Neighbor> Take() && {
    std::sort_heap(heap_.begin(), heap_.end(), Better);
    return std::move(heap_);
  }

 private:
  size_t n_;
  std::vector<Neighbor> heap_;
};

// out[i] = rows[i] . query for `count` rows of `dim` floats.
void ScoreRows(const float* rows, size_t count, int dim, const float* query, float* out) {
  Eigen::Map<Eigen::VectorXf>(out, count).noalias() =
      Eigen::Map<const RowMatrix>(rows, count, dim) * Eigen::Map<const Eigen::VectorXf>(query, dim);
}

}  // namespace

std::vector<Neighbor> ExactSearch(const float* query, int n, const uint32_t* ids,
                                  const float* vectors, size_t count, int dim) {
  if (n <= 0) return {};
  TopN top(n);
  std::vector<float> scores(std::min<size_t>(count, kChunkRows));
  for (size_t begin = 0; begin < count; begin += kChunkRows) {
    const size_t rows = std::min<size_t>(kChunkRows, count - begin);
    ScoreRows(vectors + begin * dim, rows, dim, query, scores.data());
    for (size_t i = 0; i < rows; ++i) top.Push({ids[begin + i], scores[i]});
  }
  return std::move(top).Take();
}

// kChunkRows fresh rows. Rows below the tier's published count are complete
// and never change again, except for their `retired` word.
struct VectorIndex::FreshChunk {
  explicit FreshChunk(int dim) : vectors(size_t{kChunkRows} * dim), ids(kChunkRows) {
    for (auto& r : retired) r.store(kAlive, std::memory_order_relaxed);
  }
  std::vector<float> vectors;  // row-major, kChunkRows x dim
  std::vector<uint32_t> ids;
  std::atomic<uint32_t> retired[kChunkRows];
};

// The fresh tier: a fixed-length directory of chunks. Slot c is filled before
// any row in it is published; when the directory is full the writer publishes
// a larger copy sharing the same chunks.
struct VectorIndex::FreshTier {
  explicit FreshTier(size_t slots) : chunks(slots) {}
  std::vector<std::shared_ptr<FreshChunk>> chunks;
  std::atomic<uint32_t> rows{0};  // published with release, read with acquire
};

// The main index and, per row, its `retired` word.
struct VectorIndex::MainPart {
  MainPart(std::shared_ptr<const AnnIndex> ann, const std::vector<uint32_t>& ids)
      : index(std::move(ann)), retired(new std::atomic<uint32_t>[ids.size()]) {
    row_of.reserve(ids.size());
    for (uint32_t row = 0; row < ids.size(); ++row) {
      row_of.emplace(ids[row], row);
      retired[row].store(kAlive, std::memory_order_relaxed);
    }
  }
  // Null when empty. Shared: a model's ItemVectors reads its vectors.
  std::shared_ptr<const AnnIndex> index;
  // id -> row (a flat map: ~10 B per item where a node map took ~40).
  absl::flat_hash_map<uint32_t, uint32_t> row_of;
  std::unique_ptr<std::atomic<uint32_t>[]> retired;
  std::atomic<size_t> dead{0};  // retired rows; sizes the over-fetch
};

struct VectorIndex::Snapshot {
  std::shared_ptr<const MainPart> main;
  std::shared_ptr<const FreshTier> fresh;
};

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Create(const AnnOptions& options,
                                                                 int fresh_tier_max) {
  if (absl::Status s = ValidateAnnOptions(options); !s.ok()) return s;
  if (fresh_tier_max < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fresh_tier_max: ", fresh_tier_max, " is out of range, must be >= 1"));
  }
  return std::make_unique<VectorIndex>(options, fresh_tier_max);
}

VectorIndex::VectorIndex(AnnOptions options, int fresh_tier_max)
    : options_(options), fresh_tier_max_(fresh_tier_max) {
  Install(nullptr, {});
}

VectorIndex::~VectorIndex() = default;

void VectorIndex::Publish(std::shared_ptr<const Snapshot> next) {
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    snapshot_.swap(next);
  }
  // `next` now holds the previous snapshot, released outside the lock.
}

std::shared_ptr<const VectorIndex::Snapshot> VectorIndex::Pin() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return snapshot_;
}

void VectorIndex::CollectGarbage() {
  // Readers can no longer reach replaced_main_ through snapshot_, so its use
  // count only falls; at 1 this thread is the last holder.
  if (replaced_main_ != nullptr && replaced_main_.use_count() == 1) replaced_main_.reset();
}

void VectorIndex::Install(std::shared_ptr<const AnnIndex> main,
                          const std::vector<uint32_t>& ids) {
  auto next_main = std::make_shared<MainPart>(std::move(main), ids);
  auto next_fresh = std::make_shared<FreshTier>(fresh_tier_max_ / kChunkRows + 1);
  auto snapshot = std::make_shared<const Snapshot>(Snapshot{next_main, next_fresh});
  // Nothing below allocates, so a bad_alloc above leaves everything as it was.
  replaced_main_ = std::exchange(main_, std::move(next_main));
  fresh_ = std::move(next_fresh);
  fresh_row_of_.clear();
  Publish(std::move(snapshot));
  live_ = ids.size();
  main_rows_ = ids.size();
  fresh_rows_ = 0;
  dead_rows_ = 0;
  CollectGarbage();
}

VectorIndex::FreshChunk* VectorIndex::ChunkForRow(uint32_t row) {
  const size_t slot = row / kChunkRows;
  if (slot >= fresh_->chunks.size()) {
    auto bigger = std::make_shared<FreshTier>(2 * fresh_->chunks.size());
    std::copy(fresh_->chunks.begin(), fresh_->chunks.end(), bigger->chunks.begin());
    bigger->rows.store(row, std::memory_order_relaxed);  // published by Publish
    auto snapshot = std::make_shared<const Snapshot>(Snapshot{main_, bigger});
    fresh_ = std::move(bigger);
    Publish(std::move(snapshot));
  }
  if (fresh_->chunks[slot] == nullptr) {
    fresh_->chunks[slot] = std::make_shared<FreshChunk>(options_.dim);
  }
  return fresh_->chunks[slot].get();
}

bool VectorIndex::Retire(uint32_t id, uint32_t value) {
  if (auto it = fresh_row_of_.find(id); it != fresh_row_of_.end()) {
    const uint32_t row = it->second;
    fresh_->chunks[row / kChunkRows]->retired[row % kChunkRows].store(value,
                                                                      std::memory_order_release);
    fresh_row_of_.erase(it);
  } else if (auto m = main_->row_of.find(id);
             m != main_->row_of.end() &&
             main_->retired[m->second].load(std::memory_order_relaxed) == kAlive) {
    main_->retired[m->second].store(value, std::memory_order_release);
    main_->dead.fetch_add(1, std::memory_order_relaxed);
  } else {
    return false;
  }
  dead_rows_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

absl::Status VectorIndex::Upsert(uint32_t id, const float* v) {
  CollectGarbage();
  const int dim = options_.dim;
  if (!Finite(v, dim)) {
    return absl::InvalidArgumentError(absl::StrCat("vector of item ", id, ": non-finite value"));
  }
  const uint32_t row = fresh_->rows.load(std::memory_order_relaxed);
  if (row >= kMaxFreshRows) {
    return absl::ResourceExhaustedError("fresh tier holds 2^31 rows; Rebuild first");
  }
  FreshChunk* chunk;
  try {
    chunk = ChunkForRow(row);
    fresh_row_of_.reserve(fresh_row_of_.size() + 1);  // the emplace below cannot throw
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory growing the fresh tier");
  }
  const uint32_t i = row % kChunkRows;
  std::copy_n(v, dim, chunk->vectors.data() + size_t{i} * dim);
  chunk->ids[i] = id;
  // The old row must read as superseded by every reader that can see `row`:
  // Retire's store is ordered before the release of the new count below.
  if (!Retire(id, row)) live_.fetch_add(1, std::memory_order_relaxed);
  fresh_row_of_.emplace(id, row);
  fresh_->rows.store(row + 1, std::memory_order_release);
  fresh_rows_.store(row + 1, std::memory_order_relaxed);
  return absl::OkStatus();
}

bool VectorIndex::Remove(uint32_t id) {
  CollectGarbage();
  if (!Retire(id, kRemoved)) return false;
  live_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

absl::Status VectorIndex::Rebuild() {
  CollectGarbage();
  const int dim = options_.dim;
  std::vector<uint32_t> ids;
  std::vector<float> vectors;
  try {
    ids.reserve(live_.load());
    vectors.reserve(live_.load() * dim);
    // In row order, so a rebuild does not depend on the map's (seeded)
    // iteration order.
    std::vector<std::pair<uint32_t, uint32_t>> main_rows;  // (row, id)
    main_rows.reserve(main_->row_of.size());
    for (const auto& [id, row] : main_->row_of) main_rows.emplace_back(row, id);
    std::sort(main_rows.begin(), main_rows.end());
    for (const auto& [row, id] : main_rows) {
      if (main_->retired[row].load(std::memory_order_relaxed) != kAlive) continue;
      vectors.resize(vectors.size() + dim);
      main_->index->GetVector(id, vectors.data() + vectors.size() - dim);
      ids.push_back(id);
    }
    for (const auto& [id, row] : fresh_row_of_) {
      const float* v =
          fresh_->chunks[row / kChunkRows]->vectors.data() + size_t{row % kChunkRows} * dim;
      vectors.insert(vectors.end(), v, v + dim);
      ids.push_back(id);
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory collecting vectors to rebuild");
  }
  absl::StatusOr<std::unique_ptr<AnnIndex>> built =
      BuildAnnIndex(options_, ids.data(), vectors.data(), ids.size());
  if (!built.ok()) return built.status();
  vectors = {};
  try {
    Install(*std::move(built), ids);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory installing the rebuilt index");
  }
  return absl::OkStatus();
}

absl::Status VectorIndex::Reset(std::shared_ptr<const AnnIndex> main) {
  CollectGarbage();
  if (main == nullptr) return absl::InvalidArgumentError("main: null index");
  if (main->dim() != options_.dim) {
    return absl::InvalidArgumentError(
        absl::StrCat("main: index has dim ", main->dim(), ", options say ", options_.dim));
  }
  try {
    const std::vector<uint32_t> ids = main->Ids();
    Install(std::move(main), ids);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory installing the index");
  }
  return absl::OkStatus();
}

bool VectorIndex::NeedsRebuild() const {
  const size_t fresh = fresh_rows_.load(std::memory_order_relaxed);
  const size_t rows = main_rows_.load(std::memory_order_relaxed) + fresh;
  return fresh > static_cast<size_t>(fresh_tier_max_) ||
         dead_rows_.load(std::memory_order_relaxed) * 5 > rows;
}

std::vector<Neighbor> VectorIndex::Search(const float* query, int n) const {
  const int dim = options_.dim;
  if (n <= 0 || !Finite(query, dim)) return {};
  const std::shared_ptr<const Snapshot> snap = Pin();
  const FreshTier& fresh = *snap->fresh;
  const MainPart& main = *snap->main;
  // Loaded first: retired words written later can only name rows >= visible.
  const uint32_t visible = fresh.rows.load(std::memory_order_acquire);
  TopN top(n);

  // Fresh tier, exactly.
  std::vector<float> scores(std::min(visible, kChunkRows));
  for (uint32_t begin = 0; begin < visible; begin += kChunkRows) {
    const FreshChunk& chunk = *fresh.chunks[begin / kChunkRows];
    const uint32_t rows = std::min(kChunkRows, visible - begin);
    ScoreRows(chunk.vectors.data(), rows, dim, query, scores.data());
    for (uint32_t i = 0; i < rows; ++i) {
      if (Dead(chunk.retired[i].load(std::memory_order_acquire), visible)) continue;
      top.Push({chunk.ids[i], scores[i]});
    }
  }

  // Main index, over-fetching for its dead rows; doubled while too few live.
  const size_t main_rows = main.row_of.size();
  if (main_rows == 0) return std::move(top).Take();
  const size_t dead = std::min(main.dead.load(std::memory_order_relaxed), main_rows - 1);
  size_t k = std::min(main_rows, n + n * dead / (main_rows - dead) + 8);
  for (;;) {
    // Each result's row, then its retired word: a cache miss each at a
    // million items, so each pass requests its lines before it reads any.
    const std::vector<Neighbor> found = main.index->Search(query, static_cast<int>(k));
    for (const Neighbor& x : found) main.row_of.prefetch(x.id);
    std::vector<uint32_t> rows(found.size());
    for (size_t i = 0; i < found.size(); ++i) {
      rows[i] = main.row_of.find(found[i].id)->second;
      __builtin_prefetch(&main.retired[rows[i]]);
    }
    std::vector<Neighbor> live;
    for (size_t i = 0; i < found.size(); ++i) {
      if (!Dead(main.retired[rows[i]].load(std::memory_order_acquire), visible)) {
        live.push_back(found[i]);
      }
    }
    if (live.size() >= static_cast<size_t>(n) || k == main_rows) {
      for (const Neighbor& x : live) top.Push(x);
      return std::move(top).Take();
    }
    k = std::min(main_rows, 2 * k);
  }
}

bool VectorIndex::Get(uint32_t id, std::vector<float>* out) const {
  const int dim = options_.dim;
  const std::shared_ptr<const Snapshot> snap = Pin();
  const FreshTier& fresh = *snap->fresh;
  const uint32_t visible = fresh.rows.load(std::memory_order_acquire);
  // Newest first: the first row of `id` decides (an older one is superseded).
  for (uint32_t row = visible; row-- > 0;) {
    const FreshChunk& chunk = *fresh.chunks[row / kChunkRows];
    const uint32_t i = row % kChunkRows;
    if (chunk.ids[i] != id) continue;
    if (Dead(chunk.retired[i].load(std::memory_order_acquire), visible)) return false;
    const float* v = chunk.vectors.data() + size_t{i} * dim;
    out->assign(v, v + dim);
    return true;
  }
  const MainPart& main = *snap->main;
  const auto it = main.row_of.find(id);
  if (it == main.row_of.end() ||
      Dead(main.retired[it->second].load(std::memory_order_acquire), visible)) {
    return false;
  }
  out->resize(dim);
  return main.index->GetVector(id, out->data());
}

}  // namespace recd::core
