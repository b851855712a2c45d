// Newest items per category and per tag, for the content source (a user's
// affinities x fresh items: a news article reaches interested users the
// moment it is published, with no interactions yet), for related items
// (shared metadata) and for the exploration pool (newest items overall).
//
// Keys: "c:<category>", "t:<tag>", and kAll for every item. Each key keeps
// its `per_label` newest items by created_at. Entries are not removed when
// an item is deleted or relabelled: readers check liveness and labels.
//
// Thread safety: Add from one writer (the commit thread); Newest from any
// thread (a brief shared lock to copy a pointer to an immutable list).
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace recd::core {

class ContentIndex {
 public:
  struct Entry {
    uint32_t item;
    int64_t created_at_us;
  };
  using List = std::vector<Entry>;  // newest first
  static constexpr const char* kAll = "*";

  explicit ContentIndex(int per_label) : per_label_(per_label) {}

  // Adds (or moves) `item` under each key and under kAll.
  void Add(uint32_t item, int64_t created_at_us, const std::vector<std::string>& keys);
  // The newest items of a key (empty list if none).
  std::shared_ptr<const List> Newest(const std::string& key) const;

  // Bulk load (start-up): between StartLoading and FinishLoading, Add
  // stages entries per key (trimmed to the newest at twice the bound)
  // instead of republishing a copy of the list on every add (O(per_label)
  // each), and FinishLoading publishes the lists.
  // Each item must be added at most once while loading. Writer only.
  void StartLoading() { loading_ = true; }
  void FinishLoading();

 private:
  void AddTo(const std::string& key, uint32_t item, int64_t created_at_us);
  void Stage(const std::string& key, uint32_t item, int64_t created_at_us);

  struct Staged {
    int64_t created_at_us;
    uint64_t order;  // later adds win ties, as in AddTo
    uint32_t item;
  };

  const int per_label_;
  mutable std::shared_mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const List>> lists_;
  bool loading_ = false;
  uint64_t staged_order_ = 0;
  // Keeps the newest per_label_ of `staged`.
  void Trim(std::vector<Staged>* staged) const;
  absl::flat_hash_map<std::string, std::vector<Staged>> staging_;  // up to 2 x per_label_ each
};

}  // namespace recd::core
