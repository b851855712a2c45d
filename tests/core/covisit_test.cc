#include "core/covisit.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace recd::core {
namespace {

// A session whose earlier events are all in `recent` (the fold-in passes
// its ring and the session's event count).
void ObserveSession(Covisitation& c, uint32_t item, double w, int64_t t,
                    const std::vector<SessionItem>& recent) {
  c.Observe(item, w, t, recent, recent.size());
}

// A present-day event time (2024-06-01T00:00:00Z), in microseconds.
constexpr int64_t kToday = 1717200000LL * 1000000;
constexpr int64_t kSecondUs = 1000000;

std::unique_ptr<Covisitation> Make(const CovisitOptions& options = {}) {
  auto c = Covisitation::Create(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return std::move(c).value();
}

std::vector<uint32_t> Ids(const Covisitation& c, uint32_t item) {
  std::vector<uint32_t> ids;
  if (auto list = c.Top(item)) {
    for (const Neighbor& n : *list) ids.push_back(n.id);
  }
  return ids;
}

float Score(const Covisitation& c, uint32_t item, uint32_t neighbour) {
  if (auto list = c.Top(item)) {
    for (const Neighbor& n : *list) {
      if (n.id == neighbour) return n.score;
    }
  }
  return -1;
}

// Observes a two-item session {a then b} at time t with unit weights.
void Pair(Covisitation& c, uint32_t a, uint32_t b, int64_t t, double w = 1) {
  ObserveSession(c, b, w, t, {{a, w, t}});
}

TEST(CovisitTest, RejectsBadOptionsNamingTheField) {
  struct Case {
    const char* field;
    void (*breaks)(CovisitOptions&);
  };
  const Case cases[] = {
      {"window_items", [](CovisitOptions& o) { o.window_items = 0; }},
      {"window_seconds", [](CovisitOptions& o) { o.window_seconds = 0; }},
      {"window_seconds", [](CovisitOptions& o) { o.window_seconds = NAN; }},
      {"slots_per_item", [](CovisitOptions& o) { o.slots_per_item = 0; }},
      {"top_per_item", [](CovisitOptions& o) { o.top_per_item = 0; }},
      {"top_per_item", [](CovisitOptions& o) { o.top_per_item = o.slots_per_item + 1; }},
      {"half_life_seconds", [](CovisitOptions& o) { o.half_life_seconds = -1; }},
      {"half_life_seconds", [](CovisitOptions& o) { o.half_life_seconds = INFINITY; }},
      {"max_session_items", [](CovisitOptions& o) { o.max_session_items = 0; }},
      {"max_bytes", [](CovisitOptions& o) { o.max_bytes = 0; }},
  };
  for (const Case& c : cases) {
    CovisitOptions o;
    c.breaks(o);
    absl::Status s = ValidateCovisitOptions(o);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s.message();
    EXPECT_FALSE(Covisitation::Create(o).ok()) << c.field;
  }
  EXPECT_TRUE(ValidateCovisitOptions({}).ok());
}

TEST(CovisitTest, PairCountedBothWaysWithGeometricMeanWeight) {
  auto c = Make();
  // view (1) then save (4): sqrt(1 * 4) = 2; a two-item session is undamped.
  ObserveSession(*c, 7, 4.0, kToday + kSecondUs, {{3, 1.0, kToday}});
  EXPECT_EQ(c->Top(3), nullptr) << "nothing visible before Publish";
  c->Publish();
  EXPECT_EQ(Ids(*c, 3), std::vector<uint32_t>{7});
  EXPECT_EQ(Ids(*c, 7), std::vector<uint32_t>{3});
  EXPECT_NEAR(Score(*c, 3, 7), 2.0, 1e-5);
  EXPECT_NEAR(Score(*c, 7, 3), 2.0, 1e-5);
  EXPECT_EQ(c->Top(4'000'000'000u), nullptr);
}

TEST(CovisitTest, OnlyLastWindowItemsArePaired) {
  CovisitOptions o;
  o.window_items = 2;
  auto c = Make(o);
  ObserveSession(*c, 4, 1, kToday, {{1, 1, kToday}, {2, 1, kToday}, {3, 1, kToday}});
  c->Publish();
  std::vector<uint32_t> ids = Ids(*c, 4);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c->Top(1), nullptr);
}

TEST(CovisitTest, OnlyItemsWithinWindowSecondsArePaired) {
  CovisitOptions o;
  o.window_seconds = 60;
  auto c = Make(o);
  const int64_t t = kToday + 3600 * kSecondUs;
  ObserveSession(*c, 3, 1, t, {{1, 1, t - 61 * kSecondUs}, {2, 1, t - 59 * kSecondUs}});
  c->Publish();
  EXPECT_EQ(Ids(*c, 3), std::vector<uint32_t>{2});
  EXPECT_EQ(c->Top(1), nullptr);
}

TEST(CovisitTest, SameItemRepeatsAreNotPairedAndDuplicatesCountOnce) {
  auto c = Make();
  ObserveSession(*c, 1, 1, kToday, {{1, 1, kToday}, {1, 1, kToday}});
  c->Publish();
  EXPECT_EQ(c->Top(1), nullptr);
  EXPECT_TRUE(c->TakeChanged().empty());

  // b a b, then a: the pair (a, b) is formed once. n = 4: damping 2/log2(6).
  ObserveSession(*c, 1, 1, kToday, {{2, 1, kToday}, {1, 1, kToday}, {2, 1, kToday}});
  c->Publish();
  EXPECT_EQ(Ids(*c, 1), std::vector<uint32_t>{2});
  EXPECT_NEAR(Score(*c, 1, 2), 2.0 / std::log2(6.0), 1e-6);
}

TEST(CovisitTest, LongSessionsAreDampedAndCappedByMaxSessionItems) {
  CovisitOptions o;
  o.max_session_items = 10;
  auto c = Make(o);
  std::vector<SessionItem> session;
  for (uint32_t i = 0; i < 9; ++i) session.push_back({100 + i, 1, kToday});
  ObserveSession(*c, 1, 1, kToday, session);  // the 10th item: n = 10
  session.push_back({1, 1, kToday});
  ObserveSession(*c, 2, 1, kToday, session);  // the 11th: over the cap, no pairs
  c->Publish();
  EXPECT_NEAR(Score(*c, 1, 108), 2.0 / std::log2(12.0), 1e-6);
  EXPECT_EQ(c->Top(2), nullptr);
}

TEST(CovisitTest, TheSessionLengthIsItsEventsNotTheRecentItemsPassed) {
  // The fold-in passes its ring of the last few items with the count of
  // the session's earlier events: damping and the cap go by the count.
  CovisitOptions o;
  o.max_session_items = 10;
  auto c = Make(o);
  const std::vector<SessionItem> ring = {{100, 1, kToday}, {101, 1, kToday}};
  c->Observe(1, 1, kToday, ring, /*session_events=*/9);   // the 10th event: n = 10
  c->Observe(2, 1, kToday, ring, /*session_events=*/10);  // the 11th: over the cap
  c->Observe(3, 1, kToday, ring, /*session_events=*/1);   // fewer than the ring: n = 2
  c->Publish();
  EXPECT_NEAR(Score(*c, 1, 101), 2.0 / std::log2(12.0), 1e-6);
  EXPECT_EQ(c->Top(2), nullptr);
  EXPECT_NEAR(Score(*c, 3, 101), 1.0, 1e-6);
}

// With half-life h, a co-visit of weight w at t0 is worth w * 2^-(Δt/h) at
// t0 + Δt. Scores are published as of the latest event time seen.
TEST(CovisitTest, OrdersByDecayedScoreWithHalfLifeArithmetic) {
  CovisitOptions o;
  o.half_life_seconds = 3600;
  const int64_t h = 3600 * kSecondUs;
  auto c = Make(o);
  Pair(*c, 1, 2, kToday);      // (1,2) weight 1 at t0
  Pair(*c, 1, 3, kToday + h);  // (1,3) weight 1 one half-life later
  c->Publish();
  EXPECT_EQ(Ids(*c, 1), (std::vector<uint32_t>{3, 2}));
  EXPECT_NEAR(Score(*c, 1, 3), 1.0, 1e-6);
  EXPECT_NEAR(Score(*c, 1, 2), 0.5, 1e-6);

  // Weight 3 at t0 vs weight 1 at t0 + Δt: the old one leads while
  // 3 * 2^(-Δt/h) > 1, i.e. Δt < log2(3) h ≈ 1.585 h.
  for (double halves : {1.0, 1.5, 1.7, 3.0}) {
    SCOPED_TRACE(halves);
    auto d = Make(o);
    Pair(*d, 1, 2, kToday, 3.0);
    Pair(*d, 1, 3, kToday + static_cast<int64_t>(halves * h));
    d->Publish();
    EXPECT_NEAR(Score(*d, 1, 2), 3.0 * std::exp2(-halves), 1e-5);
    EXPECT_NEAR(Score(*d, 1, 3), 1.0, 1e-6);
    const uint32_t first = halves < std::log2(3.0) ? 2 : 3;
    EXPECT_EQ(Ids(*d, 1).front(), first);
  }
}

TEST(CovisitTest, FarApartTimesRescaleWithoutOverflow) {
  CovisitOptions o;
  o.half_life_seconds = 1;
  auto c = Make(o);
  Pair(*c, 1, 2, kToday);
  Pair(*c, 1, 3, kToday + 100 * kSecondUs);  // 100 half-lives later
  c->Publish();
  EXPECT_EQ(Ids(*c, 1), (std::vector<uint32_t>{3, 2}));
  EXPECT_NEAR(Score(*c, 1, 3), 1.0, 1e-6);
  EXPECT_NEAR(Score(*c, 1, 2) / std::exp2(-100.0), 1.0, 1e-5);
  Pair(*c, 1, 4, kToday + 5000 * kSecondUs);  // the old ones decay to nothing
  Pair(*c, 1, 4, kToday - 5000 * kSecondUs);  // a very late event adds nothing
  c->Publish();
  for (const Neighbor& n : *c->Top(1)) EXPECT_TRUE(std::isfinite(n.score));
  EXPECT_EQ(Ids(*c, 1).front(), 4u);
  EXPECT_NEAR(Score(*c, 1, 4), 1.0, 1e-6);
}

TEST(CovisitTest, PublishRepublishesOnlyChangedItems) {
  auto c = Make();
  Pair(*c, 1, 2, kToday);
  c->Publish();
  auto before = c->Top(1);
  Pair(*c, 3, 4, kToday);
  c->Publish();
  EXPECT_EQ(c->Top(1), before) << "unchanged item keeps its list";
  Pair(*c, 1, 5, kToday);
  Pair(*c, 1, 6, kToday);
  c->Publish();
  EXPECT_NE(c->Top(1), before);
  EXPECT_EQ(before->size(), 1u) << "a published list never changes";
}

TEST(CovisitTest, SpaceSavingKeepsHeavyHitters) {
  CovisitOptions o;
  o.slots_per_item = 20;
  o.top_per_item = 5;
  auto c = Make(o);
  // Item 0 co-visited 100 times with each of 1..5 and once with each of
  // 1000 light items, interleaved. Total 1500 < 20 * 100: heavy ones are
  // guaranteed a slot, and their count (>= 100) beats any light count
  // (<= 1500 / 20 + 1).
  std::vector<uint32_t> stream;
  for (uint32_t h = 1; h <= 5; ++h) stream.insert(stream.end(), 100, h);
  for (uint32_t l = 1000; l < 2000; ++l) stream.push_back(l);
  std::mt19937 rng(42);
  std::shuffle(stream.begin(), stream.end(), rng);
  for (uint32_t n : stream) Pair(*c, 0, n, kToday);
  c->Publish();
  std::vector<uint32_t> ids = Ids(*c, 0);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  for (const Neighbor& n : *c->Top(0)) EXPECT_GE(n.score, 100 - 1e-3);
  EXPECT_LE(c->Serialize(0).size(), 21u + 16u * 20u) << "at most slots_per_item counters";
}

// The summary keeps its slots in published order and moves an updated slot
// to its place; this checks it against SpaceSaving as specified (replace the
// minimum count, ties the largest id; publish the top by count, ties the
// smallest id) on a stream with many ties and replacements.
TEST(CovisitTest, SpaceSavingAndTheTopListFollowTheSpecOnAStreamWithTies) {
  CovisitOptions o;
  o.slots_per_item = 8;
  o.top_per_item = 5;
  auto c = Make(o);
  struct RefSlot {
    uint32_t id;
    double count;
  };
  auto better = [](const RefSlot& a, const RefSlot& b) {
    return a.count != b.count ? a.count > b.count : a.id < b.id;
  };
  std::vector<RefSlot> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 3000; ++step) {
    const uint32_t n = 1 + rng() % 30;
    const double w = 1 + rng() % 3;  // small integers: counts tie often
    Pair(*c, 0, n, kToday, w);       // same time: item 0's count for n grows by w
    auto it = std::find_if(ref.begin(), ref.end(), [&](const RefSlot& r) { return r.id == n; });
    if (it != ref.end()) {
      it->count += w;
    } else if (ref.size() < 8) {
      ref.push_back({n, w});
    } else {
      auto min = std::max_element(ref.begin(), ref.end(), better);
      *min = {n, min->count + w};
    }
    if (step % 7 != 0) continue;
    c->Publish();
    std::vector<RefSlot> top(std::min<size_t>(5, ref.size()));
    std::partial_sort_copy(ref.begin(), ref.end(), top.begin(), top.end(), better);
    std::vector<uint32_t> want;
    for (const RefSlot& r : top) want.push_back(r.id);
    ASSERT_EQ(Ids(*c, 0), want) << "step " << step;
    for (const RefSlot& r : top) EXPECT_EQ(Score(*c, 0, r.id), static_cast<float>(r.count));
  }
}

// Stored rows name neighbours by item id: a restart that numbers items
// differently (a loaded model interns its rows first) still restores them.
TEST(CovisitTest, StoredRowRenumbersNeighboursOnRestore) {
  CovisitOptions o;
  o.half_life_seconds = 3600;
  auto c = Make(o);
  for (uint32_t n = 2; n < 8; ++n) Pair(*c, 1, n, kToday + n * 600 * kSecondUs, 1 + n % 3);
  c->Publish();
  std::vector<std::string> names;
  for (uint32_t d = 0; d < 1000; ++d) names.push_back("item-" + std::to_string(d));
  auto name = [&names](uint32_t d) { return std::string_view(names[d]); };
  const std::string row = c->EncodeRow(1, name);
  ASSERT_FALSE(row.empty());
  EXPECT_EQ(c->EncodeRow(999, name), "");

  // The new process numbers item-N as 100 + N.
  auto r = Make(o);
  auto intern = [](absl::Span<const std::string_view> ids, std::optional<uint32_t>* out) {
    for (size_t i = 0; i < ids.size(); ++i) {
      out[i] = 100 + static_cast<uint32_t>(std::stoul(std::string(ids[i].substr(5))));
    }
  };
  auto restore_row = [&](uint32_t item, std::string_view stored) {
    auto summary = Covisitation::DecodeRow(item, stored, intern);
    return summary.ok() ? r->Restore(item, *summary) : summary.status();
  };
  ASSERT_TRUE(restore_row(101, row).ok());
  r->Publish();
  std::vector<uint32_t> want;
  for (uint32_t id : Ids(*c, 1)) want.push_back(100 + id);
  EXPECT_EQ(Ids(*r, 101), want);
  for (const Neighbor& n : *c->Top(1)) EXPECT_EQ(Score(*r, 101, 100 + n.id), n.score) << n.id;

  // A row of the older dense-id-only format, and damaged rows, are refused.
  EXPECT_TRUE(absl::IsDataLoss(restore_row(1, c->Serialize(1))));
  EXPECT_TRUE(absl::IsDataLoss(restore_row(1, row.substr(0, row.size() - 1))));
  EXPECT_TRUE(absl::IsDataLoss(restore_row(1, row + "x")));
  EXPECT_TRUE(absl::IsDataLoss(restore_row(1, "")));
}

TEST(CovisitTest, SerializeRestoreRoundTrip) {
  CovisitOptions o;
  o.half_life_seconds = 3600;
  auto c = Make(o);
  for (uint32_t n = 2; n < 12; ++n) Pair(*c, 1, n, kToday + n * 600 * kSecondUs, 1 + n % 3);
  c->Publish();
  const std::string bytes = c->Serialize(1);
  ASSERT_FALSE(bytes.empty());

  auto r = Make(o);
  ASSERT_TRUE(r->Restore(1, bytes).ok());
  r->Publish();  // the restored summary brings its last event time: same clock
  ASSERT_NE(r->Top(1), nullptr);
  EXPECT_EQ(Ids(*r, 1), Ids(*c, 1));
  for (const Neighbor& n : *c->Top(1)) EXPECT_EQ(Score(*r, 1, n.id), n.score) << n.id;
  EXPECT_EQ(r->Serialize(1), bytes);
  EXPECT_TRUE(r->TakeChanged().empty()) << "restored state is already stored";

  // A smaller slots_per_item keeps the largest counts.
  CovisitOptions small = o;
  small.slots_per_item = small.top_per_item = 3;
  auto s = Make(small);
  ASSERT_TRUE(s->Restore(1, bytes).ok());
  s->Publish();
  std::vector<uint32_t> top3 = Ids(*c, 1);
  top3.resize(3);
  EXPECT_EQ(Ids(*s, 1), top3);
  EXPECT_EQ(c->Serialize(12345), "");
}

TEST(CovisitTest, MalformedBytesAreRejected) {
  auto c = Make();
  Pair(*c, 1, 2, kToday);
  Pair(*c, 1, 3, kToday);
  const std::string good = c->Serialize(1);
  // u8 version, i64 ref_us, i64 last_us, u32 n, n * (u32 id, f64 count, f32 error).
  constexpr size_t kLast = 9, kN = 17, kSlot0 = 21, kSlot1 = 37;
  ASSERT_EQ(good.size(), kSlot1 + 16);

  auto corrupt = [&](size_t pos, uint8_t byte) {
    std::string b = good;
    b[pos] = static_cast<char>(byte);
    return b;
  };
  std::string self = good;  // first neighbour's id := the item itself
  self[kSlot0] = 1, self[kSlot0 + 1] = self[kSlot0 + 2] = self[kSlot0 + 3] = 0;
  std::string dup = good;  // second neighbour's id := the first's
  std::copy(good.begin() + kSlot0, good.begin() + kSlot0 + 4, dup.begin() + kSlot1);
  const std::string bad[] = {
      "",
      good.substr(0, kSlot0 - 1),
      good.substr(0, good.size() - 1),
      good + '\0',
      corrupt(0, 2),               // version
      corrupt(kLast + 7, 0x80),    // last_us < ref_us
      corrupt(kN, 3),              // slot count
      corrupt(kSlot0 + 11, 0xff),  // count's top byte: -inf
      corrupt(kSlot0 + 15, 0x7f),  // error > count
      corrupt(kSlot0 + 15, 0xff),  // error negative
      self,
      dup,
  };
  auto r = Make();
  for (const std::string& b : bad) {
    absl::Status s = r->Restore(1, b);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  }
  r->Publish();
  EXPECT_EQ(r->Top(1), nullptr);
  EXPECT_EQ(r->Serialize(1), "");

  // Random damage never crashes; whatever is accepted stays well-formed.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string b = good.substr(0, rng() % (good.size() + 1));
    for (char& ch : b) {
      if (rng() % 8 == 0) ch = static_cast<char>(rng());
    }
    (void)r->Restore(1 + rng() % 3, b);
  }
  r->Publish();
  for (uint32_t item = 1; item <= 3; ++item) {
    auto list = r->Top(item);
    if (list == nullptr) continue;
    std::set<uint32_t> ids;
    for (size_t i = 0; i < list->size(); ++i) {
      EXPECT_NE((*list)[i].id, item);
      EXPECT_TRUE(ids.insert((*list)[i].id).second);
      if (i > 0) {
        EXPECT_GE((*list)[i - 1].score, (*list)[i].score);
      }
    }
  }
}

TEST(CovisitTest, MemoryBoundEvictsLeastRecentlyUpdated) {
  CovisitOptions o;
  o.max_bytes = 4000;
  auto c = Make(o);
  for (uint32_t i = 0; i < 100; ++i) {
    Pair(*c, 2 * i, 2 * i + 1, kToday + i * kSecondUs);
    Pair(*c, 0, 1, kToday + i * kSecondUs);  // items 0 and 1 stay recently updated
    c->Publish();
    EXPECT_LE(c->ApproxBytes(), o.max_bytes);
  }
  EXPECT_NE(c->Top(199), nullptr);
  EXPECT_NE(c->Top(0), nullptr) << "least recently updated, not first inserted, goes first";
  EXPECT_NE(c->Serialize(198), "");
  EXPECT_EQ(c->Top(100), nullptr) << "evicted";
  EXPECT_EQ(c->Serialize(100), "");
  EXPECT_EQ(c->Serialize(2), "");
  EXPECT_EQ(c->Top(2), nullptr);
  std::vector<uint32_t> changed = c->TakeChanged();
  EXPECT_NE(std::find(changed.begin(), changed.end(), 2u), changed.end())
      << "evicted items are reported so their rows get deleted";
  EXPECT_EQ(std::set<uint32_t>(changed.begin(), changed.end()).size(), changed.size());
  EXPECT_TRUE(c->TakeChanged().empty());
}

TEST(CovisitTest, ConcurrentReadersSeeWellFormedLists) {
  CovisitOptions o;
  o.slots_per_item = 16;
  o.top_per_item = 8;
  o.max_bytes = 64 << 10;  // evictions happen while readers read
  auto c = Make(o);
  constexpr uint32_t kItems = 300;
  std::atomic<bool> done{false};
  std::atomic<int64_t> lists_seen{0};
  auto reader = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    while (!done.load(std::memory_order_relaxed)) {
      const uint32_t item = rng() % kItems;
      auto list = c->Top(item);
      if (list == nullptr) continue;
      lists_seen.fetch_add(1, std::memory_order_relaxed);
      std::set<uint32_t> ids;
      for (size_t i = 0; i < list->size(); ++i) {
        const Neighbor& n = (*list)[i];
        ASSERT_NE(n.id, item);
        ASSERT_TRUE(ids.insert(n.id).second) << "duplicate id";
        ASSERT_TRUE(std::isfinite(n.score));
        if (i > 0) {
          ASSERT_GE((*list)[i - 1].score, n.score) << "not sorted";
        }
      }
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  std::mt19937 rng(3);
  std::vector<SessionItem> session;
  for (int e = 0; e < 100000; ++e) {
    const uint32_t item = rng() % kItems;
    const int64_t t = kToday + e * kSecondUs;
    if (session.size() >= 8) session.clear();
    ObserveSession(*c, item, 1 + rng() % 4, t, session);
    session.push_back({item, 1.0, t});
    if (e % 16 == 0) c->Publish();
    if (e % 1024 == 0) c->TakeChanged();
  }
  c->Publish();
  done = true;
  r1.join();
  r2.join();
  EXPECT_GT(lists_seen.load(), 0);
}

}  // namespace
}  // namespace recd::core
