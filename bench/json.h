// A minimal JSON value for bench reports: null, bool, number, string, array,
// object (keys keep insertion order). Writing only; nothing here parses.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace recd::bench {

class Json {
 public:
  Json() = default;  // null
  Json(bool v) : kind_(Kind::kBool), bool_(v) {}
  Json(int v) : Json(static_cast<double>(v)) {}
  Json(int64_t v) : Json(static_cast<double>(v)) {}
  Json(uint64_t v) : Json(static_cast<double>(v)) {}
  Json(double v) : kind_(Kind::kNumber), number_(v) {}
  Json(std::string v) : kind_(Kind::kString), string_(std::move(v)) {}
  Json(const char* v) : Json(std::string(v)) {}

  static Json Object() { return Json(Kind::kObject); }
  static Json Array() { return Json(Kind::kArray); }

  // REQUIRES: an object. Adds (or replaces) `key`; returns *this.
  Json& Set(const std::string& key, Json value);
  // REQUIRES: an array. Appends; returns *this.
  Json& Push(Json value);

  // Pretty-printed with two-space indents. Non-finite numbers become null.
  std::string Dump() const;

 private:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  explicit Json(Kind kind) : kind_(kind) {}
  void DumpTo(std::string* out, int indent) const;

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Writes json.Dump() to `path` (via a temp file and rename).
// INTERNAL naming the path on an I/O error.
[[nodiscard]] absl::Status WriteJsonFile(const Json& json, const std::string& path);

}  // namespace recd::bench
