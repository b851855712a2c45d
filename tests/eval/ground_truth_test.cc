#include "eval/ground_truth.h"

#include "gtest/gtest.h"

namespace recd::eval {
namespace {

EventRow Ev(const char* user, const char* item, const char* type = "view") {
  EventRow e;
  e.user = user;
  e.item = item;
  e.type = type;
  return e;
}

TEST(BuildGroundTruth, EvaluatesUsersInBothTrainAndTest) {
  std::vector<EventRow> events = {
      Ev("u1", "a"), Ev("u1", "b"), Ev("u2", "a"),  // train 0..2
      Ev("u1", "c"), Ev("u1", "c"), Ev("u1", "a"),  // test: u1
      Ev("u3", "a"),                                // test only: not evaluated
  };
  Split split;
  split.train = {0, 1, 2};
  split.test = {3, 4, 5, 6};
  GroundTruth gt = BuildGroundTruth(events, split);
  // u2 is train-only and u3 test-only: only u1 is evaluated.
  EXPECT_EQ(gt.users, (std::vector<std::string>{"u1"}));
  EXPECT_EQ(gt.relevant.at("u1"), (ItemSet{"a", "c"}));
  EXPECT_EQ(gt.train_items.at("u1"), (ItemSet{"a", "b"}));
  EXPECT_EQ(gt.relevant.count("u3"), 0u);

  GroundTruthOptions drop;
  drop.drop_train_items = true;
  GroundTruth dropped = BuildGroundTruth(events, split, drop);
  EXPECT_EQ(dropped.relevant.at("u1"), (ItemSet{"c"}));
}

TEST(BuildGroundTruth, RelevantTypesFilterAndEmptyUsersDropped) {
  std::vector<EventRow> events = {Ev("u1", "a"), Ev("u2", "a"), Ev("u1", "b", "click"),
                                  Ev("u2", "c", "view")};
  Split split;
  split.train = {0, 1};
  split.test = {2, 3};
  GroundTruthOptions only_clicks;
  only_clicks.relevant_types = {"click"};
  GroundTruth gt = BuildGroundTruth(events, split, only_clicks);
  EXPECT_EQ(gt.users, (std::vector<std::string>{"u1"}));  // u2 has no click in test
  EXPECT_EQ(gt.relevant.at("u1"), (ItemSet{"b"}));
  GroundTruth all = BuildGroundTruth(events, split);
  EXPECT_EQ(all.users, (std::vector<std::string>{"u1", "u2"}));  // sorted
}

}  // namespace
}  // namespace recd::eval
