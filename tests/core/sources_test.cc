// End-to-end tests of each candidate source (core/recommender.h) through
// core::Engine: a real RocksDB in a temp dir, no mocks, no sleeps (events are
// synchronised on Engine::WaitFolded). Surfaces restricted to one source
// ("only_<source>", no score features) show that THAT source produced an
// item: its RankedItem::reasons name the source.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/engine.h"
#include "core/sources.h"
#include "gtest/gtest.h"
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
using recd::testing::kSecondUs;
using recd::testing::MakeItem;
using recd::testing::MakeStoredEvent;
using recd::testing::NowUs;
using recd::testing::SetTimestampUs;
using recd::testing::TempDir;
using recd::v1::Item;
using recd::v1::RecommendRequest;
using recd::v1::records::StoredEvent;

constexpr int kDim = 8;
constexpr auto kWait = std::chrono::seconds(30);  // a bound, never a synchroniser
constexpr double kFoldTimeoutSeconds = 10;
// The candidate sources a surface can weight (kFresh and kExplore are stages).
const std::vector<std::string> kWeightedSources = {"ann",      "covisit", "content",
                                                   "trending", "popular", "continuation"};

std::string Describe(const Slate& s) {
  std::string out;
  for (const auto& it : s.items) {
    out += it.item_id + "(" + std::to_string(it.score) + ":";
    for (const auto& c : it.reasons) out += " " + c.source + "=" + std::to_string(c.value);
    out += ") ";
  }
  return out;
}

// Distinct categories of a slate of items named "c<category>-<index>".
int DistinctCategories(const Slate& s) {
  std::set<std::string> cats;
  for (const auto& it : s.items) cats.insert(it.item_id.substr(0, it.item_id.find('-')));
  return static_cast<int>(cats.size());
}

Item WithCreated(Item item, int64_t us) {
  SetTimestampUs(item.mutable_created_at(), us);
  return item;
}

Item InSeries(Item item, const std::string& series, const std::string& index) {
  (*item.mutable_properties())["series_id"] = series;
  (*item.mutable_properties())["series_index"] = index;
  return item;
}

StoredEvent SessionEvent(const std::string& session, const std::string& item,
                         const std::string& type, int64_t occurred_us = 0) {
  StoredEvent e = MakeStoredEvent("", item, type, occurred_us);
  e.set_session_id(session);
  return e;
}

