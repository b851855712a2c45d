// The fold-in's writer (core/fold_writer.h) over a real RocksDB store, and
// the UserStore pins that keep published-but-unwritten states readable.
#include "core/fold_writer.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "core/user_store.h"
#include "gtest/gtest.h"
#include "recd/v1/records.pb.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

using recd::testing::TempDir;
using recd::v1::records::ItemStats;
using recd::v1::records::UserState;

std::unique_ptr<storage::Store> OpenStore(const std::string& path, bool read_only = false) {
  storage::StoreOptions so;
  so.path = path;
  so.block_cache_mb = 8;
  so.read_only = read_only;
  auto s = storage::Store::Open(so);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

UserStatePtr State(uint64_t folded_seq, const std::string& item) {
  auto s = NewUserState();
  s->set_folded_seq(folded_seq);
  s->add_items()->set_item_id(item);
  return s;
}

uint64_t Watermark(const storage::Store& store) {
  auto raw = store.Get(storage::Cf::kMeta, storage::kMetaFoldWatermark);
  if (!raw.ok() || !raw->has_value()) return 0;
  return storage::DecodeU64(**raw);
}

std::optional<UserState> StoredUser(const storage::Store& store, const std::string& key) {
  auto raw = store.Get(storage::Cf::kUsers, key);
  if (!raw.ok() || !raw->has_value()) return std::nullopt;
  UserState s;
  if (!s.ParseFromString(**raw)) return std::nullopt;
  return s;
}

TEST(FoldWriterTest, WritesTheLatestStatePerKeyWithTheHighestWatermark) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  UserStore users(store.get(), 1000);
  {
    FoldWriter writer(store.get(), &users, /*persisted=*/0, /*max_pending_events=*/1000);
    DerivedBatch a;
    a.watermark = 3;
    a.events = 3;
    auto u1_old = State(2, "x");
    users.Put("u/1", u1_old);
    a.users.emplace_back("u/1", u1_old);
    a.item_stats.push_back({"x", 1.5, 2.5, 100});
    a.covisit.emplace_back("x", "row-x");
    a.covisit.emplace_back("gone", "");
    DerivedBatch b;
    b.watermark = 5;
    b.events = 2;
    auto u1_new = State(5, "y");
    auto u2 = State(4, "z");
    users.Put("u/1", u1_new);
    users.Put("u/2", u2);
    b.users.emplace_back("u/1", u1_new);
    b.users.emplace_back("u/2", u2);
    b.item_stats.push_back({"x", 3.5, 4.5, 200});
    writer.Push(std::move(a));
    writer.Push(std::move(b));
    writer.Stop();
    EXPECT_EQ(writer.persisted_seq(), 5u);
    EXPECT_EQ(writer.pending_events(), 0u);
  }
  EXPECT_EQ(users.unpersisted(), 0u) << "every written state is unpinned";
  EXPECT_EQ(Watermark(*store), 5u);
  auto u1 = StoredUser(*store, "u/1");
  ASSERT_TRUE(u1.has_value());
  EXPECT_EQ(u1->folded_seq(), 5u) << "the later batch's state wins";
  ASSERT_EQ(u1->items_size(), 1);
  EXPECT_EQ(u1->items(0).item_id(), "y");
  auto u2 = StoredUser(*store, "u/2");
  ASSERT_TRUE(u2.has_value());
  EXPECT_EQ(u2->folded_seq(), 4u);
  auto raw = store->Get(storage::Cf::kItemStats, "x");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  ItemStats stats;
  ASSERT_TRUE(stats.ParseFromString(**raw));
  EXPECT_DOUBLE_EQ(stats.trending(), 3.5);
  EXPECT_DOUBLE_EQ(stats.popular(), 4.5);
  EXPECT_EQ(stats.clock_us(), 200);
  auto row = store->Get(storage::Cf::kCovisit, "x");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ(**row, "row-x");
}

TEST(FoldWriterTest, AnEmptyRowDeletesTheStoredOne) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  storage::WriteBatch seed;
  seed.Put(storage::Cf::kCovisit, "x", "old-row");
  ASSERT_TRUE(store->Write(seed, true).ok());
  UserStore users(store.get(), 1000);
  FoldWriter writer(store.get(), &users, 0, 1000);
  DerivedBatch b;
  b.watermark = 1;
  b.covisit.emplace_back("x", "");
  writer.Push(std::move(b));
  writer.Stop();
  auto row = store->Get(storage::Cf::kCovisit, "x");
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
}

TEST(UserStoreTest, AnUnpersistedStateSurvivesEviction) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  // One entry per shard: every Put evicts; nothing is in RocksDB.
  UserStore users(store.get(), 16);
  constexpr int kUsers = 200;
  std::vector<UserStatePtr> put;
  for (int i = 0; i < kUsers; ++i) {
    put.push_back(State(i + 1, "item"));
    users.Put("u/" + std::to_string(i), put.back());
  }
  EXPECT_EQ(users.unpersisted(), static_cast<size_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) {
    auto got = users.Get("u/" + std::to_string(i));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->get(), put[i].get()) << "user " << i << " is pinned until persisted";
  }
  // Marking an older state persisted leaves a newer one pinned.
  auto newer = State(1000, "item");
  users.Put("u/0", newer);
  users.MarkPersisted("u/0", put[0].get());
  EXPECT_EQ(users.unpersisted(), static_cast<size_t>(kUsers));
  for (int i = 0; i < kUsers; ++i) users.MarkPersisted("u/" + std::to_string(i), put[i].get());
  users.MarkPersisted("u/0", newer.get());
  EXPECT_EQ(users.unpersisted(), 0u);
  // Unpinned and evicted, a state is read from RocksDB again (here: none).
  int from_store = 0;
  for (int i = 0; i < kUsers; ++i) {
    auto got = users.Get("u/" + std::to_string(i));
    ASSERT_TRUE(got.ok());
    if (*got == nullptr) ++from_store;
  }
  EXPECT_GT(from_store, kUsers - 32) << "at most the 16 cached entries (plus reads) remain";
}

TEST(FoldWriterTest, AFailedWriteKeepsStatesPinnedAndTheWatermark) {
  TempDir dir;
  { ASSERT_NE(OpenStore(dir.path()), nullptr); }
  auto store = OpenStore(dir.path(), /*read_only=*/true);  // every Write fails
  ASSERT_NE(store, nullptr);
  UserStore users(store.get(), 16);
  FoldWriter writer(store.get(), &users, /*persisted=*/7, /*max_pending_events=*/10);
  auto s = State(8, "x");
  users.Put("u/1", s);
  DerivedBatch b;
  b.watermark = 8;
  b.events = 10;
  b.users.emplace_back("u/1", s);
  writer.Push(std::move(b));  // the queue was empty: returns at once
  EXPECT_EQ(writer.push_wait_seconds(), 0.0);
  // A second batch finds the queue full and waits: the writer keeps retrying.
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    DerivedBatch more;
    more.watermark = 9;
    more.events = 1;
    writer.Push(std::move(more));
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(pushed.load()) << "backpressure: 10 events are unwritten";
  EXPECT_EQ(writer.persisted_seq(), 7u);
  EXPECT_EQ(writer.pending_events(), 10u);
  EXPECT_EQ(users.unpersisted(), 1u);
  auto got = users.Get("u/1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->get(), s.get()) << "still readable from memory";
  writer.Stop();  // gives up (logged); the next start replays from 7
  pusher.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(writer.persisted_seq(), 7u);
  EXPECT_GE(writer.push_wait_seconds(), 0.25) << "the blocked Push is counted";
}

}  // namespace
}  // namespace recd::core
