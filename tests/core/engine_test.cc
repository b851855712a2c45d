#include "core/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/demo.h"
#include "core/user_store.h"
#include "gtest/gtest.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/core/slate_util.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

using test::Contains;
using test::Find;
using test::HasReason;
using test::Ids;
using test::IndexOf;
using test::ReasonOf;

using recd::testing::AxisVector;
using recd::testing::kDayUs;
using recd::testing::kHourUs;
using recd::testing::kMinuteUs;
using recd::testing::MakeItem;
using recd::testing::MakeStoredEvent;
using recd::testing::NowUs;
using recd::testing::SetTimestampUs;
using recd::testing::TempDir;
using recd::v1::Item;
using recd::v1::RecommendRequest;
using recd::v1::records::ItemStats;
using recd::v1::records::StoredEvent;
using recd::v1::records::UserState;

constexpr int kDim = 8;
constexpr auto kWait = std::chrono::seconds(30);  // a bound, never a synchroniser
constexpr double kFoldTimeoutSeconds = 10;

Item WithCreated(Item item, int64_t us) {
  SetTimestampUs(item.mutable_created_at(), us);
  return item;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = false;
    options_.block_cache_mb = 8;
    options_.dimension = kDim;
    options_.hnsw_m = 8;
    options_.hnsw_ef_construction = 40;
    options_.hnsw_ef_search = 40;
    options_.fresh_tier_max = 1000;
    options_.user_cache_entries = 1000;
    // Exploration off and no diversity re-rank, so that slates are a pure
    // function of the state (exploration has its own tests).
    options_.surfaces["default"] = Deterministic(SurfaceOptions{});
    options_.surfaces["ann_only"] = Deterministic(SurfaceOptions{}, {{"ann", 1.0}});
    options_.surfaces["trending_only"] = Deterministic(SurfaceOptions{}, {{"trending", 1.0}});
  }

  // `s` with exploration and diversity off; with only `weights` as sources
  // (and no score features) when weights are given.
  static SurfaceOptions Deterministic(SurfaceOptions s,
                                      std::map<std::string, double> weights = {}) {
    s.explore_epsilon = 0;
    s.diversity = DiversityMode::kNone;
    if (!weights.empty()) {
      s.source_weights = std::move(weights);
      s.freshness_weight = 0;
      s.popularity_weight = 0;
    }
    return s;
  }

  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  void Open() {
    auto e = Engine::Open(options_);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  void Close() { engine_.reset(); }
  void Reopen() {
    Close();
    Open();
  }

  // UpsertItemsAsync, waiting for `done`.
  absl::Status Upsert(std::vector<Item> items) {
    auto p = std::make_shared<std::promise<std::pair<absl::Status, uint64_t>>>();
    auto f = p->get_future();
    const size_t n = items.size();
    absl::Status st = engine_->UpsertItemsAsync(
        std::move(items), [p](const absl::Status& s, uint64_t count, uint64_t) {
          p->set_value({s, count});
        });
    if (!st.ok()) return st;
    if (f.wait_for(kWait) != std::future_status::ready) {
      return absl::DeadlineExceededError("upsert: no callback");
    }
    auto [s, count] = f.get();
    if (s.ok() && count != n) return absl::InternalError("upserted " + std::to_string(count));
    return s;
  }

  struct DeleteResult {
    absl::Status status;
    uint64_t deleted = 0, not_found = 0;
  };
  DeleteResult Delete(std::vector<std::string> ids) {
    auto p = std::make_shared<std::promise<DeleteResult>>();
    auto f = p->get_future();
    absl::Status st = engine_->DeleteItemsAsync(
        std::move(ids), [p](const absl::Status& s, uint64_t deleted, uint64_t not_found) {
          p->set_value({s, deleted, not_found});
        });
    if (!st.ok()) return {st, 0, 0};
    if (f.wait_for(kWait) != std::future_status::ready) {
      return {absl::DeadlineExceededError("delete: no callback"), 0, 0};
    }
    return f.get();
  }

  struct TrackResult {
    absl::Status status;
    CommitResult commit;
  };
  // TrackAsync, waiting for the acknowledgement (not for the fold-in).
  TrackResult Track(std::vector<StoredEvent> events) {
    auto p = std::make_shared<std::promise<TrackResult>>();
    auto f = p->get_future();
    absl::Status st =
        engine_->TrackAsync(std::move(events), [p](const absl::Status& s, const CommitResult& r) {
          p->set_value({s, r});
        });
    if (!st.ok()) return {st, {}};
    if (f.wait_for(kWait) != std::future_status::ready) {
      return {absl::DeadlineExceededError("track: no callback"), {}};
    }
    return f.get();
  }
  // Track, then wait until the events are folded into the state.
  void TrackAndFold(std::vector<StoredEvent> events) {
    TrackResult r = Track(std::move(events));
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_GT(r.commit.last_seq, 0u);
    ASSERT_TRUE(engine_->WaitFolded(r.commit.last_seq, kFoldTimeoutSeconds));
  }

  absl::StatusOr<RecommendResult> RecommendFull(const RecommendRequest& req) {
    auto q = ConvertRecommendRequest(req, engine_->options(), NowUs());
    if (!q.ok()) return q.status();
    return engine_->Recommend(*q);
  }
  absl::StatusOr<Slate> Recommend(const RecommendRequest& req) {
    auto r = RecommendFull(req);
    if (!r.ok()) return r.status();
    return std::move(r->slate);
  }
  // The ids recommended to a user (or, when user is empty, to a session).
  std::vector<std::string> RecommendIds(const std::string& user, int k,
                                        const std::string& surface = "",
                                        const std::string& session = "") {
    RecommendRequest req;
    req.set_user_id(user);
    req.set_session_id(session.empty() && user.empty() ? "cold-session" : session);
    req.set_k(k);
    req.set_surface(surface);
    auto s = Recommend(req);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? Ids(*s) : std::vector<std::string>{};
  }
  std::vector<std::string> ColdIds(int k, const std::string& surface = "") {
    return RecommendIds("", k, surface);
  }

  // Opens the engine's store directly; REQUIRES: the engine is closed.
  std::unique_ptr<storage::Store> OpenStore() {
    storage::StoreOptions so;
    so.path = options_.data_dir;
    so.create_if_missing = false;
    auto s = storage::Store::Open(so);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  static std::vector<StoredEvent> ReadEvents(const storage::Store& store) {
    std::vector<StoredEvent> events;
    EXPECT_TRUE(store
                    .Scan(storage::Cf::kEvents, "",
                          [&](std::string_view k, std::string_view v) {
                            StoredEvent e;
                            EXPECT_TRUE(e.ParseFromArray(v.data(), static_cast<int>(v.size())));
                            EXPECT_EQ(storage::DecodeU64(k), e.seq());
                            events.push_back(std::move(e));
                            return true;
                          })
                    .ok());
    return events;
  }
  static uint64_t MetaU64(const storage::Store& store, std::string_view key) {
    auto v = store.Get(storage::Cf::kMeta, key);
    EXPECT_TRUE(v.ok());
    if (!v.ok() || !v->has_value() || (*v)->size() != 8) return 0;
    return storage::DecodeU64(**v);
  }

  TempDir dir_;
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
};

// ---------------------------------------------------------------- catalog

TEST_F(EngineTest, EmptyEngineOpensAndRecommendsNothing) {
  Open();
  EXPECT_TRUE(engine_->CatalogEmpty());
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.items, 0u);
  EXPECT_EQ(s.last_seq, 0u);
  EXPECT_EQ(s.folded_seq, 0u);
  EXPECT_TRUE(ColdIds(10).empty());
  EXPECT_TRUE(RecommendIds("nobody", 10).empty());
}