class SourcesTest : public ::testing::Test {
 protected:
  SourcesTest() {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = false;
    options_.block_cache_mb = 8;
    options_.dimension = kDim;
    options_.hnsw_m = 8;
    options_.hnsw_ef_construction = 40;
    options_.hnsw_ef_search = 40;
    options_.fresh_tier_max = 1000;
    options_.user_cache_entries = 1000;
    options_.slate_cache_entries = 2000;
    options_.impression_buffer = 10000;
    // Exploration and diversity off: slates are a pure function of the state.
    options_.surfaces["default"] = Deterministic(SurfaceOptions{});
    for (const auto& s : kWeightedSources) {
      options_.surfaces["only_" + s] = Deterministic(SurfaceOptions{}, {{s, 1.0}});
    }
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

  // UpsertItemsAsync, waiting for `done` (the items are recommendable then).
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

  // TrackAsync, waiting for the acknowledgement, then for the fold-in of
  // everything up to the acknowledged seq.
  void TrackAndFold(std::vector<StoredEvent> events) {
    struct Ack {
      absl::Status status;
      CommitResult commit;
    };
    auto p = std::make_shared<std::promise<Ack>>();
    auto f = p->get_future();
    absl::Status st = engine_->TrackAsync(
        std::move(events), [p](const absl::Status& s, const CommitResult& r) {
          p->set_value({s, r});
        });
    ASSERT_TRUE(st.ok()) << st;
    ASSERT_EQ(f.wait_for(kWait), std::future_status::ready) << "track: no callback";
    Ack ack = f.get();
    ASSERT_TRUE(ack.status.ok()) << ack.status;
    ASSERT_GT(ack.commit.last_seq, 0u);
    ASSERT_TRUE(engine_->WaitFolded(ack.commit.last_seq, kFoldTimeoutSeconds));
  }

  absl::StatusOr<Slate> Recommend(const std::string& surface, const std::string& user,
                                  const std::string& session, int k) {
    RecommendRequest req;
    req.set_user_id(user);
    req.set_session_id(session);
    req.set_surface(surface);
    req.set_k(k);
    auto q = ConvertRecommendRequest(req, engine_->options(), NowUs());
    if (!q.ok()) return q.status();
    auto r = engine_->Recommend(*q);
    if (!r.ok()) return r.status();
    return std::move(r->slate);
  }
  // Recommend for a user, failing the test on an error.
  Slate ForUser(const std::string& user, const std::string& surface, int k) {
    auto s = Recommend(surface, user, "", k);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : Slate{};
  }
  Slate ForSession(const std::string& session, const std::string& surface, int k) {
    auto s = Recommend(surface, "", session, k);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : Slate{};
  }

  // A trending-only surface with at most one item per category.
  void AddCategoryCapSurface() {
    SurfaceOptions cap = Deterministic(SurfaceOptions{}, {{"trending", 1.0}});
    cap.diversity = DiversityMode::kCategoryCap;
    cap.max_per_category = 1;
    options_.surfaces["cap1"] = cap;
  }
  // Items "c<c>-<i>" in category "cat<c>", each with views(c, i) views.
  template <typename Views>
  void PopulateCategories(int categories, int per_category, Views views) {
    std::vector<Item> items;
    std::vector<StoredEvent> events;
    const int64_t t = NowUs() - kHourUs;
    for (int c = 0; c < categories; ++c) {
      for (int i = 0; i < per_category; ++i) {
        const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
        items.push_back(MakeItem(id, {"cat" + std::to_string(c)}));
        for (int v = 0; v < views(c, i); ++v) {
          events.push_back(MakeStoredEvent("v" + std::to_string(v), id, "view", t + v));
        }
      }
    }
    ASSERT_TRUE(Upsert(items).ok());
    TrackAndFold(events);
  }

  TempDir dir_;
  EngineOptions options_;
  std::unique_ptr<Engine> engine_;
};

// ---------------------------------------------------------------- continuation

TEST_F(SourcesTest, ContinuationBringsBackCartedAndSavedButNotBoughtItems) {
  // The same source, but nothing counts as seen: only the finish rule
  // (purchase) can keep the bought item out of the continuation source.
  SurfaceOptions noseen = Deterministic(SurfaceOptions{}, {{"continuation", 1.0}});
  noseen.seen_event_types = {};
  options_.surfaces["continuation_noseen"] = noseen;
  Open();
  ASSERT_TRUE(Upsert({MakeItem("carted"), MakeItem("saved"), MakeItem("viewed-then-carted"),
                      MakeItem("carted-then-bought"), MakeItem("viewed"), MakeItem("untouched")})
                  .ok());
  const int64_t t = NowUs() - 10 * kMinuteUs;
  TrackAndFold({MakeStoredEvent("u", "carted", "cart", t),
                MakeStoredEvent("u", "saved", "save", t + kMinuteUs),
                MakeStoredEvent("u", "viewed-then-carted", "view", t + 2 * kMinuteUs),
                MakeStoredEvent("u", "viewed-then-carted", "cart", t + 3 * kMinuteUs),
                MakeStoredEvent("u", "carted-then-bought", "cart", t + 4 * kMinuteUs),
                MakeStoredEvent("u", "carted-then-bought", "purchase", t + 5 * kMinuteUs),
                MakeStoredEvent("u", "viewed", "view", t + 6 * kMinuteUs)});

  // k = 3 and three started items: the continuation source alone fills the
  // slate (no fallback), so these are exactly its candidates.
  Slate three = ForUser("u", "only_continuation", 3);
  auto ids = Ids(three);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"carted", "saved", "viewed-then-carted"}))
      << Describe(three);
  for (const auto& it : three.items) {
    const Contribution* c = ReasonOf(it, "continuation");
    ASSERT_NE(c, nullptr) << it.item_id;
    EXPECT_EQ(c->detail, "you started this") << it.item_id;
    EXPECT_EQ(it.source, Source::kContinuation) << it.item_id;
  }

  // With room for more the fallback fills the slate; the seen items (viewed,
  // bought) stay out, and only the started items carry "continuation".
  Slate ten = ForUser("u", "only_continuation", 10);
  ids = Ids(ten);
  EXPECT_FALSE(Contains(ids, "carted-then-bought")) << Describe(ten);
  EXPECT_FALSE(Contains(ids, "viewed")) << Describe(ten);
  EXPECT_TRUE(Contains(ids, "untouched")) << Describe(ten);
  for (const auto& it : ten.items) {
    EXPECT_EQ(HasReason(it, "continuation"),
              it.item_id == "carted" || it.item_id == "saved" ||
                  it.item_id == "viewed-then-carted")
        << it.item_id << ": " << Describe(ten);
  }

  // Nothing seen: the bought item may be shown (as a fallback), but the
  // continuation source does not propose it — the purchase finished it.
  Slate noseen_three = ForUser("u", "continuation_noseen", 3);
  ids = Ids(noseen_three);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"carted", "saved", "viewed-then-carted"}))
      << Describe(noseen_three);
  Slate noseen_ten = ForUser("u", "continuation_noseen", 10);
  const RankedItem* bought = Find(noseen_ten, "carted-then-bought");
  ASSERT_NE(bought, nullptr) << "nothing is seen on this surface: " << Describe(noseen_ten);
  EXPECT_FALSE(HasReason(*bought, "continuation")) << Describe(noseen_ten);
  const RankedItem* viewed = Find(noseen_ten, "viewed");
  ASSERT_NE(viewed, nullptr) << Describe(noseen_ten);
  EXPECT_FALSE(HasReason(*viewed, "continuation")) << "a view does not start an item";

  // The full blend brings the carted and saved items back too.
  Slate blend = ForUser("u", "default", 4);
  ids = Ids(blend);
  EXPECT_TRUE(Contains(ids, "carted")) << Describe(blend);
  EXPECT_TRUE(Contains(ids, "saved")) << Describe(blend);
  EXPECT_FALSE(Contains(ids, "carted-then-bought")) << Describe(blend);
  // Someone else has started nothing.
  for (const auto& it : ForUser("other", "only_continuation", 10).items) {
    EXPECT_FALSE(HasReason(it, "continuation")) << it.item_id;
  }
}

