#include "core/item_vectors.h"

#include <algorithm>

#include "core/ann_index.h"

namespace recd::core {

// Per item: a seqlock word (even: stable; odd: the writer is inside the
// row), the own row (slot + 1; 0: none) and the base vector (null: none).
// An own row wins over the base.
struct ItemVectors::Chunk {
  std::atomic<uint32_t> seq[kRowsPerChunk];
  std::atomic<uint32_t> own[kRowsPerChunk];
  std::atomic<const float*> base[kRowsPerChunk];
  Chunk() {
    for (uint32_t i = 0; i < kRowsPerChunk; ++i) {
      seq[i].store(0, std::memory_order_relaxed);
      own[i].store(0, std::memory_order_relaxed);
      base[i].store(nullptr, std::memory_order_relaxed);
    }
  }
};

struct ItemVectors::OwnChunk {
  explicit OwnChunk(int dim) : data(new std::atomic<float>[size_t{kOwnRowsPerChunk} * dim]) {}
  std::unique_ptr<std::atomic<float>[]> data;
};

ItemVectors::ItemVectors(int dim)
    : dim_(dim),
      own_chunks_(new std::atomic<OwnChunk*>[kMaxOwnChunks]),
      yty_(static_cast<size_t>(dim) * dim, 0.0),
      gramian_(std::make_shared<const YtY>(
          YtY{std::vector<double>(static_cast<size_t>(dim) * dim, 0.0),
              std::vector<float>(static_cast<size_t>(dim) * dim, 0.0f)})) {
  for (uint32_t i = 0; i < kMaxOwnChunks; ++i)
    own_chunks_[i].store(nullptr, std::memory_order_relaxed);
}

ItemVectors::~ItemVectors() {
  for (auto& c : chunks_) delete c.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < kMaxOwnChunks; ++i)
    delete own_chunks_[i].load(std::memory_order_relaxed);
}

ItemVectors::Chunk* ItemVectors::ChunkFor(uint32_t item, bool create) {
  auto& slot = chunks_[item / kRowsPerChunk];
  Chunk* c = slot.load(std::memory_order_acquire);
  if (c == nullptr && create) {
    c = new Chunk();
    slot.store(c, std::memory_order_release);
  }
  return c;
}

std::atomic<float>* ItemVectors::OwnRow(uint32_t slot) const {
  OwnChunk* c = own_chunks_[slot / kOwnRowsPerChunk].load(std::memory_order_acquire);
  return &c->data[static_cast<size_t>(slot % kOwnRowsPerChunk) * dim_];
}

namespace {
void AddOuter(std::vector<double>& yty, int dim, const float* v, double sign) {
  for (int i = 0; i < dim; ++i) {
    for (int j = 0; j < dim; ++j) yty[static_cast<size_t>(i) * dim + j] += sign * v[i] * v[j];
  }
}
}  // namespace

void ItemVectors::SetBase(std::shared_ptr<const AnnIndex> base) {
  if (base == nullptr || base->dim() != dim_) return;
  for (uint32_t id : base->Ids()) {
    if (id >= kMaxItems) continue;
    Chunk* c = ChunkFor(id, true);
    const uint32_t r = id % kRowsPerChunk;
    const bool had = c->own[r].load(std::memory_order_relaxed) != 0 ||
                     c->base[r].load(std::memory_order_relaxed) != nullptr;
    const uint32_t s = c->seq[r].load(std::memory_order_relaxed);
    c->seq[r].store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    c->base[r].store(base->VectorData(id), std::memory_order_relaxed);
    c->seq[r].store(s + 2, std::memory_order_release);
    if (!had) count_.fetch_add(1, std::memory_order_relaxed);
  }
  base_ = std::move(base);
}

void ItemVectors::ResetGramian(const float* yty) {
  yty_.assign(yty, yty + yty_.size());
  PublishGramian();
}

bool ItemVectors::ReadForWriter(uint32_t item, float* out) const {
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_relaxed);
  if (c == nullptr) return false;
  const uint32_t r = item % kRowsPerChunk;
  if (const uint32_t own = c->own[r].load(std::memory_order_relaxed); own != 0) {
    const std::atomic<float>* row = OwnRow(own - 1);
    for (int i = 0; i < dim_; ++i) out[i] = row[i].load(std::memory_order_relaxed);
    return true;
  }
  if (const float* b = c->base[r].load(std::memory_order_relaxed); b != nullptr) {
    std::copy_n(b, dim_, out);
    return true;
  }
  return false;
}

