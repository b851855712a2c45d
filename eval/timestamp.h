// Event-time parsing for the dataset loaders. All results are microseconds
// since the Unix epoch, UTC.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recd::eval {

// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
int64_t DaysFromCivil(int64_t year, int month, int day);

// An event time as found in a generic events file:
//  - an integer: unix seconds if |v| < 1e11, else milliseconds if
//    |v| < 1e14, else microseconds (1e11 s is the year 5138, 1e11 ms and
//    1e14 us are both in 1973, so real data falls on one side of each);
//  - ISO-8601 "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" (' ' also accepted for
//    'T'), with optional fractional seconds and an optional "Z" or
//    "+HH:MM"/"-HH:MM" offset; no offset means UTC.
// INVALID_ARGUMENT (message without location) otherwise.
[[nodiscard]] absl::StatusOr<int64_t> ParseEventTimeUs(absl::string_view text);

// A MovieLens-100K release date "D-Mon-YYYY" or "DD-Mon-YYYY" (e.g.
// "01-Jan-1995") at
// 00:00 UTC. INVALID_ARGUMENT if malformed.
[[nodiscard]] absl::StatusOr<int64_t> ParseDayMonYearUs(absl::string_view text);

}  // namespace recd::eval
