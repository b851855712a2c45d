// MovieLens 100K and 1M (formats documented in eval/dataset.h).
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "eval/line_reader.h"
#include "eval/loaders.h"
#include "eval/timestamp.h"

namespace recd::eval::internal {
namespace {

constexpr int64_t kUsPerSecond = 1000000;

std::string Join(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

absl::Status BadLine(const LineReader& r, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(r.Where(), ": ", what));
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

absl::Status RequireDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": expected a dataset directory"));
  }
  return absl::OkStatus();
}

// Fills *ev from user, item, rating and (optional) unix-seconds fields.
absl::Status ParseRating(const LineReader& r, absl::string_view user, absl::string_view item,
                         absl::string_view rating, const absl::string_view* ts, EventRow* ev) {
  if (!IsDigits(user)) return BadLine(r, absl::StrCat("bad user id \"", user, "\""));
  if (!IsDigits(item)) return BadLine(r, absl::StrCat("bad item id \"", item, "\""));
  double value;
  if (!absl::SimpleAtod(rating, &value)) {
    return BadLine(r, absl::StrCat("bad rating \"", rating, "\""));
  }
  int64_t seconds = 0;
  if (ts != nullptr && (!IsDigits(*ts) || !absl::SimpleAtoi(*ts, &seconds))) {
    return BadLine(r, absl::StrCat("bad timestamp \"", *ts, "\" (expected unix seconds)"));
  }
  ev->user = std::string(user);
  ev->item = std::string(item);
  ev->type = "rating";
  ev->value = value;
  ev->has_value = true;
  ev->ts_us = seconds * kUsPerSecond;
  return absl::OkStatus();
}

// u.genre: "name|index" lines (blank lines ignored) -> names by index.
absl::StatusOr<std::vector<std::string>> ReadGenres(const std::string& path) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  LineReader& r = **reader;
  std::vector<std::string> names;
  absl::string_view line;
  while (r.Next(&line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '|');
    int index;
    if (f.size() != 2 || f[0].empty() || !absl::SimpleAtoi(f[1], &index) || index < 0 ||
        index > 1000) {
      return BadLine(r, "expected genre_name|genre_index");
    }
    if (static_cast<size_t>(index) >= names.size()) names.resize(index + 1);
    if (!names[index].empty()) return BadLine(r, absl::StrCat("genre index ", index, " repeated"));
    names[index] = std::string(f[0]);
  }
  if (!r.status().ok()) return r.status();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": genre index ", i, " missing"));
    }
  }
  if (names.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no genres"));
  return names;
}

// u.item, with genre flags named by `genres`.
absl::Status ReadItems100k(const std::string& path, const std::vector<std::string>& genres,
                           ItemCollector* items) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  LineReader& r = **reader;
  const size_t want = 5 + genres.size();
  absl::string_view line;
  while (r.Next(&line)) {
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '|');
    if (f.size() != want) {
      return BadLine(r, absl::StrCat("expected ", want, " '|'-separated fields (5 + ",
                                     genres.size(), " genre flags), got ", f.size()));
    }
    if (!IsDigits(f[0])) return BadLine(r, absl::StrCat("bad movie id \"", f[0], "\""));
    ItemMeta meta;
    meta.id = std::string(f[0]);
    meta.title = Latin1ToUtf8(f[1]);
    if (!f[2].empty()) {
      auto created = ParseDayMonYearUs(f[2]);
      if (!created.ok()) return BadLine(r, created.status().message());
      meta.created_us = *created;
    }
    for (size_t g = 0; g < genres.size(); ++g) {
      absl::string_view flag = f[5 + g];
      if (flag == "1") {
        meta.categories.push_back(genres[g]);
      } else if (flag != "0") {
        return BadLine(r, absl::StrCat("genre flag ", g, " is \"", flag, "\", expected 0 or 1"));
      }
    }
    if (!items->Add(std::move(meta))) {
      return BadLine(r, absl::StrCat("movie id ", f[0], " repeated"));
    }
  }
  return r.status();
}

