#include "storage/store.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "storage/keys.h"
#include "tests/test_util.h"

namespace recd::storage {
namespace {

using recd::testing::TempDir;

std::vector<Cf> AllCfs() {
  std::vector<Cf> cfs;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) cfs.push_back(static_cast<Cf>(i));
  return cfs;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::unique_ptr<Store> OpenAt(const std::string& path) {
    StoreOptions o;
    o.path = path;
    o.block_cache_mb = 8;
    auto s = Store::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Store> OpenDb() { return OpenAt(db_path()); }
  std::string db_path() const { return dir_.Sub("db"); }

  // The value at (cf, key), or "<absent>" / "<error>".
  static std::string GetOr(const Store& s, Cf cf, std::string_view key) {
    auto v = s.Get(cf, key);
    if (!v.ok()) return "<error: " + v.status().ToString() + ">";
    return v->has_value() ? **v : "<absent>";
  }

  TempDir dir_;
};

TEST_F(StoreTest, PutGetDeleteRoundTripPerColumnFamily) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  for (Cf cf : AllCfs()) {
    SCOPED_TRACE(std::string(CfName(cf)));
    const std::string key = "key-" + std::string(CfName(cf));
    const std::string value = std::string("value\0with-nul-", 15) + std::string(CfName(cf));
    EXPECT_EQ(GetOr(*store, cf, key), "<absent>");
    WriteBatch put;
    put.Put(cf, key, value);
    ASSERT_TRUE(store->Write(put, /*sync=*/false).ok());
    EXPECT_EQ(GetOr(*store, cf, key), value);
    WriteBatch del;
    del.Delete(cf, key);
    ASSERT_TRUE(store->Write(del, /*sync=*/true).ok());
    EXPECT_EQ(GetOr(*store, cf, key), "<absent>");
  }
}

TEST_F(StoreTest, ColumnFamiliesAreSeparateKeySpaces) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  for (Cf cf : AllCfs()) b.Put(cf, "same-key", std::string(CfName(cf)));
  ASSERT_TRUE(store->Write(b, false).ok());
  for (Cf cf : AllCfs()) EXPECT_EQ(GetOr(*store, cf, "same-key"), std::string(CfName(cf)));
  // Deleting in one CF leaves the others alone.
  WriteBatch d;
  d.Delete(Cf::kItems, "same-key");
  ASSERT_TRUE(store->Write(d, false).ok());
  EXPECT_EQ(GetOr(*store, Cf::kItems, "same-key"), "<absent>");
  EXPECT_EQ(GetOr(*store, Cf::kUsers, "same-key"), "users");
}

TEST_F(StoreTest, CfNamesAreDistinctAndDefaultIsMeta) {
  EXPECT_EQ(CfName(Cf::kMeta), "default");
  auto cfs = AllCfs();
  for (size_t i = 0; i < cfs.size(); ++i) {
    for (size_t j = i + 1; j < cfs.size(); ++j) EXPECT_NE(CfName(cfs[i]), CfName(cfs[j]));
  }
}

TEST_F(StoreTest, ReopenKeepsData) {
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Put(Cf::kItems, "item-1", "payload-1");
    b.Put(Cf::kEvents, EncodeU64(7), "event-7");
    b.Put(Cf::kUsers, "u/alice", "state");
    ASSERT_TRUE(store->Write(b, /*sync=*/false).ok());  // WAL only, no flush
  }
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, Cf::kItems, "item-1"), "payload-1");
  EXPECT_EQ(GetOr(*store, Cf::kEvents, EncodeU64(7)), "event-7");
  EXPECT_EQ(GetOr(*store, Cf::kUsers, "u/alice"), "state");
}

TEST_F(StoreTest, ReopenAfterFlushKeepsData) {
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Put(Cf::kItemStats, "x", "stats");
    ASSERT_TRUE(store->Write(b, false).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, Cf::kItemStats, "x"), "stats");
}

