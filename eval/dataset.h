// Public datasets as plain rows for offline evaluation (`recd eval`).
// Everything is read from a path given by the caller; nothing is bundled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace recd::eval {

struct ItemMeta {
  std::string id;
  std::vector<std::string> categories;
  std::vector<std::string> tags;
  std::string title;       // UTF-8
  int64_t created_us = 0;  // 0: unknown
};

struct EventRow {
  std::string user;
  std::string session;  // may be empty
  std::string item;
  std::string type;
  int64_t ts_us = 0;  // 0 when the dataset has no timestamps
  double value = 1;
  bool has_value = false;
};

struct Dataset {
  // The last component of the path, without ".gz"/".csv"/".dat"
  // (e.g. "movielens-1m-partial", or "events" for events.csv.gz).
  std::string name;
  // Catalog: every item the files describe or the events name, each once,
  // in order of first appearance (metadata file first).
  std::vector<ItemMeta> items;
  // In file order.
  std::vector<EventRow> events;
  // False when the files carry no event times (the full ML-1M copy); then
  // every ts_us is 0 and time-based splits are meaningless.
  bool has_timestamps = true;
};

// Loads `path` as `format`:
//  - "movielens-100k": a directory with u.data (TAB: user item rating ts),
//    optionally u.item ('|': id|title|release date|video date|url|genre
//    flags) with u.genre (name|index). One event of type "rating" per
//    rating, value = the rating. Categories = genre names; created_us = the
//    release date (00:00 UTC) when given. Titles are converted from
//    ISO-8859-1 to UTF-8.
//  - "movielens-1m": a directory with ratings.dat or ratings.dat.gz
//    ("user::movie::rating" or "user::movie::rating::ts", the same form on
//    every line; without ts, has_timestamps = false), optionally movies.dat
//    ("id::Title (year)::Genre|Genre"). Events and items as for 100k;
//    created_us stays 0 (only a year is known).
//  - "trivago": a directory with events.csv(.gz), or that file itself: the
//    RecSys Challenge 2019 columns (header required, RFC-4180 quoting).
//    Keeps rows whose action_type is "clickout item", "interaction item
//    image|info|rating|deals" or "search for item" and whose reference is a
//    numeric item id; type = action_type with ' ' -> '_' ("clickout_item");
//    session = session_id; ts from unix seconds. Items = every referenced or
//    impressed ('|'-separated impressions) id, without metadata.
//  - "csv": a file (or .gz) of user,item,type,timestamp[,value] rows,
//    separated by ',' (RFC-4180 quoting) or, if the first line has a TAB, by
//    TAB. The first line is a header when its 4th field does not start with
//    a digit or '-'. Timestamps: see ParseEventTimeUs (eval/timestamp.h).
//    An empty value means has_value = false. Items = the ids the events
//    name.
// Any file may be gzip-compressed (detected from its content); it is read
// as a stream. Returns NOT_FOUND when a required file is missing and
// INVALID_ARGUMENT for an unknown format or a bad line, with "file:line: "
// in front of the message.
[[nodiscard]] absl::StatusOr<Dataset> LoadDataset(const std::string& format,
                                                  const std::string& path);

// The format names LoadDataset accepts.
std::vector<std::string> DatasetFormats();

}  // namespace recd::eval
