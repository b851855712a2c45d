// Reads a text file line by line, plain or gzip-compressed (detected from the
// content, not the name), without decompressing it to disk.
//
// Not thread-safe; one reader per file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recd::eval {

class LineReader {
 public:
  // Opens `path`. NOT_FOUND if it does not exist, INVALID_ARGUMENT if it
  // cannot be opened (a directory, no permission).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LineReader>> Open(const std::string& path);

  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into *line without its "\n" (or "\r\n"). Returns
  // false at the end of the file or on an error; then status() tells which.
  // *line stays valid until the next call.
  bool Next(absl::string_view* line);

  // OK, or INVALID_ARGUMENT naming the file and the last line read when the
  // data is corrupt (a truncated or damaged gzip stream) or unreadable.
  const absl::Status& status() const { return status_; }

  // 1-based number of the line last returned by Next (0 before the first).
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

  // "path:line" of the line last returned, for error messages.
  std::string Where() const;

 private:
  LineReader(std::string path, void* gz);
  bool Fill();

  std::string path_;
  void* gz_;  // gzFile; kept opaque so that zlib.h stays out of this header
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  std::string line_;
  int64_t line_number_ = 0;
  absl::Status status_;
};

// The first of `path` and `path` + ".gz" that exists, or NOT_FOUND naming
// both.
[[nodiscard]] absl::StatusOr<std::string> FindPlainOrGz(const std::string& path);

}  // namespace recd::eval