TEST_F(EngineTest, GetItemReturnsWhatWasUpserted) {
  Open();
  Item item = MakeItem("x", {"shoes"}, {"red"}, AxisVector(kDim, 2));
  (*item.mutable_properties())["title"] = "Red shoes";
  item.set_unavailable(true);
  ASSERT_TRUE(Upsert({item}).ok());
  auto got = engine_->GetItem("x");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->categories(0), "shoes");
  EXPECT_EQ((*got)->tags(0), "red");
  EXPECT_EQ((*got)->properties().at("title"), "Red shoes");
  EXPECT_TRUE((*got)->unavailable());
  ASSERT_EQ((*got)->vector_size(), kDim);
  EXPECT_EQ((*got)->vector(2), 1.f);
  auto missing = engine_->GetItem("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(engine_->Stats().items, 1u);
  EXPECT_EQ(engine_->Stats().vectors, 1u);
}

TEST_F(EngineTest, UnsetCreatedAtIsTheFirstUpsertTime) {
  Open();
  const int64_t before = NowUs();
  ASSERT_TRUE(Upsert({MakeItem("x")}).ok());
  const int64_t after = NowUs();
  auto first = engine_->GetItem("x");
  ASSERT_TRUE(first.ok() && first->has_value());
  ASSERT_TRUE((*first)->has_created_at());
  const int64_t created =
      (*first)->created_at().seconds() * 1000000 + (*first)->created_at().nanos() / 1000;
  EXPECT_GE(created, before);
  EXPECT_LE(created, after);
  // A later upsert without created_at keeps the first time.
  ASSERT_TRUE(Upsert({MakeItem("x", {"changed"})}).ok());
  auto second = engine_->GetItem("x");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->created_at().seconds(), (*first)->created_at().seconds());
  EXPECT_EQ((*second)->created_at().nanos(), (*first)->created_at().nanos());
  EXPECT_EQ((*second)->categories(0), "changed");
}

// ---------------------------------------------------------------- freshness

TEST_F(EngineTest, UpsertedItemIsRecommendableAtOnceViaAnn) {
  Open();
  std::vector<Item> items;
  for (int i = 1; i <= 4; ++i) {
    items.push_back(MakeItem("a" + std::to_string(i), {"a"}, {}, AxisVector(kDim, 0, 0.1f * i)));
    items.push_back(MakeItem("b" + std::to_string(i), {"b"}, {}, AxisVector(kDim, 4, 0.1f * i)));
  }
  ASSERT_TRUE(Upsert(items).ok());
  TrackAndFold({MakeStoredEvent("u", "a1", "view"), MakeStoredEvent("u", "a2", "click")});

  // Upserted after the user's history: no rebuild, no wait, just the ack.
  ASSERT_TRUE(Upsert({MakeItem("a-new", {"a"}, {}, AxisVector(kDim, 0))}).ok());
  RecommendRequest req;
  req.set_user_id("u");
  req.set_k(10);
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok()) << slate.status();
  const RankedItem* fresh = Find(*slate, "a-new");
  ASSERT_NE(fresh, nullptr) << "a just-upserted item must be recommendable";
  EXPECT_TRUE(HasReason(*fresh, "ann"));
  // It is similar to the user's history, so it ranks above the other cluster.
  auto ids = Ids(*slate);
  for (int i = 1; i <= 4; ++i) {
    int b = IndexOf(ids, "b" + std::to_string(i));
    if (b >= 0) {
      EXPECT_LT(IndexOf(ids, "a-new"), b) << "b" << i;
    }
  }
  // The ann-only surface has it too, and only through ann.
  auto ann = RecommendIds("u", 3, "ann_only");
  EXPECT_TRUE(Contains(ann, "a-new")) << ::testing::PrintToString(ann);
}

TEST_F(EngineTest, ColdUserGetsNewItemViaFreshFallback) {
  Open();
  const int64_t now = NowUs();
  ASSERT_TRUE(Upsert({WithCreated(MakeItem("old1"), now - 3 * kDayUs),
                      WithCreated(MakeItem("old2"), now - 2 * kDayUs)})
                  .ok());
  ASSERT_TRUE(Upsert({MakeItem("brand-new")}).ok());  // created_at: now
  RecommendRequest req;
  req.set_session_id("cold");
  req.set_k(3);
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok()) << slate.status();
  ASSERT_EQ(Ids(*slate), (std::vector<std::string>{"brand-new", "old2", "old1"}))
      << "newest first when nothing else proposes items";
  EXPECT_TRUE(HasReason(slate->items[0], "fresh"));
  // Also for a known user with history, when the sources leave the slate short.
  TrackAndFold({MakeStoredEvent("u", "old1", "view")});
  auto ids = RecommendIds("u", 5);
  EXPECT_TRUE(Contains(ids, "brand-new"));
  EXPECT_FALSE(Contains(ids, "old1"));
}

// ---------------------------------------------------------------- deletion