TEST_F(SourcesTest, NextEpisodeOfASeriesComesViaContinuation) {
  Open();
  const int64_t now = NowUs();
  std::vector<Item> items;
  for (int i = 1; i <= 4; ++i) {
    // ep4 is the newest: the fresh fallback alone would rank it first.
    items.push_back(InSeries(WithCreated(MakeItem("ep" + std::to_string(i)), now - (10 - i) * kDayUs),
                             "show", std::to_string(i)));
  }
  for (int i = 0; i < 5; ++i) {
    items.push_back(WithCreated(MakeItem("other" + std::to_string(i)), now - kHourUs - i * kMinuteUs));
  }
  ASSERT_TRUE(Upsert(items).ok());
  const int64_t t = now - 30 * kMinuteUs;
  TrackAndFold({MakeStoredEvent("u", "ep1", "view", t),
                MakeStoredEvent("u", "ep2", "view", t + kMinuteUs)});

  Slate one = ForUser("u", "only_continuation", 1);
  ASSERT_EQ(Ids(one), std::vector<std::string>{"ep3"}) << Describe(one);
  const Contribution* c = ReasonOf(one.items[0], "continuation");
  ASSERT_NE(c, nullptr) << Describe(one);
  EXPECT_EQ(c->detail, "next in the series");

  Slate ten = ForUser("u", "only_continuation", 10);
  auto ids = Ids(ten);
  EXPECT_FALSE(Contains(ids, "ep1")) << "seen: " << Describe(ten);
  EXPECT_FALSE(Contains(ids, "ep2")) << "seen: " << Describe(ten);
  EXPECT_EQ(IndexOf(ids, "ep3"), 0) << Describe(ten);
  for (const auto& it : ten.items) {
    EXPECT_EQ(HasReason(it, "continuation"), it.item_id == "ep3")
        << "only the NEXT episode: " << Describe(ten);
  }
  // The full blend puts it first as well.
  Slate blend = ForUser("u", "default", 3);
  ASSERT_FALSE(blend.items.empty());
  EXPECT_EQ(blend.items[0].item_id, "ep3") << Describe(blend);
  EXPECT_FALSE(Contains(Ids(blend), "ep2")) << Describe(blend);

  // Watching ep3 moves the user on to ep4.
  TrackAndFold({MakeStoredEvent("u", "ep3", "view", t + 2 * kMinuteUs)});
  EXPECT_EQ(Ids(ForUser("u", "only_continuation", 1)), std::vector<std::string>{"ep4"});
}

// ---------------------------------------------------------------- max age

TEST_F(SourcesTest, SurfaceMaxAgeExcludesOldItemsFromEverySource) {
  auto recent = [](SurfaceOptions s) {
    s.max_item_age_seconds = 3600;
    return s;
  };
  options_.surfaces["recent"] = recent(Deterministic(SurfaceOptions{}));
  for (const auto& s : kWeightedSources) {
    options_.surfaces["recent_" + s] = recent(Deterministic(SurfaceOptions{}, {{s, 1.0}}));
  }
  Open();
  const int64_t now = NowUs();
  ASSERT_TRUE(Upsert({WithCreated(MakeItem("anchor", {"music"}, {"jazz"}, AxisVector(kDim, 0)),
                                  now - 3 * kHourUs),
                      WithCreated(MakeItem("old", {"music"}, {"jazz"}, AxisVector(kDim, 0, 0.1f)),
                                  now - 2 * kHourUs),
                      WithCreated(MakeItem("fresh", {"music"}, {"jazz"}, AxisVector(kDim, 0, 0.2f)),
                                  now - 10 * kMinuteUs)})
                  .ok());
  // "old" is the most popular and trending item, co-visited with the anchor,
  // similar and content-matching to u's history, and in u's cart: every
  // source has a reason to propose it.
  std::vector<StoredEvent> events;
  const int64_t t = now - 20 * kMinuteUs;
  for (int i = 0; i < 8; ++i) {
    const std::string fan = "fan" + std::to_string(i);
    events.push_back(MakeStoredEvent(fan, "anchor", "view", t + i * kSecondUs));
    events.push_back(MakeStoredEvent(fan, "old", "purchase", t + i * kSecondUs + 500000));
  }
  events.push_back(MakeStoredEvent("u", "anchor", "click", t + kMinuteUs));
  events.push_back(MakeStoredEvent("u", "old", "cart", t + 2 * kMinuteUs));
  TrackAndFold(events);

  // Preconditions: without the age limit each source proposes "old".
  for (const auto& s : kWeightedSources) {
    Slate slate = ForUser("u", "only_" + s, 10);
    const RankedItem* old = Find(slate, "old");
    ASSERT_NE(old, nullptr) << s << ": " << Describe(slate);
    EXPECT_TRUE(HasReason(*old, s)) << s << ": " << Describe(slate);
  }
  // With it, no source (nor the fallback) returns it, for u or a cold session.
  for (const std::string surface :
       {"recent", "recent_ann", "recent_covisit", "recent_content", "recent_trending",
        "recent_popular", "recent_continuation"}) {
    SCOPED_TRACE(surface);
    Slate mine = ForUser("u", surface, 10);
    EXPECT_FALSE(Contains(Ids(mine), "old")) << Describe(mine);
    EXPECT_FALSE(Contains(Ids(mine), "anchor")) << Describe(mine);
    EXPECT_TRUE(Contains(Ids(mine), "fresh")) << Describe(mine);
    Slate cold = ForSession("cold", surface, 10);
    EXPECT_FALSE(Contains(Ids(cold), "old")) << Describe(cold);
    EXPECT_TRUE(Contains(Ids(cold), "fresh")) << Describe(cold);
  }
}

