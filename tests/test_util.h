// Helpers shared by the unit tests (tests/storage, tests/core) and the
// loopback tests (tests/server). Header-only and free of gRPC: it needs only
// the standard library, GoogleTest and the generated recd.v1 messages.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "recd/v1/recd.pb.h"
#include "recd/v1/records.pb.h"

namespace recd::testing {

// A fresh, unique directory under /tmp (or $TMPDIR), removed recursively
// when the object goes out of scope. Non-copyable, movable.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "recd-test") {
    std::filesystem::path base = std::filesystem::temp_directory_path();
    std::string tmpl = (base / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* made = ::mkdtemp(buf.data());
    if (made == nullptr) {
      ADD_FAILURE() << "mkdtemp(" << tmpl << ") failed";
      return;
    }
    path_ = made;
  }
  ~TempDir() { Remove(); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&& other) noexcept {
    if (this != &other) {
      Remove();
      path_ = std::exchange(other.path_, {});
    }
    return *this;
  }

  // The directory itself.
  const std::string& path() const { return path_; }
  // A path inside the directory (not created).
  std::string Sub(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  void Remove() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    path_.clear();
  }

  std::string path_;
};

// Microseconds since the Unix epoch, from the system clock.
inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline constexpr int64_t kSecondUs = 1000000;
inline constexpr int64_t kMinuteUs = 60 * kSecondUs;
inline constexpr int64_t kHourUs = 60 * kMinuteUs;
inline constexpr int64_t kDayUs = 24 * kHourUs;

// Sets a Timestamp from microseconds since the epoch (us >= 0).
inline void SetTimestampUs(google::protobuf::Timestamp* ts, int64_t us) {
  ts->set_seconds(us / kSecondUs);
  ts->set_nanos(static_cast<int32_t>(us % kSecondUs) * 1000);
}

inline google::protobuf::Timestamp TimestampUs(int64_t us) {
  google::protobuf::Timestamp ts;
  SetTimestampUs(&ts, us);
  return ts;
}

// An item with the given labels and (optionally empty) vector.
inline recd::v1::Item MakeItem(const std::string& id,
                               const std::vector<std::string>& categories = {},
                               const std::vector<std::string>& tags = {},
                               const std::vector<float>& vector = {}) {
  recd::v1::Item item;
  item.set_id(id);
  for (const auto& c : categories) item.add_categories(c);
  for (const auto& t : tags) item.add_tags(t);
  for (float x : vector) item.add_vector(x);
  return item;
}

// A public API event; occurred_at is left unset when occurred_us == 0.
inline recd::v1::Event MakeEvent(const std::string& user_id, const std::string& item_id,
                                 const std::string& type, int64_t occurred_us = 0,
                                 const std::string& event_id = "") {
  recd::v1::Event e;
  e.set_user_id(user_id);
  e.set_item_id(item_id);
  e.set_type(type);
  if (occurred_us != 0) SetTimestampUs(e.mutable_occurred_at(), occurred_us);
  e.set_event_id(event_id);
  return e;
}

// An already-validated log record (what Engine::TrackAsync takes);
// occurred_us == 0 lets the commit thread use its receive time.
inline recd::v1::records::StoredEvent MakeStoredEvent(const std::string& user_id,
                                                      const std::string& item_id,
                                                      const std::string& type,
                                                      int64_t occurred_us = 0,
                                                      const std::string& event_id = "") {
  recd::v1::records::StoredEvent e;
  e.set_user_id(user_id);
  e.set_item_id(item_id);
  e.set_type(type);
  e.set_occurred_at_us(occurred_us);
  e.set_event_id(event_id);
  return e;
}

// A unit vector along axis `axis` of `dim` components, plus `noise` on the
// next axis (to make nearby but distinct vectors).
inline std::vector<float> AxisVector(int dim, int axis, float noise = 0.f) {
  std::vector<float> v(dim, 0.f);
  v[axis % dim] = 1.f;
  if (noise != 0.f) v[(axis + 1) % dim] = noise;
  return v;
}

}  // namespace recd::testing
