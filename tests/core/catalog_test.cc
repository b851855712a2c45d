#include "core/catalog.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace recd::core {
namespace {

std::vector<uint32_t> Vec(absl::Span<const uint32_t> s) { return {s.begin(), s.end()}; }

ItemInfo Info(const std::string& id, std::vector<std::string> categories = {},
              std::vector<std::string> tags = {}) {
  ItemInfo info;
  info.id = id;
  info.created_at_us = 1000;
  info.categories = std::move(categories);
  info.tags = std::move(tags);
  return info;
}

TEST(CatalogTest, EmptyCatalog) {
  Catalog c;
  EXPECT_EQ(c.size(), 0u);
  Catalog::Reader r(c);
  EXPECT_EQ(r.capacity(), 0u);
  EXPECT_FALSE(r.Find("x").has_value());
  EXPECT_FALSE(r.Label("x").has_value());
}

TEST(CatalogTest, UpsertFindRemoveSize) {
  Catalog c;
  ItemInfo a = Info("a");
  a.created_at_us = 111;
  a.expires_at_us = 999;
  a.available = false;
  a.has_vector = true;
  uint32_t da = c.Upsert(a);
  uint32_t db = c.Upsert(Info("b"));
  EXPECT_NE(da, db);
  EXPECT_EQ(c.size(), 2u);
  {
    Catalog::Reader r(c);
    ASSERT_EQ(r.Find("a"), da);
    ASSERT_EQ(r.Find("b"), db);
    EXPECT_FALSE(r.Find("c").has_value());
    EXPECT_EQ(r.Id(da), "a");
    EXPECT_EQ(r.Id(db), "b");
    EXPECT_EQ(r.capacity(), 2u);
    const ItemRow& row = r.Row(da);
    EXPECT_TRUE(row.alive);
    EXPECT_EQ(row.created_at_us, 111);
    EXPECT_EQ(row.expires_at_us, 999);
    EXPECT_FALSE(row.available);
    EXPECT_TRUE(row.has_vector);
    EXPECT_TRUE(r.Row(db).available);
    EXPECT_FALSE(r.Row(db).has_vector);
  }
  EXPECT_EQ(c.Remove("a"), da);
  EXPECT_EQ(c.size(), 1u);
  {
    Catalog::Reader r(c);
    // A deleted item keeps its dense id (never reused) but is not alive.
    ASSERT_EQ(r.Find("a"), da);
    EXPECT_FALSE(r.Row(da).alive);
    EXPECT_TRUE(r.Row(db).alive);
  }
  EXPECT_FALSE(c.Remove("a").has_value()) << "already deleted";
  EXPECT_FALSE(c.Remove("never-seen").has_value());
  EXPECT_EQ(c.size(), 1u);
}

TEST(CatalogTest, UpsertReplacesColumnsAndKeepsDenseId) {
  Catalog c;
  uint32_t d = c.Upsert(Info("a", {"shoes", "sale"}, {"red"}));
  ItemInfo again = Info("a", {"hats"}, {});
  again.created_at_us = 2000;
  again.available = false;
  EXPECT_EQ(c.Upsert(again), d);
  EXPECT_EQ(c.size(), 1u);
  Catalog::Reader r(c);
  const ItemRow& row = r.Row(d);
  EXPECT_EQ(row.created_at_us, 2000);
  EXPECT_FALSE(row.available);
  ASSERT_EQ(row.categories().size(), 1u);
  EXPECT_EQ(row.categories()[0], r.Label("hats"));
  EXPECT_TRUE(row.tags().empty());
}

TEST(CatalogTest, InternOfUnknownIdGivesNonAliveRow) {
  Catalog c;
  uint32_t d = c.Intern("from-an-event");
  EXPECT_EQ(c.size(), 0u) << "an interned id is not a live item";
  EXPECT_EQ(c.Intern("from-an-event"), d) << "interning is idempotent";
  Catalog::Reader r(c);
  ASSERT_EQ(r.Find("from-an-event"), d);
  EXPECT_EQ(r.Id(d), "from-an-event");
  EXPECT_FALSE(r.Row(d).alive);
  EXPECT_EQ(r.capacity(), 1u);
}

TEST(CatalogTest, InternOfKnownIdReturnsItsDenseIdAndKeepsItAlive) {
  Catalog c;
  uint32_t d = c.Upsert(Info("a"));
  EXPECT_EQ(c.Intern("a"), d);
  EXPECT_EQ(c.size(), 1u);
  Catalog::Reader r(c);
  EXPECT_TRUE(r.Row(d).alive);
}

TEST(CatalogTest, UpsertAfterInternMakesItemAlive) {
  Catalog c;
  uint32_t d = c.Intern("early");
  EXPECT_EQ(c.Upsert(Info("early")), d);
  EXPECT_EQ(c.size(), 1u);
  Catalog::Reader r(c);
  EXPECT_TRUE(r.Row(d).alive);
}

TEST(CatalogTest, RemoveOfInternedOnlyIdIsNotFound) {
  Catalog c;
  c.Intern("ghost");
  EXPECT_FALSE(c.Remove("ghost").has_value());
  EXPECT_EQ(c.size(), 0u);
}

TEST(CatalogTest, ReUpsertOfDeletedItemRevivesIt) {
  Catalog c;
  uint32_t d = c.Upsert(Info("a"));
  ASSERT_TRUE(c.Remove("a").has_value());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.Upsert(Info("a", {"back"})), d);
  EXPECT_EQ(c.size(), 1u);
  Catalog::Reader r(c);
  EXPECT_TRUE(r.Row(d).alive);
  ASSERT_EQ(r.Row(d).categories().size(), 1u);
  EXPECT_EQ(r.Row(d).categories()[0], r.Label("back"));
}