// ---------------------------------------------------------------- content

TEST_F(SourcesTest, ContentReachesABrandNewItemInAFollowedTag) {
  Open();
  const int64_t now = NowUs();
  std::vector<Item> items;
  for (int i = 0; i < 4; ++i) {
    items.push_back(WithCreated(
        MakeItem("jazz" + std::to_string(i), {"music"}, {"jazz"}, AxisVector(kDim, 0, 0.1f * i)),
        now - 5 * kDayUs));
  }
  // Unrelated to u's taste: another category, tag and direction.
  for (int i = 0; i < 8; ++i) {
    items.push_back(WithCreated(MakeItem("sport" + std::to_string(i), {"sports"}, {"football"},
                                         AxisVector(kDim, 4, 0.1f * i)),
                                now - 5 * kDayUs));
  }
  ASSERT_TRUE(Upsert(items).ok());
  std::vector<StoredEvent> events;
  const int64_t t = now - kHourUs;
  for (int i = 0; i < 4; ++i) {
    events.push_back(MakeStoredEvent("u", "jazz" + std::to_string(i), "click", t + i * kMinuteUs));
  }
  TrackAndFold(events);

  // Brand new: no vector, no interactions.
  ASSERT_TRUE(Upsert({MakeItem("jazz-new", {}, {"jazz"}), MakeItem("metal-new", {"rock"}, {"metal"})})
                  .ok());

  Slate content = ForUser("u", "only_content", 1);
  ASSERT_EQ(Ids(content), std::vector<std::string>{"jazz-new"}) << Describe(content);
  const Contribution* c = ReasonOf(content.items[0], "content");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->detail, "new in a topic you follow");
  EXPECT_EQ(content.items[0].source, Source::kContent);

  Slate wide = ForUser("u", "only_content", 20);
  for (const auto& it : wide.items) {
    EXPECT_EQ(HasReason(it, "content"), it.item_id == "jazz-new")
        << "only the new item in a followed tag is content: " << Describe(wide);
  }
  // A cold session follows no tag.
  for (const auto& it : ForSession("cold", "only_content", 20).items) {
    EXPECT_FALSE(HasReason(it, "content")) << it.item_id;
  }

  // The default blend (ann weight 1, content 0.4) still ranks it among the
  // top k: it matches the user's only interest, the other candidates are
  // orthogonal to it.
  // (An earlier Blend() normalised ann min-max onto [0.5, 1], so every item
  // the index returned, however unrelated, got >= 0.5 and outranked any
  // content-only newcomer (<= 0.4 + 0.05): here the 8 sports items, whose
  // inner product with the user's vector is 0, filled the slate.)
  Slate blend = ForUser("u", "default", 5);
  const RankedItem* fresh = Find(blend, "jazz-new");
  EXPECT_NE(fresh, nullptr) << Describe(blend);
  if (fresh != nullptr) {
    EXPECT_TRUE(HasReason(*fresh, "content")) << Describe(blend);
  }
  const RankedItem* metal = Find(blend, "metal-new");
  if (metal != nullptr) {
    EXPECT_FALSE(HasReason(*metal, "content")) << Describe(blend);
  }
}

// ---------------------------------------------------------------- covisit

