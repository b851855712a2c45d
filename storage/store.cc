#include "storage/store.h"

#include <array>
#include <utility>

#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/keys.h"

namespace recd::storage {
namespace {

constexpr std::array<std::string_view, static_cast<int>(Cf::kCount)> kCfNames = {
    "default", "items", "events", "event_ids", "users", "item_stats",
    "impressions", "covisit"};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

WriteBatch::WriteBatch() = default;
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  ops_.push_back(Op{cf, false, std::string(key), std::string(value)});
}
void WriteBatch::Delete(Cf cf, std::string_view key) {
  ops_.push_back(Op{cf, true, std::string(key), {}});
}
int WriteBatch::Count() const { return static_cast<int>(ops_.size()); }

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("storage.data_dir: empty path");
  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  store->cache_ = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_mb) << 20);

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = store->cache_;
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_opts.compression = rocksdb::kLZ4Compression;

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = options.create_if_missing && !options.read_only;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  // Derived state is written outside the WAL (WriteDerived): flushing all
  // column families together keeps what a crash leaves of it consistent.
  db_opts.atomic_flush = true;

  // Point lookups (a user's state on a cache miss, an event id per tracked
  // event, an item) probe every L0 file and one file per deeper level: a
  // Bloom filter (10 bits per key, ~1% false positives) skips the files
  // without the key. The event and impression logs are only scanned.
  rocksdb::BlockBasedTableOptions point_table = table;
  point_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions point_opts = cf_opts;
  point_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(point_table));
  // The same for the memtables: a lookup of a key that is not in them (a
  // user read on a cache miss, a new event id) skipped the skiplist walk,
  // ~17 dependent misses in a memtable of user states and 7% of the
  // fold-in thread while it caught up. 0.2% of the write buffer (~130 KB,
  // ~30 bits per key at the write rates that fill it) per memtable.
  point_opts.memtable_prefix_bloom_size_ratio = 0.002;
  point_opts.memtable_whole_key_filtering = true;

  // User states are rewritten whole on every folded event (~2-4 KB each),
  // so their first levels are mostly versions that the next compaction
  // drops: compressing them at flush and again at L0 -> L1 was ~6% of a
  // busy server's CPU. Levels below L1, where states settle, are
  // compressed.
  rocksdb::ColumnFamilyOptions users_opts = point_opts;
  users_opts.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression,
                                      rocksdb::kLZ4Compression};

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const Cf cf = static_cast<Cf>(i);
    const bool scanned = cf == Cf::kEvents || cf == Cf::kImpressions;
    descs.emplace_back(std::string(kCfNames[i]), cf == Cf::kUsers ? users_opts
                                                 : scanned        ? cf_opts
                                                                  : point_opts);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_opts, options.path, descs, &store->handles_, &raw)
          : rocksdb::DB::Open(db_opts, options.path, descs, &store->handles_, &raw);
  if (!s.ok()) return FromRocks(s, "open " + options.path);
  store->db_.reset(raw);
  if (options.read_only) {
    auto version = store->Get(Cf::kMeta, kMetaSchemaVersion);
    if (!version.ok()) return version.status();
    if (!version->has_value() || (*version)->size() != 8 ||
        DecodeU64(**version) != kSchemaVersion) {
      return absl::FailedPreconditionError("data dir " + options.path +
                                           " is not a recd data dir of schema version " +
                                           std::to_string(kSchemaVersion));
    }
    return store;
  }

  // Schema version: written at creation, checked on every later open.
  auto version = store->Get(Cf::kMeta, kMetaSchemaVersion);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    WriteBatch batch;
    batch.Put(Cf::kMeta, kMetaSchemaVersion, EncodeU64(kSchemaVersion));
    if (auto st = store->Write(batch, /*sync=*/true); !st.ok()) return st;
  } else if ((*version)->size() != 8 || DecodeU64(**version) != kSchemaVersion) {
    return absl::FailedPreconditionError(
        "data dir " + options.path + " has schema version " +
        ((*version)->size() == 8 ? std::to_string(DecodeU64(**version)) : "?") +
        ", this build reads version " + std::to_string(kSchemaVersion));
  }
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close();
}

absl::Status Store::Write(const WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return WriteWith(batch, wo);
}

absl::Status Store::WriteDerived(const WriteBatch& batch) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return WriteWith(batch, wo);
}

absl::Status Store::WriteWith(const WriteBatch& batch, const rocksdb::WriteOptions& wo) {
  rocksdb::WriteBatch wb;
  for (const auto& op : batch.ops_) {
    auto* h = handles_[static_cast<int>(op.cf)];
    rocksdb::Status s = op.del ? wb.Delete(h, ToSlice(op.key))
                               : wb.Put(h, ToSlice(op.key), ToSlice(op.value));
    if (!s.ok()) return FromRocks(s, "batch");
  }
  return FromRocks(db_->Write(wo, &wb), "write");
}

absl::StatusOr<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handles_[static_cast<int>(cf)], ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "get");
  return std::optional<std::string>(std::move(value));
}

namespace {

// fn(key, value) from the first key >= start until fn returns false or
// the iterator ends; the iterator's status after.
absl::Status IterateFrom(rocksdb::Iterator* it, std::string_view start, const Store::ScanFn& fn,
                         const char* what) {
  for (it->Seek(ToSlice(start)); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status(), what);
}

}  // namespace

absl::Status Store::Scan(Cf cf, std::string_view start, const ScanFn& fn) const {
  // Scans are bulk reads (start-up loads, the fold-in's pass over new
  // events, exports): each block is read once, so caching it would only
  // evict what point reads use, and at start-up it filled the whole block
  // cache (resident memory that served nothing).
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[static_cast<int>(cf)]));
  return IterateFrom(it.get(), start, fn, "scan");
}

std::unique_ptr<Store::Tailer> Store::NewTailer(Cf cf) const {
  return std::unique_ptr<Tailer>(new Tailer(db_.get(), handles_[static_cast<int>(cf)]));
}

Store::Tailer::Tailer(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
Store::Tailer::~Tailer() = default;

absl::Status Store::Tailer::Read(std::string_view start, const ScanFn& fn) {
  if (it_ == nullptr) {
    rocksdb::ReadOptions ro;
    ro.tailing = true;
    it_.reset(db_->NewIterator(ro, cf_));
  }
  absl::Status st = IterateFrom(it_.get(), start, fn, "tail read");
  // An iterator keeps its error: the next read (a retry) starts afresh.
  if (!st.ok()) it_.reset();
  return st;
}

absl::Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  if (auto s = rocksdb::Checkpoint::Create(db_.get(), &raw); !s.ok()) {
    return FromRocks(s, "checkpoint");
  }
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir), "checkpoint " + dir);
}

absl::Status Store::Flush() {
  rocksdb::FlushOptions fo;
  return FromRocks(db_->Flush(fo, handles_), "flush");
}

uint64_t Store::EstimateKeys(Cf cf) const {
  uint64_t n = 0;
  db_->GetIntProperty(handles_[static_cast<int>(cf)], "rocksdb.estimate-num-keys", &n);
  return n;
}

}  // namespace recd::storage