TEST_F(EngineTest, DeletedItemNeverAppearsAgainAlsoAfterReopen) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("x", {}, {}, AxisVector(kDim, 0)),
                      MakeItem("a1", {}, {}, AxisVector(kDim, 0, 0.2f)),
                      MakeItem("b1", {}, {}, AxisVector(kDim, 4)),
                      MakeItem("b2", {}, {}, AxisVector(kDim, 4, 0.2f))})
                  .ok());
  // x is both similar to u's history (ann) and the most popular (trending).
  std::vector<StoredEvent> events;
  for (int i = 0; i < 5; ++i)
    events.push_back(MakeStoredEvent("fan" + std::to_string(i), "x", "purchase"));
  events.push_back(MakeStoredEvent("u", "a1", "view"));
  TrackAndFold(events);
  ASSERT_TRUE(Contains(RecommendIds("u", 10), "x")) << "precondition";
  ASSERT_TRUE(Contains(ColdIds(10), "x")) << "precondition";

  DeleteResult del = Delete({"x", "never-existed"});
  ASSERT_TRUE(del.status.ok()) << del.status;
  EXPECT_EQ(del.deleted, 1u);
  EXPECT_EQ(del.not_found, 1u);
  EXPECT_FALSE(Contains(RecommendIds("u", 10), "x"));
  EXPECT_FALSE(Contains(RecommendIds("u", 10, "ann_only"), "x"));
  EXPECT_FALSE(Contains(ColdIds(10), "x"));
  auto got = engine_->GetItem("x");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(engine_->Stats().items, 3u);
  EXPECT_EQ(engine_->Stats().vectors, 3u);

  // Deleting again: not found.
  del = Delete({"x"});
  ASSERT_TRUE(del.status.ok());
  EXPECT_EQ(del.deleted, 0u);
  EXPECT_EQ(del.not_found, 1u);

  // Events on a deleted item do not bring it back.
  TrackAndFold({MakeStoredEvent("fan9", "x", "purchase")});
  EXPECT_FALSE(Contains(ColdIds(10), "x"));

  Reopen();
  EXPECT_FALSE(Contains(RecommendIds("u", 10), "x"));
  EXPECT_FALSE(Contains(ColdIds(10), "x")) << "its trending score survives, the item does not";
  got = engine_->GetItem("x");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(engine_->Stats().items, 3u);
  EXPECT_EQ(engine_->Stats().vectors, 3u);
  EXPECT_TRUE(Contains(ColdIds(10), "b1")) << "the others are still served";
}

TEST_F(EngineTest, ReUpsertOfDeletedItemMakesItRecommendableAgain) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("x"), MakeItem("y")}).ok());
  ASSERT_EQ(Delete({"x"}).deleted, 1u);
  ASSERT_FALSE(Contains(ColdIds(10), "x"));
  ASSERT_TRUE(Upsert({MakeItem("x")}).ok());
  EXPECT_TRUE(Contains(ColdIds(10), "x"));
  EXPECT_EQ(engine_->Stats().items, 2u);
}

// ---------------------------------------------------------------- filters

TEST_F(EngineTest, SeenItemsAreFilteredButCartedOnlyItemIsNot) {
  Open();
  std::vector<Item> items;
  int i = 0;
  for (const char* id : {"viewed", "clicked", "bought", "carted", "saved", "untouched"}) {
    items.push_back(MakeItem(id, {}, {}, AxisVector(kDim, 0, 0.05f * ++i)));
  }
  ASSERT_TRUE(Upsert(items).ok());
  TrackAndFold({MakeStoredEvent("u", "viewed", "view"), MakeStoredEvent("u", "clicked", "click"),
                MakeStoredEvent("u", "bought", "purchase"), MakeStoredEvent("u", "carted", "cart"),
                MakeStoredEvent("u", "saved", "save")});
  for (const std::string surface : {"default", "ann_only"}) {
    SCOPED_TRACE(surface);
    auto ids = RecommendIds("u", 10, surface);
    EXPECT_FALSE(Contains(ids, "viewed"));
    EXPECT_FALSE(Contains(ids, "clicked"));
    EXPECT_FALSE(Contains(ids, "bought"));
    EXPECT_TRUE(Contains(ids, "carted")) << "cart is not a seen type by default";
    EXPECT_TRUE(Contains(ids, "saved"));
    EXPECT_TRUE(Contains(ids, "untouched"));
  }
  // Other users are not affected.
  EXPECT_EQ(RecommendIds("someone-else", 10).size(), 6u);
}

TEST_F(EngineTest, SeenEventTypesArePerSurface) {
  SurfaceOptions cart_page = Deterministic(SurfaceOptions{});
  cart_page.seen_event_types = {"cart"};
  // Continuation brings started (carted) items back on purpose; off here.
  cart_page.source_weights.erase("continuation");
  options_.surfaces["cart_page"] = cart_page;
  Open();
  ASSERT_TRUE(Upsert({MakeItem("viewed"), MakeItem("carted"), MakeItem("other")}).ok());
  TrackAndFold({MakeStoredEvent("u", "viewed", "view"), MakeStoredEvent("u", "carted", "cart")});
  auto ids = RecommendIds("u", 10, "cart_page");
  EXPECT_TRUE(Contains(ids, "viewed"));
  EXPECT_FALSE(Contains(ids, "carted"));
  EXPECT_TRUE(Contains(ids, "other"));
}

TEST_F(EngineTest, ItemsOlderThanSurfaceMaxAgeAreExcluded) {
  options_.surfaces["recent"] = Deterministic(SurfaceOptions{});
  options_.surfaces["recent"].max_item_age_seconds = 3600;
  Open();
  const int64_t now = NowUs();
  ASSERT_TRUE(Upsert({WithCreated(MakeItem("two-hours-old"), now - 2 * kHourUs),
                      WithCreated(MakeItem("ten-minutes-old"), now - 10 * kMinuteUs)})
                  .ok());
  auto recent = ColdIds(10, "recent");
  EXPECT_FALSE(Contains(recent, "two-hours-old"));
  EXPECT_TRUE(Contains(recent, "ten-minutes-old"));
  auto all = ColdIds(10);
  EXPECT_TRUE(Contains(all, "two-hours-old")) << "the default surface has no age limit";
  EXPECT_TRUE(Contains(all, "ten-minutes-old"));
}

TEST_F(EngineTest, UnavailableAndExpiredItemsAreExcluded) {
  Open();
  const int64_t now = NowUs();
  Item unavailable = MakeItem("unavailable", {}, {}, AxisVector(kDim, 0, 0.1f));
  unavailable.set_unavailable(true);
  Item expired = WithCreated(MakeItem("expired", {}, {}, AxisVector(kDim, 0, 0.2f)), now - kHourUs);
  SetTimestampUs(expired.mutable_expires_at(), now - kMinuteUs);
  Item expires_later =
      WithCreated(MakeItem("expires-later", {}, {}, AxisVector(kDim, 0, 0.3f)), now - kHourUs);
  SetTimestampUs(expires_later.mutable_expires_at(), now + kDayUs);
  ASSERT_TRUE(Upsert({unavailable, expired, expires_later,
                      MakeItem("plain", {}, {}, AxisVector(kDim, 0, 0.4f)),
                      MakeItem("anchor", {}, {}, AxisVector(kDim, 0))})
                  .ok());
  // Popular, and similar to u's history: every source would propose them.
  std::vector<StoredEvent> events;
  for (const char* id : {"unavailable", "expired", "expires-later", "plain"}) {
    events.push_back(MakeStoredEvent("fan", id, "cart"));
  }
  events.push_back(MakeStoredEvent("u", "anchor", "view"));
  TrackAndFold(events);
  for (const auto& ids : {ColdIds(10), RecommendIds("u", 10), RecommendIds("u", 10, "ann_only")}) {
    EXPECT_FALSE(Contains(ids, "unavailable")) << ::testing::PrintToString(ids);
    EXPECT_FALSE(Contains(ids, "expired")) << ::testing::PrintToString(ids);
    EXPECT_TRUE(Contains(ids, "expires-later")) << ::testing::PrintToString(ids);
    EXPECT_TRUE(Contains(ids, "plain")) << ::testing::PrintToString(ids);
  }
  // Available again: back in the lists.
  unavailable.set_unavailable(false);
  ASSERT_TRUE(Upsert({unavailable}).ok());
  EXPECT_TRUE(Contains(ColdIds(10), "unavailable"));
}

