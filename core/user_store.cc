#include "core/user_store.h"

#include <functional>
#include <utility>

#include "google/protobuf/arena.h"

namespace recd::core {

std::shared_ptr<recd::v1::records::UserState> NewUserState(
    const recd::v1::records::UserState* copy_of) {
  google::protobuf::ArenaOptions options;
  // Blocks of 1 KB doubling to 16 KB: a small state wastes little, a large
  // one takes a few blocks (a heap copy spent ~16 B of malloc header on
  // each of its hundreds of allocations).
  options.start_block_size = 1024;
  options.max_block_size = 16 * 1024;
  auto arena = std::make_shared<google::protobuf::Arena>(options);
  auto* state = google::protobuf::Arena::CreateMessage<recd::v1::records::UserState>(arena.get());
  if (copy_of != nullptr) state->CopyFrom(*copy_of);
  // Aliasing: the pointer owns the arena, and the state lives in it.
  return std::shared_ptr<recd::v1::records::UserState>(std::move(arena), state);
}

std::string UserKey(std::string_view user_id, std::string_view session_id) {
  if (!user_id.empty()) return "u/" + std::string(user_id);
  return "s/" + std::string(session_id);
}

UserStore::UserStore(storage::Store* store, size_t capacity)
    : store_(store), shard_capacity_(std::max<size_t>(1, capacity / kShards)) {}

UserStore::Shard& UserStore::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

UserStatePtr UserStore::Insert(Shard& s, const std::string& key, UserStatePtr state) {
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    std::swap(it->second, state);
    return state;
  }
  // Evict an arbitrary entry when full: a state the fold-in has not
  // persisted yet stays in `unpersisted`, so eviction loses nothing.
  UserStatePtr evicted;
  if (s.map.size() >= shard_capacity_) {
    evicted = std::move(s.map.begin()->second);
    s.map.erase(s.map.begin());
  }
  s.map.emplace(key, std::move(state));
  return evicted;
}

const UserStatePtr* UserStore::Held(const Shard& s, const std::string& key) {
  if (auto it = s.map.find(key); it != s.map.end() && it->second != nullptr) return &it->second;
  if (auto it = s.unpersisted.find(key); it != s.unpersisted.end()) return &it->second;
  return nullptr;
}

absl::StatusOr<UserStatePtr> UserStore::Get(const std::string& key) {
  Shard& s = ShardFor(key);
  for (;;) {
    uint64_t puts;
    {
      std::lock_guard lock(s.mu);
      if (const UserStatePtr* held = Held(s, key)) return *held;
      puts = s.puts;
    }
    auto read = Read(key);
    if (!read.ok()) return read.status();
    std::shared_ptr<recd::v1::records::UserState> state = std::move(*read);
    UserStatePtr evicted;  // freed after the lock is released
    std::lock_guard lock(s.mu);
    // The writer may have cached a newer state meanwhile; keep that one.
    if (const UserStatePtr* held = Held(s, key)) return *held;
    // A Put since the read may have been persisted and evicted already, so
    // what was read can be older than the store: read again.
    if (s.puts != puts) continue;
    if (state == nullptr) return UserStatePtr();
    evicted = Insert(s, key, state);
    return UserStatePtr(state);
  }
}

absl::StatusOr<std::shared_ptr<recd::v1::records::UserState>> UserStore::Read(
    const std::string& key) const {
  auto raw = store_->Get(storage::Cf::kUsers, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::shared_ptr<recd::v1::records::UserState>();
  auto state = NewUserState();
  if (!state->ParseFromString(**raw)) {
    return absl::DataLossError("users CF: cannot parse state of " + key);
  }
  return state;
}

absl::StatusOr<std::shared_ptr<recd::v1::records::UserState>> UserStore::GetForUpdate(
    const std::string& key) {
  Shard& s = ShardFor(key);
  UserStatePtr shared;  // copied after the lock is released
  {
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    // use_count under the lock: readers copy the pointer only under it, so
    // 1 (the cache's) means no reader and no writer batch holds the state.
    if (it != s.map.end() && it->second.use_count() == 1 && s.unpersisted.count(key) == 0) {
      const google::protobuf::Arena* arena = it->second->GetArena();
      if (arena != nullptr && arena->SpaceUsed() <= kMaxInPlaceArenaBytes) {
        // The entry stays, empty, for the Put to fill: erasing it and
        // inserting it again cost a node and two more hash-chain walks.
        UserStatePtr owned = std::move(it->second);
        return std::const_pointer_cast<recd::v1::records::UserState>(std::move(owned));
      }
    }
    if (const UserStatePtr* held = Held(s, key)) shared = *held;
  }
  if (shared != nullptr) return NewUserState(shared.get());
  // Not in memory: the writer alone Puts, so the store has its latest state.
  // Parsed onto its own arena and handed over, not cached: the Put caches it.
  return Read(key);
}

void UserStore::Put(const std::string& key, UserStatePtr state) {
  Shard& s = ShardFor(key);
  // The states this replaces are freed after the lock is released: freeing
  // a state's arena is a few microseconds that readers need not wait for.
  UserStatePtr replaced_pin, replaced;
  std::lock_guard lock(s.mu);
  ++s.puts;
  replaced_pin = std::exchange(s.unpersisted[key], state);
  replaced = Insert(s, key, std::move(state));
}

void UserStore::MarkPersisted(const std::string& key, const recd::v1::records::UserState* state) {
  Shard& s = ShardFor(key);
  UserStatePtr unpinned;  // freed after the lock is released
  std::lock_guard lock(s.mu);
  auto it = s.unpersisted.find(key);
  if (it != s.unpersisted.end() && it->second.get() == state) {
    unpinned = std::move(it->second);
    s.unpersisted.erase(it);
  }
}

size_t UserStore::unpersisted() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.unpersisted.size();
  }
  return n;
}

}  // namespace recd::core
