// Key encodings shared by the writers and readers of the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace recd::storage {

// Meta CF keys.
inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
// Highest event sequence number written (8 bytes big-endian).
inline constexpr std::string_view kMetaLastSeq = "last_seq";
// Highest event sequence number folded into derived state (8 bytes BE).
inline constexpr std::string_view kMetaFoldWatermark = "watermark/fold";

// 8-byte big-endian encoding: byte order equals numeric order.
std::string EncodeU64(uint64_t v);
// REQUIRES: s.size() == 8.
uint64_t DecodeU64(std::string_view s);

}  // namespace recd::storage