TEST_F(EngineTest, RequestExclusionsAreNotReturned) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b"), MakeItem("c")}).ok());
  TrackAndFold({MakeStoredEvent("fan", "a", "purchase")});  // a is trending
  RecommendRequest req;
  req.set_session_id("s");
  req.set_k(10);
  req.add_exclude_item_ids("a");
  req.add_exclude_item_ids("not-in-catalog");
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok()) << slate.status();
  auto ids = Ids(*slate);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"b", "c"}));
}

TEST_F(EngineTest, CategoryIncludeAndExcludeFilters) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("shoe", {"shoes"}), MakeItem("shirt", {"shirts"}),
                      MakeItem("shoe-on-sale", {"shoes", "sale"}), MakeItem("no-category")})
                  .ok());
  auto run = [&](std::vector<std::string> include, std::vector<std::string> exclude) {
    RecommendRequest req;
    req.set_session_id("s");
    req.set_k(10);
    for (const auto& c : include) req.add_include_categories(c);
    for (const auto& c : exclude) req.add_exclude_categories(c);
    auto slate = Recommend(req);
    EXPECT_TRUE(slate.ok()) << slate.status();
    auto ids = slate.ok() ? Ids(*slate) : std::vector<std::string>{};
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(run({"shoes"}, {}), (V{"shoe", "shoe-on-sale"}));
  EXPECT_EQ(run({"shoes", "shirts"}, {}), (V{"shirt", "shoe", "shoe-on-sale"}));
  EXPECT_EQ(run({}, {"sale"}), (V{"no-category", "shirt", "shoe"}));
  EXPECT_EQ(run({"shoes"}, {"sale"}), (V{"shoe"}));
  EXPECT_EQ(run({}, {"unknown-category"}), (V{"no-category", "shirt", "shoe", "shoe-on-sale"}));
  EXPECT_EQ(run({"unknown-category"}, {}), V{}) << "no item has it";
}

// ---------------------------------------------------------------- trending

// recd eval's replays ask for a full rebuild of the popularity lists once
// the fold-in has caught up; the worker does it and the lists still serve.
TEST_F(EngineTest, RepublishPopularityRunsOnTheWorkerAndKeepsTheLists) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b"), MakeItem("c")}).ok());
  TrackAndFold({MakeStoredEvent("u1", "b", "purchase"), MakeStoredEvent("u2", "b", "view"),
                MakeStoredEvent("u3", "c", "view")});
  EXPECT_TRUE(engine_->RepublishPopularity(10));
  EXPECT_TRUE(engine_->RepublishPopularity(10)) << "a second request is served too";
  const auto cold = ColdIds(2, "trending_only");
  ASSERT_FALSE(cold.empty());
  EXPECT_EQ(cold.front(), "b");
}

TEST_F(EngineTest, TrendingRanksMostTrackedItemFirstForColdSession) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("t1"), MakeItem("t2"), MakeItem("t3"), MakeItem("t4")}).ok());
  std::vector<StoredEvent> events;
  for (int i = 0; i < 5; ++i)
    events.push_back(MakeStoredEvent("v" + std::to_string(i), "t3", "view"));
  for (int i = 0; i < 3; ++i)
    events.push_back(MakeStoredEvent("w" + std::to_string(i), "t1", "view"));
  events.push_back(MakeStoredEvent("x", "t2", "view"));
  TrackAndFold(events);
  RecommendRequest req;
  req.set_session_id("cold");
  req.set_k(3);
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok()) << slate.status();
  EXPECT_EQ(Ids(*slate), (std::vector<std::string>{"t3", "t1", "t2"}));
  ASSERT_FALSE(slate->items.empty());
  ASSERT_FALSE(slate->items[0].reasons.empty());
  EXPECT_EQ(slate->items[0].reasons[0].source, "trending");
  for (size_t i = 1; i < slate->items.size(); ++i) {
    EXPECT_GE(slate->items[i - 1].score, slate->items[i].score);
  }
  // The weight of the event type counts: one purchase (10) beats five views.
  TrackAndFold({MakeStoredEvent("y", "t4", "purchase")});
  EXPECT_EQ(ColdIds(1), std::vector<std::string>{"t4"});
}

TEST_F(EngineTest, SlateHasAtMostKDistinctItemsBestFirst) {
  Open();
  std::vector<Item> items;
  for (int i = 0; i < 20; ++i)
    items.push_back(MakeItem("i" + std::to_string(i), {}, {}, AxisVector(kDim, i % kDim, 0.1f)));
  ASSERT_TRUE(Upsert(items).ok());
  TrackAndFold({MakeStoredEvent("u", "i0", "view"), MakeStoredEvent("f", "i3", "purchase")});
  RecommendRequest req;
  req.set_user_id("u");
  req.set_k(7);
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok());
  ASSERT_EQ(slate->items.size(), 7u);
  auto ids = Ids(*slate);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 7u);
  for (size_t i = 1; i < slate->items.size(); ++i) {
    EXPECT_GE(slate->items[i - 1].score, slate->items[i].score);
  }
  for (const auto& it : slate->items) {
    ASSERT_FALSE(it.reasons.empty()) << it.item_id;
    for (size_t r = 1; r < it.reasons.size(); ++r) {
      EXPECT_GE(it.reasons[r - 1].value, it.reasons[r].value) << "largest contribution first";
    }
  }
}

TEST_F(EngineTest, RecommendResultCarriesIdFoldedSeqAndModelVersion) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b")}).ok());
  TrackAndFold({MakeStoredEvent("u", "a", "view"), MakeStoredEvent("u", "b", "save")});
  RecommendRequest req;
  req.set_user_id("u");
  req.set_k(5);
  auto first = RecommendFull(req);
  auto second = RecommendFull(req);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->folded_seq, 2u) << "the state the slate was computed from";
  EXPECT_EQ(first->model_version, engine_->model_version());
  EXPECT_FALSE(first->recommendation_id.empty());
  EXPECT_NE(first->recommendation_id, second->recommendation_id);
  EXPECT_EQ(Ids(first->slate), Ids(second->slate)) << "deterministic without exploration";
  EXPECT_EQ(Ids(first->slate), std::vector<std::string>{"b"}) << "a was viewed; b only saved";
}

