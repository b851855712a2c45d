// In-memory catalog: string item ids mapped to dense u32 ids, with the
// per-item columns the filters need (DESIGN.md "Models and structures").
// The full item record lives in RocksDB (items CF); this is its index.
//
// Thread safety: one writer (the commit thread) calls Upsert/Remove; any
// thread may call the readers. Readers take a shared lock for the duration
// of a Reader object (one per Recommend), the writer an exclusive one per
// call. Dense ids are never reused, so a dense id read once stays valid.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/types/span.h"

namespace recd::core {

// 72 bytes, with up to 6 labels inline (two std::vectors and their heap
// blocks made it ~150 at a million items).
struct ItemRow {
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;  // 0: never
  double series_index = 0;
  // Interned label ids: the categories (sorted), then the tags (sorted).
  absl::InlinedVector<uint32_t, 6> labels;
  // Series membership (properties "series_id", "series_index"); series_id
  // is an interned label id, kNoSeries when the item is in none.
  uint32_t series = kNoSeries;
  uint16_t num_categories = 0;  // limits.max_labels <= 64 of each kind
  bool available = true;
  bool alive = false;  // false once deleted
  bool has_vector = false;
  static constexpr uint32_t kNoSeries = 0xffffffffu;

  absl::Span<const uint32_t> categories() const { return {labels.data(), num_categories}; }
  absl::Span<const uint32_t> tags() const {
    return absl::MakeConstSpan(labels).subspan(num_categories);
  }
};

// What Catalog::Upsert takes (the parts of recd.v1.Item the index needs).
struct ItemInfo {
  std::string id;
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;
  bool available = true;
  bool has_vector = false;
  std::vector<std::string> categories;
  std::vector<std::string> tags;
  std::string series_id;  // empty: not in a series
  double series_index = 0;
};

class Catalog {
 public:
  Catalog();
  Catalog(const Catalog&) = delete;  // dense_ points into ids_
  Catalog& operator=(const Catalog&) = delete;

  // Inserts or replaces; returns the dense id.
  uint32_t Upsert(const ItemInfo& info);
  // Dense id of id, creating a deleted (not recommendable) row when the id
  // is new: events may name items before the catalog does.
  uint32_t Intern(std::string_view id);
  // Intern of each of `ids` into `out` (ids.size() entries): the known ids
  // found together under the shared lock, their lookups overlapped
  // (Reader::FindMany), then the new ones interned under one exclusive lock.
  void InternMany(absl::Span<const std::string_view> ids, uint32_t* out);
  // The same under one exclusive lock, without the shared pass: for ids
  // that are mostly new (a model's rows at start-up: a million ids).
  void InternAll(absl::Span<const std::string> ids, uint32_t* out);
  // Marks the item deleted; returns its dense id, or nullopt if unknown or
  // already deleted.
  std::optional<uint32_t> Remove(std::string_view id);

  // Live item count.
  size_t size() const;
  // Makes room for `n` items in all (start-up: the id index is then not
  // rehashed, through every id string, each time it doubles).
  void Reserve(size_t n);

  // Nonzero, and distinct for every Catalog object (random): dense ids cached
  // outside the catalog (core/user_state.h) are valid only in the catalog
  // whose epoch they were cached with, since a restart numbers items anew.
  uint64_t epoch() const { return epoch_; }

  // A consistent read view; hold it only for the duration of one request.
  class Reader {
   public:
    explicit Reader(const Catalog& c) : c_(c), lock_(c.mu_) {}
    // Dense id of a live or deleted item; nullopt if never seen.
    std::optional<uint32_t> Find(std::string_view id) const;
    // Find of each of `ids` into `out` (ids.size() entries). The lookups of
    // a batch overlap: the index's cache lines of several ids are
    // prefetched before any is compared, where Find waits for each miss in
    // turn (a lookup is ~3 cache misses at a million items).
    void FindMany(absl::Span<const std::string_view> ids, std::optional<uint32_t>* out) const;
    const ItemRow& Row(uint32_t dense) const { return c_.rows_[dense]; }
    // Starts loading Row(dense) (a hint for a loop that reads many rows).
    void PrefetchRow(uint32_t dense) const {
      if (dense >= c_.rows_.size()) return;
      const char* p = reinterpret_cast<const char*>(&c_.rows_[dense]);
      __builtin_prefetch(p);
      __builtin_prefetch(p + sizeof(ItemRow) - 1);
    }
    const std::string& Id(uint32_t dense) const { return c_.ids_[dense]; }
    uint64_t epoch() const { return c_.epoch_; }
    size_t capacity() const { return c_.rows_.size(); }
    // Interned label id of a category or tag; nullopt if no item has it.
    std::optional<uint32_t> Label(std::string_view label) const;
    const std::string& LabelName(uint32_t label) const { return c_.label_names_[label]; }
    // The live item that follows `dense` in its series (smallest
    // series_index greater than its own), if any.
    std::optional<uint32_t> NextInSeries(uint32_t dense) const;

   private:
    const Catalog& c_;
    std::shared_lock<std::shared_mutex> lock_;
  };

 private:
  uint32_t InternLabel(const std::string& s);  // REQUIRES: mu_ held exclusively

  // The id -> dense id index stores dense ids only and hashes through ids_,
  // so each id is kept once (it was a key and an element before).
  struct IdHash {
    using is_transparent = void;
    const std::vector<std::string>* ids;
    size_t operator()(uint32_t d) const { return (*this)(std::string_view((*ids)[d])); }
    size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>()(s); }
  };
  struct IdEq {
    using is_transparent = void;
    const std::vector<std::string>* ids;
    std::string_view Of(uint32_t d) const { return (*ids)[d]; }
    static std::string_view Of(std::string_view s) { return s; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return Of(a) == Of(b); }
  };
  // Dense id of `id` if interned. REQUIRES: mu_ held.
  std::optional<uint32_t> FindLocked(std::string_view id) const;
  // Dense id of `id`, adding a (not alive) row if new. REQUIRES: mu_ held
  // exclusively.
  uint32_t InternLocked(std::string_view id);

  const uint64_t epoch_;
  mutable std::shared_mutex mu_;
  std::vector<std::string> ids_;
  absl::flat_hash_set<uint32_t, IdHash, IdEq> dense_{0, IdHash{&ids_}, IdEq{&ids_}};
  std::vector<ItemRow> rows_;
  absl::flat_hash_map<std::string, uint32_t> labels_;
  std::vector<std::string> label_names_;
  // series label -> (series_index, dense id) sorted; deleted items stay
  // listed and are skipped by NextInSeries.
  std::unordered_map<uint32_t, std::vector<std::pair<double, uint32_t>>> series_;
  size_t live_ = 0;
};

// Label keys of an item as the content index, the affinities and the model's
// label map name them: "c:<category>" for each category, then "t:<tag>".
template <typename Categories, typename Tags>
std::vector<std::string> LabelKeys(const Categories& categories, const Tags& tags) {
  std::vector<std::string> keys;
  for (const auto& c : categories) keys.push_back("c:" + std::string(c));
  for (const auto& t : tags) keys.push_back("t:" + std::string(t));
  return keys;
}

// The same for a catalog row (its interned labels), under reader `r`.
std::vector<std::string> LabelKeys(const Catalog::Reader& r, const ItemRow& row);

}  // namespace recd::core
