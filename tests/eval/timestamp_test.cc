#include "eval/timestamp.h"

#include "gtest/gtest.h"

namespace recd::eval {
namespace {

constexpr int64_t kS = 1000000;

TEST(ParseEventTimeUs, IntegerUnitByMagnitude) {
  EXPECT_EQ(*ParseEventTimeUs("1541548939"), 1541548939 * kS);          // seconds
  EXPECT_EQ(*ParseEventTimeUs("1541548939123"), 1541548939123 * 1000);  // ms
  EXPECT_EQ(*ParseEventTimeUs("1541548939123456"), 1541548939123456);   // us
  EXPECT_EQ(*ParseEventTimeUs(" 0 "), 0);
  EXPECT_EQ(*ParseEventTimeUs("99999999999"), 99999999999 * kS);      // < 1e11: seconds
  EXPECT_EQ(*ParseEventTimeUs("100000000000"), 100000000000 * 1000);  // 1e11: ms
}

TEST(ParseEventTimeUs, Iso8601) {
  // 2018-11-07T00:02:19Z = 1541548939.
  EXPECT_EQ(*ParseEventTimeUs("2018-11-07T00:02:19Z"), 1541548939 * kS);
  EXPECT_EQ(*ParseEventTimeUs("2018-11-07T00:02:19"), 1541548939 * kS);
  EXPECT_EQ(*ParseEventTimeUs("2018-11-07 00:02:19"), 1541548939 * kS);
  EXPECT_EQ(*ParseEventTimeUs("2018-11-07T00:02:19.25Z"), 1541548939 * kS + 250000);
  EXPECT_EQ(*ParseEventTimeUs("2018-11-07T01:02:19+01:00"), 1541548939 * kS);
  EXPECT_EQ(*ParseEventTimeUs("1970-01-01"), 0);
  EXPECT_EQ(*ParseEventTimeUs("2000-02-29T00:00:00Z"), 951782400 * kS);  // leap day
}

TEST(ParseEventTimeUs, RejectsMalformed) {
  for (const char* bad :
       {"", "yesterday", "2018-13-01T00:00:00", "2018-02-30", "2018-11-07T25:00:00",
        "2018-11-07T00:02", "12.5", "2018-11-07T00:02:19Q"}) {
    auto r = ParseEventTimeUs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseDayMonYearUs, MovieLensReleaseDates) {
  EXPECT_EQ(*ParseDayMonYearUs("01-Jan-1995"), 788918400 * kS);
  EXPECT_EQ(*ParseDayMonYearUs("4-Feb-1971"), DaysFromCivil(1971, 2, 4) * 86400 * kS);
  EXPECT_FALSE(ParseDayMonYearUs("01-Foo-1995").ok());
  EXPECT_FALSE(ParseDayMonYearUs("1995").ok());
  EXPECT_FALSE(ParseDayMonYearUs("31-Feb-1995").ok());
}

}  // namespace
}  // namespace recd::eval