TEST_F(EngineTest, ImpressionsOfAShownSlateAreLogged) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b"), MakeItem("c")}).ok());
  RecommendRequest req;
  req.set_user_id("u");
  req.set_k(3);
  auto shown = RecommendFull(req);
  ASSERT_TRUE(shown.ok()) << shown.status();
  ASSERT_EQ(shown->slate.items.size(), 3u);
  Close();  // flushes the buffered impressions

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<recd::v1::records::ImpressionSlate> logged;
  ASSERT_TRUE(store
                  ->Scan(storage::Cf::kImpressions, "",
                         [&](std::string_view key, std::string_view v) {
                           recd::v1::records::ImpressionSlate slate;
                           EXPECT_TRUE(slate.ParseFromArray(v.data(), static_cast<int>(v.size())));
                           EXPECT_EQ(key, slate.recommendation_id()) << "keyed by the slate";
                           logged.push_back(std::move(slate));
                           return true;
                         })
                  .ok());
  ASSERT_EQ(logged.size(), 1u) << "one record per slate";
  const auto& slate = logged[0];
  EXPECT_EQ(slate.recommendation_id(), shown->recommendation_id);
  EXPECT_EQ(slate.user_key(), UserKey("u", ""));
  EXPECT_EQ(slate.surface(), "default");
  EXPECT_EQ(slate.model_version(), "catalog");
  EXPECT_GT(slate.shown_at_us(), 0);
  ASSERT_EQ(slate.items_size(), 3);
  for (int i = 0; i < slate.items_size(); ++i) {
    SCOPED_TRACE(i);
    const auto& imp = slate.items(i);
    EXPECT_EQ(imp.position(), i);
    EXPECT_EQ(imp.item_id(), shown->slate.items[i].item_id);
    EXPECT_FALSE(imp.explored());
    EXPECT_DOUBLE_EQ(imp.propensity(), 1.0) << "no exploration on this surface";
  }
}

TEST_F(EngineTest, EventsCarryingARecommendationIdAreAttributedToTheShowingSource) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b")}).ok());
  RecommendRequest req;
  req.set_session_id("s");
  req.set_k(2);
  auto shown = RecommendFull(req);
  ASSERT_TRUE(shown.ok()) << shown.status();
  ASSERT_FALSE(shown->slate.items.empty());
  const RankedItem& first = shown->slate.items[0];
  EXPECT_EQ(first.source, Source::kFresh) << "nothing but the fallback for a cold catalog";
  EXPECT_EQ(engine_->Stats().shown_by_source[static_cast<int>(Source::kFresh)],
            shown->slate.items.size());

  StoredEvent click = MakeStoredEvent("", first.item_id, "click");
  click.set_session_id("s");
  click.set_recommendation_id(shown->recommendation_id);
  StoredEvent unrelated = MakeStoredEvent("", first.item_id, "click");
  unrelated.set_session_id("s");
  unrelated.set_recommendation_id("no-such-recommendation");
  TrackAndFold({click, unrelated});
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.attributed["click"][static_cast<int>(Source::kFresh)], 1u);
  uint64_t total = 0;
  for (const auto& [type, by_source] : s.attributed) {
    for (uint64_t n : by_source) total += n;
  }
  EXPECT_EQ(total, 1u) << "only the event naming a cached slate counts";
}

TEST_F(EngineTest, RelatedItemsShareMetadataAndExcludeTheAnchor) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("anchor", {"shoes"}, {}, AxisVector(kDim, 0)),
                      MakeItem("same-category", {"shoes"}, {}, AxisVector(kDim, 0, 0.2f)),
                      MakeItem("seen-by-u", {"shoes"}, {}, AxisVector(kDim, 0, 0.3f))})
                  .ok());
  TrackAndFold({MakeStoredEvent("u", "seen-by-u", "view")});
  auto related = [&](const std::string& item, const std::string& user) {
    recd::v1::RelatedItemsRequest req;
    req.set_item_id(item);
    req.set_user_id(user);
    req.set_k(10);
    auto q = ConvertRelatedRequest(req, engine_->options(), NowUs());
    EXPECT_TRUE(q.ok()) << q.status();
    return engine_->Related(*q, item);
  };
  auto anon = related("anchor", "");
  ASSERT_TRUE(anon.ok()) << anon.status();
  auto ids = Ids(anon->slate);
  EXPECT_FALSE(Contains(ids, "anchor"));
  EXPECT_TRUE(Contains(ids, "same-category"));
  EXPECT_TRUE(Contains(ids, "seen-by-u"));
  auto for_u = related("anchor", "u");
  ASSERT_TRUE(for_u.ok());
  EXPECT_FALSE(Contains(Ids(for_u->slate), "seen-by-u")) << "the viewer's seen items are left out";
  EXPECT_TRUE(Contains(Ids(for_u->slate), "same-category"));

  auto missing = related("no-such-item", "");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(Delete({"anchor"}).deleted, 1u);
  EXPECT_EQ(related("anchor", "").status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------- tracking

TEST_F(EngineTest, LastSeqIncreasesAcrossCalls) {
  Open();
  TrackResult a = Track({MakeStoredEvent("u", "i", "view"), MakeStoredEvent("u", "j", "click")});
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_EQ(a.commit.accepted, 2u);
  EXPECT_EQ(a.commit.duplicates, 0u);
  EXPECT_EQ(a.commit.last_seq, 2u);
  TrackResult b = Track({MakeStoredEvent("u", "k", "view")});
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.commit.last_seq, a.commit.last_seq + 1);
  TrackResult c = Track({MakeStoredEvent("v", "k", "cart"), MakeStoredEvent("v", "k", "cart")});
  ASSERT_TRUE(c.status.ok());
  EXPECT_EQ(c.commit.last_seq, b.commit.last_seq + 2);
  ASSERT_TRUE(engine_->WaitFolded(c.commit.last_seq, kFoldTimeoutSeconds));
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.last_seq, 5u);
  EXPECT_EQ(s.folded_seq, 5u);
  EXPECT_EQ(s.events_by_type["view"], 2u);
  EXPECT_EQ(s.events_by_type["click"], 1u);
  EXPECT_EQ(s.events_by_type["cart"], 2u);
  EXPECT_EQ(s.events_by_type["purchase"], 0u);
}

TEST_F(EngineTest, ConcurrentTrackCallsGetDistinctIncreasingSeqs) {
  Open();
  constexpr int kCalls = 50;
  std::vector<std::promise<CommitResult>> promises(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(engine_
                    ->TrackAsync({MakeStoredEvent("u" + std::to_string(i), "x", "view")},
                                 [&promises, i](const absl::Status& s, const CommitResult& r) {
                                   EXPECT_TRUE(s.ok());
                                   promises[i].set_value(r);
                                 })
                    .ok());
  }
  std::set<uint64_t> seqs;
  uint64_t prev = 0;
  for (auto& p : promises) {
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
    CommitResult r = f.get();
    EXPECT_EQ(r.accepted, 1u);
    EXPECT_GT(r.last_seq, prev) << "commit order is submission order";
    prev = r.last_seq;
    seqs.insert(r.last_seq);
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kCalls));
  EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(kCalls));
}