TEST_F(StoreTest, WriteBatchSpanningColumnFamiliesIsVisibleTogether) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch pre;
  pre.Put(Cf::kImpressions, "to-delete", "x");
  ASSERT_TRUE(store->Write(pre, false).ok());

  WriteBatch b;
  b.Put(Cf::kEvents, EncodeU64(1), "e1");
  b.Put(Cf::kEventIds, "evt-1", EncodeU64(1));
  b.Put(Cf::kMeta, kMetaLastSeq, EncodeU64(1));
  b.Delete(Cf::kImpressions, "to-delete");
  EXPECT_EQ(b.Count(), 4);
  EXPECT_FALSE(b.Empty());
  // Nothing is visible before Write.
  EXPECT_EQ(GetOr(*store, Cf::kEvents, EncodeU64(1)), "<absent>");
  EXPECT_EQ(GetOr(*store, Cf::kImpressions, "to-delete"), "x");
  ASSERT_TRUE(store->Write(b, /*sync=*/true).ok());
  EXPECT_EQ(GetOr(*store, Cf::kEvents, EncodeU64(1)), "e1");
  EXPECT_EQ(GetOr(*store, Cf::kEventIds, "evt-1"), EncodeU64(1));
  EXPECT_EQ(GetOr(*store, Cf::kMeta, kMetaLastSeq), EncodeU64(1));
  EXPECT_EQ(GetOr(*store, Cf::kImpressions, "to-delete"), "<absent>");
}

TEST_F(StoreTest, WriteBatchOpsApplyInOrder) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  b.Put(Cf::kItems, "a", "1");
  b.Delete(Cf::kItems, "a");
  b.Put(Cf::kItems, "b", "1");
  b.Put(Cf::kItems, "b", "2");
  ASSERT_TRUE(store->Write(b, false).ok());
  EXPECT_EQ(GetOr(*store, Cf::kItems, "a"), "<absent>");
  EXPECT_EQ(GetOr(*store, Cf::kItems, "b"), "2");
}

TEST_F(StoreTest, EmptyWriteBatchIsOk) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  EXPECT_TRUE(b.Empty());
  EXPECT_EQ(b.Count(), 0);
  EXPECT_TRUE(store->Write(b, true).ok());
}

// A reader that reads the events CF first and the meta CF second must never
// see meta behind events when every batch writes both with the same counter:
// if the two Puts were applied separately (events first), the reader could
// catch meta one step behind.
TEST_F(StoreTest, ConcurrentReaderNeverSeesHalfABatch) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  constexpr uint64_t kWrites = 2000;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> violations{0}, reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto ev = store->Get(Cf::kEvents, "counter");
      auto meta = store->Get(Cf::kMeta, "counter");
      if (!ev.ok() || !meta.ok()) {
        violations.fetch_add(1);
        continue;
      }
      uint64_t e = ev->has_value() ? DecodeU64(**ev) : 0;
      uint64_t m = meta->has_value() ? DecodeU64(**meta) : 0;
      if (m < e) violations.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (uint64_t i = 1; i <= kWrites; ++i) {
    WriteBatch b;
    b.Put(Cf::kEvents, "counter", EncodeU64(i));
    b.Put(Cf::kMeta, "counter", EncodeU64(i));
    ASSERT_TRUE(store->Write(b, false).ok());
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(GetOr(*store, Cf::kMeta, "counter"), EncodeU64(kWrites));
}

