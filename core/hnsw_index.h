// Files of HNSW indexes built by BuildHnswIndex (core/ann_index.h).
//
// Format (host byte order, x86-64): a 64-byte manifest header
//   magic "RECDHNSW", format version, dim, count, m, ef_construction,
//   reserved (0), top level, entry point, bytes per element, payload bytes,
//   checksum (64-bit, over the header with the checksum zeroed + payload)
// followed by the graph: hnswlib's level-0 block (on its InnerProductSpace,
// rows stored as given), then each element's upper levels. Format version 2;
// version-1 files (L2 space on MIPS-augmented rows) are refused with
// FAILED_PRECONDITION naming the version. The checksum is verified before
// anything is parsed, and the graph is checked for consistency (link targets,
// levels, unique ids) before use.
#pragma once

#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ann_index.h"

namespace recd::core {

// Writes `index` to `path`: to `path` + ".tmp" first, fsynced, then renamed
// over `path` and the directory fsynced, so `path` always holds either the old
// file or the complete new one. Safe while other threads search `index`.
// Errors: INVALID_ARGUMENT if `index` was not made by BuildHnswIndex or
// LoadHnswIndex; INTERNAL (with errno text) on any I/O failure.
[[nodiscard]] absl::Status SaveHnswIndex(const AnnIndex& index, const std::string& path);

// Reads an index written by SaveHnswIndex. The graph parameters (m,
// ef_construction) come from the file; `options` supplies ef_search and must
// have the file's dim. With `relabel`, the element stored with id r gets id
// (*relabel)[r] instead (a model snapshot stores row numbers; the server
// searches by catalog dense id); every stored id must index into it and the
// new ids must be distinct (DATA_LOSS otherwise).
// Errors: NOT_FOUND if `path` does not exist; DATA_LOSS if the file is
// truncated, corrupted or not an index file; FAILED_PRECONDITION for a format
// version or layout this build cannot read; INVALID_ARGUMENT for bad
// `options` or options.dim != the file's dim; RESOURCE_EXHAUSTED if memory
// runs out; INTERNAL on other I/O errors. Never crashes on a bad file.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AnnIndex>> LoadHnswIndex(
    const std::string& path, const AnnOptions& options,
    const std::vector<uint32_t>* relabel = nullptr);

}  // namespace recd::core