TEST_F(EngineTest, DuplicateEventIdIsAcknowledgedButStoredOnce) {
  Open();
  TrackResult first = Track({MakeStoredEvent("u", "i", "view", 0, "evt-1")});
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.commit.accepted, 1u);
  EXPECT_EQ(first.commit.duplicates, 0u);
  EXPECT_EQ(first.commit.last_seq, 1u);
  TrackResult retry = Track({MakeStoredEvent("u", "i", "view", 0, "evt-1")});
  ASSERT_TRUE(retry.status.ok());
  EXPECT_EQ(retry.commit.accepted, 0u);
  EXPECT_EQ(retry.commit.duplicates, 1u);
  EXPECT_EQ(retry.commit.last_seq, 0u) << "nothing written";
  // Twice within one call.
  TrackResult twice = Track({MakeStoredEvent("u", "j", "view", 0, "evt-2"),
                             MakeStoredEvent("u", "j", "view", 0, "evt-2"),
                             MakeStoredEvent("u", "k", "view")});  // no id: never a duplicate
  ASSERT_TRUE(twice.status.ok());
  EXPECT_EQ(twice.commit.accepted, 2u);
  EXPECT_EQ(twice.commit.duplicates, 1u);
  EXPECT_EQ(twice.commit.last_seq, 3u);
  EXPECT_EQ(engine_->Stats().last_seq, 3u);
  ASSERT_TRUE(engine_->WaitFolded(3, kFoldTimeoutSeconds));

  // The dedupe index survives a restart.
  Reopen();
  TrackResult after = Track({MakeStoredEvent("u", "i", "view", 0, "evt-1")});
  ASSERT_TRUE(after.status.ok());
  EXPECT_EQ(after.commit.duplicates, 1u);
  EXPECT_EQ(after.commit.accepted, 0u);

  Close();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto events = ReadEvents(*store);
  ASSERT_EQ(events.size(), 3u) << "the log holds each event once";
  EXPECT_EQ(events[0].event_id(), "evt-1");
  EXPECT_EQ(events[1].event_id(), "evt-2");
  EXPECT_EQ(events[2].event_id(), "");
  EXPECT_EQ(MetaU64(*store, storage::kMetaLastSeq), 3u);
  // The user's aggregate counts the deduplicated event once (view weight 1).
  auto raw = store->Get(storage::Cf::kUsers, UserKey("u", ""));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  UserState state;
  ASSERT_TRUE(state.ParseFromString(**raw));
  for (const auto& it : state.items()) EXPECT_DOUBLE_EQ(it.weight(), 1.0) << it.item_id();
}

TEST_F(EngineTest, QueueFullIsResourceExhaustedAndWritesNothing) {
  options_.queue_capacity = 5;
  Open();
  std::vector<StoredEvent> six;
  for (int i = 0; i < 6; ++i) six.push_back(MakeStoredEvent("u", "i" + std::to_string(i), "view"));
  bool called = false;
  absl::Status st = engine_->TrackAsync(
      six, [&called](const absl::Status&, const CommitResult&) { called = true; });
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st;
  EXPECT_EQ(engine_->Stats().last_seq, 0u);
  EXPECT_EQ(engine_->Stats().queued_events, 0u);
  // Five fit, and are written.
  six.pop_back();
  TrackResult five = Track(six);
  ASSERT_TRUE(five.status.ok()) << five.status;
  EXPECT_EQ(five.commit.accepted, 5u);
  EXPECT_EQ(five.commit.last_seq, 5u);
  Close();
  EXPECT_FALSE(called) << "a refused call is never answered through done";
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ReadEvents(*store).size(), 5u);
}

// The fold-lag check compares the committed and the folded sequence while
// both move. The fold-in once folded events the log held before their
// commit published its sequence, and the unsigned difference became ~2^64:
// under load, a call was refused now and then (seen in a model-swap test).
// Calls racing commits and folds are never refused while the fold-in keeps
// up. (A stress test: the old race needed a preemption at the wrong moment.)
TEST_F(EngineTest, FoldLagCheckNeverRefusesWhileTheFoldInKeepsUp) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a", {"c"}, {}, AxisVector(kDim, 0))}).ok());
  constexpr int kThreads = 4, kCalls = 1000;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const absl::Status st = engine_->TrackAsync(
            {MakeStoredEvent("u" + std::to_string(t * kCalls + i), "a", "view")},
            [](const absl::Status&, const CommitResult&) {});
        if (!st.ok()) refused.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 0);
}

// ---------------------------------------------------------------- durability

TEST_F(EngineTest, StateSurvivesReopen) {
  options_.fsync = true;
  Open();
  ASSERT_TRUE(Upsert({MakeItem("seen", {"c"}, {}, AxisVector(kDim, 0)),
                      MakeItem("other", {"c"}, {}, AxisVector(kDim, 0, 0.3f)),
                      MakeItem("popular", {"d"}, {}, AxisVector(kDim, 5))})
                  .ok());
  // A click (weight 2), so that "seen" outranks the fallback's "other" for a
  // cold visitor by a margin rather than by a tie broken by dense ids.
  std::vector<StoredEvent> events = {MakeStoredEvent("u", "seen", "click")};
  for (int i = 0; i < 3; ++i)
    events.push_back(MakeStoredEvent("f" + std::to_string(i), "popular", "purchase"));
  TrackAndFold(events);
  const auto cold_before = ColdIds(3);
  ASSERT_FALSE(cold_before.empty());
  ASSERT_EQ(cold_before[0], "popular");
  const auto trending_before = ColdIds(2, "trending_only");
  ASSERT_EQ(trending_before, (std::vector<std::string>{"popular", "seen"}));

  Reopen();
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.items, 3u);
  EXPECT_EQ(s.vectors, 3u);
  EXPECT_EQ(s.last_seq, 4u);
  EXPECT_TRUE(engine_->WaitFolded(4, kFoldTimeoutSeconds));
  EXPECT_EQ(engine_->folded_seq(), 4u);
  auto ids = RecommendIds("u", 10);
  EXPECT_FALSE(Contains(ids, "seen")) << "the user's history survived";
  EXPECT_TRUE(Contains(ids, "other"));
  // Regression: Engine::Load (core/engine.cc) once restored popularity with
  // Popularity::Set(..., t_us = 0), leaving Popularity's clock at 0 after a
  // restart; Popularity::Publish then computed exp2(log2_short - 0 / h) =
  // +inf for every item, exp2(inf - inf) = NaN was dropped by the
  // recommender, and the trending source stayed empty until the next event
  // (and the default cold list below changed order with it).
  EXPECT_EQ(ColdIds(3), cold_before) << "popularity survived";
  {
    RecommendRequest req;
    req.set_session_id("cold-after-restart");
    req.set_k(2);
    req.set_surface("trending_only");
    auto slate = Recommend(req);
    ASSERT_TRUE(slate.ok()) << slate.status();
    EXPECT_EQ(Ids(*slate), trending_before) << "trending survived";
    for (const auto& it : slate->items) {
      EXPECT_TRUE(HasReason(it, "trending")) << it.item_id << " came from another source";
    }
  }
  auto got = engine_->GetItem("seen");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->vector_size(), kDim);
  // New events continue the sequence.
  TrackResult r = Track({MakeStoredEvent("u", "other", "view")});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.commit.last_seq, 5u);
}

