// What was shown: a bounded cache of recent slates by recommendation id (for
// attributing later events to the source that showed the item) and the
// asynchronous impression log (impressions CF).
//
// Impressions are written off the request path: Recommend appends to a
// bounded buffer and the commit thread writes it. When the buffer is full
// the impressions are dropped and counted (recd_impressions_dropped_total):
// losing impressions under overload is preferred to slowing Recommend.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/sources.h"
#include "recd/v1/records.pb.h"

namespace recd::core {

class SlateCache {
 public:
  explicit SlateCache(size_t capacity) : capacity_(capacity) {}
  // Remembers which source showed each item of a slate.
  void Put(const std::string& recommendation_id, std::vector<std::pair<std::string, Source>> items);
  // The source that showed item_id in that slate, if still cached.
  std::optional<Source> SourceOf(const std::string& recommendation_id,
                                 const std::string& item_id) const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::pair<std::string, Source>>> slates_;
  std::deque<std::string> order_;  // oldest first
};

class ImpressionBuffer {
 public:
  explicit ImpressionBuffer(size_t capacity) : capacity_(capacity) {}
  // Appends the slate or, when its impressions do not fit, drops it
  // (dropped() counts its impressions). Returns true when the buffer was
  // empty before (the caller schedules a flush then).
  bool Append(recd::v1::records::ImpressionSlate slate);
  // Takes everything buffered.
  std::vector<recd::v1::records::ImpressionSlate> Take();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::vector<recd::v1::records::ImpressionSlate> buf_;
  size_t impressions_ = 0;  // in buf_
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace recd::core