// The abuse cap counts a session's events, not its ring of the last
// session_items: a bot's endless session stops forming pairs at the cap
// (recommend.covisit defaults: 50 events).
TEST_F(SourcesTest, ASessionPastTheCapFormsNoPairs) {
  Open();
  std::vector<Item> items;
  for (int i = 0; i < 49; ++i) items.push_back(MakeItem("F" + std::to_string(i)));
  for (const char* id : {"X", "Y", "Z", "P", "Q"}) items.push_back(MakeItem(id));
  ASSERT_TRUE(Upsert(items).ok());
  std::vector<StoredEvent> events;
  const int64_t t = NowUs() - kHourUs;
  for (int i = 0; i < 49; ++i) {
    events.push_back(SessionEvent("bot", "F" + std::to_string(i), "view", t + i * kSecondUs));
  }
  events.push_back(SessionEvent("bot", "X", "view", t + 49 * kSecondUs));  // the 50th
  events.push_back(SessionEvent("bot", "Y", "view", t + 50 * kSecondUs));  // the 51st
  events.push_back(SessionEvent("bot", "Z", "view", t + 51 * kSecondUs));
  events.push_back(SessionEvent("probe_x", "X", "view", t + 60 * kSecondUs));
  events.push_back(SessionEvent("probe_y", "Y", "view", t + 60 * kSecondUs));
  // Without a session id, a user's events are one session until a pause
  // longer than the pairing window (30 min): then counting starts again.
  for (int i = 0; i < 55; ++i) {
    events.push_back(MakeStoredEvent("nosession", "F" + std::to_string(i % 49), "view",
                                     t - 3 * kHourUs + i * kSecondUs));
  }
  events.push_back(MakeStoredEvent("nosession", "P", "view", t - kHourUs));
  events.push_back(MakeStoredEvent("nosession", "Q", "view", t - kHourUs + kSecondUs));
  events.push_back(SessionEvent("probe_q", "Q", "view", t + 60 * kSecondUs));
  TrackAndFold(events);
  const Slate x = ForSession("probe_x", "only_covisit", 3);
  ASSERT_FALSE(x.items.empty()) << "the 50th event still pairs";
  EXPECT_TRUE(HasReason(x.items[0], "covisit")) << Describe(x);
  EXPECT_EQ(x.items[0].item_id.substr(0, 2), "F4") << "a window item: F44..F48 " << Describe(x);
  for (const auto& it : ForSession("probe_y", "only_covisit", 10).items) {
    EXPECT_FALSE(HasReason(it, "covisit")) << "Y came after the cap, yet pairs with " << it.item_id;
  }
  const Slate q = ForSession("probe_q", "only_covisit", 3);
  ASSERT_FALSE(q.items.empty()) << "after the pause Q pairs with P";
  EXPECT_EQ(q.items[0].item_id, "P") << Describe(q);
  EXPECT_TRUE(HasReason(q.items[0], "covisit")) << Describe(q);
}

TEST_F(SourcesTest, AnonymousSessionGetsCoVisitedItem) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("A"), MakeItem("B"), MakeItem("C"), MakeItem("D"),
                      MakeItem("E")})
                  .ok());
  std::vector<StoredEvent> events;
  const int64_t t = NowUs() - kHourUs;
  for (int i = 0; i < 8; ++i) {
    const std::string s = "ab" + std::to_string(i);
    events.push_back(SessionEvent(s, "A", "view", t + i * kMinuteUs));
    events.push_back(SessionEvent(s, "B", "view", t + i * kMinuteUs + 10 * kSecondUs));
  }
  for (int i = 0; i < 3; ++i) {
    const std::string s = "cd" + std::to_string(i);
    events.push_back(SessionEvent(s, "C", "view", t + i * kMinuteUs));
    events.push_back(SessionEvent(s, "D", "view", t + i * kMinuteUs + 10 * kSecondUs));
  }
  events.push_back(SessionEvent("anon", "A", "view", t + 30 * kMinuteUs));
  events.push_back(SessionEvent("anon2", "C", "view", t + 30 * kMinuteUs));
  TrackAndFold(events);

  Slate one = ForSession("anon", "only_covisit", 1);
  ASSERT_EQ(Ids(one), std::vector<std::string>{"B"}) << Describe(one);
  const Contribution* c = ReasonOf(one.items[0], "covisit");
  ASSERT_NE(c, nullptr) << Describe(one);
  EXPECT_GT(c->value, 0.f);
  EXPECT_EQ(one.items[0].source, Source::kCovisit);

  Slate wide = ForSession("anon", "only_covisit", 10);
  EXPECT_FALSE(Contains(Ids(wide), "A")) << "seen: " << Describe(wide);
  for (const auto& it : wide.items) {
    EXPECT_EQ(HasReason(it, "covisit"), it.item_id == "B") << Describe(wide);
  }
  // What the session viewed decides: C's session gets D.
  EXPECT_EQ(Ids(ForSession("anon2", "only_covisit", 1)), std::vector<std::string>{"D"});
  // A session that viewed nothing gets nothing from covisit.
  for (const auto& it : ForSession("empty", "only_covisit", 10).items) {
    EXPECT_FALSE(HasReason(it, "covisit")) << it.item_id;
  }
}

// ---------------------------------------------------------------- ann

