#include "core/validate.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace recd::core {
namespace {

using recd::testing::MakeEvent;
using recd::testing::MakeItem;
using recd::testing::SetTimestampUs;
using recd::v1::Event;
using recd::v1::Item;
using recd::v1::RecommendRequest;
using recd::v1::records::StoredEvent;

constexpr int64_t kNow = 1717200000LL * 1000000;  // 2024-06-01T00:00:00Z
constexpr int64_t kMaxSeconds = 253402300799LL;   // 9999-12-31T23:59:59Z

// Passes when `st` is INVALID_ARGUMENT and its message starts with "path:".
::testing::AssertionResult IsInvalidAt(const absl::Status& st, const std::string& path) {
  if (st.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "expected INVALID_ARGUMENT at " << path << ", got " << st;
  }
  if (!absl::StartsWith(st.message(), path + ":")) {
    return ::testing::AssertionFailure()
           << "message does not start with \"" << path << ":\": " << st.message();
  }
  return ::testing::AssertionSuccess();
}

class ValidateTest : public ::testing::Test {
 protected:
  ValidateTest() {
    options_.dimension = 4;
    options_.limits.max_id_bytes = 16;
    options_.limits.max_label_bytes = 8;
    options_.limits.max_labels = 3;
    options_.limits.max_properties = 2;
    options_.limits.max_k = 50;
    options_.limits.max_exclusions = 4;
    options_.limits.max_future_skew_seconds = 300;
    options_.default_k = 7;
    options_.surfaces["home"] = SurfaceOptions{};
  }

  Event GoodEvent() const { return MakeEvent("user-1", "item-1", "view", kNow - 1000); }

  // ConvertEvents over `events`; *out receives the records.
  absl::Status Convert(const std::vector<Event>& events, std::vector<StoredEvent>* out = nullptr,
                       int first_index = 0) const {
    google::protobuf::RepeatedPtrField<Event> field;
    for (const auto& e : events) *field.Add() = e;
    std::vector<StoredEvent> local;
    return ConvertEvents(field, first_index, options_, kNow, out ? out : &local);
  }
  // One bad event placed second, after a good one: the path names index 1.
  absl::Status ConvertSecond(const Event& bad) const { return Convert({GoodEvent(), bad}); }

  Item GoodItem() const { return MakeItem("item-1", {"c1"}, {"t1"}, {1, 2, 3, 4}); }
  absl::Status CheckItem(const Item& item) const {
    return ValidateItem(item, "items[0]", options_);
  }

  RecommendRequest GoodRequest() const {
    RecommendRequest r;
    r.set_user_id("user-1");
    return r;
  }
  absl::Status CheckRequest(const RecommendRequest& r) const {
    return ConvertRecommendRequest(r, options_, kNow).status();
  }