TEST_F(StoreTest, ScanOfEncodedKeysIsNumericOrderFromStart) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  const std::vector<uint64_t> values = {256, 1, 65536, 2, 255, 1ull << 40, 0xffffffffffffffffull,
                                        257, 3};
  WriteBatch b;
  for (uint64_t v : values) b.Put(Cf::kEvents, EncodeU64(v), std::to_string(v));
  ASSERT_TRUE(store->Write(b, false).ok());

  std::vector<uint64_t> seen;
  ASSERT_TRUE(store
                  ->Scan(Cf::kEvents, EncodeU64(0),
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(k.size(), 8u);
                           uint64_t n = DecodeU64(k);
                           EXPECT_EQ(std::string(v), std::to_string(n));
                           seen.push_back(n);
                           return true;
                         })
                  .ok());
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted);

  // Starting at an existing key includes it; at a missing key, the next one.
  seen.clear();
  ASSERT_TRUE(store
                  ->Scan(Cf::kEvents, EncodeU64(256),
                         [&](std::string_view k, std::string_view) {
                           seen.push_back(DecodeU64(k));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{256, 257, 65536, 1ull << 40, 0xffffffffffffffffull}));
  seen.clear();
  ASSERT_TRUE(store
                  ->Scan(Cf::kEvents, EncodeU64(4),
                         [&](std::string_view k, std::string_view) {
                           seen.push_back(DecodeU64(k));
                           return seen.size() < 2;  // stop after two
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{255, 256}));
}

// A Tailer created before the writes sees them, across a flush (which
// moves the memtable it read into a file) and from any start key, and
// stays inside its column family.
TEST_F(StoreTest, TailerReadsWhatWasWrittenSinceItsCreationAcrossFlushes) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  auto tail = store->NewTailer(Cf::kEvents);
  auto read = [&](uint64_t from) {
    std::vector<uint64_t> seen;
    EXPECT_TRUE(tail->Read(EncodeU64(from),
                           [&](std::string_view k, std::string_view v) {
                             EXPECT_EQ(std::string(v), "e" + std::to_string(DecodeU64(k)));
                             seen.push_back(DecodeU64(k));
                             return true;
                           })
                    .ok());
    return seen;
  };
  EXPECT_TRUE(read(1).empty());
  auto put = [&](uint64_t from, uint64_t to) {
    WriteBatch b;
    for (uint64_t i = from; i <= to; ++i) b.Put(Cf::kEvents, EncodeU64(i), "e" + std::to_string(i));
    b.Put(Cf::kUsers, EncodeU64(from), "other cf");
    ASSERT_TRUE(store->Write(b, false).ok());
  };
  put(1, 3);
  EXPECT_EQ(read(1), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(read(4), (std::vector<uint64_t>{}));
  put(4, 5);
  ASSERT_TRUE(store->Flush().ok());
  put(6, 8);
  EXPECT_EQ(read(4), (std::vector<uint64_t>{4, 5, 6, 7, 8}));
  EXPECT_EQ(read(2), (std::vector<uint64_t>{2, 3, 4, 5, 6, 7, 8}));
  ASSERT_TRUE(store->Flush().ok());
  put(9, 9);
  std::vector<uint64_t> first_two;
  ASSERT_TRUE(tail->Read(EncodeU64(7),
                         [&](std::string_view k, std::string_view) {
                           first_two.push_back(DecodeU64(k));
                           return first_two.size() < 2;
                         })
                  .ok());
  EXPECT_EQ(first_two, (std::vector<uint64_t>{7, 8}));
  EXPECT_EQ(read(9), (std::vector<uint64_t>{9}));
  tail.reset();  // before the store
}

TEST_F(StoreTest, ScanStaysInsideItsColumnFamily) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  b.Put(Cf::kItems, "a", "1");
  b.Put(Cf::kItems, "b", "2");
  b.Put(Cf::kUsers, "c", "3");
  ASSERT_TRUE(store->Write(b, false).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(store
                  ->Scan(Cf::kItems, "",
                         [&](std::string_view k, std::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  keys.clear();
  ASSERT_TRUE(store
                  ->Scan(Cf::kImpressions, "",
                         [&](std::string_view k, std::string_view) {
                           keys.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_TRUE(keys.empty());
}

TEST_F(StoreTest, SchemaVersionRecordedAtCreation) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, Cf::kMeta, kMetaSchemaVersion), EncodeU64(kSchemaVersion));
}

TEST_F(StoreTest, OtherSchemaVersionRefusedOnReopen) {
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Put(Cf::kMeta, kMetaSchemaVersion, EncodeU64(kSchemaVersion + 1));
    ASSERT_TRUE(store->Write(b, true).ok());
  }
  StoreOptions o;
  o.path = db_path();
  auto reopened = Store::Open(o);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition) << reopened.status();
  EXPECT_NE(reopened.status().message().find(std::to_string(kSchemaVersion + 1)),
            std::string_view::npos)
      << reopened.status();
}

TEST_F(StoreTest, MalformedSchemaVersionRefusedOnReopen) {
  {
    auto store = OpenDb();
    ASSERT_NE(store, nullptr);
    WriteBatch b;
    b.Put(Cf::kMeta, kMetaSchemaVersion, "1");  // not 8 bytes
    ASSERT_TRUE(store->Write(b, true).ok());
  }
  StoreOptions o;
  o.path = db_path();
  auto reopened = Store::Open(o);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition) << reopened.status();
}

TEST_F(StoreTest, SameSchemaVersionReopens) {
  { ASSERT_NE(OpenDb(), nullptr); }
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(GetOr(*store, Cf::kMeta, kMetaSchemaVersion), EncodeU64(kSchemaVersion));
}

TEST_F(StoreTest, EmptyPathIsInvalidArgument) {
  StoreOptions o;
  auto s = Store::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, MissingDbWithoutCreateIfMissingFails) {
  StoreOptions o;
  o.path = db_path();
  o.create_if_missing = false;
  auto s = Store::Open(o);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(db_path()) / "CURRENT"));
}

