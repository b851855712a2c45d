#include "core/validate.h"

#include <cmath>
#include <string_view>

namespace recd::core {
namespace {

absl::Status Invalid(const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(path + ": " + why);
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF) without control characters.
bool CleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // past U+10FFFF
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (int j = 2; j < len; ++j) {
      if ((static_cast<unsigned char>(s[i + j]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

absl::Status ValidateLabel(const std::string& s, const std::string& path, const Limits& limits) {
  if (s.empty()) return Invalid(path, "must not be empty");
  if (static_cast<int>(s.size()) > limits.max_label_bytes) {
    return Invalid(path, "longer than limits.max_label_bytes (" +
                             std::to_string(limits.max_label_bytes) + ")");
  }
  if (!CleanUtf8(s)) return Invalid(path, "must be UTF-8 without control characters");
  return absl::OkStatus();
}

absl::Status ValidateLabels(const google::protobuf::RepeatedPtrField<std::string>& labels,
                            const std::string& path, const Limits& limits) {
  if (labels.size() > limits.max_labels) {
    return Invalid(path, "more than limits.max_labels (" + std::to_string(limits.max_labels) +
                             ")");
  }
  for (int i = 0; i < labels.size(); ++i) {
    if (auto st = ValidateLabel(labels[i], path + "[" + std::to_string(i) + "]", limits);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(const std::string& id, const std::string& path, const Limits& limits) {
  if (id.empty()) return Invalid(path, "must not be empty");
  if (static_cast<int>(id.size()) > limits.max_id_bytes) {
    return Invalid(path, "longer than limits.max_id_bytes (" +
                             std::to_string(limits.max_id_bytes) + " bytes)");
  }
  if (!CleanUtf8(id)) return Invalid(path, "must be UTF-8 without control characters");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TimestampToUs(const google::protobuf::Timestamp& ts,
                                      const std::string& path) {
  // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as google.protobuf.Timestamp defines.
  constexpr int64_t kMinSeconds = -62135596800LL;
  constexpr int64_t kMaxSeconds = 253402300799LL;
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds) {
    return Invalid(path, "seconds out of range (years 1 to 9999)");
  }
  if (ts.nanos() < 0 || ts.nanos() >= 1000000000) {
    return Invalid(path, "nanos must be in [0, 999999999]");
  }
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

absl::Status ValidateItem(const recd::v1::Item& item, const std::string& path,
                          const EngineOptions& options) {
  const Limits& limits = options.limits;
  if (auto st = ValidateId(item.id(), path + ".id", limits); !st.ok()) return st;
  if (auto st = ValidateLabels(item.categories(), path + ".categories", limits); !st.ok()) {
    return st;
  }
  if (auto st = ValidateLabels(item.tags(), path + ".tags", limits); !st.ok()) return st;
  int64_t created = 0;
  if (item.has_created_at()) {
    auto us = TimestampToUs(item.created_at(), path + ".created_at");
    if (!us.ok()) return us.status();
    created = *us;
  }
  if (item.has_expires_at()) {
    auto us = TimestampToUs(item.expires_at(), path + ".expires_at");
    if (!us.ok()) return us.status();
    if (item.has_created_at() && *us <= created) {
      return Invalid(path + ".expires_at", "must be after created_at");
    }
  }
  if (item.properties_size() > limits.max_properties) {
    return Invalid(path + ".properties", "more than limits.max_properties (" +
                                             std::to_string(limits.max_properties) + ")");
  }
  for (const auto& [key, value] : item.properties()) {
    std::string p = path + ".properties[\"" + key.substr(0, 64) + "\"]";
    if (auto st = ValidateLabel(key, p, limits); !st.ok()) return st;
    if (static_cast<int>(value.size()) > limits.max_label_bytes) {
      return Invalid(p, "value longer than limits.max_label_bytes (" +
                            std::to_string(limits.max_label_bytes) + ")");
    }
    if (!CleanUtf8(value)) return Invalid(p, "value must be UTF-8 without control characters");
  }
  if (item.vector_size() != 0) {
    if (item.vector_size() != options.dimension) {
      return Invalid(path + ".vector", "has " + std::to_string(item.vector_size()) +
                                           " components, model.dimension is " +
                                           std::to_string(options.dimension));
    }
    for (int i = 0; i < item.vector_size(); ++i) {
      if (!std::isfinite(item.vector(i))) {
        return Invalid(path + ".vector[" + std::to_string(i) + "]", "must be finite");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ConvertEvents(const google::protobuf::RepeatedPtrField<recd::v1::Event>& events,
                           int first_index, const EngineOptions& options, int64_t now_us,
                           std::vector<recd::v1::records::StoredEvent>* out) {
  const Limits& limits = options.limits;
  const int64_t max_future_us = now_us + static_cast<int64_t>(limits.max_future_skew_seconds * 1e6);
  for (int i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const std::string path = "events[" + std::to_string(first_index + i) + "]";
    if (e.user_id().empty() && e.session_id().empty()) {
      return Invalid(path + ".user_id", "one of user_id or session_id must be set");
    }
    if (!e.user_id().empty()) {
      if (auto st = ValidateId(e.user_id(), path + ".user_id", limits); !st.ok()) return st;
    }
    if (!e.session_id().empty()) {
      if (auto st = ValidateId(e.session_id(), path + ".session_id", limits); !st.ok()) return st;
    }
    if (auto st = ValidateId(e.item_id(), path + ".item_id", limits); !st.ok()) return st;
    if (!e.event_id().empty()) {
      if (auto st = ValidateId(e.event_id(), path + ".event_id", limits); !st.ok()) return st;
    }
    if (!e.recommendation_id().empty()) {
      if (auto st = ValidateId(e.recommendation_id(), path + ".recommendation_id", limits);
          !st.ok()) {
        return st;
      }
    }
    if (e.type().empty()) return Invalid(path + ".type", "must not be empty");
    if (options.event_weights.count(e.type()) == 0) {
      std::string known;
      for (const auto& [name, w] : options.event_weights) known += (known.empty() ? "" : ", ") + name;
      return Invalid(path + ".type", "unknown event type \"" + e.type().substr(0, 64) +
                                         "\" (configured: " + known + ")");
    }
    if (e.position() < 0) return Invalid(path + ".position", "must be >= 0");
    if (e.has_value() && !std::isfinite(e.value().value())) {
      return Invalid(path + ".value", "must be finite");
    }
    int64_t occurred = now_us;
    if (e.has_occurred_at()) {
      auto us = TimestampToUs(e.occurred_at(), path + ".occurred_at");
      if (!us.ok()) return us.status();
      if (*us > max_future_us) {
        return Invalid(path + ".occurred_at",
                       "more than limits.max_future_skew_seconds in the future");
      }
      if (*us <= 0) return Invalid(path + ".occurred_at", "must be after 1970-01-01");
      occurred = *us;
    }
    recd::v1::records::StoredEvent s;
    s.set_event_id(e.event_id());
    s.set_user_id(e.user_id());
    s.set_session_id(e.session_id());
    s.set_item_id(e.item_id());
    s.set_type(e.type());
    s.set_occurred_at_us(occurred);
    if (e.has_value()) {
      s.set_has_value(true);
      s.set_value(e.value().value());
    }
    s.set_recommendation_id(e.recommendation_id());
    s.set_position(e.position());
    out->push_back(std::move(s));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<RecommendQuery> ConvertQuery(const recd::v1::RecommendRequest& request,
                                            const EngineOptions& options, int64_t now_us,
                                            bool require_viewer) {
  const Limits& limits = options.limits;
  RecommendQuery q;
  if (require_viewer && request.user_id().empty() && request.session_id().empty()) {
    return Invalid("user_id", "one of user_id or session_id must be set");
  }
  if (!request.user_id().empty()) {
    if (auto st = ValidateId(request.user_id(), "user_id", limits); !st.ok()) return st;
  }
  if (!request.session_id().empty()) {
    if (auto st = ValidateId(request.session_id(), "session_id", limits); !st.ok()) return st;
  }
  if (request.k() < 0) return Invalid("k", "must be >= 0 (0 means recommend.default_k)");
  if (request.k() > limits.max_k) {
    return Invalid("k", "must be <= limits.max_k (" + std::to_string(limits.max_k) + "), got " +
                            std::to_string(request.k()));
  }
  if (request.page_size() < 0) return Invalid("page_size", "must be >= 0 (0 means k)");
  q.k = request.k() == 0 ? options.default_k : request.k();
  q.page_size = request.page_size() == 0 ? q.k : std::min(request.page_size(), q.k);
  q.surface = request.surface().empty() ? "default" : request.surface();
  if (options.surfaces.count(q.surface) == 0) {
    return Invalid("surface", "unknown surface \"" + q.surface.substr(0, 64) + "\"");
  }
  int exclusions = request.exclude_item_ids_size() + request.include_categories_size() +
                   request.exclude_categories_size();
  if (exclusions > limits.max_exclusions) {
    return Invalid("exclude_item_ids", "exclusions and category filters together exceed "
                                       "limits.max_exclusions (" +
                                           std::to_string(limits.max_exclusions) + ")");
  }
  for (int i = 0; i < request.exclude_item_ids_size(); ++i) {
    const auto& id = request.exclude_item_ids(i);
    if (auto st = ValidateId(id, "exclude_item_ids[" + std::to_string(i) + "]", limits); !st.ok()) {
      return st;
    }
    q.exclude_item_ids.push_back(id);
  }
  for (int i = 0; i < request.include_categories_size(); ++i) {
    if (auto st = ValidateLabel(request.include_categories(i),
                                "include_categories[" + std::to_string(i) + "]", limits);
        !st.ok()) {
      return st;
    }
    q.include_categories.push_back(request.include_categories(i));
  }
  for (int i = 0; i < request.exclude_categories_size(); ++i) {
    if (auto st = ValidateLabel(request.exclude_categories(i),
                                "exclude_categories[" + std::to_string(i) + "]", limits);
        !st.ok()) {
      return st;
    }
    q.exclude_categories.push_back(request.exclude_categories(i));
  }
  q.user_id = request.user_id();
  q.session_id = request.session_id();
  q.now_us = now_us;
  return q;
}

}  // namespace

absl::StatusOr<RecommendQuery> ConvertRecommendRequest(const recd::v1::RecommendRequest& request,
                                                       const EngineOptions& options,
                                                       int64_t now_us) {
  return ConvertQuery(request, options, now_us, /*require_viewer=*/true);
}

absl::StatusOr<RecommendQuery> ConvertRelatedRequest(const recd::v1::RelatedItemsRequest& request,
                                                     const EngineOptions& options, int64_t now_us) {
  if (auto st = ValidateId(request.item_id(), "item_id", options.limits); !st.ok()) return st;
  recd::v1::RecommendRequest r;
  r.set_user_id(request.user_id());
  r.set_session_id(request.session_id());
  r.set_k(request.k());
  r.set_page_size(request.page_size());
  r.set_surface(request.surface());
  *r.mutable_exclude_item_ids() = request.exclude_item_ids();
  *r.mutable_include_categories() = request.include_categories();
  *r.mutable_exclude_categories() = request.exclude_categories();
  return ConvertQuery(r, options, now_us, /*require_viewer=*/false);
}

}  // namespace recd::core