  EngineOptions options_;
};

// ---------------------------------------------------------------- ids

TEST_F(ValidateTest, IdHappyPathAtTheLimit) {
  EXPECT_TRUE(ValidateId("a", "f", options_.limits).ok());
  EXPECT_TRUE(ValidateId(std::string(16, 'x'), "f", options_.limits).ok());
  EXPECT_TRUE(ValidateId("caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80", "f", options_.limits).ok())
      << "multi-byte UTF-8 is fine";
}

TEST_F(ValidateTest, IdEmptyIsInvalid) {
  EXPECT_TRUE(IsInvalidAt(ValidateId("", "some.path", options_.limits), "some.path"));
}

TEST_F(ValidateTest, IdOversizedIsInvalid) {
  EXPECT_TRUE(IsInvalidAt(ValidateId(std::string(17, 'x'), "p", options_.limits), "p"));
}

TEST_F(ValidateTest, IdNotUtf8IsInvalid) {
  EXPECT_TRUE(IsInvalidAt(ValidateId("ab\xff", "p", options_.limits), "p"));
  EXPECT_TRUE(IsInvalidAt(ValidateId("\xc3", "p", options_.limits), "p")) << "truncated sequence";
  EXPECT_TRUE(IsInvalidAt(ValidateId("\xc3\x28", "p", options_.limits), "p")) << "bad continuation";
  EXPECT_TRUE(IsInvalidAt(ValidateId("\x80", "p", options_.limits), "p")) << "lone continuation";
}

// Regression: CleanUtf8 (core/validate.cc) once checked only the lead byte's
// length and the continuation bytes' top bits, accepting overlong forms (C0 80
// is an overlong U+0000, a NUL smuggled past the control check), UTF-16
// surrogates (ED A0 80) and code points above U+10FFFF (F4 90 80 80). None is
// valid UTF-8 (RFC 3629), and protobuf refuses to parse such proto3 strings
// back, so such an id in the log would wedge the fold-in worker.
TEST_F(ValidateTest, IdInvalidUtf8FormsAreInvalid) {
  EXPECT_TRUE(IsInvalidAt(ValidateId("a\xc0\x80", "p", options_.limits), "p")) << "overlong NUL";
  EXPECT_TRUE(IsInvalidAt(ValidateId("\xe0\x80\xaf", "p", options_.limits), "p")) << "overlong '/'";
  EXPECT_TRUE(IsInvalidAt(ValidateId("\xed\xa0\x80", "p", options_.limits), "p"))
      << "surrogate U+D800";
  EXPECT_TRUE(IsInvalidAt(ValidateId("\xf4\x90\x80\x80", "p", options_.limits), "p"))
      << "above U+10FFFF";
}

TEST_F(ValidateTest, IdControlCharacterIsInvalid) {
  EXPECT_TRUE(IsInvalidAt(ValidateId("a\nb", "p", options_.limits), "p"));
  EXPECT_TRUE(IsInvalidAt(ValidateId(std::string("a\0b", 3), "p", options_.limits), "p"));
  EXPECT_TRUE(IsInvalidAt(ValidateId("a\x7f", "p", options_.limits), "p"));
}

// ---------------------------------------------------------------- events

TEST_F(ValidateTest, EventHappyPathFillsRecord) {
  Event e = GoodEvent();
  e.set_event_id("evt-1");
  e.set_session_id("sess-1");
  e.mutable_value()->set_value(9.5);
  e.set_recommendation_id("rec-1");
  e.set_position(3);
  Event no_time = MakeEvent("user-2", "item-2", "purchase");
  std::vector<StoredEvent> out;
  ASSERT_TRUE(Convert({e, no_time}, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event_id(), "evt-1");
  EXPECT_EQ(out[0].user_id(), "user-1");
  EXPECT_EQ(out[0].session_id(), "sess-1");
  EXPECT_EQ(out[0].item_id(), "item-1");
  EXPECT_EQ(out[0].type(), "view");
  EXPECT_EQ(out[0].occurred_at_us(), kNow - 1000);
  EXPECT_TRUE(out[0].has_value());
  EXPECT_DOUBLE_EQ(out[0].value(), 9.5);
  EXPECT_EQ(out[0].recommendation_id(), "rec-1");
  EXPECT_EQ(out[0].position(), 3);
  EXPECT_EQ(out[0].seq(), 0u) << "seq is the commit thread's";
  EXPECT_EQ(out[1].occurred_at_us(), kNow) << "unset occurred_at means receive time";
  EXPECT_FALSE(out[1].has_value());
}

TEST_F(ValidateTest, EventSessionOnlyIsValid) {
  Event e = GoodEvent();
  e.clear_user_id();
  e.set_session_id("anon-1");
  EXPECT_TRUE(Convert({e}).ok());
}

TEST_F(ValidateTest, EventNeitherUserNorSessionIsInvalid) {
  Event e = GoodEvent();
  e.clear_user_id();
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].user_id"));
}

TEST_F(ValidateTest, EventOversizedUserIdIsInvalid) {
  Event e = GoodEvent();
  e.set_user_id(std::string(17, 'u'));
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].user_id"));
}

TEST_F(ValidateTest, EventNonUtf8UserIdIsInvalid) {
  Event e = GoodEvent();
  e.set_user_id("bad\xfe");
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].user_id"));
}

TEST_F(ValidateTest, EventOversizedSessionIdIsInvalid) {
  Event e = GoodEvent();
  e.set_session_id(std::string(17, 's'));
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].session_id"));
}

TEST_F(ValidateTest, EventNonUtf8SessionIdIsInvalid) {
  Event e = GoodEvent();
  e.clear_user_id();
  e.set_session_id("\xc0");
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].session_id"));
}

TEST_F(ValidateTest, EventEmptyItemIdIsInvalid) {
  Event e = GoodEvent();
  e.clear_item_id();
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].item_id"));
}

