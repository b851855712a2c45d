// UserStore::GetForUpdate: the fold-in changes a state in place only when
// nothing else can see it, and copies it otherwise.
#include "core/user_store.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "recd/v1/records.pb.h"
#include "storage/store.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

using recd::testing::TempDir;
using recd::v1::records::UserState;

class UserStoreUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions so;
    so.path = dir_.path();
    so.block_cache_mb = 8;
    auto s = storage::Store::Open(so);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    users_ = std::make_unique<UserStore>(store_.get(), 100);
  }

  // Puts a state with one item, writes it to the users CF as the fold-in's
  // writer does, and marks it persisted. Returns the cached pointer.
  const UserState* PutPersisted(const std::string& key, const std::string& item) {
    auto s = NewUserState();
    s->add_items()->set_item_id(item);
    const UserState* raw = s.get();
    storage::WriteBatch batch;
    batch.Put(storage::Cf::kUsers, key, s->SerializeAsString());
    EXPECT_TRUE(store_->WriteDerived(batch).ok());
    users_->Put(key, std::move(s));
    users_->MarkPersisted(key, raw);
    return raw;
  }

  TempDir dir_{"recd-user-store"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<UserStore> users_;
};

TEST_F(UserStoreUpdateTest, UnsharedPersistedStateIsTakenAndReadersSeeThePersistedCopy) {
  const UserState* cached = PutPersisted("u/a", "i1");
  auto taken = users_->GetForUpdate("u/a");
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_NE(*taken, nullptr);
  EXPECT_EQ(taken->get(), cached);  // no copy
  (*taken)->add_items()->set_item_id("i2");
  // Out of the cache until the Put: a reader gets what RocksDB has.
  auto during = users_->Get("u/a");
  ASSERT_TRUE(during.ok());
  ASSERT_NE(*during, nullptr);
  EXPECT_NE(during->get(), cached);
  EXPECT_EQ((*during)->items_size(), 1);
  users_->Put("u/a", std::move(*taken));
  auto after = users_->Get("u/a");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->get(), cached);
  EXPECT_EQ((*after)->items_size(), 2);
}

TEST_F(UserStoreUpdateTest, StateHeldByAReaderIsCopiedAndTheSnapshotStaysAsItWas) {
  const UserState* cached = PutPersisted("u/a", "i1");
  auto reader = users_->Get("u/a");
  ASSERT_TRUE(reader.ok());
  ASSERT_EQ(reader->get(), cached);
  auto copy = users_->GetForUpdate("u/a");
  ASSERT_TRUE(copy.ok());
  ASSERT_NE(*copy, nullptr);
  EXPECT_NE(copy->get(), cached);
  (*copy)->add_items()->set_item_id("i2");
  EXPECT_EQ((*reader)->items_size(), 1);
  // Still cached meanwhile: a copy does not take it out.
  auto again = users_->Get("u/a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), cached);
}

TEST_F(UserStoreUpdateTest, UnpersistedStateIsCopied) {
  auto s = NewUserState();
  s->add_items()->set_item_id("i1");
  const UserState* raw = s.get();
  users_->Put("u/a", std::move(s));  // pinned until MarkPersisted
  auto copy = users_->GetForUpdate("u/a");
  ASSERT_TRUE(copy.ok());
  ASSERT_NE(*copy, nullptr);
  EXPECT_NE(copy->get(), raw);
  EXPECT_EQ((*copy)->items_size(), 1);
}

TEST_F(UserStoreUpdateTest, StateOnlyInRocksDbIsHandedOverAsParsedWithoutCaching) {
  PutPersisted("u/a", "i1");
  UserStore cold(store_.get(), 100);  // a restart: nothing in memory
  auto taken = cold.GetForUpdate("u/a");
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_NE(*taken, nullptr);
  ASSERT_EQ((*taken)->items_size(), 1);
  EXPECT_EQ((*taken)->items(0).item_id(), "i1");
  (*taken)->add_items()->set_item_id("i2");
  // Not cached: a reader gets the stored state, not the one being changed.
  auto reader = cold.Get("u/a");
  ASSERT_TRUE(reader.ok());
  ASSERT_NE(*reader, nullptr);
  EXPECT_NE(reader->get(), taken->get());
  EXPECT_EQ((*reader)->items_size(), 1);
}

TEST_F(UserStoreUpdateTest, UnknownUserIsNull) {
  auto none = users_->GetForUpdate("u/nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

}  // namespace
}  // namespace recd::core
