#include "core/content_index.h"

#include <algorithm>
#include <mutex>

namespace recd::core {

namespace {
// Newest first; among equal times the later add first.
struct NewerFirst {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return a.created_at_us != b.created_at_us ? a.created_at_us > b.created_at_us
                                              : a.order > b.order;
  }
};
}  // namespace

void ContentIndex::Add(uint32_t item, int64_t created_at_us,
                       const std::vector<std::string>& keys) {
  if (loading_) {
    Stage(kAll, item, created_at_us);
    for (const auto& k : keys) Stage(k, item, created_at_us);
    return;
  }
  AddTo(kAll, item, created_at_us);
  for (const auto& k : keys) AddTo(k, item, created_at_us);
}

void ContentIndex::Stage(const std::string& key, uint32_t item, int64_t created_at_us) {
  if (per_label_ <= 0) return;
  auto& staged = staging_[key];
  staged.push_back({created_at_us, staged_order_++, item});
  // Amortised O(1) per add: at twice the bound, keep the newest per_label_
  // (a bounded heap re-sifted on most adds when a catalog is scanned oldest
  // first, as ids that grow with time are).
  if (staged.size() >= 2 * static_cast<size_t>(per_label_)) Trim(&staged);
}

void ContentIndex::Trim(std::vector<Staged>* staged) const {
  if (staged->size() <= static_cast<size_t>(per_label_)) return;
  std::nth_element(staged->begin(), staged->begin() + per_label_, staged->end(), NewerFirst());
  staged->resize(per_label_);
}

void ContentIndex::FinishLoading() {
  loading_ = false;
  for (auto& [key, staged] : staging_) {
    Trim(&staged);
    std::sort(staged.begin(), staged.end(), NewerFirst());
    auto list = std::make_shared<List>();
    list->reserve(staged.size());
    for (const Staged& e : staged) list->push_back({e.item, e.created_at_us});
    std::unique_lock lock(mu_);
    lists_[key] = std::move(list);
  }
  staging_.clear();
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