TEST_F(ValidateTest, EventOversizedItemIdIsInvalid) {
  Event e = GoodEvent();
  e.set_item_id(std::string(17, 'i'));
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].item_id"));
}

TEST_F(ValidateTest, EventNonUtf8ItemIdIsInvalid) {
  Event e = GoodEvent();
  e.set_item_id("\xed\xa0");  // truncated 3-byte sequence
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].item_id"));
}

TEST_F(ValidateTest, EventOversizedEventIdIsInvalid) {
  Event e = GoodEvent();
  e.set_event_id(std::string(17, 'e'));
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].event_id"));
}

TEST_F(ValidateTest, EventNonUtf8EventIdIsInvalid) {
  Event e = GoodEvent();
  e.set_event_id("id\x01");
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].event_id"));
}

TEST_F(ValidateTest, EventOversizedRecommendationIdIsInvalid) {
  Event e = GoodEvent();
  e.set_recommendation_id(std::string(17, 'r'));
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].recommendation_id"));
}

TEST_F(ValidateTest, EventUnknownTypeIsInvalid) {
  Event e = GoodEvent();
  e.set_type("like");
  absl::Status st = ConvertSecond(e);
  EXPECT_TRUE(IsInvalidAt(st, "events[1].type"));
  EXPECT_TRUE(absl::StrContains(st.message(), "\"like\"")) << st;
}

TEST_F(ValidateTest, EventEmptyTypeIsInvalid) {
  Event e = GoodEvent();
  e.clear_type();
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].type"));
}

TEST_F(ValidateTest, EventPathCountsFromFirstIndex) {
  Event e = GoodEvent();
  e.set_type("like");
  EXPECT_TRUE(
      IsInvalidAt(Convert({GoodEvent(), e}, nullptr, /*first_index=*/40), "events[41].type"));
}

TEST_F(ValidateTest, EventConfiguredTypeIsAccepted) {
  options_.event_weights["like"] = 3;
  Event e = GoodEvent();
  e.set_type("like");
  EXPECT_TRUE(Convert({e}).ok());
}

TEST_F(ValidateTest, EventNegativeNanosIsInvalid) {
  Event e = GoodEvent();
  e.mutable_occurred_at()->set_nanos(-1);
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].occurred_at"));
}

TEST_F(ValidateTest, EventNanosOfOneSecondIsInvalid) {
  Event e = GoodEvent();
  e.mutable_occurred_at()->set_nanos(1000000000);
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].occurred_at"));
}

TEST_F(ValidateTest, EventSecondsBeyondYear9999IsInvalid) {
  // Allow any skew so that only the timestamp range rule can reject it.
  options_.limits.max_future_skew_seconds = 1e12;  // ~31700 years
  Event e = GoodEvent();
  e.mutable_occurred_at()->set_seconds(kMaxSeconds + 1);
  e.mutable_occurred_at()->set_nanos(0);
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].occurred_at"));
}

TEST_F(ValidateTest, EventFarFutureOccurredAtIsInvalid) {
  Event e = GoodEvent();
  SetTimestampUs(e.mutable_occurred_at(), kNow + 301LL * 1000000);
  absl::Status st = ConvertSecond(e);
  EXPECT_TRUE(IsInvalidAt(st, "events[1].occurred_at"));
  EXPECT_TRUE(absl::StrContains(st.message(), "future")) << st;
}

TEST_F(ValidateTest, EventWithinFutureSkewIsAccepted) {
  Event e = GoodEvent();
  SetTimestampUs(e.mutable_occurred_at(), kNow + 299LL * 1000000);
  std::vector<StoredEvent> out;
  ASSERT_TRUE(Convert({e}, &out).ok());
  EXPECT_EQ(out[0].occurred_at_us(), kNow + 299LL * 1000000);
}

TEST_F(ValidateTest, EventBeforeEpochIsInvalid) {
  Event e = GoodEvent();
  e.mutable_occurred_at()->set_seconds(-10);
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].occurred_at"));
}

TEST_F(ValidateTest, EventNanValueIsInvalid) {
  Event e = GoodEvent();
  e.mutable_value()->set_value(std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].value"));
}

TEST_F(ValidateTest, EventInfiniteValueIsInvalid) {
  Event e = GoodEvent();
  e.mutable_value()->set_value(-std::numeric_limits<double>::infinity());
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].value"));
}