TEST_F(SourcesTest, AnnFollowsTheFoldedInUserVector) {
  Open();
  std::vector<Item> items;
  for (int i = 1; i <= 6; ++i) {
    items.push_back(MakeItem("a" + std::to_string(i), {}, {}, AxisVector(kDim, 0, 0.05f * i)));
    items.push_back(MakeItem("b" + std::to_string(i), {}, {}, AxisVector(kDim, 4, 0.05f * i)));
  }
  ASSERT_TRUE(Upsert(items).ok());
  const int64_t t = NowUs() - kHourUs;
  TrackAndFold({MakeStoredEvent("u", "a1", "click", t), MakeStoredEvent("u", "a2", "click", t + 1),
                MakeStoredEvent("w", "b1", "click", t), MakeStoredEvent("w", "b2", "click", t + 1)});

  auto check = [&](const std::string& user, const std::string& near, const std::string& far) {
    SCOPED_TRACE(user);
    Slate slate = ForUser(user, "only_ann", 10);
    auto ids = Ids(slate);
    ASSERT_EQ(slate.items.size(), 10u) << Describe(slate);
    EXPECT_FALSE(Contains(ids, near + "1")) << "seen";
    EXPECT_FALSE(Contains(ids, near + "2")) << "seen";
    // The four unseen items along the user's axis come first.
    std::set<std::string> first(ids.begin(), ids.begin() + 4);
    std::set<std::string> want;
    for (int i = 3; i <= 6; ++i) want.insert(near + std::to_string(i));
    EXPECT_EQ(first, want) << Describe(slate);
    // They come from ann; items orthogonal to the user's vector bring at
    // most weaker ann evidence (they fill the slate after them).
    for (size_t i = 0; i < 4; ++i) {
      const Contribution* ann = ReasonOf(slate.items[i], "ann");
      ASSERT_NE(ann, nullptr) << ids[i];
      EXPECT_EQ(slate.items[i].source, Source::kAnn) << ids[i];
      for (size_t j = 4; j < slate.items.size(); ++j) {
        EXPECT_GT(slate.items[i].score, slate.items[j].score) << ids[i] << " vs " << ids[j];
        if (const Contribution* other = ReasonOf(slate.items[j], "ann")) {
          EXPECT_LT(other->value, ann->value) << ids[j] << " vs " << ids[i];
        }
      }
    }
    EXPECT_TRUE(Contains(ids, far + "1")) << "the slate is filled with the rest";
  };
  check("u", "a", "b");
  check("w", "b", "a");
  // A user with no history has no vector: ann proposes nothing.
  for (const auto& it : ForUser("nobody", "only_ann", 10).items) {
    EXPECT_FALSE(HasReason(it, "ann")) << it.item_id;
  }
}

// ---------------------------------------------------------------- trending / popular

TEST_F(SourcesTest, TrendingPrefersRecentActivityPopularPrefersVolume) {
  Open();
  ASSERT_TRUE(Upsert({MakeItem("old-heavy"), MakeItem("recent-light"), MakeItem("quiet")}).ok());
  const int64_t now = NowUs();
  std::vector<StoredEvent> events;
  for (int i = 0; i < 40; ++i) {
    events.push_back(MakeStoredEvent("old" + std::to_string(i), "old-heavy", "purchase",
                                     now - 21 * kDayUs + i * kMinuteUs));
  }
  for (int i = 0; i < 3; ++i) {
    events.push_back(MakeStoredEvent("new" + std::to_string(i), "recent-light", "view",
                                     now - 30 * kMinuteUs + i * kMinuteUs));
  }
  TrackAndFold(events);

  Slate trending = ForSession("s", "only_trending", 3);
  auto ids = Ids(trending);
  ASSERT_GE(ids.size(), 2u) << Describe(trending);
  EXPECT_EQ(ids[0], "recent-light") << Describe(trending);
  EXPECT_TRUE(HasReason(trending.items[0], "trending")) << Describe(trending);
  EXPECT_LT(IndexOf(ids, "recent-light"), IndexOf(ids, "old-heavy")) << Describe(trending);

  Slate popular = ForSession("s", "only_popular", 3);
  ids = Ids(popular);
  ASSERT_GE(ids.size(), 2u) << Describe(popular);
  EXPECT_EQ(ids[0], "old-heavy") << Describe(popular);
  EXPECT_TRUE(HasReason(popular.items[0], "popular")) << Describe(popular);
  EXPECT_LT(IndexOf(ids, "old-heavy"), IndexOf(ids, "recent-light")) << Describe(popular);
  // An item without events is in neither list.
  for (const Slate* s : {&trending, &popular}) {
    if (const RankedItem* q = Find(*s, "quiet")) {
      EXPECT_FALSE(HasReason(*q, "trending"));
      EXPECT_FALSE(HasReason(*q, "popular"));
    }
  }
}

// ---------------------------------------------------------------- cold start

TEST_F(SourcesTest, ColdViewersNeverGetAnErrorOrAnEmptyListWhileItemsExist) {
  Open();
  // No items at all: an empty list, not an error, on every surface.
  for (const auto& [name, surface] : options_.surfaces) {
    SCOPED_TRACE(name);
    auto s = Recommend(name, "", "cold", 5);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE(s->items.empty());
    auto u = Recommend(name, "new-user", "", 5);
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_TRUE(u->items.empty());
  }
  // Events on items the catalog does not have yet: still empty, no error.
  TrackAndFold({MakeStoredEvent("early", "not-yet", "click")});
  for (const auto& [name, surface] : options_.surfaces) {
    auto s = Recommend(name, "early", "", 5);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_TRUE(s->items.empty()) << name;
  }

  std::vector<Item> items;
  for (int i = 0; i < 7; ++i) {
    items.push_back(MakeItem("i" + std::to_string(i), {"c" + std::to_string(i % 3)},
                             {"t" + std::to_string(i % 2)}, AxisVector(kDim, i)));
  }
  ASSERT_TRUE(Upsert(items).ok());
  for (const auto& [name, surface] : options_.surfaces) {
    SCOPED_TRACE(name);
    for (int k : {1, 5, 20}) {
      const size_t want = std::min<size_t>(k, items.size());
      auto s = Recommend(name, "", "cold", k);
      ASSERT_TRUE(s.ok()) << s.status();
      EXPECT_EQ(s->items.size(), want) << "k=" << k << " " << Describe(*s);
      auto u = Recommend(name, "new-user", "", k);
      ASSERT_TRUE(u.ok()) << u.status();
      EXPECT_EQ(u->items.size(), want) << "k=" << k << " " << Describe(*u);
      for (const auto& it : s->items) EXPECT_FALSE(it.reasons.empty()) << it.item_id;
    }
  }
}

