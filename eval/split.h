// Train/test splits of an event log. Every split is deterministic: the same
// events (in the same order) and arguments give the same split.
//
// A split holds INDICES into the event vector it was computed from, not
// copies (ML-1M is a million rows); `Select` copies rows out when needed.
// Both index lists are ascending (input order), disjoint, and together
// cover every event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "eval/dataset.h"

namespace recd::eval {

struct Split {
  std::vector<size_t> train;
  std::vector<size_t> test;
  // GlobalTimeSplit: the cut time (train < cut <= test). 0 otherwise.
  int64_t cut_time_us = 0;
};

// One global cut time t: the timestamp at rank floor(train_fraction * n) of
// the n sorted timestamps (0-based, so that about train_fraction of the
// events are earlier). train = events with ts_us < t, test = ts_us >= t:
// events tied at t all go to TEST, so the train share can fall below
// train_fraction when many events share t (all equal: train is empty).
// Guarantees no future leakage: every train event is strictly earlier than
// every test event.
// REQUIRES: meaningful timestamps (Dataset::has_timestamps).
// INVALID_ARGUMENT unless 0 < train_fraction < 1.
[[nodiscard]] absl::StatusOr<Split> GlobalTimeSplit(const std::vector<EventRow>& events,
                                                    double train_fraction);

// Per user, the n latest events go to test (ordered by ts_us; among equal
// times a later input position counts as later), the rest to train. Users
// with <= n events stay entirely in train. INVALID_ARGUMENT unless n >= 1.
[[nodiscard]] absl::StatusOr<Split> LeaveLastN(const std::vector<EventRow>& events, int n);

// How StratifiedRandom turns train_ratio * n into a per-user train count.
enum class StratifiedRounding {
  // round(train_ratio * n), ties to even (Python's round): the
  // python_stratified_split that produced the published MS Recommenders
  // MovieLens-100K table (per-user split_pandas_data_with_ratios, np.split
  // at round(ratio * len(group))). On ML-100K at 0.75: 74,992 train rows,
  // the count their SAR notebook prints. A user with 1 or 2 rows is all
  // train.
  kRoundHalfEven,
  // The rows at 1-based positions i with i / n <= train_ratio (compared as
  // doubles), i.e. floor(train_ratio * n): their later rank-based rewrite
  // of _do_stratification. On ML-100K at 0.75: 74,646 train rows. A user
  // with a single row is all test.
  kFloor,
};

// Microsoft Recommenders' python_stratified_split(data, ratio, min_rating=1,
// filter_by="user", seed) protocol: per user, the user's rows are put in a
// random order and the first `count` of them (see StratifiedRounding) go to
// train, the rest to test. min_rating = 1 means no user is filtered out;
// duplicate (user, item) rows are kept as rows, as theirs does.
// Differences: the random order comes from one std::mt19937_64(seed) key per
// row (64-bit outputs drawn in input order, ties broken by input order), not
// from numpy's generator, which cannot be reproduced here; so WHICH rows
// land in test differs from theirs for the same seed, while the per-user
// train/test sizes are identical.
// INVALID_ARGUMENT unless 0 < train_ratio < 1.
[[nodiscard]] absl::StatusOr<Split> StratifiedRandom(
    const std::vector<EventRow>& events, double train_ratio, uint64_t seed,
    StratifiedRounding rounding = StratifiedRounding::kRoundHalfEven);

// A split chosen by name, e.g. from command-line flags.
struct SplitParams {
  // "global_time", "leave_last_n" or "stratified_random".
  std::string method = "stratified_random";
  double train_fraction = 0.75;  // global_time, stratified_random
  int n = 1;                     // leave_last_n
  uint64_t seed = 42;            // stratified_random
  StratifiedRounding rounding = StratifiedRounding::kRoundHalfEven;
};

// Runs the split params.method names on dataset.events. INVALID_ARGUMENT
// for an unknown method or a bad parameter (the message names it, e.g.
// "split.method: ..."); FAILED_PRECONDITION for a time-based method
// (global_time, leave_last_n) on a dataset without timestamps.
[[nodiscard]] absl::StatusOr<Split> MakeSplit(const Dataset& dataset, const SplitParams& params);

// Copies events[i] for each i in indices, in that order.
// REQUIRES: every index < events.size().
std::vector<EventRow> Select(const std::vector<EventRow>& events,
                             const std::vector<size_t>& indices);

// A time window of events.
struct TimeSlice {
  int64_t start_us = 0;
  int64_t end_us = 0;           // exclusive; the last slice ends at max ts + 1
  std::vector<size_t> indices;  // ascending
};

// Cuts [min ts, max ts] of events[indices] into num_slices windows of equal
// length (to the microsecond) and assigns each index to its window (empty windows are kept).
// Returns an empty vector when indices is empty or num_slices < 1.
std::vector<TimeSlice> SliceByTime(const std::vector<EventRow>& events,
                                   const std::vector<size_t>& indices, int num_slices);

}  // namespace recd::eval