TEST_F(ValidateTest, EventZeroValueIsKeptAsPresent) {
  Event e = GoodEvent();
  e.mutable_value()->set_value(0.0);
  std::vector<StoredEvent> out;
  ASSERT_TRUE(Convert({e}, &out).ok());
  EXPECT_TRUE(out[0].has_value()) << "a wrapper set to 0 is a value, not 'none'";
}

TEST_F(ValidateTest, EventNegativePositionIsInvalid) {
  Event e = GoodEvent();
  e.set_position(-1);
  EXPECT_TRUE(IsInvalidAt(ConvertSecond(e), "events[1].position"));
}

TEST_F(ValidateTest, EventErrorAppendsNothingFromLaterEvents) {
  Event bad = GoodEvent();
  bad.set_type("like");
  std::vector<StoredEvent> out;
  EXPECT_FALSE(Convert({bad, GoodEvent()}, &out).ok());
  EXPECT_TRUE(out.empty());
}

// ---------------------------------------------------------------- timestamps

TEST_F(ValidateTest, TimestampToUsConvertsAndChecksRange) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(1717200000);
  ts.set_nanos(123456789);
  auto us = TimestampToUs(ts, "t");
  ASSERT_TRUE(us.ok());
  EXPECT_EQ(*us, 1717200000LL * 1000000 + 123456);
  ts.set_seconds(kMaxSeconds);
  ts.set_nanos(999999999);
  EXPECT_TRUE(TimestampToUs(ts, "t").ok()) << "last instant of 9999 is valid";
  ts.set_seconds(kMaxSeconds + 1);
  ts.set_nanos(0);
  EXPECT_TRUE(IsInvalidAt(TimestampToUs(ts, "x.y").status(), "x.y"));
  ts.set_seconds(-62135596801LL);  // before 0001-01-01
  EXPECT_TRUE(IsInvalidAt(TimestampToUs(ts, "x.y").status(), "x.y"));
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_TRUE(IsInvalidAt(TimestampToUs(ts, "x.y").status(), "x.y"));
  ts.set_nanos(1000000000);
  EXPECT_TRUE(IsInvalidAt(TimestampToUs(ts, "x.y").status(), "x.y"));
}

// ---------------------------------------------------------------- items

TEST_F(ValidateTest, ItemHappyPath) {
  Item item = GoodItem();
  (*item.mutable_properties())["title"] = "T";
  SetTimestampUs(item.mutable_created_at(), kNow);
  SetTimestampUs(item.mutable_expires_at(), kNow + 1);
  EXPECT_TRUE(CheckItem(item).ok());
  Item bare = MakeItem("x");
  EXPECT_TRUE(CheckItem(bare).ok()) << "no vector, no labels is fine";
}

TEST_F(ValidateTest, ItemEmptyIdIsInvalid) {
  Item item = GoodItem();
  item.clear_id();
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].id"));
}

TEST_F(ValidateTest, ItemOversizedIdIsInvalid) {
  Item item = GoodItem();
  item.set_id(std::string(17, 'x'));
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].id"));
}

TEST_F(ValidateTest, ItemNonUtf8IdIsInvalid) {
  Item item = GoodItem();
  item.set_id("\xff");
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].id"));
}

TEST_F(ValidateTest, ItemVectorOfWrongDimensionIsInvalid) {
  Item item = GoodItem();
  item.add_vector(5);
  absl::Status st = CheckItem(item);
  EXPECT_TRUE(IsInvalidAt(st, "items[0].vector"));
  item.clear_vector();
  item.add_vector(1);
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].vector"));
}

TEST_F(ValidateTest, ItemNonFiniteVectorComponentIsInvalid) {
  Item item = GoodItem();
  item.set_vector(2, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].vector[2]"));
  item.set_vector(2, 0);
  item.set_vector(3, std::numeric_limits<float>::infinity());
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].vector[3]"));
}

TEST_F(ValidateTest, ItemTooManyCategoriesIsInvalid) {
  Item item = MakeItem("i", {"a", "b", "c", "d"});
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].categories"));
  item.mutable_categories()->RemoveLast();
  EXPECT_TRUE(CheckItem(item).ok()) << "exactly max_labels is fine";
}

TEST_F(ValidateTest, ItemTooManyTagsIsInvalid) {
  Item item = MakeItem("i", {}, {"a", "b", "c", "d"});
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].tags"));
}

