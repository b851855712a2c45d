// One loader per file format, behind LoadDataset (eval/dataset.h), which
// documents each format. Internal to eval/.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eval/dataset.h"

namespace recd::eval::internal {

[[nodiscard]] absl::StatusOr<Dataset> LoadMovieLens100k(const std::string& dir);
[[nodiscard]] absl::StatusOr<Dataset> LoadMovieLens1m(const std::string& dir);
[[nodiscard]] absl::StatusOr<Dataset> LoadTrivago(const std::string& path);
[[nodiscard]] absl::StatusOr<Dataset> LoadEventsCsv(const std::string& path);

// Collects catalog items in order of first appearance, each id once.
class ItemCollector {
 public:
  // Adds `meta` unless its id is already present; returns whether added.
  bool Add(ItemMeta meta);
  // Adds a bare item (id only) if the id is new.
  void AddId(absl::string_view id);
  bool Contains(absl::string_view id) const;
  std::vector<ItemMeta> Take() { return std::move(items_); }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<ItemMeta> items_;
};

// ISO-8859-1 bytes to UTF-8.
std::string Latin1ToUtf8(absl::string_view latin1);

// True for a non-empty string of ASCII digits.
bool IsDigits(absl::string_view s);

}  // namespace recd::eval::internal
