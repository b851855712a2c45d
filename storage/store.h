// recd's RocksDB store: one database on the local disk with one column family
// per kind of record (see DESIGN.md "Data flow" and storage/keys.h).
//
// Thread safety: every method may be called from any thread; RocksDB
// serialises writers internally. recd keeps one writer thread per kind of
// record by design (the commit thread for events and catalog, the fold-in
// worker for derived state), which this class does not enforce.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Iterator;
class WriteBatch;
class Cache;
struct WriteOptions;
}  // namespace rocksdb

namespace recd::storage {

// On-disk schema version, recorded in the meta CF at creation. A database
// written by another version is refused at open (FAILED_PRECONDITION).
inline constexpr uint32_t kSchemaVersion = 1;

// Column families. Values are serialized recd.v1 protos unless noted.
enum class Cf : int {
  kMeta = 0,     // "default" CF: schema version, watermarks (storage/keys.h)
  kItems,        // item id -> recd.v1.Item
  kEvents,       // big-endian seq -> records.StoredEvent
  kEventIds,     // event_id -> big-endian seq (dedupe index)
  kUsers,        // user key -> records.UserState
  kItemStats,    // item id -> records.ItemStats
  kImpressions,  // recommendation id -> records.ImpressionSlate
  kCovisit,      // item id -> co-visitation summary (core/covisit.h format)
  kCount
};
std::string_view CfName(Cf cf);

struct StoreOptions {
  std::string path;
  // RocksDB block cache, MiB.
  int block_cache_mb = 256;
  // Create the database when missing.
  bool create_if_missing = true;
  // Open read-only (RocksDB OpenForReadOnly): no lock is taken, so a stopped
  // server's data dir or a checkpoint can be read while another process
  // owns the live one; Write/Flush fail. The view is the data as of Open.
  // `recd train --data-dir` uses this.
  bool read_only = false;
};

// A set of writes applied atomically across column families by Store::Write.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Number of Put/Delete operations added.
  int Count() const;
  bool Empty() const { return Count() == 0; }

 private:
  friend class Store;
  struct Op {
    Cf cf;
    bool del;
    std::string key, value;
  };
  std::vector<Op> ops_;
};

class Store {
 public:
  // Opens (or creates) the database at options.path with all column
  // families. Returns FAILED_PRECONDITION when the schema version differs,
  // INTERNAL/IO errors from RocksDB otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the batch atomically. With sync=true the WAL is fsynced before
  // returning (durability "fsync"); with sync=false the write is in the OS
  // page cache (durability "process").
  [[nodiscard]] absl::Status Write(const WriteBatch& batch, bool sync);
  // Applies the batch atomically without the WAL: for derived state that
  // is rebuilt from the event log (the fold-in's writer). A crash loses
  // such writes back to the last memtable flush, and the database flushes
  // every column family at one point (atomic_flush), so what survives is
  // consistent: a watermark written with the state reverts with it. A
  // clean close (and Flush, and Checkpoint) persists them.
  [[nodiscard]] absl::Status WriteDerived(const WriteBatch& batch);

  // Point read; std::nullopt when the key is absent.
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key) const;

  // Calls fn(key, value) for keys >= start in key order until fn returns
  // false or the column family ends.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] absl::Status Scan(Cf cf, std::string_view start, const ScanFn& fn) const;

  // A reader that follows a column family as writes append to it (the
  // event log, read by the fold-in after each commit).
  class Tailer;
  // REQUIRES: the Tailer is destroyed before this Store.
  std::unique_ptr<Tailer> NewTailer(Cf cf) const;

  // Writes a consistent checkpoint (hard links where possible) to dir,
  // which must not exist. Used by `recd train` (never the live DB).
  [[nodiscard]] absl::Status Checkpoint(const std::string& dir) const;

  // Flushes memtables to SST files (used at shutdown).
  [[nodiscard]] absl::Status Flush();

  // Approximate number of keys in a column family (RocksDB estimate).
  uint64_t EstimateKeys(Cf cf) const;

  const std::string& path() const { return path_; }

 private:
  Store() = default;
  absl::Status WriteWith(const WriteBatch& batch, const rocksdb::WriteOptions& wo);
  std::string path_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

// One RocksDB tailing iterator kept across reads: a read seeks the
// iterator it already has, which sees every write made since (the memtable
// it reads is the live one, and it rebuilds itself when a flush changes
// the files), and skips files that end before the key sought. Scan instead
// builds an iterator over every memtable, file and level and seeks each one
// (reading their index blocks: ~6% of a busy server's CPU when the fold-in
// did so several hundred times a second). Between reads it holds the view
// of its last one (the memtables and files it read, released by the next
// read). After an error the next read starts with a new iterator. One
// thread at a time.
class Store::Tailer {
 public:
  ~Tailer();
  Tailer(const Tailer&) = delete;
  Tailer& operator=(const Tailer&) = delete;
  // As Store::Scan: fn(key, value) for keys >= start in key order, until fn
  // returns false or the column family ends, including every write that
  // returned before this call.
  [[nodiscard]] absl::Status Read(std::string_view start, const ScanFn& fn);

 private:
  friend class Store;
  Tailer(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf);
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::unique_ptr<rocksdb::Iterator> it_;  // created by the first read
};

}  // namespace recd::storage