TEST_F(StoreTest, SecondOpenOfALiveDbFails) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  StoreOptions o;
  o.path = db_path();
  auto second = Store::Open(o);  // RocksDB's LOCK file: one writer process
  EXPECT_FALSE(second.ok());
}

TEST_F(StoreTest, ReadOnlyOpenReadsALiveDbAndRefusesWrites) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  b.Put(Cf::kEvents, "k", "v");
  ASSERT_TRUE(store->Write(b, true).ok());
  StoreOptions o;
  o.path = db_path();
  o.read_only = true;
  auto ro = Store::Open(o);  // no LOCK taken: the writer keeps running
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(GetOr(**ro, Cf::kEvents, "k"), "v");
  EXPECT_FALSE((*ro)->Write(b, true).ok());
}

TEST_F(StoreTest, ReadOnlyOpenOfAMissingDbFailsWithoutCreatingIt) {
  StoreOptions o;
  o.path = dir_.Sub("nothing-here");
  o.read_only = true;
  EXPECT_FALSE(Store::Open(o).ok());
  EXPECT_FALSE(std::filesystem::exists(o.path + "/CURRENT"));
}

TEST_F(StoreTest, CheckpointOpensWithSameContent) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  for (int i = 0; i < 100; ++i) b.Put(Cf::kEvents, EncodeU64(i), "event-" + std::to_string(i));
  b.Put(Cf::kItems, "item", "item-payload");
  b.Put(Cf::kMeta, kMetaLastSeq, EncodeU64(99));
  ASSERT_TRUE(store->Write(b, false).ok());
  ASSERT_TRUE(store->Flush().ok());
  WriteBatch late;  // only in the memtable/WAL at checkpoint time
  late.Put(Cf::kUsers, "u/late", "late-state");
  ASSERT_TRUE(store->Write(late, false).ok());

  const std::string cp = dir_.Sub("checkpoint");
  auto st = store->Checkpoint(cp);
  ASSERT_TRUE(st.ok()) << st;
  // Writes after the checkpoint do not reach it.
  WriteBatch after;
  after.Put(Cf::kItems, "after", "x");
  ASSERT_TRUE(store->Write(after, false).ok());

  auto copy = OpenAt(cp);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(GetOr(*copy, Cf::kItems, "item"), "item-payload");
  EXPECT_EQ(GetOr(*copy, Cf::kUsers, "u/late"), "late-state");
  EXPECT_EQ(GetOr(*copy, Cf::kMeta, kMetaLastSeq), EncodeU64(99));
  EXPECT_EQ(GetOr(*copy, Cf::kMeta, kMetaSchemaVersion), EncodeU64(kSchemaVersion));
  EXPECT_EQ(GetOr(*copy, Cf::kItems, "after"), "<absent>");
  int n = 0;
  ASSERT_TRUE(copy->Scan(Cf::kEvents, "",
                         [&](std::string_view k, std::string_view v) {
                           EXPECT_EQ(std::string(v), "event-" + std::to_string(DecodeU64(k)));
                           ++n;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(n, 100);
}

TEST_F(StoreTest, CheckpointIntoExistingDirFails) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  const std::string cp = dir_.Sub("exists");
  std::filesystem::create_directory(cp);
  EXPECT_FALSE(store->Checkpoint(cp).ok());
}

TEST_F(StoreTest, EstimateKeysGrowsWithContent) {
  auto store = OpenDb();
  ASSERT_NE(store, nullptr);
  WriteBatch b;
  for (int i = 0; i < 50; ++i) b.Put(Cf::kItems, "item-" + std::to_string(i), "x");
  ASSERT_TRUE(store->Write(b, false).ok());
  EXPECT_GT(store->EstimateKeys(Cf::kItems), 0u);
  EXPECT_EQ(store->EstimateKeys(Cf::kImpressions), 0u);
}

TEST(KeysTest, EncodeU64IsEightBytesBigEndian) {
  EXPECT_EQ(EncodeU64(0), std::string(8, '\0'));
  EXPECT_EQ(EncodeU64(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(EncodeU64(0x0102030405060708ull), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeU64(std::numeric_limits<uint64_t>::max()), std::string(8, '\xff'));
}

TEST(KeysTest, EncodeDecodeU64RoundTrip) {
  std::vector<uint64_t> values = {0,
                                  1,
                                  255,
                                  256,
                                  65535,
                                  65536,
                                  (1ull << 32) - 1,
                                  1ull << 32,
                                  (1ull << 63),
                                  std::numeric_limits<uint64_t>::max()};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) values.push_back(rng());
  for (uint64_t v : values) {
    std::string e = EncodeU64(v);
    ASSERT_EQ(e.size(), 8u);
    EXPECT_EQ(DecodeU64(e), v);
  }
}

TEST(KeysTest, ByteOrderEqualsNumericOrder) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    // Mix full-range and small values so that both high and low bytes differ.
    uint64_t a = (i % 2) ? rng() : rng() % 1000;
    uint64_t b = (i % 3) ? rng() : rng() % 1000;
    EXPECT_EQ(a < b, EncodeU64(a) < EncodeU64(b)) << a << " vs " << b;
  }
}

