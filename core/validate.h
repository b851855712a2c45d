// Validation of API input against the configured limits. Every error is
// INVALID_ARGUMENT with a message that starts with the field path, e.g.
// "events[3].type: unknown event type \"like\"" (the gRPC layer passes it on
// as is). Nothing here writes anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/options.h"
#include "recd/v1/recd.pb.h"
#include "recd/v1/records.pb.h"

namespace recd::core {

// An id must be 1..max_id_bytes bytes of valid UTF-8 without control
// characters. `path` names the field.
[[nodiscard]] absl::Status ValidateId(const std::string& id, const std::string& path,
                                      const Limits& limits);

// Checks an item for UpsertItems. `path` is e.g. "items[2]".
[[nodiscard]] absl::Status ValidateItem(const recd::v1::Item& item, const std::string& path,
                                        const EngineOptions& options);

// Checks events and converts them into log records (seq and receive time
// are set by the commit thread). `first_index` numbers the events in
// messages of a stream. now_us: the server's clock.
[[nodiscard]] absl::Status ConvertEvents(
    const google::protobuf::RepeatedPtrField<recd::v1::Event>& events, int first_index,
    const EngineOptions& options, int64_t now_us, std::vector<recd::v1::records::StoredEvent>* out);

struct RecommendQuery {
  std::string user_id;
  std::string session_id;
  std::string surface = "default";
  int k = 20;
  int page_size = 20;
  std::vector<std::string> exclude_item_ids;
  std::vector<std::string> include_categories;
  std::vector<std::string> exclude_categories;
  int64_t now_us = 0;
};

[[nodiscard]] absl::StatusOr<RecommendQuery> ConvertRecommendRequest(
    const recd::v1::RecommendRequest& request, const EngineOptions& options, int64_t now_us);

// The same rules for RelatedItems (item_id required; user and session
// optional).
[[nodiscard]] absl::StatusOr<RecommendQuery> ConvertRelatedRequest(
    const recd::v1::RelatedItemsRequest& request, const EngineOptions& options, int64_t now_us);

// Microseconds since the epoch of a Timestamp; INVALID_ARGUMENT naming
// `path` when it is out of the valid range (years 1..9999, nanos in
// [0, 1e9)).
[[nodiscard]] absl::StatusOr<int64_t> TimestampToUs(const google::protobuf::Timestamp& ts,
                                                    const std::string& path);

}  // namespace recd::core