TEST_F(ValidateTest, ItemTooManyPropertiesIsInvalid) {
  Item item = GoodItem();
  auto& p = *item.mutable_properties();
  p["a"] = "1";
  p["b"] = "2";
  EXPECT_TRUE(CheckItem(item).ok());
  p["c"] = "3";
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].properties"));
}

TEST_F(ValidateTest, ItemOversizedCategoryIsInvalid) {
  Item item = MakeItem("i", {"ok", std::string(9, 'c')});
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].categories[1]"));
}

TEST_F(ValidateTest, ItemOversizedTagIsInvalid) {
  Item item = MakeItem("i", {}, {std::string(9, 't')});
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].tags[0]"));
}

TEST_F(ValidateTest, ItemEmptyOrNonUtf8LabelIsInvalid) {
  EXPECT_TRUE(IsInvalidAt(CheckItem(MakeItem("i", {""})), "items[0].categories[0]"));
  EXPECT_TRUE(IsInvalidAt(CheckItem(MakeItem("i", {}, {"a", "\xff"})), "items[0].tags[1]"));
}

TEST_F(ValidateTest, ItemOversizedPropertyKeyIsInvalid) {
  Item item = GoodItem();
  (*item.mutable_properties())[std::string(9, 'k')] = "v";
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].properties[\"kkkkkkkkk\"]"));
}

TEST_F(ValidateTest, ItemOversizedPropertyValueIsInvalid) {
  Item item = GoodItem();
  (*item.mutable_properties())["title"] = std::string(9, 'v');
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].properties[\"title\"]"));
}

TEST_F(ValidateTest, ItemExpiresBeforeCreatedIsInvalid) {
  Item item = GoodItem();
  SetTimestampUs(item.mutable_created_at(), kNow);
  SetTimestampUs(item.mutable_expires_at(), kNow - 1000000);
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].expires_at"));
  SetTimestampUs(item.mutable_expires_at(), kNow);
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].expires_at")) << "equal is not after";
}

TEST_F(ValidateTest, ItemMalformedTimestampsAreInvalid) {
  Item item = GoodItem();
  item.mutable_created_at()->set_nanos(-5);
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].created_at"));
  item.clear_created_at();
  item.mutable_expires_at()->set_seconds(kMaxSeconds + 1);
  EXPECT_TRUE(IsInvalidAt(CheckItem(item), "items[0].expires_at"));
}

TEST_F(ValidateTest, ItemPathIsTheCallersPath) {
  Item item = GoodItem();
  item.clear_id();
  EXPECT_TRUE(IsInvalidAt(ValidateItem(item, "items[7]", options_), "items[7].id"));
}

// ---------------------------------------------------------------- recommend

TEST_F(ValidateTest, RecommendDefaults) {
  auto q = ConvertRecommendRequest(GoodRequest(), options_, kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->k, 7) << "k 0 means default_k";
  EXPECT_EQ(q->page_size, 7) << "page_size 0 means k";
  EXPECT_EQ(q->surface, "default");
  EXPECT_EQ(q->user_id, "user-1");
  EXPECT_EQ(q->now_us, kNow);
  EXPECT_TRUE(q->exclude_item_ids.empty());
}

TEST_F(ValidateTest, RecommendExplicitValuesAreKept) {
  RecommendRequest r = GoodRequest();
  r.set_session_id("s-1");
  r.set_k(50);
  r.set_page_size(10);
  r.set_surface("home");
  r.add_exclude_item_ids("x");
  r.add_include_categories("c1");
  r.add_exclude_categories("c2");
  auto q = ConvertRecommendRequest(r, options_, kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->k, 50);
  EXPECT_EQ(q->page_size, 10);
  EXPECT_EQ(q->surface, "home");
  EXPECT_EQ(q->session_id, "s-1");
  EXPECT_EQ(q->exclude_item_ids, std::vector<std::string>{"x"});
  EXPECT_EQ(q->include_categories, std::vector<std::string>{"c1"});
  EXPECT_EQ(q->exclude_categories, std::vector<std::string>{"c2"});
}

TEST_F(ValidateTest, RecommendPageSizeAboveKIsK) {
  RecommendRequest r = GoodRequest();
  r.set_k(5);
  r.set_page_size(100);
  auto q = ConvertRecommendRequest(r, options_, kNow);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->page_size, 5);
}

