#include "eval/dataset.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eval/loaders.h"

namespace recd::eval {
namespace {

std::string NameOf(const std::string& path) {
  std::filesystem::path p(path);
  std::string name = p.filename().string();
  if (name.empty()) name = p.parent_path().filename().string();  // "dir/"
  for (absl::string_view ext : {".gz", ".csv", ".tsv", ".dat"}) {
    if (absl::EndsWith(name, ext)) name.resize(name.size() - ext.size());
  }
  return name;
}

}  // namespace

std::vector<std::string> DatasetFormats() {
  return {"movielens-100k", "movielens-1m", "trivago", "csv"};
}

absl::StatusOr<Dataset> LoadDataset(const std::string& format, const std::string& path) {
  absl::StatusOr<Dataset> ds;
  if (format == "movielens-100k") {
    ds = internal::LoadMovieLens100k(path);
  } else if (format == "movielens-1m") {
    ds = internal::LoadMovieLens1m(path);
  } else if (format == "trivago") {
    ds = internal::LoadTrivago(path);
  } else if (format == "csv") {
    ds = internal::LoadEventsCsv(path);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset format \"", format,
                     "\"; expected one of: ", absl::StrJoin(DatasetFormats(), ", ")));
  }
  if (ds.ok()) ds->name = NameOf(path);
  return ds;
}

namespace internal {

bool ItemCollector::Add(ItemMeta meta) {
  auto [it, inserted] = index_.emplace(meta.id, items_.size());
  if (inserted) items_.push_back(std::move(meta));
  return inserted;
}

void ItemCollector::AddId(absl::string_view id) {
  if (index_.find(std::string(id)) != index_.end()) return;
  ItemMeta meta;
  meta.id = std::string(id);
  Add(std::move(meta));
}

bool ItemCollector::Contains(absl::string_view id) const {
  return index_.find(std::string(id)) != index_.end();
}

std::string Latin1ToUtf8(absl::string_view latin1) {
  std::string out;
  out.reserve(latin1.size());
  for (unsigned char c : latin1) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool IsDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace internal
}  // namespace recd::eval
