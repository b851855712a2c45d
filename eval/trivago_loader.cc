// trivago RecSys Challenge 2019 events (format documented in eval/dataset.h).
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "eval/csv.h"
#include "eval/line_reader.h"
#include "eval/loaders.h"

namespace recd::eval::internal {
namespace {

constexpr std::array<absl::string_view, 6> kItemActions = {
    "clickout item",           "interaction item image", "interaction item info",
    "interaction item rating", "interaction item deals", "search for item"};

bool IsItemAction(absl::string_view action) {
  for (absl::string_view a : kItemActions) {
    if (action == a) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Dataset> LoadTrivago(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto found = FindPlainOrGz((std::filesystem::path(path) / "events.csv").string());
    if (!found.ok()) return found.status();
    file = *found;
  }
  auto lines = LineReader::Open(file);
  if (!lines.ok()) return lines.status();
  CsvReader csv(lines->get(), ',');
  std::vector<std::string> f;
  if (!csv.Next(&f)) {
    if (!csv.status().ok()) return csv.status();
    return absl::InvalidArgumentError(absl::StrCat(file, ": empty file, expected a header"));
  }
  // Column positions by header name.
  enum Col { kUser, kSession, kTimestamp, kAction, kReference, kImpressions, kNumCols };
  constexpr std::array<absl::string_view, kNumCols> kNames = {
      "user_id", "session_id", "timestamp", "action_type", "reference", "impressions"};
  std::array<size_t, kNumCols> col;
  for (int c = 0; c < kNumCols; ++c) {
    col[c] = f.size();
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] == kNames[c]) col[c] = i;
    }
    if (col[c] == f.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(csv.Where(), ": header has no column \"", kNames[c],
                       "\" (expected the RecSys Challenge 2019 events.csv header)"));
    }
  }
  const size_t num_fields = f.size();

  Dataset ds;
  ds.has_timestamps = true;
  ItemCollector items;
  while (csv.Next(&f)) {
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    if (f.size() != num_fields) {
      return absl::InvalidArgumentError(
          absl::StrCat(csv.Where(), ": ", f.size(), " fields, the header has ", num_fields));
    }
    for (absl::string_view id : absl::StrSplit(f[col[kImpressions]], '|', absl::SkipEmpty())) {
      if (!IsDigits(id)) {
        return absl::InvalidArgumentError(
            absl::StrCat(csv.Where(), ": bad item id \"", id, "\" in impressions"));
      }
      items.AddId(id);
    }
    const std::string& action = f[col[kAction]];
    const std::string& ref = f[col[kReference]];
    if (!IsItemAction(action) || !IsDigits(ref)) continue;
    int64_t seconds;
    if (!absl::SimpleAtoi(f[col[kTimestamp]], &seconds)) {
      return absl::InvalidArgumentError(absl::StrCat(
          csv.Where(), ": bad timestamp \"", f[col[kTimestamp]], "\" (expected unix seconds)"));
    }
    if (f[col[kUser]].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(csv.Where(), ": empty user_id"));
    }
    EventRow ev;
    ev.user = f[col[kUser]];
    ev.session = f[col[kSession]];
    ev.item = ref;
    ev.type = absl::StrReplaceAll(action, {{" ", "_"}});
    ev.ts_us = seconds * 1000000;
    items.AddId(ref);
    ds.events.push_back(std::move(ev));
  }
  if (!csv.status().ok()) return csv.status();
  ds.items = items.Take();
  return ds;
}

}  // namespace recd::eval::internal