// User states cache their items' dense ids (core/user_state.h). A restart
// numbers the catalog in key order, so ids cached by the first run name other
// items in the second: they must not be used there.
TEST_F(EngineTest, SeenFilterHoldsWhenARestartRenumbersTheCatalog) {
  Open();
  // Upserted in reverse key order: "f" is dense 0 now, "a" after the restart.
  std::vector<Item> items;
  for (const char* id : {"f", "e", "d", "c", "b", "a"}) {
    items.push_back(MakeItem(id, {}, {}, AxisVector(kDim, 0, 0.05f * (items.size() + 1))));
  }
  ASSERT_TRUE(Upsert(items).ok());
  TrackAndFold({MakeStoredEvent("u", "a", "view"), MakeStoredEvent("u", "b", "click"),
                MakeStoredEvent("u", "c", "cart")});
  auto expect_seen_filtered = [&] {
    auto ids = RecommendIds("u", 10);
    EXPECT_FALSE(Contains(ids, "a"));
    EXPECT_FALSE(Contains(ids, "b"));
    for (const char* id : {"c", "d", "e", "f"}) EXPECT_TRUE(Contains(ids, id)) << id;
  };
  expect_seen_filtered();
  Reopen();
  ASSERT_TRUE(engine_->WaitFolded(3, kFoldTimeoutSeconds));
  {
    SCOPED_TRACE("after the restart, the state as stored");
    expect_seen_filtered();
  }
  // A new event re-resolves the state's ids for this run's catalog.
  TrackAndFold({MakeStoredEvent("u", "d", "purchase")});
  auto ids = RecommendIds("u", 10);
  EXPECT_EQ(ids.size(), 3u);
  for (const char* id : {"c", "e", "f"}) EXPECT_TRUE(Contains(ids, id)) << id;
}

// A state stored by an earlier build names each item's event types and has
// no dense ids: it is read as is and migrated by the next fold-in.
TEST_F(EngineTest, StateOfAnEarlierBuildIsReadAndMigratedOnTheNextEvent) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("viewed", {}, {}, AxisVector(kDim, 0, 0.1f)),
                      MakeItem("carted", {}, {}, AxisVector(kDim, 0, 0.2f)),
                      MakeItem("other", {}, {}, AxisVector(kDim, 0, 0.3f))})
                  .ok());
  Close();
  {
    UserState old;
    for (auto [id, type] : {std::pair{"viewed", "view"}, std::pair{"carted", "cart"}}) {
      auto* it = old.add_items();
      it->set_item_id(id);
      it->set_weight(1);
      it->add_types(type);
    }
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    storage::WriteBatch b;
    b.Put(storage::Cf::kUsers, UserKey("u", ""), old.SerializeAsString());
    ASSERT_TRUE(store->Write(b, /*sync=*/true).ok());
  }
  Open();
  auto ids = RecommendIds("u", 10);
  EXPECT_FALSE(Contains(ids, "viewed")) << "a stored type name still makes an item seen";
  EXPECT_TRUE(Contains(ids, "carted"));
  EXPECT_TRUE(Contains(ids, "other"));

  TrackAndFold({MakeStoredEvent("u", "other", "click")});
  ids = RecommendIds("u", 10);
  EXPECT_EQ(ids, std::vector<std::string>{"carted"});
  Close();
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto raw = store->Get(storage::Cf::kUsers, UserKey("u", ""));
  ASSERT_TRUE(raw.ok() && raw->has_value());
  UserState state;
  ASSERT_TRUE(state.ParseFromString(**raw));
  ASSERT_EQ(state.items_size(), 3);
  for (const auto& it : state.items()) {
    EXPECT_TRUE(it.types().empty()) << it.item_id() << ": names moved into the mask";
    EXPECT_NE(it.type_mask(), 0u) << it.item_id();
  }
  EXPECT_NE(state.dense_epoch(), 0u);
}

TEST_F(EngineTest, CommittedButUnfoldedEventsAreFoldedAfterReopen) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b"), MakeItem("c"), MakeItem("d")}).ok());
  TrackAndFold({MakeStoredEvent("u", "a", "view")});
  Close();

  // Append two events to the log as the commit thread would, without folding
  // them: the fold watermark stays at 1 while last_seq moves to 3.
  const int64_t now = NowUs();
  double trending_a = 0;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(MetaU64(*store, storage::kMetaFoldWatermark), 1u);
    ASSERT_EQ(MetaU64(*store, storage::kMetaLastSeq), 1u);
    auto raw = store->Get(storage::Cf::kItemStats, "a");
    ASSERT_TRUE(raw.ok() && raw->has_value());
    ItemStats stats;
    ASSERT_TRUE(stats.ParseFromString(**raw));
    trending_a = stats.trending();
    storage::WriteBatch batch;
    StoredEvent e2 = MakeStoredEvent("u", "b", "view", now);
    e2.set_seq(2);
    e2.set_received_at_us(now);
    StoredEvent e3 = MakeStoredEvent("u", "c", "purchase", now);
    e3.set_seq(3);
    e3.set_received_at_us(now);
    batch.Put(storage::Cf::kEvents, storage::EncodeU64(2), e2.SerializeAsString());
    batch.Put(storage::Cf::kEvents, storage::EncodeU64(3), e3.SerializeAsString());
    batch.Put(storage::Cf::kMeta, storage::kMetaLastSeq, storage::EncodeU64(3));
    ASSERT_TRUE(store->Write(batch, true).ok());
  }

  Open();
  ASSERT_TRUE(engine_->WaitFolded(3, kFoldTimeoutSeconds)) << "replay from the watermark";
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.last_seq, 3u);
  EXPECT_EQ(s.folded_seq, 3u);
  auto ids = RecommendIds("u", 10);
  EXPECT_EQ(ids, std::vector<std::string>{"d"}) << "a, b and c are all seen";
  auto cold = ColdIds(1);
  EXPECT_EQ(cold, std::vector<std::string>{"c"}) << "the replayed purchase is trending";
  TrackResult r = Track({MakeStoredEvent("u", "d", "view")});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.commit.last_seq, 4u) << "the commit thread continues after the log";
  ASSERT_TRUE(engine_->WaitFolded(4, kFoldTimeoutSeconds));
  Close();

  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(MetaU64(*store, storage::kMetaFoldWatermark), 4u);
  auto raw = store->Get(storage::Cf::kItemStats, "a");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  ItemStats stats;
  ASSERT_TRUE(stats.ParseFromString(**raw));
  EXPECT_DOUBLE_EQ(stats.trending(), trending_a) << "event 1 was not folded twice";
  auto user = store->Get(storage::Cf::kUsers, UserKey("u", ""));
  ASSERT_TRUE(user.ok() && user->has_value());
  UserState state;
  ASSERT_TRUE(state.ParseFromString(**user));
  EXPECT_EQ(state.folded_seq(), 4u);
  std::map<std::string, double> weights;
  for (const auto& it : state.items()) weights[it.item_id()] = it.weight();
  EXPECT_EQ(weights, (std::map<std::string, double>{{"a", 1}, {"b", 1}, {"c", 10}, {"d", 1}}));
}