TEST_F(ValidateTest, RecommendSessionOnlyIsValid) {
  RecommendRequest r;
  r.set_session_id("anon");
  EXPECT_TRUE(CheckRequest(r).ok());
}

TEST_F(ValidateTest, RecommendNegativeKIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.set_k(-1);
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "k"));
}

TEST_F(ValidateTest, RecommendKAboveMaxIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.set_k(51);
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "k"));
}

TEST_F(ValidateTest, RecommendNegativePageSizeIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.set_page_size(-3);
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "page_size"));
}

TEST_F(ValidateTest, RecommendUnknownSurfaceIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.set_surface("nowhere");
  absl::Status st = CheckRequest(r);
  EXPECT_TRUE(IsInvalidAt(st, "surface"));
  EXPECT_TRUE(absl::StrContains(st.message(), "nowhere")) << st;
}

TEST_F(ValidateTest, RecommendNeitherUserNorSessionIsInvalid) {
  RecommendRequest r;
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "user_id"));
}

TEST_F(ValidateTest, RecommendOversizedUserIdIsInvalid) {
  RecommendRequest r;
  r.set_user_id(std::string(17, 'u'));
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "user_id"));
}

TEST_F(ValidateTest, RecommendOversizedSessionIdIsInvalid) {
  RecommendRequest r;
  r.set_session_id(std::string(17, 's'));
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "session_id"));
}

TEST_F(ValidateTest, RecommendNonUtf8SessionIdIsInvalid) {
  RecommendRequest r;
  r.set_session_id("\xfe\xff");
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "session_id"));
}

TEST_F(ValidateTest, RecommendTooManyExclusionsIsInvalid) {
  RecommendRequest r = GoodRequest();
  for (int i = 0; i < 4; ++i) r.add_exclude_item_ids("x" + std::to_string(i));
  EXPECT_TRUE(CheckRequest(r).ok()) << "exactly max_exclusions is fine";
  r.add_exclude_item_ids("x4");
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "exclude_item_ids"));
}

TEST_F(ValidateTest, RecommendBadExcludedIdIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.add_exclude_item_ids("ok");
  r.add_exclude_item_ids("");
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "exclude_item_ids[1]"));
}

TEST_F(ValidateTest, RecommendBadCategoryFilterIsInvalid) {
  RecommendRequest r = GoodRequest();
  r.add_include_categories(std::string(9, 'c'));
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r), "include_categories[0]"));
  RecommendRequest r2 = GoodRequest();
  r2.add_exclude_categories("\xff");
  EXPECT_TRUE(IsInvalidAt(CheckRequest(r2), "exclude_categories[0]"));
}

// ---------------------------------------------------------------- related

TEST_F(ValidateTest, RelatedNeedsNoViewer) {
  recd::v1::RelatedItemsRequest r;
  r.set_item_id("item-1");
  auto q = ConvertRelatedRequest(r, options_, kNow);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->k, 7);
  EXPECT_EQ(q->page_size, 7);
  EXPECT_EQ(q->surface, "default");
}

TEST_F(ValidateTest, RelatedEmptyItemIdIsInvalid) {
  recd::v1::RelatedItemsRequest r;
  r.set_user_id("user-1");
  EXPECT_TRUE(IsInvalidAt(ConvertRelatedRequest(r, options_, kNow).status(), "item_id"));
  r.set_item_id(std::string(17, 'i'));
  EXPECT_TRUE(IsInvalidAt(ConvertRelatedRequest(r, options_, kNow).status(), "item_id"));
}

TEST_F(ValidateTest, RelatedAppliesTheRecommendRules) {
  recd::v1::RelatedItemsRequest r;
  r.set_item_id("item-1");
  r.set_k(51);
  EXPECT_TRUE(IsInvalidAt(ConvertRelatedRequest(r, options_, kNow).status(), "k"));
  r.set_k(0);
  r.set_surface("nowhere");
  EXPECT_TRUE(IsInvalidAt(ConvertRelatedRequest(r, options_, kNow).status(), "surface"));
  r.clear_surface();
  r.set_session_id(std::string(17, 's'));
  EXPECT_TRUE(IsInvalidAt(ConvertRelatedRequest(r, options_, kNow).status(), "session_id"));
}

}  // namespace
}  // namespace recd::core
