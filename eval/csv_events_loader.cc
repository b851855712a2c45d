// Generic events file user,item,type,timestamp[,value] (documented in
// eval/dataset.h).
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "eval/csv.h"
#include "eval/line_reader.h"
#include "eval/loaders.h"
#include "eval/timestamp.h"

namespace recd::eval::internal {
namespace {

bool LooksLikeHeader(const std::vector<std::string>& f) {
  if (f.size() < 4) return false;
  absl::string_view ts = absl::StripAsciiWhitespace(f[3]);
  return ts.empty() || !((ts[0] >= '0' && ts[0] <= '9') || ts[0] == '-');
}

}  // namespace

absl::StatusOr<Dataset> LoadEventsCsv(const std::string& path) {
  auto lines = LineReader::Open(path);
  if (!lines.ok()) return lines.status();
  // The delimiter comes from the first line, read again by the CsvReader.
  char delim = ',';
  {
    auto peek = LineReader::Open(path);
    if (!peek.ok()) return peek.status();
    absl::string_view first;
    if ((*peek)->Next(&first) && first.find('\t') != absl::string_view::npos) delim = '\t';
    if (!(*peek)->status().ok()) return (*peek)->status();
  }
  CsvReader csv(lines->get(), delim);
  Dataset ds;
  ds.has_timestamps = true;
  ItemCollector items;
  std::vector<std::string> f;
  bool first = true;
  while (csv.Next(&f)) {
    if (f.size() == 1 && absl::StripAsciiWhitespace(f[0]).empty()) continue;  // blank line
    if (first) {
      first = false;
      if (LooksLikeHeader(f)) continue;
    }
    if (f.size() != 4 && f.size() != 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          csv.Where(), ": expected 4 or 5 fields (user,item,type,timestamp[,value]), got ",
          f.size()));
    }
    for (std::string& field : f) absl::StripAsciiWhitespace(&field);
    static constexpr absl::string_view kNames[] = {"user", "item", "type"};
    for (int i = 0; i < 3; ++i) {
      if (f[i].empty()) {
        return absl::InvalidArgumentError(absl::StrCat(csv.Where(), ": empty ", kNames[i]));
      }
    }
    auto ts = ParseEventTimeUs(f[3]);
    if (!ts.ok())
      return absl::InvalidArgumentError(absl::StrCat(csv.Where(), ": ", ts.status().message()));
    EventRow ev;
    ev.user = std::move(f[0]);
    ev.item = std::move(f[1]);
    ev.type = std::move(f[2]);
    ev.ts_us = *ts;
    if (f.size() == 5 && !f[4].empty()) {
      if (!absl::SimpleAtod(f[4], &ev.value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(csv.Where(), ": bad value \"", f[4], "\" (expected a number)"));
      }
      ev.has_value = true;
    }
    items.AddId(ev.item);
    ds.events.push_back(std::move(ev));
  }
  if (!csv.status().ok()) return csv.status();
  ds.items = items.Take();
  return ds;
}

}  // namespace recd::eval::internal
