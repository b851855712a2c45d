#include "eval/split.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace recd::eval {
namespace {

absl::Status CheckFraction(const char* name, double f) {
  if (!(f > 0 && f < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": must be strictly between 0 and 1, got ", f));
  }
  return absl::OkStatus();
}

// Event indices grouped by user, each group in input order; groups in order
// of the user's first event.
std::vector<std::vector<size_t>> GroupByUser(const std::vector<EventRow>& events) {
  std::unordered_map<std::string, size_t> group_of;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < events.size(); ++i) {
    auto [it, inserted] = group_of.emplace(events[i].user, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  return groups;
}

// Marks `is_test` into a Split with ascending index lists.
Split FromMask(const std::vector<bool>& is_test) {
  Split s;
  for (size_t i = 0; i < is_test.size(); ++i) (is_test[i] ? s.test : s.train).push_back(i);
  return s;
}

// Rows of a user with n rows that go to train (see StratifiedRounding).
size_t TrainCount(size_t n, double ratio, StratifiedRounding rounding) {
  const double dn = static_cast<double>(n);
  if (rounding == StratifiedRounding::kRoundHalfEven) {
    // nearbyint in the default FE_TONEAREST mode rounds ties to even, as
    // Python's round(float) does, on the same double ratio * n.
    return std::min(n, static_cast<size_t>(std::nearbyint(ratio * dn)));
  }
  size_t count = 0;
  for (size_t i = 1; i <= n; ++i) count += static_cast<double>(i) / dn <= ratio;
  return count;
}

}  // namespace

absl::StatusOr<Split> GlobalTimeSplit(const std::vector<EventRow>& events, double train_fraction) {
  if (auto s = CheckFraction("train_fraction", train_fraction); !s.ok()) return s;
  if (events.empty()) return Split{};
  std::vector<int64_t> ts;
  ts.reserve(events.size());
  for (const EventRow& e : events) ts.push_back(e.ts_us);
  size_t rank = static_cast<size_t>(std::floor(train_fraction * static_cast<double>(ts.size())));
  rank = std::min(rank, ts.size() - 1);
  std::nth_element(ts.begin(), ts.begin() + rank, ts.end());
  const int64_t cut = ts[rank];
  std::vector<bool> is_test(events.size());
  for (size_t i = 0; i < events.size(); ++i) is_test[i] = events[i].ts_us >= cut;
  Split s = FromMask(is_test);
  s.cut_time_us = cut;
  return s;
}

absl::StatusOr<Split> LeaveLastN(const std::vector<EventRow>& events, int n) {
  if (n < 1) return absl::InvalidArgumentError(absl::StrCat("n: must be >= 1, got ", n));
  std::vector<bool> is_test(events.size(), false);
  for (std::vector<size_t>& group : GroupByUser(events)) {
    if (group.size() <= static_cast<size_t>(n)) continue;
    // Stable: equal times keep input order, so later input counts as later.
    std::stable_sort(group.begin(), group.end(),
                     [&](size_t a, size_t b) { return events[a].ts_us < events[b].ts_us; });
    for (size_t j = group.size() - n; j < group.size(); ++j) is_test[group[j]] = true;
  }
  return FromMask(is_test);
}

absl::StatusOr<Split> StratifiedRandom(const std::vector<EventRow>& events, double train_ratio,
                                       uint64_t seed, StratifiedRounding rounding) {
  if (auto s = CheckFraction("train_ratio", train_ratio); !s.ok()) return s;
  // One key per row in input order.
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> key(events.size());
  for (uint64_t& k : key) k = rng();
  std::vector<bool> is_test(events.size(), false);
  for (std::vector<size_t>& group : GroupByUser(events)) {
    std::sort(group.begin(), group.end(),
              [&](size_t a, size_t b) { return key[a] != key[b] ? key[a] < key[b] : a < b; });
    const size_t n = group.size();
    const size_t train = TrainCount(n, train_ratio, rounding);
    for (size_t j = train; j < n; ++j) is_test[group[j]] = true;
  }
  return FromMask(is_test);
}

absl::StatusOr<Split> MakeSplit(const Dataset& dataset, const SplitParams& params) {
  const bool timed = params.method == "global_time" || params.method == "leave_last_n";
  if (timed && !dataset.has_timestamps) {
    return absl::FailedPreconditionError(
        absl::StrCat("split.method: ", params.method, " needs event times, and dataset \"",
                     dataset.name, "\" has none; use stratified_random"));
  }
  absl::StatusOr<Split> split;
  if (params.method == "global_time") {
    split = GlobalTimeSplit(dataset.events, params.train_fraction);
  } else if (params.method == "leave_last_n") {
    split = LeaveLastN(dataset.events, params.n);
  } else if (params.method == "stratified_random") {
    split = StratifiedRandom(dataset.events, params.train_fraction, params.seed, params.rounding);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("split.method: unknown split \"", params.method,
                     "\"; expected global_time, leave_last_n or stratified_random"));
  }
  if (!split.ok()) {
    return absl::Status(split.status().code(), absl::StrCat("split.", split.status().message()));
  }
  return split;
}

std::vector<EventRow> Select(const std::vector<EventRow>& events,
                             const std::vector<size_t>& indices) {
  std::vector<EventRow> out;
  out.reserve(indices.size());
  for (size_t i : indices) out.push_back(events[i]);
  return out;
}

std::vector<TimeSlice> SliceByTime(const std::vector<EventRow>& events,
                                   const std::vector<size_t>& indices, int num_slices) {
  if (indices.empty() || num_slices < 1) return {};
  int64_t lo = events[indices[0]].ts_us, hi = lo;
  for (size_t i : indices) {
    lo = std::min(lo, events[i].ts_us);
    hi = std::max(hi, events[i].ts_us);
  }
  // Window w is [lo + ceil(w*span/num), lo + ceil((w+1)*span/num)); an
  // event at offset d belongs to window floor(d*num/span), which is that
  // window exactly because d is an integer.
  const __int128 span = static_cast<__int128>(hi) - lo + 1;
  const __int128 num = num_slices;
  auto bound = [&](int w) { return lo + static_cast<int64_t>((span * w + num - 1) / num); };
  std::vector<TimeSlice> slices(num_slices);
  for (int w = 0; w < num_slices; ++w) {
    slices[w].start_us = bound(w);
    slices[w].end_us = bound(w + 1);
  }
  for (size_t i : indices) {
    const __int128 d = static_cast<__int128>(events[i].ts_us) - lo;
    slices[static_cast<size_t>(d * num / span)].indices.push_back(i);
  }
  return slices;
}

}  // namespace recd::eval
