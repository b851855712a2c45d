#include "core/user_store.h"

#include <functional>

namespace recd::core {

std::string UserKey(std::string_view user_id, std::string_view session_id) {
  if (!user_id.empty()) return "u/" + std::string(user_id);
  return "s/" + std::string(session_id);
}

UserStore::UserStore(storage::Store* store, size_t capacity)
    : store_(store), shard_capacity_(std::max<size_t>(1, capacity / kShards)) {}

UserStore::Shard& UserStore::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

void UserStore::Insert(Shard& s, const std::string& key, UserStatePtr state) {
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    it->second = std::move(state);
    return;
  }
  // Evict an arbitrary entry when full: every state is persisted by the
  // fold-in worker before it is cached, so eviction loses nothing.
  if (s.map.size() >= shard_capacity_) s.map.erase(s.map.begin());
  s.map.emplace(key, std::move(state));
}

absl::StatusOr<UserStatePtr> UserStore::Get(const std::string& key) {
  Shard& s = ShardFor(key);
  {
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) return it->second;
  }
  auto raw = store_->Get(storage::Cf::kUsers, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return UserStatePtr();
  auto state = std::make_shared<recd::v1::records::UserState>();
  if (!state->ParseFromString(**raw)) {
    return absl::DataLossError("users CF: cannot parse state of " + key);
  }
  std::lock_guard lock(s.mu);
  // The writer may have cached a newer state meanwhile; keep that one.
  auto it = s.map.find(key);
  if (it != s.map.end()) return it->second;
  Insert(s, key, state);
  return UserStatePtr(state);
}

void UserStore::Put(const std::string& key, UserStatePtr state) {
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);
  Insert(s, key, std::move(state));
}

}  // namespace recd::core
