// User (and anonymous session) state: a bounded in-memory cache over the
// users CF. The fold-in worker is the only writer; Recommend reads. The
// fold-in publishes a state here before it is persisted (core/fold_writer.h),
// so a state stays pinned, readable whatever the cache evicts, until the
// writer marks it persisted.
//
// Thread safety: all methods are thread-safe. A reader gets an immutable
// snapshot (shared_ptr to const); the writer replaces it (copy-on-write, or
// in place when no one else holds it: GetForUpdate), so no lock is held
// while a request uses a state.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "recd/v1/records.pb.h"
#include "storage/store.h"

namespace recd::core {

using UserStatePtr = std::shared_ptr<const recd::v1::records::UserState>;

// A new state (a copy of `copy_of` when given) on its own protobuf arena,
// which the returned pointer keeps alive: copying and freeing a state with
// hundreds of items then costs a few block allocations, not one per field.
std::shared_ptr<recd::v1::records::UserState> NewUserState(
    const recd::v1::records::UserState* copy_of = nullptr);

// Key of a state in the cache and the users CF: "u/<user_id>" for a known
// user, else "s/<session_id>".
std::string UserKey(std::string_view user_id, std::string_view session_id);

class UserStore {
 public:
  // capacity: states kept in memory (evicted states are re-read from RocksDB).
  UserStore(storage::Store* store, size_t capacity);

  // The state for key, or nullptr when the user has no history. Reads
  // RocksDB on a cache miss.
  [[nodiscard]] absl::StatusOr<UserStatePtr> Get(const std::string& key);
  // For the writer: the state for key to change and Put back, or nullptr
  // when the user has no history. The cached state itself when nothing
  // else holds it (no reader, persisted, its arena under
  // kMaxInPlaceArenaBytes): it leaves the cache until the Put, and a reader
  // meanwhile reads the persisted copy, the same content. Else a copy on a
  // fresh arena (as NewUserState), or, when not in memory, the stored state
  // as parsed (not cached: the Put caches it). Saves the copy per user per
  // batch.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<recd::v1::records::UserState>> GetForUpdate(
      const std::string& key);
  // Replaces the cached state and pins it until MarkPersisted(key, it).
  // Writer only.
  void Put(const std::string& key, UserStatePtr state);
  // `state` (Put for key earlier) is in the users CF: unpins it unless a
  // newer state was Put meanwhile.
  void MarkPersisted(const std::string& key, const recd::v1::records::UserState* state);
  // States Put and not yet marked persisted.
  size_t unpersisted() const;

 private:
  static constexpr int kShards = 16;
  // A state changed in place grows its arena (replaced fields are not
  // freed); past this it is copied to a fresh one.
  static constexpr size_t kMaxInPlaceArenaBytes = 64 * 1024;
  struct Shard {
    mutable std::mutex mu;
    // The bounded cache; an empty entry is a state taken by GetForUpdate
    // (absent until the Put refills it).
    std::unordered_map<std::string, UserStatePtr> map;
    // Pinned, not evicted. Flat: the writer looks up every state it
    // persisted (a node map's chain of misses was ~10% of the writer).
    absl::flat_hash_map<std::string, UserStatePtr> unpersisted;
    uint64_t puts = 0;  // a read from RocksDB that raced a Put may be stale
  };
  Shard& ShardFor(const std::string& key);
  // The cached or pinned state for key (lock held), else nullptr.
  static const UserStatePtr* Held(const Shard& s, const std::string& key);
  // The state stored for key (nullptr if none), parsed onto its own arena.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<recd::v1::records::UserState>> Read(
      const std::string& key) const;
  // Caches state (lock held); returns the state it replaced or evicted, for
  // the caller to free once the lock is released.
  [[nodiscard]] UserStatePtr Insert(Shard& s, const std::string& key, UserStatePtr state);

  storage::Store* store_;
  size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace recd::core