// movies.dat: "id::Title (year)::Genre|Genre".
absl::Status ReadMovies1m(const std::string& path, ItemCollector* items) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  LineReader& r = **reader;
  absl::string_view line;
  while (r.Next(&line)) {
    if (line.empty()) continue;
    size_t first = line.find("::");
    size_t last = line.rfind("::");
    if (first == absl::string_view::npos || last == first) {
      return BadLine(r, "expected MovieID::Title::Genres");
    }
    absl::string_view id = line.substr(0, first);
    if (!IsDigits(id)) return BadLine(r, absl::StrCat("bad movie id \"", id, "\""));
    ItemMeta meta;
    meta.id = std::string(id);
    meta.title = Latin1ToUtf8(line.substr(first + 2, last - first - 2));
    absl::string_view genres = line.substr(last + 2);
    for (absl::string_view g : absl::StrSplit(genres, '|', absl::SkipEmpty())) {
      meta.categories.emplace_back(g);
    }
    if (!items->Add(std::move(meta))) {
      return BadLine(r, absl::StrCat("movie id ", id, " repeated"));
    }
  }
  return r.status();
}

}  // namespace

absl::StatusOr<Dataset> LoadMovieLens100k(const std::string& dir) {
  if (auto s = RequireDir(dir); !s.ok()) return s;
  Dataset ds;
  ItemCollector items;
  const std::string item_path = Join(dir, "u.item");
  if (FileExists(item_path)) {
    const std::string genre_path = Join(dir, "u.genre");
    auto genres = ReadGenres(genre_path);
    if (!genres.ok()) return genres.status();
    if (auto s = ReadItems100k(item_path, *genres, &items); !s.ok()) return s;
  }
  auto reader = LineReader::Open(Join(dir, "u.data"));
  if (!reader.ok()) return reader.status();
  LineReader& r = **reader;
  absl::string_view line;
  while (r.Next(&line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() != 4) {
      return BadLine(r, absl::StrCat("expected 4 TAB-separated fields (user item rating "
                                     "timestamp), got ",
                                     f.size()));
    }
    EventRow ev;
    if (auto s = ParseRating(r, f[0], f[1], f[2], &f[3], &ev); !s.ok()) return s;
    items.AddId(ev.item);
    ds.events.push_back(std::move(ev));
  }
  if (!r.status().ok()) return r.status();
  ds.items = items.Take();
  ds.has_timestamps = true;
  return ds;
}

absl::StatusOr<Dataset> LoadMovieLens1m(const std::string& dir) {
  if (auto s = RequireDir(dir); !s.ok()) return s;
  Dataset ds;
  ItemCollector items;
  const std::string movies_path = Join(dir, "movies.dat");
  if (FileExists(movies_path)) {
    if (auto s = ReadMovies1m(movies_path, &items); !s.ok()) return s;
  }
  auto ratings_path = FindPlainOrGz(Join(dir, "ratings.dat"));
  if (!ratings_path.ok()) return ratings_path.status();
  auto reader = LineReader::Open(*ratings_path);
  if (!reader.ok()) return reader.status();
  LineReader& r = **reader;
  size_t fields = 0;  // 3 or 4, fixed by the first line
  absl::string_view line;
  while (r.Next(&line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, "::");
    if (f.size() != 3 && f.size() != 4) {
      return BadLine(r, absl::StrCat("expected UserID::MovieID::Rating[::Timestamp], got ",
                                     f.size(), " fields"));
    }
    if (fields == 0) fields = f.size();
    if (f.size() != fields) {
      return BadLine(r, absl::StrCat(f.size(), " fields where the first line has ", fields,
                                     " (timestamps must be on every line or none)"));
    }
    EventRow ev;
    if (auto s = ParseRating(r, f[0], f[1], f[2], fields == 4 ? &f[3] : nullptr, &ev); !s.ok()) {
      return s;
    }
    items.AddId(ev.item);
    ds.events.push_back(std::move(ev));
  }
  if (!r.status().ok()) return r.status();
  ds.items = items.Take();
  ds.has_timestamps = fields == 4;
  return ds;
}

}  // namespace recd::eval::internal