bool ItemVectors::Set(uint32_t item, const float* v, bool update_gramian) {
  if (item >= kMaxItems) return false;
  Chunk* c = ChunkFor(item, true);
  const uint32_t r = item % kRowsPerChunk;
  std::vector<float> old(dim_);
  const bool had = ReadForWriter(item, old.data());
  if (had && update_gramian) AddOuter(yty_, dim_, old.data(), -1);
  uint32_t own = c->own[r].load(std::memory_order_relaxed);
  if (own == 0) {  // a row of its own, before the seqlock (readers ignore it)
    uint32_t slot;
    if (!free_own_.empty()) {
      slot = free_own_.back();
      free_own_.pop_back();
    } else {
      if (own_rows_ >= kMaxOwnChunks * kOwnRowsPerChunk) return false;
      slot = own_rows_++;
      auto& chunk = own_chunks_[slot / kOwnRowsPerChunk];
      if (chunk.load(std::memory_order_relaxed) == nullptr) {
        chunk.store(new OwnChunk(dim_), std::memory_order_release);
      }
    }
    own = slot + 1;
  }
  std::atomic<float>* row = OwnRow(own - 1);
  const uint32_t s = c->seq[r].load(std::memory_order_relaxed);
  c->seq[r].store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (int i = 0; i < dim_; ++i) row[i].store(v[i], std::memory_order_relaxed);
  c->own[r].store(own, std::memory_order_relaxed);
  c->seq[r].store(s + 2, std::memory_order_release);
  if (update_gramian) AddOuter(yty_, dim_, v, +1);
  if (!had) count_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ItemVectors::Clear(uint32_t item) {
  if (item >= kMaxItems) return;
  Chunk* c = ChunkFor(item, false);
  if (c == nullptr) return;
  const uint32_t r = item % kRowsPerChunk;
  std::vector<float> old(dim_);
  if (!ReadForWriter(item, old.data())) return;
  AddOuter(yty_, dim_, old.data(), -1);
  const uint32_t own = c->own[r].load(std::memory_order_relaxed);
  const uint32_t s = c->seq[r].load(std::memory_order_relaxed);
  c->seq[r].store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  c->own[r].store(0, std::memory_order_relaxed);
  c->base[r].store(nullptr, std::memory_order_relaxed);
  c->seq[r].store(s + 2, std::memory_order_release);
  // Reused only after this item's seqlock moved: a reader still copying
  // from the row sees the change and retries.
  if (own != 0) free_own_.push_back(own - 1);
  count_.fetch_sub(1, std::memory_order_relaxed);
}

void ItemVectors::PublishGramian() {
  auto g = std::make_shared<YtY>(YtY{yty_, std::vector<float>(yty_.begin(), yty_.end())});
  std::atomic_store(&gramian_, std::shared_ptr<const YtY>(std::move(g)));
}

bool ItemVectors::Has(uint32_t item) const {
  if (item >= kMaxItems) return false;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  if (c == nullptr) return false;
  const uint32_t r = item % kRowsPerChunk;
  return c->own[r].load(std::memory_order_acquire) != 0 ||
         c->base[r].load(std::memory_order_acquire) != nullptr;
}

void ItemVectors::PrefetchSlots(uint32_t item) const {
  if (item >= kMaxItems) return;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  if (c == nullptr) return;
  const uint32_t r = item % kRowsPerChunk;
  __builtin_prefetch(&c->seq[r]);
  __builtin_prefetch(&c->own[r]);
  __builtin_prefetch(&c->base[r]);
}

void ItemVectors::PrefetchVector(uint32_t item) const {
  if (item >= kMaxItems) return;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  if (c == nullptr) return;
  const uint32_t r = item % kRowsPerChunk;
  // A hint: a torn read here only prefetches the wrong row.
  const uint32_t own = c->own[r].load(std::memory_order_relaxed);
  const void* row = own != 0 ? static_cast<const void*>(OwnRow(own - 1))
                             : static_cast<const void*>(c->base[r].load(std::memory_order_relaxed));
  if (row == nullptr) return;
  const char* p = static_cast<const char*>(row);
  for (size_t off = 0; off < dim_ * sizeof(float); off += 64) __builtin_prefetch(p + off);
}

void ItemVectors::GetMany(std::span<const uint32_t> items, float* out, bool* present) const {
  // Slots kAhead items ahead, vectors half as far: by then their slots
  // have arrived.
  constexpr size_t kAhead = 16;
  const size_t n = items.size();
  for (size_t i = 0; i < std::min(n, kAhead); ++i) PrefetchSlots(items[i]);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) PrefetchSlots(items[i + kAhead]);
    if (i + kAhead / 2 < n) PrefetchVector(items[i + kAhead / 2]);
    present[i] = Get(items[i], out + i * static_cast<size_t>(dim_));
  }
}

bool ItemVectors::Get(uint32_t item, float* out) const {
  if (item >= kMaxItems) return false;
  const Chunk* c = chunks_[item / kRowsPerChunk].load(std::memory_order_acquire);
  if (c == nullptr) return false;
  const uint32_t r = item % kRowsPerChunk;
  for (;;) {
    const uint32_t s1 = c->seq[r].load(std::memory_order_acquire);
    if (s1 & 1) continue;  // writer inside: retry
    const uint32_t own = c->own[r].load(std::memory_order_relaxed);
    const float* base = c->base[r].load(std::memory_order_relaxed);
    bool present = true;
    if (own != 0) {
      const std::atomic<float>* row = OwnRow(own - 1);
      for (int i = 0; i < dim_; ++i) out[i] = row[i].load(std::memory_order_relaxed);
    } else if (base != nullptr) {
      // The base index is immutable and outlives this object's readers.
      std::copy_n(base, dim_, out);
    } else {
      present = false;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (c->seq[r].load(std::memory_order_relaxed) == s1) return present;
  }
}

}  // namespace recd::core
