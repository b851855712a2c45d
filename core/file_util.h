// Small POSIX file helpers shared by the writers of recd's own files (HNSW
// index, model snapshots): RAII FILE*, errno-carrying errors, fsync of a
// directory. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace recd::core {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// INTERNAL "<what> <path>: <strerror(errno)>".
absl::Status IoError(const std::string& what, const std::string& path);

// fsyncs the directory `dir`.
[[nodiscard]] absl::Status SyncDir(const std::string& dir);

// fsyncs the directory that contains `path` ("." for a bare name).
[[nodiscard]] absl::Status SyncParentDir(const std::string& path);

// Flushes, fsyncs and closes `f` (always closed). `path` names it in errors.
[[nodiscard]] absl::Status SyncAndClose(File f, const std::string& path);

inline bool ReadExact(std::FILE* f, void* out, size_t len) {
  return std::fread(out, 1, len, f) == len;
}

}  // namespace recd::core
