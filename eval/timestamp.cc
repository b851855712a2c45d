#include "eval/timestamp.h"

#include <array>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace recd::eval {
namespace {

constexpr int64_t kUsPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;

// Reads exactly `width` digits at text[*pos]; advances *pos.
bool Digits(absl::string_view text, size_t* pos, int width, int* out) {
  if (*pos + width > text.size()) return false;
  int v = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += width;
  *out = v;
  return true;
}

bool Expect(absl::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

bool ValidDate(int year, int month, int day) {
  return month >= 1 && month <= 12 && day >= 1 && day <= DaysInMonth(year, month);
}

absl::StatusOr<int64_t> ParseIso8601Us(absl::string_view t) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("bad timestamp \"", t,
                     "\": expected integer unix seconds/ms/us or ISO-8601 YYYY-MM-DDTHH:MM:SS[Z]"));
  };
  size_t p = 0;
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!Digits(t, &p, 4, &year) || !Expect(t, &p, '-') || !Digits(t, &p, 2, &month) ||
      !Expect(t, &p, '-') || !Digits(t, &p, 2, &day) || !ValidDate(year, month, day)) {
    return bad();
  }
  int64_t frac_us = 0;
  if (p < t.size()) {
    if (t[p] != 'T' && t[p] != ' ') return bad();
    ++p;
    if (!Digits(t, &p, 2, &hour) || !Expect(t, &p, ':') || !Digits(t, &p, 2, &minute) ||
        !Expect(t, &p, ':') || !Digits(t, &p, 2, &second) || hour > 23 || minute > 59 ||
        second > 60) {
      return bad();
    }
    if (p < t.size() && t[p] == '.') {
      ++p;
      int64_t scale = 100000;
      size_t start = p;
      while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
        frac_us += (t[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return bad();
    }
  }
  int64_t offset_s = 0;
  if (p < t.size()) {
    if (t[p] == 'Z') {
      ++p;
    } else if (t[p] == '+' || t[p] == '-') {
      int sign = t[p] == '+' ? 1 : -1;
      ++p;
      int oh, om;
      if (!Digits(t, &p, 2, &oh) || !Expect(t, &p, ':') || !Digits(t, &p, 2, &om)) return bad();
      offset_s = sign * (oh * 3600 + om * 60);
    }
    if (p != t.size()) return bad();
  }
  int64_t s = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 +
              second - offset_s;
  return s * kUsPerSecond + frac_us;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, int m, int d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

absl::StatusOr<int64_t> ParseEventTimeUs(absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  if (t.empty()) return absl::InvalidArgumentError("empty timestamp");
  // ISO dates have '-' at index 4; integers never do.
  if (t.size() >= 10 && t[4] == '-') return ParseIso8601Us(t);
  int64_t v;
  if (!absl::SimpleAtoi(t, &v)) return ParseIso8601Us(t);
  int64_t mag = v < 0 ? -v : v;
  if (mag < 100000000000LL) return v * kUsPerSecond;  // seconds
  if (mag < 100000000000000LL) return v * 1000;       // milliseconds
  return v;                                           // microseconds
}

absl::StatusOr<int64_t> ParseDayMonYearUs(absl::string_view text) {
  static constexpr std::array<absl::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("bad date \"", text, "\": expected DD-Mon-YYYY, e.g. 01-Jan-1995"));
  };
  // The day has one or two digits ("4-Feb-1971" occurs in u.item).
  size_t p = 0;
  int day, year;
  if (!Digits(text, &p, 2, &day) && !Digits(text, &p, 1, &day)) return bad();
  if (!Expect(text, &p, '-') || p + 3 > text.size()) return bad();
  absl::string_view mon = text.substr(p, 3);
  p += 3;
  int month = 0;
  for (int i = 0; i < 12; ++i) {
    if (mon == kMonths[i]) month = i + 1;
  }
  if (month == 0 || !Expect(text, &p, '-') || !Digits(text, &p, 4, &year) || p != text.size() ||
      !ValidDate(year, month, day)) {
    return bad();
  }
  return DaysFromCivil(year, month, day) * kSecondsPerDay * kUsPerSecond;
}

}  // namespace recd::eval
