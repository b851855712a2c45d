#include "eval/popularity.h"

#include <cmath>

#include "gtest/gtest.h"

namespace recd::eval {
namespace {

EventRow Ev(const char* user, const char* item) {
  EventRow e;
  e.user = user;
  e.item = item;
  e.type = "view";
  return e;
}

TEST(PopularityStats, CountsDistinctUsersOnTrainOnly) {
  // Index 4 (u4 on c) is not in train: it must count neither as a user nor for c.
  std::vector<EventRow> events = {Ev("u1", "a"), Ev("u1", "a"), Ev("u2", "a"),
                                  Ev("u1", "b"), Ev("u4", "c"), Ev("u2", "new")};
  std::vector<ItemMeta> catalog = {
      {"a", {}, {}, "", 0}, {"b", {}, {}, "", 0}, {"c", {}, {}, "", 0}};
  PopularityStats pop(events, {0, 1, 2, 3, 5}, catalog);
  EXPECT_EQ(pop.num_users(), 2);
  EXPECT_EQ(pop.Count("a"), 2);  // u1 twice counts once
  EXPECT_EQ(pop.Count("b"), 1);
  EXPECT_EQ(pop.Count("c"), 0);
  EXPECT_EQ(pop.Count("new"), 1);  // train item missing from the catalog joins it
  EXPECT_EQ(pop.catalog_size(), 4u);
  EXPECT_FALSE(pop.InCatalog("zz"));
  // -log2(1/2) = 1; a is seen by every user: 0.
  EXPECT_NEAR(pop.SelfInformation("b"), 1.0, 1e-12);
  EXPECT_NEAR(pop.SelfInformation("a"), 0.0, 1e-12);
  EXPECT_NEAR(pop.SelfInformation("c"), 1.0, 1e-12);  // pop 0 counts as 1
  // Sorted pops [0, 1, 1, 2]: a (3 + 0.5)/4 = 87.5; b and new (1 + 1)/4 = 50; c 0.5/4 = 12.5.
  EXPECT_NEAR(pop.Percentile("a"), 87.5, 1e-12);
  EXPECT_NEAR(pop.Percentile("b"), 50, 1e-12);
  EXPECT_NEAR(pop.Percentile("c"), 12.5, 1e-12);
  EXPECT_EQ(pop.MostPopular(3), (std::vector<std::string>{"a", "b", "new"}));
  EXPECT_EQ(pop.MostPopular(10).size(), 4u);
}

}  // namespace
}  // namespace recd::eval
