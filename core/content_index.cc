#include "core/content_index.h"

#include <algorithm>
#include <mutex>

namespace recd::core {

void ContentIndex::Add(uint32_t item, int64_t created_at_us,
                       const std::vector<std::string>& keys) {
  AddTo(kAll, item, created_at_us);
  for (const auto& k : keys) AddTo(k, item, created_at_us);
}

void ContentIndex::AddTo(const std::string& key, uint32_t item, int64_t created_at_us) {
  std::shared_ptr<const List> old = Newest(key);
  if (static_cast<int>(old->size()) >= per_label_ && !old->empty() &&
      created_at_us < old->back().created_at_us) {
    return;  // older than everything kept
  }
  auto list = std::make_shared<List>();
  list->reserve(std::min<size_t>(old->size() + 1, per_label_));
  bool placed = false;
  for (const Entry& e : *old) {
    if (e.item == item) continue;
    if (!placed && created_at_us >= e.created_at_us) {
      list->push_back({item, created_at_us});
      placed = true;
    }
    list->push_back(e);
  }
  if (!placed) list->push_back({item, created_at_us});
  if (static_cast<int>(list->size()) > per_label_) list->resize(per_label_);
  std::unique_lock lock(mu_);
  lists_[key] = std::move(list);
}

std::shared_ptr<const ContentIndex::List> ContentIndex::Newest(const std::string& key) const {
  static const auto* const kEmpty = new std::shared_ptr<const List>(std::make_shared<List>());
  std::shared_lock lock(mu_);
  auto it = lists_.find(key);
  return it == lists_.end() ? *kEmpty : it->second;
}

}  // namespace recd::core
