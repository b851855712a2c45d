#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_field.h"
#include "yaml-cpp/yaml.h"

namespace recd::config {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;
using recd::v1::config::Diversity;
using recd::v1::config::Surface;

// Path of the document root in error messages.
constexpr char kRoot[] = "(root)";

Surface DefaultSurface() {
  Surface s;
  for (const auto& [source, weight] :
       std::initializer_list<std::pair<const char*, double>>{{"ann", 1.0},
                                                             {"covisit", 0.8},
                                                             {"content", 0.4},
                                                             {"trending", 0.3},
                                                             {"popular", 0.1},
                                                             {"continuation", 0.6}}) {
    (*s.mutable_source_weights())[source] = weight;
  }
  for (const char* t : {"view", "click", "purchase"}) s.add_seen_event_types(t);
  s.set_max_item_age_seconds(0);
  s.set_freshness_weight(0.05);
  s.set_freshness_half_life_seconds(259200);
  s.set_popularity_weight(0.05);
  Diversity* d = s.mutable_diversity();
  d->set_mode("mmr");
  d->set_mmr_lambda(0.8);
  d->set_max_per_category(3);
  s.set_explore_epsilon(0.05);
  s.set_explore_pool_size(100);
  for (const char* t : {"save", "cart"}) s.add_continuation_event_types(t);
  s.add_finish_event_types("purchase");
  s.set_session_intent(0.5);
  return s;
}

// A value of a map<string, Message> entry given in YAML starts from the
// message type's documented defaults where it has some (a new surface gets
// the Surface defaults), else from the empty message.
void InitMapValue(pb::Message* value) {
  if (value->GetDescriptor() == Surface::descriptor()) {
    value->CopyFrom(DefaultSurface());
  }
}

// ---------------------------------------------------------------------------
// YAML -> proto, by reflection.

std::string Child(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return absl::StrCat(n.Tag() == "!" ? "quoted string " : "", "\"",
                          absl::CHexEscape(n.Scalar()), "\"");
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "null";
  }
}

absl::Status Error(const std::string& path, const YAML::Node& n, absl::string_view what) {
  const YAML::Mark m = n.Mark();
  return absl::InvalidArgumentError(absl::StrCat(
      path.empty() ? kRoot : path, ": ", what,
      m.is_null() ? "" : absl::StrCat(" (line ", m.line + 1, ", column ", m.column + 1, ")")));
}

absl::Status Expected(const std::string& path, const YAML::Node& n, absl::string_view what) {
  return Error(path, n, absl::StrCat("expected ", what, ", got ", Describe(n)));
}