// A crash image: the directory copied while the store is open and quiet
// (what kill -9 leaves: the WAL and the flushed files, not the memtables).
TEST_F(StoreTest, DerivedWritesRevertTogetherToTheLastFlushOnACrash) {
  const std::string live = dir_.Sub("live"), image = dir_.Sub("image");
  auto store = OpenAt(live);
  ASSERT_NE(store, nullptr);
  auto put = [&](Cf cf, const std::string& k, const std::string& v, bool derived) {
    WriteBatch b;
    b.Put(cf, k, v);
    ASSERT_TRUE((derived ? store->WriteDerived(b) : store->Write(b, /*sync=*/true)).ok());
  };
  put(Cf::kEvents, "e1", "event 1", false);
  {
    WriteBatch b;  // state and watermark in one batch, as the fold-in writes them
    b.Put(Cf::kUsers, "u", "state after 1");
    b.Put(Cf::kMeta, "wm", "1");
    ASSERT_TRUE(store->WriteDerived(b).ok());
  }
  ASSERT_TRUE(store->Flush().ok());
  {
    WriteBatch b;
    b.Put(Cf::kUsers, "u", "state after 2");
    b.Put(Cf::kMeta, "wm", "2");
    ASSERT_TRUE(store->WriteDerived(b).ok());
  }
  put(Cf::kEvents, "e2", "event 2", false);
  EXPECT_EQ(*store->Get(Cf::kUsers, "u").value(), "state after 2") << "visible before a flush";
  std::filesystem::copy(live, image, std::filesystem::copy_options::recursive);

  {
    auto crashed = OpenAt(image);
    ASSERT_NE(crashed, nullptr);
    EXPECT_EQ(*crashed->Get(Cf::kEvents, "e1").value(), "event 1");
    EXPECT_EQ(*crashed->Get(Cf::kEvents, "e2").value(), "event 2") << "the WAL keeps events";
    EXPECT_EQ(*crashed->Get(Cf::kUsers, "u").value(), "state after 1");
    EXPECT_EQ(*crashed->Get(Cf::kMeta, "wm").value(), "1") << "the watermark reverts with it";
  }
  store.reset();  // a clean close persists derived writes
  auto reopened = OpenAt(live);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(*reopened->Get(Cf::kUsers, "u").value(), "state after 2");
  EXPECT_EQ(*reopened->Get(Cf::kMeta, "wm").value(), "2");
}

}  // namespace
}  // namespace recd::storage