TEST(CatalogTest, LabelsAreInternedAndSharedBetweenItems) {
  Catalog c;
  uint32_t a = c.Upsert(Info("a", {"sports", "shoes"}, {"running"}));
  uint32_t b = c.Upsert(Info("b", {"shoes"}, {"running", "brand:acme"}));
  Catalog::Reader r(c);
  auto shoes = r.Label("shoes");
  auto sports = r.Label("sports");
  auto running = r.Label("running");
  auto acme = r.Label("brand:acme");
  ASSERT_TRUE(shoes && sports && running && acme);
  EXPECT_NE(*shoes, *sports);
  EXPECT_NE(*running, *acme);
  EXPECT_FALSE(r.Label("unknown").has_value());

  // Rows hold sorted label ids; the same label has the same id in both.
  std::vector<uint32_t> a_cats = {*shoes, *sports};
  std::sort(a_cats.begin(), a_cats.end());
  EXPECT_EQ(Vec(r.Row(a).categories()), a_cats);
  EXPECT_EQ(Vec(r.Row(b).categories()), std::vector<uint32_t>{*shoes});
  std::vector<uint32_t> b_tags = {*running, *acme};
  std::sort(b_tags.begin(), b_tags.end());
  EXPECT_EQ(Vec(r.Row(a).tags()), std::vector<uint32_t>{*running});
  EXPECT_EQ(Vec(r.Row(b).tags()), b_tags);
}

TEST(CatalogTest, DenseIdsAreNeverReused) {
  Catalog c;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(c.Upsert(Info("i" + std::to_string(i))));
  for (int i = 0; i < 20; i += 2) ASSERT_TRUE(c.Remove("i" + std::to_string(i)).has_value());
  uint32_t fresh = c.Upsert(Info("new"));
  for (uint32_t d : ids) EXPECT_NE(fresh, d);
  EXPECT_EQ(c.size(), 11u);
  Catalog::Reader r(c);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(r.Id(ids[i]), "i" + std::to_string(i));
    EXPECT_EQ(r.Row(ids[i]).alive, i % 2 == 1);
  }
}

TEST(CatalogTest, LabelNameIsTheInternedString) {
  Catalog c;
  c.Upsert(Info("a", {"shoes"}, {"brand:acme"}));
  Catalog::Reader r(c);
  auto shoes = r.Label("shoes");
  auto acme = r.Label("brand:acme");
  ASSERT_TRUE(shoes && acme);
  EXPECT_EQ(r.LabelName(*shoes), "shoes");
  EXPECT_EQ(r.LabelName(*acme), "brand:acme");
}

ItemInfo Episode(const std::string& id, const std::string& series, double index) {
  ItemInfo info = Info(id);
  info.series_id = series;
  info.series_index = index;
  return info;
}