// ---------------------------------------------------------------- exploration

TEST_F(SourcesTest, ExplorationReplacesSlotsWithExactPropensities) {
  constexpr double kEps = 0.5;
  constexpr int kK = 4;
  constexpr int kItems = 24;
  SurfaceOptions explore = Deterministic(SurfaceOptions{});
  explore.explore_epsilon = kEps;
  options_.surfaces["explore"] = explore;
  options_.surfaces["explore_off"] = Deterministic(SurfaceOptions{});
  Open();
  const int64_t now = NowUs();
  std::vector<Item> items;
  for (int i = 0; i < kItems; ++i) {
    items.push_back(WithCreated(MakeItem("i" + std::to_string(i)), now - (i + 1) * kMinuteUs));
  }
  ASSERT_TRUE(Upsert(items).ok());

  Slate det = ForSession("s", "explore_off", kK);
  ASSERT_EQ(det.items.size(), static_cast<size_t>(kK));
  const auto det_ids = Ids(det);
  const uint32_t m = kItems - kK;  // every other item is eligible and fresh

  constexpr int kCalls = 300;
  int explored = 0, slots = 0;
  std::map<std::string, int> explored_count;
  for (int call = 0; call < kCalls; ++call) {
    Slate s = ForSession("s", "explore", kK);
    ASSERT_EQ(s.items.size(), static_cast<size_t>(kK));
    auto ids = Ids(s);
    ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size())
        << "duplicate in " << Describe(s);
    for (int j = 0; j < kK; ++j) {
      const RankedItem& it = s.items[j];
      ++slots;
      EXPECT_EQ(it.deterministic_item_id, det_ids[j]) << "slot " << j;
      EXPECT_EQ(it.pool_size, m);
      EXPECT_DOUBLE_EQ(it.epsilon, kEps) << "m >= k: the effective epsilon is epsilon";
      EXPECT_EQ(it.explored, it.item_id != it.deterministic_item_id);
      if (it.explored) {
        ++explored;
        ++explored_count[it.item_id];
        EXPECT_FALSE(Contains(det_ids, it.item_id)) << "the pool excludes the slate";
        EXPECT_DOUBLE_EQ(it.propensity, kEps / m);
        ASSERT_EQ(it.reasons.size(), 1u);
        EXPECT_EQ(it.reasons[0].source, "explore");
        EXPECT_EQ(it.source, Source::kExplore);
        EXPECT_EQ(it.score, 0.f);
      } else {
        EXPECT_EQ(it.item_id, det_ids[j]) << "slots are replaced, never shifted";
        EXPECT_DOUBLE_EQ(it.propensity, 1 - kEps);
        EXPECT_FALSE(HasReason(it, "explore"));
      }
    }
  }
  const double share = static_cast<double>(explored) / slots;
  const double se = std::sqrt(kEps * (1 - kEps) / slots);
  EXPECT_NEAR(share, kEps, 4 * se) << explored << " of " << slots;
  // Every pool item gets explored (expected ~30 times each).
  EXPECT_EQ(explored_count.size(), static_cast<size_t>(m));
}

// ---------------------------------------------------------------- diversity

TEST_F(SourcesTest, CategoryCapOfOneGivesDistinctCategories) {
  AddCategoryCapSurface();
  Open();
  // The two best items of each category lead (cat0's first, then cat1's,
  // ...), so without the cap the top 4 hold only cat0 and cat1; the 3k best
  // candidates (what the diversity stage sees) span all five categories.
  PopulateCategories(5, 4, [](int c, int i) { return i < 2 ? 40 - 2 * c - i : 20 - c - i; });
  Slate plain = ForSession("s", "only_trending", 4);
  ASSERT_EQ(plain.items.size(), 4u);
  ASSERT_EQ(Ids(plain), (std::vector<std::string>{"c0-0", "c0-1", "c1-0", "c1-1"}))
      << "precondition: " << Describe(plain);

  Slate capped = ForSession("s", "cap1", 4);
  ASSERT_EQ(capped.items.size(), 4u);
  EXPECT_EQ(DistinctCategories(capped), 4) << Describe(capped);
  // The best item of each of the four best categories, best first.
  EXPECT_EQ(Ids(capped), (std::vector<std::string>{"c0-0", "c1-0", "c2-0", "c3-0"}));
}

