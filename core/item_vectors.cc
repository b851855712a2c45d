#include "core/item_vectors.h"

namespace recd::core {

struct ItemVectors::Chunk {
  explicit Chunk(int dim)
      : seq(new std::atomic<uint32_t>[kRowsPerChunk]),
        present(new std::atomic<bool>[kRowsPerChunk]),
        data(new std::atomic<float>[static_cast<size_t>(kRowsPerChunk) * dim]) {
    for (uint32_t i = 0; i < kRowsPerChunk; ++i) {
      seq[i].store(0, std::memory_order_relaxed);
      present[i].store(false, std::memory_order_relaxed);
    }
  }
  // Even: stable; odd: the writer is inside the row.
  std::unique_ptr<std::atomic<uint32_t>[]> seq;
  std::unique_ptr<std::atomic<bool>[]> present;
  std::unique_ptr<std::atomic<float>[]> data;
};

ItemVectors::ItemVectors(int dim)
    : dim_(dim),
      yty_(static_cast<size_t>(dim) * dim, 0.0),
      gramian_(std::make_shared<const std::vector<double>>(static_cast<size_t>(dim) * dim, 0.0)) {}

ItemVectors::~ItemVectors() {
  for (auto& c : chunks_) delete c.load(std::memory_order_relaxed);
}

ItemVectors::Chunk* ItemVectors::ChunkFor(uint32_t item, bool create) {
  auto& slot = chunks_[item / kRowsPerChunk];
  Chunk* c = slot.load(std::memory_order_acquire);
  if (c == nullptr && create) {
    c = new Chunk(dim_);
    slot.store(c, std::memory_order_release);
  }
  return c;
}

namespace {
void AddOuter(std::vector<double>& yty, int dim, const float* v, double sign) {
  for (int i = 0; i < dim; ++i) {
    for (int j = 0; j < dim; ++j) yty[static_cast<size_t>(i) * dim + j] += sign * v[i] * v[j];
  }
}
}  // namespace

void ItemVectors::ResetGramian(const float* yty) {
  yty_.assign(yty, yty + yty_.size());
  PublishGramian();
}

bool ItemVectors::Set(uint32_t item, const float* v, bool update_gramian) {
  if (item >= kMaxItems) return false;
  Chunk* c = ChunkFor(item, true);
  const uint32_t r = item % kRowsPerChunk;
  std::atomic<float>* row = &c->data[static_cast<size_t>(r) * dim_];
  std::vector<float> old(dim_);
  const bool had = c->present[r].load(std::memory_order_relaxed);
  if (had && update_gramian) {
    for (int i = 0; i < dim_; ++i) old[i] = row[i].load(std::memory_order_relaxed);
    AddOuter(yty_, dim_, old.data(), -1);
  }
  const uint32_t s = c->seq[r].load(std::memory_order_relaxed);
  c->seq[r].store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (int i = 0; i < dim_; ++i) row[i].store(v[i], std::memory_order_relaxed);
  c->present[r].store(true, std::memory_order_relaxed);
  c->seq[r].store(s + 2, std::memory_order_release);
  if (update_gramian) AddOuter(yty_, dim_, v, +1);
  if (!had) count_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ItemVectors::Clear(uint32_t item) {
  if (item >= kMaxItems) return;
  Chunk* c = ChunkFor(item, false);
  const uint32_t r = item % kRowsPerChunk;
  if (c == nullptr || !c->present[r].load(std::memory_order_relaxed)) return;
  std::vector<float> old(dim_);
  std::atomic<float>* row = &c->data[static_cast<size_t>(r) * dim_];
  for (int i = 0; i < dim_; ++i) old[i] = row[i].load(std::memory_order_relaxed);
  AddOuter(yty_, dim_, old.data(), -1);
  const uint32_t s = c->seq[r].load(std::memory_order_relaxed);
  c->seq[r].store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  c->present[r].store(false, std::memory_order_relaxed);
  c->seq[r].store(s + 2, std::memory_order_release);
  count_.fetch_sub(1, std::memory_order_relaxed);
}

void ItemVectors::PublishGramian() {
  auto g = std::make_shared<std::vector<double>>(yty_);
  std::atomic_store(&gramian_, std::shared_ptr<const std::vector<double>>(std::move(g)));
}

bool ItemVectors::Has(uint32_t item) const {
  if (item >= kMaxItems) return false;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  return c != nullptr && c->present[item % kRowsPerChunk].load(std::memory_order_acquire);
}

bool ItemVectors::Get(uint32_t item, float* out) const {
  if (item >= kMaxItems) return false;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  if (c == nullptr) return false;
  const uint32_t r = item % kRowsPerChunk;
  const std::atomic<float>* row = &c->data[static_cast<size_t>(r) * dim_];
  for (;;) {
    const uint32_t s1 = c->seq[r].load(std::memory_order_acquire);
    if (s1 & 1) continue;  // writer inside: retry
    const bool present = c->present[r].load(std::memory_order_relaxed);
    if (present) {
      for (int i = 0; i < dim_; ++i) out[i] = row[i].load(std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (c->seq[r].load(std::memory_order_relaxed) == s1) return present;
  }
}

}  // namespace recd::core
