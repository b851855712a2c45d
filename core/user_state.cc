#include "core/user_state.h"

#include <algorithm>

namespace recd::core {

using recd::v1::records::UserItem;
using recd::v1::records::UserState;

namespace {

constexpr int kMaskBits = 64;

// Index of `type` in state.type_names(), added if new and there is room;
// kMaskBits when it has no bit.
int TypeIndex(std::string_view type, UserState* state) {
  const auto& names = state->type_names();
  for (int i = 0; i < names.size(); ++i) {
    if (names[i] == type) return i;
  }
  if (names.size() >= kMaskBits) return kMaskBits;
  state->add_type_names(std::string(type));
  return names.size() - 1;
}

}  // namespace

uint64_t TypeBits(const UserState& state, const std::vector<std::string>& types) {
  uint64_t bits = 0;
  const int n = std::min(state.type_names_size(), kMaskBits);
  for (int i = 0; i < n; ++i) {
    if (std::find(types.begin(), types.end(), state.type_names(i)) != types.end()) {
      bits |= uint64_t{1} << i;
    }
  }
  return bits;
}

bool HasType(const UserItem& item, uint64_t bits, const std::vector<std::string>& types) {
  if ((item.type_mask() & bits) != 0) return true;
  return std::any_of(item.types().begin(), item.types().end(), [&](const std::string& t) {
    return std::find(types.begin(), types.end(), t) != types.end();
  });
}

void AddType(std::string_view type, UserState* state, UserItem* item) {
  const int i = TypeIndex(type, state);
  if (i < kMaskBits) {
    item->set_type_mask(item->type_mask() | (uint64_t{1} << i));
    return;
  }
  auto* names = item->mutable_types();
  // Sorted and unique, as earlier builds kept them.
  auto at = std::lower_bound(names->begin(), names->end(), type);
  if (at != names->end() && *at == type) return;
  const auto pos = at - names->begin();
  names->Add(std::string(type));
  std::rotate(names->begin() + pos, names->end() - 1, names->end());
}

std::vector<std::optional<uint32_t>> ItemDenseIds(const Catalog::Reader& r,
                                                  const UserState* state) {
  if (state == nullptr) return {};
  std::vector<std::optional<uint32_t>> out(state->items_size());
  if (DenseValid(*state, r)) {
    for (int i = 0; i < state->items_size(); ++i) out[i] = state->items(i).dense();
    return out;
  }
  std::vector<std::string_view> ids;
  ids.reserve(state->items_size());
  for (const auto& item : state->items()) ids.push_back(item.item_id());
  r.FindMany(ids, out.data());
  return out;
}

void PrepareForFold(Catalog& catalog, UserState* state) {
  for (UserItem& item : *state->mutable_items()) {
    if (item.types().empty()) continue;
    std::vector<std::string> names(item.types().begin(), item.types().end());
    item.clear_types();
    for (const std::string& t : names) AddType(t, state, &item);
  }
  if (state->dense_epoch() == catalog.epoch()) return;
  // A state of another run (read from RocksDB): all of its ids looked up
  // together, their cache misses overlapped (Catalog::InternMany).
  std::vector<std::string_view> ids;
  ids.reserve(state->items_size() + state->session_size());
  for (const UserItem& item : state->items()) ids.push_back(item.item_id());
  for (const auto& s : state->session()) ids.push_back(s.item_id());
  std::vector<uint32_t> dense(ids.size());
  catalog.InternMany(ids, dense.data());
  size_t i = 0;
  for (UserItem& item : *state->mutable_items()) item.set_dense(dense[i++]);
  for (auto& s : *state->mutable_session()) s.set_dense(dense[i++]);
  state->set_dense_epoch(catalog.epoch());
}

}  // namespace recd::core