// A plain (unquoted) scalar: only those may be numbers or booleans.
bool IsPlain(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

absl::Status ParseInt(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi,
                      int64_t* out) {
  if (!IsPlain(n) || !absl::SimpleAtoi(n.Scalar(), out)) return Expected(path, n, "an integer");
  if (*out < lo || *out > hi) {
    return Expected(path, n, absl::StrCat("an integer in [", lo, ", ", hi, "]"));
  }
  return absl::OkStatus();
}

absl::Status ParseDouble(const YAML::Node& n, const std::string& path, double* out) {
  if (IsPlain(n)) {
    const std::string s = absl::AsciiStrToLower(n.Scalar());
    if (s == ".inf" || s == "+.inf" || s == "-.inf" || s == ".nan") {
      *out = s == ".nan" ? std::numeric_limits<double>::quiet_NaN()
                         : (s[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
      return absl::OkStatus();
    }
    if (absl::SimpleAtod(n.Scalar(), out)) return absl::OkStatus();
  }
  return Expected(path, n, "a number");
}

// Sets (or, for a repeated field, appends) scalar field `f` of `msg`. The
// schema uses int32, int64, double, bool and string; other types are an
// INTERNAL error (add them here when the schema needs them).
absl::Status SetScalar(const YAML::Node& n, const std::string& path, pb::Message* msg,
                       const FieldDescriptor* f) {
  const pb::Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  absl::Status s;
  int64_t i = 0;
  double d = 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      s = ParseInt(n, path, INT32_MIN, INT32_MAX, &i);
      if (s.ok()) rep ? r->AddInt32(msg, f, i) : r->SetInt32(msg, f, i);
      return s;
    case FieldDescriptor::CPPTYPE_INT64:
      s = ParseInt(n, path, INT64_MIN, INT64_MAX, &i);
      if (s.ok()) rep ? r->AddInt64(msg, f, i) : r->SetInt64(msg, f, i);
      return s;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      s = ParseDouble(n, path, &d);
      if (s.ok()) rep ? r->AddDouble(msg, f, d) : r->SetDouble(msg, f, d);
      return s;
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string v = IsPlain(n) ? absl::AsciiStrToLower(n.Scalar()) : "";
      if (v != "true" && v != "false") return Expected(path, n, "true or false");
      rep ? r->AddBool(msg, f, v == "true") : r->SetBool(msg, f, v == "true");
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      if (!n.IsScalar()) return Expected(path, n, "a string");
      rep ? r->AddString(msg, f, n.Scalar()) : r->SetString(msg, f, n.Scalar());
      return absl::OkStatus();
    default:
      return absl::InternalError(absl::StrCat(path, ": field type not supported by the loader"));
  }
}

absl::Status MergeMessage(const YAML::Node& n, const std::string& path, pb::Message* msg);

// A map<K, V> field: replaces the whole map with the YAML mapping `n`.
absl::Status SetMap(const YAML::Node& n, const std::string& path, pb::Message* msg,
                    const FieldDescriptor* f) {
  if (!n.IsNull() && !n.IsMap()) return Expected(path, n, "a mapping");
  msg->GetReflection()->ClearField(msg, f);
  const FieldDescriptor* key_f = f->message_type()->map_key();
  const FieldDescriptor* value_f = f->message_type()->map_value();
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return Expected(path, kv.first, "a scalar key");
    const std::string entry_path = Child(path, kv.first.Scalar());
    if (!seen.insert(kv.first.Scalar()).second) {
      return Error(entry_path, kv.first, "duplicate key");
    }
    pb::Message* entry = msg->GetReflection()->AddMessage(msg, f);
    absl::Status s = SetScalar(kv.first, entry_path, entry, key_f);
    if (!s.ok()) return s;
    if (value_f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      pb::Message* value = entry->GetReflection()->MutableMessage(entry, value_f);
      InitMapValue(value);
      s = MergeMessage(kv.second, entry_path, value);
    } else {
      s = SetScalar(kv.second, entry_path, entry, value_f);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Field `f` of `msg` from node `n`: maps and lists replace, messages merge.
absl::Status SetField(const YAML::Node& n, const std::string& path, pb::Message* msg,
                      const FieldDescriptor* f) {
  const pb::Reflection* r = msg->GetReflection();
  const bool is_msg = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  if (f->is_map()) return SetMap(n, path, msg, f);
  if (!f->is_repeated()) {
    return is_msg ? MergeMessage(n, path, r->MutableMessage(msg, f)) : SetScalar(n, path, msg, f);
  }
  if (!n.IsNull() && !n.IsSequence()) return Expected(path, n, "a list");
  r->ClearField(msg, f);
  int i = 0;
  for (const YAML::Node& item : n) {
    const std::string item_path = absl::StrCat(path, "[", i++, "]");
    absl::Status s = is_msg ? MergeMessage(item, item_path, r->AddMessage(msg, f))
                            : SetScalar(item, item_path, msg, f);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Merges the YAML mapping `n` (null = empty mapping) into `msg` key by key.
absl::Status MergeMessage(const YAML::Node& n, const std::string& path, pb::Message* msg) {
  if (n.IsNull()) return absl::OkStatus();
  if (!n.IsMap()) return Expected(path, n, "a mapping");
  const pb::Descriptor* d = msg->GetDescriptor();
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return Expected(path, kv.first, "a scalar key");
    const std::string& key = kv.first.Scalar();
    const std::string field_path = Child(path, key);
    if (!seen.insert(key).second) {
      return Error(field_path, kv.first, "duplicate key");
    }
    const FieldDescriptor* f = d->FindFieldByName(key);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < d->field_count(); ++i) {
        known.push_back(d->field(i)->name());
      }
      return Error(field_path, kv.first,
                   absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
    if (absl::Status s = SetField(kv.second, field_path, msg, f); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Validation.

// Collects violations, each "path: reason".
class Checker {
 public:
  template <typename... Args>
  void Fail(absl::string_view path, const Args&... args) {
    errors_.push_back(absl::StrCat(path, ": ", args...));
  }
  void Range(absl::string_view path, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) Fail(path, "must be in [", lo, ", ", hi, "], got ", v);
  }
  void Min(absl::string_view path, int64_t v, int64_t lo) {
    if (v < lo) Fail(path, "must be >= ", lo, ", got ", v);
  }
  void Positive(absl::string_view path, double v) {
    if (!std::isfinite(v) || v <= 0) Fail(path, "must be finite and > 0, got ", v);
  }
  void NonNegative(absl::string_view path, double v) {
    if (!std::isfinite(v) || v < 0) Fail(path, "must be finite and >= 0, got ", v);
  }
  // In [0, 1] (NaN fails).
  void Fraction(absl::string_view path, double v) {
    if (!(v >= 0 && v <= 1)) Fail(path, "must be in [0, 1], got ", v);
  }
  void NonEmpty(absl::string_view path, const std::string& v) {
    if (v.empty()) Fail(path, "must not be empty");
  }
  void OneOf(absl::string_view path, const std::string& v,
             std::initializer_list<absl::string_view> allowed) {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      Fail(path, "must be one of ", absl::StrJoin(allowed, ", "), ", got \"", absl::CHexEscape(v),
           "\"");
    }
  }
  // "host:port", host non-empty (IPv6 in brackets), port 0..65535.
  void HostPort(absl::string_view path, const std::string& v) {
    const size_t colon = v.rfind(':');
    const std::string host = v.substr(0, colon == std::string::npos ? 0 : colon);
    const std::string port = colon == std::string::npos ? "" : v.substr(colon + 1);
    uint32_t p = 0;
    if (host.empty() || port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(port, &p) || p > 65535 ||
        (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']'))) {
      Fail(path, "must be \"host:port\" with a port in 0..65535, got \"", absl::CHexEscape(v),
           "\"");
    }
  }
  // 1 to 32 characters of [a-z0-9_].
  void Name(absl::string_view path, const std::string& v) {
    if (v.empty() || v.size() > 32 || !std::all_of(v.begin(), v.end(), [](char ch) {
          return absl::ascii_islower(ch) || absl::ascii_isdigit(ch) || ch == '_';
        })) {
      Fail(path, "name must be 1 to 32 characters of [a-z0-9_]");
    }
  }
  absl::Status Result() const {
    return errors_.empty() ? absl::OkStatus()
                           : absl::InvalidArgumentError(absl::StrJoin(errors_, "; "));
  }

 private:
  std::vector<std::string> errors_;
};

// StrJoin formatter for std::string_view (absl::string_view is a distinct
// type in the Debian build of abseil).
void AppendStd(std::string* out, std::string_view s) { out->append(s); }

template <typename Map>
std::vector<std::string> SortedKeys(const Map& m) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

Config DefaultConfig() {
  Config c;
  auto* server = c.mutable_server();
  server->set_listen("0.0.0.0:50051");
  server->set_metrics_listen("0.0.0.0:9464");
  server->set_shutdown_grace_seconds(10);
  server->set_max_message_bytes(16 << 20);
  auto* storage = c.mutable_storage();
  storage->set_data_dir("./recd-data");
  storage->set_durability("fsync");
  storage->set_block_cache_mb(256);
  auto* limits = c.mutable_limits();
  limits->set_max_id_bytes(256);
  limits->set_max_label_bytes(256);
  limits->set_max_labels(64);
  limits->set_max_properties(64);
  limits->set_max_k(500);
  limits->set_max_exclusions(1000);
  limits->set_max_events_per_call(1000);
  limits->set_max_items_per_call(10000);
  limits->set_max_future_skew_seconds(300);
  for (const auto& [name, weight] : std::initializer_list<std::pair<const char*, double>>{
           {"view", 1}, {"click", 2}, {"save", 4}, {"cart", 6}, {"purchase", 10}}) {
    (*c.mutable_event_types())[name].set_weight(weight);
  }
  auto* model = c.mutable_model();
  model->set_dimension(32);
  model->set_hnsw_m(16);
  model->set_hnsw_ef_construction(200);
  model->set_hnsw_ef_search(100);
  model->set_exact_search_max_items(20000);
  model->set_fresh_tier_max(20000);
  model->set_als_alpha(10);
  model->set_als_lambda(0.1);
  auto* recommend = c.mutable_recommend();
  recommend->set_default_k(20);
  recommend->set_trending_half_life_seconds(86400);
  recommend->set_user_recent_items(500);
  recommend->set_candidate_multiplier(5);
  recommend->set_popular_half_life_seconds(2592000);
  recommend->set_trending_prior(5);
  recommend->set_affinity_half_life_seconds(1209600);
  recommend->set_max_affinities(32);
  recommend->set_session_items(20);
  recommend->set_content_max_age_seconds(604800);
  recommend->set_content_items_per_label(200);
  auto* covisit = recommend->mutable_covisit();
  covisit->set_window_items(5);
  covisit->set_window_seconds(1800);
  covisit->set_slots_per_item(100);
  covisit->set_top_per_item(50);
  covisit->set_half_life_seconds(604800);
  covisit->set_max_mb(700);
  covisit->set_persist_interval_seconds(30);
  (*c.mutable_surfaces())["default"] = DefaultSurface();
  auto* ingest = c.mutable_ingest();
  ingest->set_queue_capacity(100000);
  ingest->set_max_batch_events(2000);
  ingest->set_dedupe_window_seconds(86400);
  ingest->set_max_fold_lag_events(200000);
  ingest->set_fold_threads(2);
  ingest->set_defer_solves_lag_ms(2);
  ingest->set_max_unpersisted_events(20000);
  auto* demo = c.mutable_demo();
  demo->set_enabled(true);
  demo->set_items(3000);
  demo->set_users(200);
  demo->set_seed(42);
  c.mutable_logging()->set_level("info");
  return c;
}

absl::StatusOr<Config> ParseYaml(std::string_view yaml_text) {
  Config c = DefaultConfig();
  try {
    const std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml_text));
    if (docs.size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(kRoot, ": expected one YAML document, got ", docs.size()));
    }
    if (!docs.empty()) {
      if (absl::Status s = MergeMessage(docs[0], "", &c); !s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kRoot, ": invalid YAML at line ",
                                                   e.mark.line + 1, ", column ", e.mark.column + 1,
                                                   ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kRoot, ": ", e.what()));
  }
  if (absl::Status s = Validate(c); !s.ok()) return s;
  return c;
}

absl::StatusOr<Config> LoadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::string text;
  if (in) text.assign(std::istreambuf_iterator<char>(in), {});
  if (!in.is_open() || in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  absl::StatusOr<Config> c = ParseYaml(text);
  if (!c.ok()) {
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  }
  return c;
}

absl::Status Validate(const Config& c) {
  Checker k;
  const auto& server = c.server();
  k.HostPort("server.listen", server.listen());
  k.HostPort("server.metrics_listen", server.metrics_listen());
  k.Positive("server.shutdown_grace_seconds", server.shutdown_grace_seconds());
  k.Min("server.max_message_bytes", server.max_message_bytes(), 1);

  k.NonEmpty("storage.data_dir", c.storage().data_dir());
  k.OneOf("storage.durability", c.storage().durability(), {"fsync", "process"});
  k.Min("storage.block_cache_mb", c.storage().block_cache_mb(), 1);

  const auto& l = c.limits();
  k.Range("limits.max_id_bytes", l.max_id_bytes(), 1, 4096);
  k.Min("limits.max_label_bytes", l.max_label_bytes(), 1);
  k.Range("limits.max_labels", l.max_labels(), 1, 10000);  // catalog rows count them in 16 bits
  k.Min("limits.max_properties", l.max_properties(), 1);
  k.Min("limits.max_k", l.max_k(), 1);
  k.Min("limits.max_exclusions", l.max_exclusions(), 1);
  k.Min("limits.max_events_per_call", l.max_events_per_call(), 1);
  k.Min("limits.max_items_per_call", l.max_items_per_call(), 1);
  k.NonNegative("limits.max_future_skew_seconds", l.max_future_skew_seconds());

  if (c.event_types().empty()) k.Fail("event_types", "must not be empty");
  for (const std::string& name : SortedKeys(c.event_types())) {
    k.Name(absl::StrCat("event_types.", name), name);
    k.Positive(absl::StrCat("event_types.", name, ".weight"), c.event_types().at(name).weight());
  }

  const auto& m = c.model();
  k.Range("model.dimension", m.dimension(), 1, 4096);
  k.Range("model.hnsw_m", m.hnsw_m(), 2, 128);
  if (m.hnsw_ef_construction() < m.hnsw_m()) {
    k.Fail("model.hnsw_ef_construction", "must be >= model.hnsw_m (", m.hnsw_m(), "), got ",
           m.hnsw_ef_construction());
  }
  k.Min("model.hnsw_ef_search", m.hnsw_ef_search(), 1);
  k.Range("model.exact_search_max_items", m.exact_search_max_items(), 0, 1000000);
  k.Min("model.fresh_tier_max", m.fresh_tier_max(), 1);
  k.NonNegative("model.als_alpha", m.als_alpha());
  k.Positive("model.als_lambda", m.als_lambda());

  const auto& r = c.recommend();
  k.Min("recommend.default_k", r.default_k(), 1);
  if (r.default_k() > l.max_k()) {
    k.Fail("recommend.default_k", "must be <= limits.max_k (", l.max_k(), "), got ", r.default_k());
  }
  k.Positive("recommend.trending_half_life_seconds", r.trending_half_life_seconds());
  k.Min("recommend.user_recent_items", r.user_recent_items(), 1);
  k.Min("recommend.candidate_multiplier", r.candidate_multiplier(), 1);
  if (!std::isfinite(r.popular_half_life_seconds()) ||
      !(r.popular_half_life_seconds() > r.trending_half_life_seconds())) {
    k.Fail("recommend.popular_half_life_seconds",
           "must be finite and > recommend.trending_half_life_seconds (",
           r.trending_half_life_seconds(), "), got ", r.popular_half_life_seconds());
  }
  k.NonNegative("recommend.trending_prior", r.trending_prior());
  k.Positive("recommend.affinity_half_life_seconds", r.affinity_half_life_seconds());
  k.Range("recommend.max_affinities", r.max_affinities(), 1, 1000);
  k.Range("recommend.session_items", r.session_items(), 1, 1000);
  k.Positive("recommend.content_max_age_seconds", r.content_max_age_seconds());
  k.Range("recommend.content_items_per_label", r.content_items_per_label(), 1, 100000);
  const auto& cv = r.covisit();
  k.Range("recommend.covisit.window_items", cv.window_items(), 1, 100);
  k.Positive("recommend.covisit.window_seconds", cv.window_seconds());
  if (cv.slots_per_item() < cv.top_per_item()) {
    k.Fail("recommend.covisit.slots_per_item", "must be >= recommend.covisit.top_per_item (",
           cv.top_per_item(), "), got ", cv.slots_per_item());
  }
  k.Range("recommend.covisit.top_per_item", cv.top_per_item(), 1, 1000);
  k.Positive("recommend.covisit.half_life_seconds", cv.half_life_seconds());
  k.Min("recommend.covisit.max_mb", cv.max_mb(), 1);
  k.Positive("recommend.covisit.persist_interval_seconds", cv.persist_interval_seconds());

  if (!c.surfaces().contains("default")) {
    k.Fail("surfaces", "must contain a surface named \"default\"");
  }
  for (const std::string& name : SortedKeys(c.surfaces())) {
    const Surface& s = c.surfaces().at(name);
    const std::string path = absl::StrCat("surfaces.", name);
    k.Name(path, name);
    bool any_positive = false;
    for (const std::string& src : SortedKeys(s.source_weights())) {
      const std::string src_path = absl::StrCat(path, ".source_weights.", src);
      if (std::find(kKnownSources.begin(), kKnownSources.end(), std::string_view(src)) ==
          kKnownSources.end()) {
        k.Fail(src_path, "unknown source (known: ", absl::StrJoin(kKnownSources, ", ", AppendStd),
               ")");
      }
      const double w = s.source_weights().at(src);
      k.NonNegative(src_path, w);
      any_positive |= std::isfinite(w) && w > 0;
    }
    if (!any_positive) {
      k.Fail(path + ".source_weights", "at least one weight must be > 0");
    }
    // A list of configured event types, without duplicates.
    const auto event_type_list = [&](absl::string_view field,
                                     const pb::RepeatedPtrField<std::string>& types) {
      std::set<std::string> seen;
      for (int i = 0; i < types.size(); ++i) {
        const std::string& t = types.Get(i);
        const std::string item = absl::StrCat(path, ".", field, "[", i, "]");
        if (!c.event_types().contains(t)) {
          k.Fail(item, "\"", absl::CHexEscape(t), "\" is not in event_types");
        } else if (!seen.insert(t).second) {
          k.Fail(item, "duplicate \"", t, "\"");
        }
      }
    };
    event_type_list("seen_event_types", s.seen_event_types());
    k.NonNegative(path + ".max_item_age_seconds", s.max_item_age_seconds());
    k.NonNegative(path + ".freshness_weight", s.freshness_weight());
    k.Positive(path + ".freshness_half_life_seconds", s.freshness_half_life_seconds());
    k.NonNegative(path + ".popularity_weight", s.popularity_weight());
    const Diversity& div = s.diversity();
    k.OneOf(path + ".diversity.mode", div.mode(), {"none", "mmr", "category_cap"});
    k.Fraction(path + ".diversity.mmr_lambda", div.mmr_lambda());
    k.Min(path + ".diversity.max_per_category", div.max_per_category(), 1);
    k.Fraction(path + ".explore_epsilon", s.explore_epsilon());
    k.Fraction(path + ".session_intent", s.session_intent());
    k.Range(path + ".explore_pool_size", s.explore_pool_size(), 1, 10000);
    event_type_list("continuation_event_types", s.continuation_event_types());
    event_type_list("finish_event_types", s.finish_event_types());
  }

  const auto& in = c.ingest();
  k.Min("ingest.queue_capacity", in.queue_capacity(), 1);
  if (in.queue_capacity() < l.max_events_per_call()) {
    k.Fail("ingest.queue_capacity", "must be >= limits.max_events_per_call (",
           l.max_events_per_call(), "), got ", in.queue_capacity());
  }
  k.Min("ingest.max_batch_events", in.max_batch_events(), 1);
  k.Positive("ingest.dedupe_window_seconds", in.dedupe_window_seconds());
  k.Min("ingest.max_fold_lag_events", in.max_fold_lag_events(), 1);
  if (in.max_fold_lag_events() < l.max_events_per_call()) {
    k.Fail("ingest.max_fold_lag_events", "must be >= limits.max_events_per_call (",
           l.max_events_per_call(), "), got ", in.max_fold_lag_events());
  }
  k.Range("ingest.fold_threads", in.fold_threads(), 1, 64);
  k.NonNegative("ingest.defer_solves_lag_ms", in.defer_solves_lag_ms());
  k.Min("ingest.max_unpersisted_events", in.max_unpersisted_events(), 1);

  k.Range("demo.items", c.demo().items(), 0, 1000000);
  k.Min("demo.users", c.demo().users(), 0);

  k.OneOf("logging.level", c.logging().level(),
          {"trace", "debug", "info", "warn", "error", "critical", "off"});
  return k.Result();
}

}  // namespace recd::config
