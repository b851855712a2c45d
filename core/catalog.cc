#include "core/catalog.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>

#include "core/huge_pages.h"

namespace recd::core {

uint32_t Catalog::InternLabel(const std::string& s) {
  auto [it, inserted] = labels_.try_emplace(s, static_cast<uint32_t>(labels_.size()));
  if (inserted) label_names_.push_back(s);
  return it->second;
}

namespace {

// Random and nonzero: two catalogs, of one process or of two runs, do not
// share an epoch.
uint64_t NewEpoch() {
  std::random_device rd;
  std::seed_seq seed{
      rd(), rd(), rd(), rd(),
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::mt19937_64 gen(seed);
  uint64_t e = 0;
  while (e == 0) e = gen();
  return e;
}

}  // namespace

Catalog::Catalog() : epoch_(NewEpoch()) {}

std::optional<uint32_t> Catalog::FindLocked(std::string_view id) const {
  auto it = dense_.find(id);
  if (it == dense_.end()) return std::nullopt;
  return *it;
}

uint32_t Catalog::InternLocked(std::string_view id) {
  if (auto d = FindLocked(id)) return *d;
  const auto dense = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back(id);
  rows_.emplace_back();
  dense_.insert(dense);  // hashes ids_[dense]
  return dense;
}

uint32_t Catalog::Upsert(const ItemInfo& info) {
  std::unique_lock lock(mu_);
  const uint32_t dense = InternLocked(info.id);
  ItemRow& row = rows_[dense];
  if (!row.alive) ++live_;
  row.alive = true;
  row.created_at_us = info.created_at_us;
  row.expires_at_us = info.expires_at_us;
  row.available = info.available;
  row.has_vector = info.has_vector;
  row.labels.clear();
  for (const auto& c : info.categories) row.labels.push_back(InternLabel(c));
  row.num_categories = static_cast<uint16_t>(row.labels.size());
  for (const auto& t : info.tags) row.labels.push_back(InternLabel(t));
  std::sort(row.labels.begin(), row.labels.begin() + row.num_categories);
  std::sort(row.labels.begin() + row.num_categories, row.labels.end());
  row.labels.shrink_to_fit();
  // Series: leave the old one, join the new one.
  if (row.series != ItemRow::kNoSeries) {
    auto& members = series_[row.series];
    std::erase_if(members, [&](const auto& m) { return m.second == dense; });
  }
  row.series = ItemRow::kNoSeries;
  if (!info.series_id.empty()) {
    row.series = InternLabel(info.series_id);
    row.series_index = info.series_index;
    auto& members = series_[row.series];
    members.insert(std::upper_bound(members.begin(), members.end(),
                                    std::make_pair(info.series_index, dense)),
                   {info.series_index, dense});
  }
  return dense;
}

uint32_t Catalog::Intern(std::string_view id) {
  {
    std::shared_lock lock(mu_);
    if (auto d = FindLocked(id)) return *d;
  }
  std::unique_lock lock(mu_);
  return InternLocked(id);
}

void Catalog::InternAll(absl::Span<const std::string> ids, uint32_t* out) {
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < ids.size(); ++i) out[i] = InternLocked(ids[i]);
}

void Catalog::InternMany(absl::Span<const std::string_view> ids, uint32_t* out) {
  std::vector<std::optional<uint32_t>> found(ids.size());
  Reader(*this).FindMany(ids, found.data());
  bool missing = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (found[i]) {
      out[i] = *found[i];
    } else {
      missing = true;
    }
  }
  if (!missing) return;
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!found[i]) out[i] = InternLocked(ids[i]);
  }
}

std::optional<uint32_t> Catalog::Remove(std::string_view id) {
  std::unique_lock lock(mu_);
  auto d = FindLocked(id);
  if (!d || !rows_[*d].alive) return std::nullopt;
  rows_[*d].alive = false;
  --live_;
  return d;
}

void Catalog::Reserve(size_t n) {
  std::unique_lock lock(mu_);
  ids_.reserve(n);
  const bool fresh = rows_.capacity() < n;
  rows_.reserve(n);
  // Filters read rows at random: huge pages spare them a page walk each.
  if (fresh) AdviseHugePages(rows_.data() + rows_.size(), (n - rows_.size()) * sizeof(ItemRow));
  dense_.reserve(n);
}

size_t Catalog::size() const {
  std::shared_lock lock(mu_);
  return live_;
}

std::optional<uint32_t> Catalog::Reader::Find(std::string_view id) const {
  return c_.FindLocked(id);
}

void Catalog::Reader::FindMany(absl::Span<const std::string_view> ids,
                               std::optional<uint32_t>* out) const {
  // Prefetched a group at a time: enough misses in flight to overlap, few
  // enough that the first group's lines are still in cache when compared.
  constexpr size_t kGroup = 16;
  for (size_t start = 0; start < ids.size(); start += kGroup) {
    const size_t end = std::min(ids.size(), start + kGroup);
    for (size_t i = start; i < end; ++i) c_.dense_.prefetch(ids[i]);
    for (size_t i = start; i < end; ++i) out[i] = c_.FindLocked(ids[i]);
  }
}

std::optional<uint32_t> Catalog::Reader::NextInSeries(uint32_t dense) const {
  const ItemRow& row = c_.rows_[dense];
  if (row.series == ItemRow::kNoSeries) return std::nullopt;
  const auto& members = c_.series_.at(row.series);
  auto it = std::upper_bound(members.begin(), members.end(),
                             std::make_pair(row.series_index, ~uint32_t{0}));
  for (; it != members.end(); ++it) {
    if (c_.rows_[it->second].alive) return it->second;
  }
  return std::nullopt;
}

std::optional<uint32_t> Catalog::Reader::Label(std::string_view label) const {
  auto it = c_.labels_.find(absl::string_view(label.data(), label.size()));
  if (it == c_.labels_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> LabelKeys(const Catalog::Reader& r, const ItemRow& row) {
  std::vector<std::string> keys;
  keys.reserve(row.labels.size());
  for (uint32_t c : row.categories()) keys.push_back("c:" + r.LabelName(c));
  for (uint32_t t : row.tags()) keys.push_back("t:" + r.LabelName(t));
  return keys;
}

}  // namespace recd::core
