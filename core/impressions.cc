#include "core/impressions.h"

namespace recd::core {

void SlateCache::Put(const std::string& recommendation_id,
                     std::vector<std::pair<std::string, Source>> items) {
  std::lock_guard lock(mu_);
  if (slates_.size() >= capacity_ && !order_.empty()) {
    slates_.erase(order_.front());
    order_.pop_front();
  }
  if (slates_.emplace(recommendation_id, std::move(items)).second) {
    order_.push_back(recommendation_id);
  }
}

std::optional<Source> SlateCache::SourceOf(const std::string& recommendation_id,
                                           const std::string& item_id) const {
  std::lock_guard lock(mu_);
  auto it = slates_.find(recommendation_id);
  if (it == slates_.end()) return std::nullopt;
  for (const auto& [id, source] : it->second) {
    if (id == item_id) return source;
  }
  return std::nullopt;
}

bool ImpressionBuffer::Append(recd::v1::records::ImpressionSlate slate) {
  const size_t n = static_cast<size_t>(slate.items_size());
  std::lock_guard lock(mu_);
  if (impressions_ + n > capacity_) {
    dropped_.fetch_add(n, std::memory_order_relaxed);
    return false;
  }
  const bool was_empty = buf_.empty();
  buf_.push_back(std::move(slate));
  impressions_ += n;
  return was_empty;
}

std::vector<recd::v1::records::ImpressionSlate> ImpressionBuffer::Take() {
  std::lock_guard lock(mu_);
  std::vector<recd::v1::records::ImpressionSlate> out;
  out.swap(buf_);
  impressions_ = 0;
  return out;
}

}  // namespace recd::core