TEST_F(EngineTest, EventsBeforeTheItemExistsApplyOnceItIsUpserted) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("known")}).ok());
  TrackAndFold({MakeStoredEvent("u", "later-item", "view")});
  EXPECT_FALSE(Contains(ColdIds(10), "later-item")) << "not in the catalog yet";
  EXPECT_EQ(engine_->Stats().items, 1u);
  ASSERT_TRUE(Upsert({MakeItem("later-item")}).ok());
  EXPECT_EQ(engine_->Stats().items, 2u);
  EXPECT_TRUE(Contains(ColdIds(10), "later-item"));
  EXPECT_FALSE(Contains(RecommendIds("u", 10), "later-item")) << "u already viewed it";
}

// Regression: an unparsable record in the events CF (a corrupted value, or
// an invalid-UTF-8 string from a writer that skipped validation) once
// stopped the fold-in for good and made ~Engine hang. It is now skipped
// (counted), the fold-in goes on past it, and shutdown returns.
TEST_F(EngineTest, UnparsableEventIsSkippedAndDoesNotHangShutdown) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("a"), MakeItem("b")}).ok());
  TrackAndFold({MakeStoredEvent("u", "a", "view")});
  Close();
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    storage::WriteBatch batch;
    batch.Put(storage::Cf::kEvents, storage::EncodeU64(2), "\xff\xff\xff not a StoredEvent");
    batch.Put(storage::Cf::kMeta, storage::kMetaLastSeq, storage::EncodeU64(2));
    ASSERT_TRUE(store->Write(batch, true).ok());
  }
  Open();
  EXPECT_TRUE(engine_->WaitFolded(2, kFoldTimeoutSeconds)) << "the fold-in moves past the bad record";
  // Later events are folded as usual.
  TrackAndFold({MakeStoredEvent("u", "b", "view")});
  EXPECT_EQ(engine_->folded_seq(), 3u);
  Close();  // must return
}

// ---------------------------------------------------------------- index

TEST_F(EngineTest, FreshTierOverflowRebuildsAndKeepsServing) {
  options_.fresh_tier_max = 50;
  Open();
  std::vector<Item> items;
  for (int i = 0; i < 30; ++i) {
    items.push_back(MakeItem("a" + std::to_string(i), {"a"}, {}, AxisVector(kDim, 0, 0.01f * i)));
    items.push_back(MakeItem("b" + std::to_string(i), {"b"}, {}, AxisVector(kDim, 4, 0.01f * i)));
  }
  ASSERT_TRUE(Upsert(items).ok());
  EngineStats s = engine_->Stats();
  EXPECT_EQ(s.vectors, 60u);
  EXPECT_EQ(s.fresh_vectors, 0u) << "60 > fresh_tier_max 50: the upsert rebuilt the main index";

  TrackAndFold({MakeStoredEvent("u", "a0", "view"), MakeStoredEvent("u", "a1", "view"),
                MakeStoredEvent("u", "a2", "view")});
  auto ids = RecommendIds("u", 10, "ann_only");
  ASSERT_EQ(ids.size(), 10u);
  for (const auto& id : ids) EXPECT_EQ(id[0], 'a') << id << " is from the other cluster";
  EXPECT_FALSE(Contains(ids, "a0"));

  // After the rebuild, deletions and new items still apply at once.
  const std::string victim = ids[0];
  ASSERT_EQ(Delete({victim}).deleted, 1u);
  // Twice the norm of the others: the best inner product with u's vector.
  std::vector<float> strong = AxisVector(kDim, 0, 0.01f);
  for (float& x : strong) x *= 2;
  ASSERT_TRUE(Upsert({MakeItem("a-new", {"a"}, {}, strong)}).ok());
  EXPECT_EQ(engine_->Stats().fresh_vectors, 1u);
  ids = RecommendIds("u", 10, "ann_only");
  EXPECT_FALSE(Contains(ids, victim));
  EXPECT_TRUE(Contains(ids, "a-new")) << ::testing::PrintToString(ids);

  // And after reopening (the index is rebuilt from the catalog).
  Reopen();
  EXPECT_EQ(engine_->Stats().vectors, 60u);
  ids = RecommendIds("u", 10, "ann_only");
  EXPECT_FALSE(Contains(ids, victim));
  EXPECT_TRUE(Contains(ids, "a-new"));
  for (const auto& id : ids) EXPECT_EQ(id[0], 'a') << id;
}

// ---------------------------------------------------------------- demo

TEST_F(EngineTest, SeedDemoGivesAPersonalListWithReasons) {
  Open();
  DemoOptions demo;
  demo.items = 300;
  demo.users = 20;
  ASSERT_TRUE(SeedDemo(*engine_, demo).ok());
  EXPECT_EQ(engine_->Stats().items, 300u);
  EXPECT_EQ(engine_->folded_seq(), engine_->Stats().last_seq);
  RecommendRequest req;
  req.set_user_id("demo-user-0");
  req.set_k(10);
  auto slate = Recommend(req);
  ASSERT_TRUE(slate.ok()) << slate.status();
  ASSERT_EQ(slate->items.size(), 10u);
  bool any_ann = false;
  for (const auto& it : slate->items) {
    EXPECT_EQ(it.item_id.rfind("demo-", 0), 0u) << it.item_id;
    ASSERT_FALSE(it.reasons.empty()) << it.item_id;
    for (const auto& r : it.reasons) {
      EXPECT_FALSE(r.source.empty());
      EXPECT_FALSE(r.detail.empty());
      EXPECT_GT(r.value, 0.f);
    }
    any_ann = any_ann || HasReason(it, "ann");
  }
  EXPECT_TRUE(any_ann) << "personal: drawn from the user's vector";
  EXPECT_NE(Ids(*slate), ColdIds(10)) << "not the same list as an anonymous visitor's";
}

}  // namespace
}  // namespace recd::core
