// Model snapshot directories (DESIGN.md "Model lifecycle"): what `recd
// train` writes and the server loads.
//
// A snapshot directory holds
//   vectors.bin  item ids and their vectors, row by row (format below);
//   labels.pb    the metadata -> vector map (records.LabelVectors);
//   index.hnsw   the HNSW index over the rows (core/hnsw_index.h), whose ids
//                are row numbers;
//   MANIFEST     records.ModelManifest: version, parameters, YᵀY, and the
//                checksums of vectors.bin and labels.pb; then a u64
//                checksum (core/checksum.h) of the manifest's bytes. Written
//                last.
// vectors.bin (host byte order, x86-64): magic "RECDVECS", u32 format (1),
// u32 dim, u64 count, u64 reserved (0); then per row a u32 length and the id
// bytes; then count*dim floats.
//
// Writing goes to `dir`.tmp, fsyncs every file, renames to `dir` and fsyncs
// the parent, so a crash leaves either no snapshot or a complete one.
// Reading verifies everything before returning (checksums, sizes, finite
// values, distinct non-empty ids, YᵀY shape) and never crashes on a bad file.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/ann_index.h"
#include "recd/v1/records.pb.h"

namespace recd::core {

inline constexpr uint32_t kModelFormat = 1;

struct ModelData {
  recd::v1::records::ModelManifest manifest;
  std::vector<std::string> item_ids;  // row r is item_ids[r]
  std::vector<float> vectors;         // item_ids.size() x manifest.dim(), row-major
  recd::v1::records::LabelVectors labels;
};

// Writes `model` with `index` (ids = row numbers) as the snapshot directory
// `dir`, setting manifest.format, items and the checksums in *model.
// Errors: ALREADY_EXISTS if `dir` exists; INVALID_ARGUMENT if the sizes
// disagree (vectors vs ids x dim, gramian vs dim², index size vs rows);
// INTERNAL (with errno text) on I/O failure (nothing is left at `dir`).
[[nodiscard]] absl::Status WriteModelSnapshot(ModelData* model, const AnnIndex& index,
                                              const std::string& dir);

// Reads and verifies the manifest, vectors and labels of the snapshot at
// `dir` (not the index: see ModelIndexPath). The vectors of a snapshot of
// more than `keep_vectors_up_to` rows are verified (checksum, finite) as
// they stream past but not kept (ModelData.vectors stays empty): a server
// that reads them from the HNSW index needs no second copy (at a million
// 64-d rows, 256 MB allocated, zeroed and freed at every start).
// Errors: NOT_FOUND if `dir` or its MANIFEST is missing; DATA_LOSS for a
// corrupt or truncated file (names the file); FAILED_PRECONDITION for an
// unknown format; INTERNAL on other I/O errors.
[[nodiscard]] absl::StatusOr<ModelData> ReadModelSnapshot(
    const std::string& dir, size_t keep_vectors_up_to = std::numeric_limits<size_t>::max());

// The index file of the snapshot at `dir` (load it with LoadHnswIndex).
std::string ModelIndexPath(const std::string& dir);

// A new model version name: "<prefix>-YYYYMMDDTHHMMSSZ-<4 hex>" (UTC time of
// the call, hex from `salt`).
std::string NewModelVersion(const std::string& prefix, uint64_t salt);

}  // namespace recd::core