TEST(CatalogTest, NextInSeriesIsTheSmallestGreaterIndex) {
  Catalog c;
  // Inserted out of order, with a second series and a non-member.
  uint32_t e3 = c.Upsert(Episode("s1e3", "show", 3));
  uint32_t e1 = c.Upsert(Episode("s1e1", "show", 1));
  uint32_t e2 = c.Upsert(Episode("s1e2", "show", 2));
  uint32_t other = c.Upsert(Episode("other1", "other-show", 1.5));
  uint32_t solo = c.Upsert(Info("solo"));
  Catalog::Reader r(c);
  EXPECT_EQ(r.NextInSeries(e1), e2);
  EXPECT_EQ(r.NextInSeries(e2), e3);
  EXPECT_FALSE(r.NextInSeries(e3).has_value()) << "last episode";
  EXPECT_FALSE(r.NextInSeries(other).has_value()) << "other series is separate";
  EXPECT_FALSE(r.NextInSeries(solo).has_value());
  EXPECT_EQ(r.Row(solo).series, ItemRow::kNoSeries);
}

TEST(CatalogTest, NextInSeriesSkipsDeletedItems) {
  Catalog c;
  uint32_t e1 = c.Upsert(Episode("e1", "show", 1));
  c.Upsert(Episode("e2", "show", 2));
  uint32_t e3 = c.Upsert(Episode("e3", "show", 3));
  ASSERT_TRUE(c.Remove("e2").has_value());
  Catalog::Reader r(c);
  EXPECT_EQ(r.NextInSeries(e1), e3);
}

TEST(CatalogTest, ReUpsertMovesAnItemBetweenSeries) {
  Catalog c;
  uint32_t a1 = c.Upsert(Episode("a1", "A", 1));
  uint32_t moved = c.Upsert(Episode("x", "A", 2));
  uint32_t b1 = c.Upsert(Episode("b1", "B", 1));
  {
    Catalog::Reader r(c);
    ASSERT_EQ(r.NextInSeries(a1), moved);
  }
  EXPECT_EQ(c.Upsert(Episode("x", "B", 5)), moved);
  {
    Catalog::Reader r(c);
    EXPECT_FALSE(r.NextInSeries(a1).has_value()) << "x left series A";
    EXPECT_EQ(r.NextInSeries(b1), moved);
  }
  c.Upsert(Info("x"));  // no series any more
  Catalog::Reader r(c);
  EXPECT_FALSE(r.NextInSeries(b1).has_value());
  EXPECT_EQ(r.Row(moved).series, ItemRow::kNoSeries);
}

// FindMany answers as Find does for every id of a batch longer than its
// prefetch group, known ids, interned-only ids and unknown ones alike, and
// a reserved catalog numbers items as an unreserved one.
TEST(CatalogTest, FindManyAnswersAsFindAndReserveKeepsTheNumbering) {
  Catalog reserved, plain;
  reserved.Reserve(1000);
  for (int i = 0; i < 300; ++i) {
    const std::string id = "item-" + std::to_string(i);
    const uint32_t a = i % 3 == 0 ? reserved.Intern(id) : reserved.Upsert(Info(id));
    const uint32_t b = i % 3 == 0 ? plain.Intern(id) : plain.Upsert(Info(id));
    EXPECT_EQ(a, b) << id;
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 400; i += 7) ids.push_back("item-" + std::to_string(i));
  ids.push_back("");
  std::vector<std::string_view> views(ids.begin(), ids.end());
  Catalog::Reader r(reserved);
  std::vector<std::optional<uint32_t>> got(views.size());
  r.FindMany(views, got.data());
  int known = 0;
  for (size_t i = 0; i < views.size(); ++i) {
    EXPECT_EQ(got[i], r.Find(views[i])) << views[i];
    known += got[i].has_value() ? 1 : 0;
  }
  EXPECT_EQ(known, 43);  // item-0 .. item-294 in steps of 7
}

// InternMany numbers a batch as Intern one id at a time would: known ids
// keep theirs, new ones (a repeat within the batch too) get the next ids in
// batch order.
TEST(CatalogTest, InternManyNumbersAsInternOneAtATime) {
  Catalog many, one;
  for (Catalog* c : {&many, &one}) {
    c->Upsert(Info("a"));
    c->Intern("b");
  }
  const std::vector<std::string_view> ids = {"new-1", "a", "new-2", "b", "new-1", "new-3"};
  std::vector<uint32_t> got(ids.size());
  many.InternMany(ids, got.data());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(got[i], one.Intern(ids[i])) << ids[i];
  EXPECT_EQ(got[4], got[0]);
  EXPECT_EQ(many.size(), 1u);  // interned ids are not live items
}

}  // namespace
}  // namespace recd::core