TEST_F(SourcesTest, CategoryCapHoldsWhenTheTopCategoryHasManyItems) {
  AddCategoryCapSurface();
  Open();
  // A dominant category: its 12 items (3k for k = 4) are the best
  // candidates; the trending source also proposes the best items of four
  // other categories, ranked below them.
  PopulateCategories(5, 12, [](int c, int i) {
    if (c == 0) return 60 - i;
    return i < 4 ? 30 - c - 4 * i : 0;
  });
  Slate plain = ForSession("s", "only_trending", 12);
  ASSERT_EQ(plain.items.size(), 12u);
  ASSERT_EQ(DistinctCategories(plain), 1) << "precondition: " << Describe(plain);
  Slate capped = ForSession("s", "cap1", 4);
  ASSERT_EQ(capped.items.size(), 4u);
  // A cap must look past the dominant category's items: an earlier
  // core/recommender.cc Finish() cut the blend to the best 3k candidates
  // BEFORE the cap, which then backfilled from the one category it saw
  // (c0-0 c0-1 c0-2 c0-3).
  EXPECT_EQ(DistinctCategories(capped), 4) << Describe(capped);
  EXPECT_EQ(Ids(capped), (std::vector<std::string>{"c0-0", "c1-0", "c2-0", "c3-0"}))
      << Describe(capped);
}

// ---------------------------------------------------------------- reasons

TEST_F(SourcesTest, EveryItemExplainsItsScore) {
  // Also the production defaults: MMR diversity and exploration on.
  options_.surfaces["production"] = SurfaceOptions{};
  Open();
  const int64_t now = NowUs();
  std::vector<Item> items;
  for (int i = 0; i < 12; ++i) {
    Item it = WithCreated(MakeItem("i" + std::to_string(i), {"c" + std::to_string(i % 3)},
                                   {"t" + std::to_string(i % 4)}, AxisVector(kDim, i % 3, 0.1f * i)),
                          now - i * kHourUs);
    if (i >= 8) it = InSeries(std::move(it), "show", std::to_string(i));
    items.push_back(std::move(it));
  }
  items.push_back(MakeItem("no-vector", {"c0"}, {"t0"}));
  ASSERT_TRUE(Upsert(items).ok());
  std::vector<StoredEvent> events;
  const int64_t t = now - 2 * kHourUs;
  for (int s = 0; s < 4; ++s) {
    events.push_back(SessionEvent("s" + std::to_string(s), "i1", "view", t + s * kMinuteUs));
    events.push_back(SessionEvent("s" + std::to_string(s), "i2", "click", t + s * kMinuteUs + 1));
  }
  events.push_back(MakeStoredEvent("u", "i0", "click", t + 10 * kMinuteUs));
  events.push_back(MakeStoredEvent("u", "i1", "view", t + 11 * kMinuteUs));
  events.push_back(MakeStoredEvent("u", "i5", "cart", t + 12 * kMinuteUs));
  events.push_back(MakeStoredEvent("u", "i8", "view", t + 13 * kMinuteUs));
  TrackAndFold(events);

  std::set<std::string> sources_seen;
  for (const std::string surface : {"default", "production", "only_ann", "only_covisit",
                                    "only_content", "only_trending", "only_popular",
                                    "only_continuation"}) {
    for (int call = 0; call < 5; ++call) {
      SCOPED_TRACE(surface);
      for (const Slate& slate : {ForUser("u", surface, 8), ForSession("cold", surface, 8)}) {
        ASSERT_FALSE(slate.items.empty());
        for (const auto& it : slate.items) {
          ASSERT_FALSE(it.reasons.empty()) << it.item_id;
          for (size_t r = 1; r < it.reasons.size(); ++r) {
            EXPECT_GE(it.reasons[r - 1].value, it.reasons[r].value)
                << it.item_id << ": largest contribution first";
          }
          for (const auto& c : it.reasons) sources_seen.insert(c.source);
          if (it.explored) {
            EXPECT_EQ(it.reasons[0].source, "explore");
            continue;
          }
          float sum = 0;
          for (const auto& c : it.reasons) {
            EXPECT_GT(c.value, 0.f) << it.item_id << " " << c.source;
            sum += c.value;
          }
          EXPECT_NEAR(it.score, sum, 1e-4) << it.item_id << ": " << Describe(slate);
          // The item's source is its largest contributing source.
          auto first_source = std::find_if(it.reasons.begin(), it.reasons.end(),
                                           [](const Contribution& c) {
                                             return SourceFromName(c.source).has_value();
                                           });
          ASSERT_NE(first_source, it.reasons.end()) << it.item_id;
          EXPECT_EQ(SourceName(it.source), first_source->source) << it.item_id;
        }
      }
    }
  }
  // The scenario exercised every source and both features.
  for (const std::string s : {"ann", "covisit", "content", "trending", "popular", "continuation",
                              "freshness", "popularity"}) {
    EXPECT_TRUE(sources_seen.count(s)) << s;
  }
}

}  // namespace
}  // namespace recd::core
