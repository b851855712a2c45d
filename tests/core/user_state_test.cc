#include "core/user_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/user_store.h"

namespace recd::core {
namespace {

using recd::v1::records::UserItem;
using recd::v1::records::UserState;

TEST(UserStateTest, TypesAreMaskBitsOverTheStatesOwnNames) {
  UserState s;
  UserItem* a = s.add_items();
  UserItem* b = s.add_items();
  AddType("view", &s, a);
  AddType("cart", &s, b);
  AddType("view", &s, b);
  AddType("view", &s, a);  // again: no second name, no change
  EXPECT_EQ(s.type_names_size(), 2);
  EXPECT_EQ(a->type_mask(), 1u);
  EXPECT_EQ(b->type_mask(), 3u);
  EXPECT_TRUE(a->types().empty());

  const std::vector<std::string> seen = {"view", "click"}, carted = {"cart"}, none = {"purchase"};
  EXPECT_TRUE(HasType(*a, TypeBits(s, seen), seen));
  EXPECT_FALSE(HasType(*a, TypeBits(s, carted), carted));
  EXPECT_TRUE(HasType(*b, TypeBits(s, carted), carted));
  EXPECT_EQ(TypeBits(s, none), 0u);
  EXPECT_FALSE(HasType(*b, TypeBits(s, none), none));
}

TEST(UserStateTest, BeyondSixtyFourTypeNamesTheNamesAreKeptSortedOnTheItem) {
  UserState s;
  UserItem* it = s.add_items();
  for (int i = 0; i < 64; ++i) AddType("t" + std::to_string(i), &s, it);
  EXPECT_EQ(it->type_mask(), ~uint64_t{0});
  for (const char* t : {"zz", "aa", "zz", "mm"}) AddType(t, &s, it);
  EXPECT_EQ(s.type_names_size(), 64);
  EXPECT_EQ(std::vector<std::string>(it->types().begin(), it->types().end()),
            (std::vector<std::string>{"aa", "mm", "zz"}));
  const std::vector<std::string> mm = {"mm"}, t63 = {"t63"}, other = {"nn"};
  EXPECT_TRUE(HasType(*it, TypeBits(s, mm), mm));
  EXPECT_TRUE(HasType(*it, TypeBits(s, t63), t63));
  EXPECT_FALSE(HasType(*it, TypeBits(s, other), other));
}

TEST(UserStateTest, PrepareMovesStoredTypeNamesIntoTheMaskAndCachesDenseIds) {
  Catalog catalog;
  catalog.Intern("x");
  const uint32_t y = catalog.Intern("y");
  // A state as an earlier build stored it: type names per item, no dense ids.
  UserState s;
  UserItem* it = s.add_items();
  it->set_item_id("y");
  it->add_types("click");
  it->add_types("view");
  UserItem* unknown = s.add_items();
  unknown->set_item_id("never-upserted");
  unknown->add_types("view");
  s.add_session()->set_item_id("y");
  {
    Catalog::Reader r(catalog);
    EXPECT_FALSE(DenseValid(s, r));
    EXPECT_EQ(DenseOf(r, false, *unknown), std::nullopt);
  }

  PrepareForFold(catalog, &s);
  EXPECT_TRUE(it->types().empty());
  EXPECT_TRUE(unknown->types().empty());
  const std::vector<std::string> view = {"view"}, click = {"click"};
  EXPECT_TRUE(HasType(*it, TypeBits(s, view), view));
  EXPECT_TRUE(HasType(*it, TypeBits(s, click), click));
  EXPECT_TRUE(HasType(*unknown, TypeBits(s, view), view));
  EXPECT_FALSE(HasType(*unknown, TypeBits(s, click), click));
  Catalog::Reader r(catalog);
  ASSERT_TRUE(DenseValid(s, r));
  EXPECT_EQ(DenseOf(r, true, *it), y);
  EXPECT_EQ(DenseOf(r, true, s.session(0)), y);
  // An id the catalog did not know is interned, as the fold-in does for
  // events, so a later upsert of it keeps the cached id.
  EXPECT_EQ(DenseOf(r, true, *unknown), r.Find("never-upserted"));
}

// ItemDenseIds: the cached ids when valid, else the catalog's lookups
// (nullopt for an id it never saw), in the order of the state's items.
TEST(UserStateTest, ItemDenseIdsAreDenseOfEachItem) {
  Catalog first, second;
  UserState s;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "i" + std::to_string(i);
    first.Intern(id);
    if (i % 3 != 0) second.Intern(id);
    s.add_items()->set_item_id(id);
  }
  s.add_items()->set_item_id("unknown");
  PrepareForFold(first, &s);
  for (Catalog* c : {&first, &second}) {
    Catalog::Reader r(*c);
    const bool cached = DenseValid(s, r);
    EXPECT_EQ(cached, c == &first);
    EXPECT_TRUE(ItemDenseIds(r, nullptr).empty());
    const auto dense = ItemDenseIds(r, &s);
    ASSERT_EQ(dense.size(), static_cast<size_t>(s.items_size()));
    for (int i = 0; i < s.items_size(); ++i) {
      EXPECT_EQ(dense[i], DenseOf(r, cached, s.items(i))) << i;
    }
    EXPECT_EQ(dense[0].has_value(), c == &first);
    EXPECT_TRUE(dense[1].has_value());
  }
}

TEST(UserStateTest, DenseIdsOfAnotherCatalogAreNotValid) {
  Catalog first, second;
  EXPECT_NE(first.epoch(), second.epoch());
  EXPECT_NE(first.epoch(), 0u);
  first.Intern("a");
  first.Intern("b");
  second.Intern("b");  // numbered differently, as after a restart
  second.Intern("a");
  UserState s;
  s.add_items()->set_item_id("a");
  PrepareForFold(first, &s);
  EXPECT_EQ(s.items(0).dense(), 0u);
  {
    Catalog::Reader r(second);
    ASSERT_FALSE(DenseValid(s, r));
    EXPECT_EQ(DenseOf(r, DenseValid(s, r), s.items(0)), 1u);
  }
  PrepareForFold(second, &s);
  Catalog::Reader r(second);
  EXPECT_TRUE(DenseValid(s, r));
  EXPECT_EQ(s.items(0).dense(), 1u);
}

}  // namespace
}  // namespace recd::core
