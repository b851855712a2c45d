#include "core/covisit.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <span>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recd::core {
namespace {

constexpr int kChunkBits = 16;
constexpr uint32_t kChunkSize = 1u << kChunkBits;
constexpr uint32_t kNumChunks = 1u << (32 - kChunkBits);
// A summary moves its reference time once an event is this many half-lives
// past it, so relative counters stay below weight * 2^20.
constexpr double kMaxExponent = 20;
constexpr uint8_t kDirty = 1;    // list to republish
constexpr uint8_t kChanged = 2;  // to report from TakeChanged
constexpr uint8_t kFormatVersion = 1;
// Serialized: u8 version, i64 ref_us, i64 last_us, u32 n, then n * (u32 id,
// f64 count, f32 error) in published order (so equal summaries give equal
// bytes).
constexpr size_t kHeaderBytes = 1 + 8 + 8 + 4;
constexpr size_t kSlotBytes = 4 + 8 + 4;

void PutBits(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBits(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Approximate heap bytes: a summary with its LRU node, a published list with
// its control block.
constexpr size_t kSummaryOverhead = 96;
constexpr size_t kListOverhead = 64;

struct Slot {
  uint32_t id;
  float error;   // count - error <= true decayed weight (relative to ref_us)
  double count;  // decayed weight relative to ref_us: sum w * 2^((t - ref) / h)
};

// The published order: higher count first, ties by ascending id. Its last
// slot is the one SpaceSaving replaces, so the state never depends on the
// order of slots in memory (or on a restart).
bool Better(const Slot& a, const Slot& b) {
  return a.count != b.count ? a.count > b.count : a.id < b.id;
}

// The largest float <= x (x >= 0), so a float error bound never exceeds its
// double count.
float FloatBelow(double x) {
  float f = static_cast<float>(x);
  return f > x ? std::nextafter(f, 0.0f) : f;
}

}  // namespace

struct Covisitation::Summary {
  int64_t ref_us = 0;   // counts are relative to 2^(ref_us / h)
  int64_t last_us = 0;  // latest event time added
  std::vector<Slot> slots;  // in published order (Better): best first, the SpaceSaving minimum last
  std::list<uint32_t>::iterator lru;
  size_t list_bytes = 0;  // of the published list
};

struct Covisitation::Chunk {
  std::atomic<std::shared_ptr<const List>> lists[kChunkSize];
};

absl::Status ValidateCovisitOptions(const CovisitOptions& o) {
  auto bad = [](const char* field, const char* rule) {
    return absl::InvalidArgumentError(absl::StrCat("covisit.", field, " must be ", rule));
  };
  if (o.window_items < 1) return bad("window_items", ">= 1");
  if (!(o.window_seconds > 0) || !std::isfinite(o.window_seconds)) {
    return bad("window_seconds", "> 0 and finite");
  }
  if (o.slots_per_item < 1 || o.slots_per_item > 65536) {
    return bad("slots_per_item", "in [1, 65536]");
  }
  if (o.top_per_item < 1 || o.top_per_item > o.slots_per_item) {
    return bad("top_per_item", "in [1, slots_per_item]");
  }
  if (!(o.half_life_seconds > 0) || !std::isfinite(o.half_life_seconds)) {
    return bad("half_life_seconds", "> 0 and finite");
  }
  if (o.max_session_items < 1) return bad("max_session_items", ">= 1");
  if (o.max_bytes < 1) return bad("max_bytes", ">= 1");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Covisitation>> Covisitation::Create(const CovisitOptions& options) {
  if (absl::Status s = ValidateCovisitOptions(options); !s.ok()) return s;
  return std::unique_ptr<Covisitation>(new Covisitation(options));
}

Covisitation::Covisitation(const CovisitOptions& options)
    : options_(options),
      half_life_us_(options.half_life_seconds * 1e6),
      dir_(new std::atomic<Chunk*>[kNumChunks]()) {}

Covisitation::~Covisitation() {
  for (uint32_t c = 0; c < kNumChunks; ++c) delete dir_[c].load(std::memory_order_relaxed);
}

void Covisitation::Observe(uint32_t item, double weight, int64_t t_us,
                           const std::vector<SessionItem>& recent, size_t session_events) {
  if (!(weight > 0) || !std::isfinite(weight)) return;
  clock_us_ = std::max(clock_us_, t_us);
  if (session_events >= static_cast<size_t>(options_.max_session_items)) return;
  const double damp = 2.0 / std::log2(2.0 + static_cast<double>(session_events + 1));
  const double window_us = options_.window_seconds * 1e6;
  const size_t n = static_cast<size_t>(options_.window_items);
  const size_t begin = recent.size() > n ? recent.size() - n : 0;
  seen_.clear();
  for (size_t i = recent.size(); i-- > begin;) {
    const SessionItem& r = recent[i];
    if (r.item == item || !(r.weight > 0) || !std::isfinite(r.weight)) continue;
    if (std::abs(static_cast<double>(t_us) - static_cast<double>(r.t_us)) > window_us) continue;
    if (std::find(seen_.begin(), seen_.end(), r.item) != seen_.end()) continue;
    seen_.push_back(r.item);
    const double w = std::sqrt(weight * r.weight) * damp;
    Add(item, r.item, w, t_us);
    Add(r.item, item, w, t_us);
  }
  EvictOverBudget();
}

Covisitation::Summary& Covisitation::Touch(uint32_t item) {
  if (item >= summaries_.size()) summaries_.resize(size_t{item} + 1);
  std::unique_ptr<Summary>& s = summaries_[item];
  if (s == nullptr) {
    s = std::make_unique<Summary>();
    s->lru = lru_.insert(lru_.end(), item);
    bytes_ += kSummaryOverhead;
  } else {
    lru_.splice(lru_.end(), lru_, s->lru);
  }
  return *s;
}

void Covisitation::Add(uint32_t item, uint32_t neighbour, double weight, int64_t t_us) {
  const bool is_new = item >= summaries_.size() || summaries_[item] == nullptr;
  Summary& s = Touch(item);
  if (is_new) s.ref_us = s.last_us = t_us;
  s.last_us = std::max(s.last_us, t_us);
  double e = (static_cast<double>(t_us) - static_cast<double>(s.ref_us)) / half_life_us_;
  if (e > kMaxExponent) {  // move the reference time to t_us
    const double f = std::exp2(-e);
    for (Slot& slot : s.slots) {
      slot.count *= f;
      slot.error = FloatBelow(slot.error * f);
    }
    std::erase_if(s.slots, [](const Slot& slot) { return slot.count == 0; });
    std::sort(s.slots.begin(), s.slots.end(), Better);  // scaled counts may tie
    s.ref_us = t_us;
    e = 0;
  }
  const double inc = weight * std::exp2(e);
  if (inc == 0) return;  // far older than the summary: no effect
  auto it = std::find_if(s.slots.begin(), s.slots.end(),
                         [&](const Slot& slot) { return slot.id == neighbour; });
  if (it != s.slots.end()) {
    it->count += inc;
  } else if (s.slots.size() < static_cast<size_t>(options_.slots_per_item)) {
    if (s.slots.size() == s.slots.capacity()) {
      const size_t old_cap = s.slots.capacity();
      s.slots.reserve(std::min<size_t>(options_.slots_per_item, std::max<size_t>(4, 2 * old_cap)));
      bytes_ += (s.slots.capacity() - old_cap) * sizeof(Slot);
    }
    s.slots.push_back({neighbour, 0.0f, inc});
    it = s.slots.end() - 1;
  } else {  // SpaceSaving: the newcomer takes the minimum's slot and count
    it = s.slots.end() - 1;
    *it = {neighbour, FloatBelow(it->count), it->count + inc};
  }
  // Counts only grow: the slot moves toward the front to its place.
  for (; it != s.slots.begin() && Better(*it, *(it - 1)); --it) std::iter_swap(it, it - 1);
  MarkChanged(item, kDirty | kChanged);
}

void Covisitation::MarkChanged(uint32_t item, uint8_t bits) {
  if (item >= flags_.size()) flags_.resize(size_t{item} + 1, 0);
  uint8_t added = bits & ~flags_[item];
  if (added & kDirty) dirty_.push_back(item);
  if (added & kChanged) changed_.push_back(item);
  flags_[item] |= bits;
}

void Covisitation::Publish() {
  for (uint32_t item : dirty_) {
    flags_[item] &= ~kDirty;
    if (summaries_[item] != nullptr) PublishOne(item);  // else evicted: already nullptr
  }
  dirty_.clear();
  EvictOverBudget();
}

void Covisitation::PublishOne(uint32_t item) {
  Summary& s = *summaries_[item];
  const size_t n = std::min<size_t>(s.slots.size(), options_.top_per_item);
  const auto best = std::span(s.slots).first(n);  // slots are kept in published order
  // Scores as of the writer's clock: count * 2^((ref - clock) / h).
  const double f =
      std::exp2((static_cast<double>(s.ref_us) - static_cast<double>(clock_us_)) / half_life_us_);
  auto list = std::make_shared<List>();
  list->reserve(n);
  for (const Slot& slot : best) list->push_back({slot.id, static_cast<float>(slot.count * f)});
  bytes_ -= s.list_bytes;
  s.list_bytes = kListOverhead + list->capacity() * sizeof(Neighbor);
  bytes_ += s.list_bytes;
  Store(item, std::move(list));
}

void Covisitation::Store(uint32_t item, std::shared_ptr<const List> list) {
  std::atomic<Chunk*>& slot = dir_[item >> kChunkBits];
  Chunk* chunk = slot.load(std::memory_order_relaxed);  // only this thread stores
  if (chunk == nullptr) {
    if (list == nullptr) return;
    chunk = new Chunk();
    slot.store(chunk, std::memory_order_release);
  }
  chunk->lists[item & (kChunkSize - 1)].store(std::move(list), std::memory_order_release);
}

std::shared_ptr<const Covisitation::List> Covisitation::Top(uint32_t item) const {
  const Chunk* chunk = dir_[item >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return nullptr;
  return chunk->lists[item & (kChunkSize - 1)].load(std::memory_order_acquire);
}

void Covisitation::EvictOverBudget() {
  while (bytes_ > options_.max_bytes && !lru_.empty()) {
    const uint32_t item = lru_.front();
    lru_.pop_front();
    const Summary& s = *summaries_[item];
    bytes_ -= kSummaryOverhead + s.slots.capacity() * sizeof(Slot) + s.list_bytes;
    summaries_[item].reset();
    Store(item, nullptr);
    MarkChanged(item, kChanged);
  }
}

std::vector<uint32_t> Covisitation::TakeChanged() {
  for (uint32_t item : changed_) flags_[item] &= ~kChanged;
  return std::exchange(changed_, {});
}

std::string Covisitation::Serialize(uint32_t item) const {
  if (item >= summaries_.size() || summaries_[item] == nullptr) return "";
  const Summary& s = *summaries_[item];
  const std::vector<Slot>& slots = s.slots;  // canonical: in published order
  std::string out;
  out.reserve(kHeaderBytes + s.slots.size() * kSlotBytes);
  out.push_back(static_cast<char>(kFormatVersion));
  PutBits(&out, static_cast<uint64_t>(s.ref_us), 8);
  PutBits(&out, static_cast<uint64_t>(s.last_us), 8);
  PutBits(&out, s.slots.size(), 4);
  for (const Slot& slot : slots) {
    PutBits(&out, slot.id, 4);
    PutBits(&out, std::bit_cast<uint64_t>(slot.count), 8);
    PutBits(&out, std::bit_cast<uint32_t>(slot.error), 4);
  }
  return out;
}

absl::Status Covisitation::Restore(uint32_t item, std::string_view bytes) {
  auto corrupt = [item](const char* why) {
    return absl::DataLossError(absl::StrCat("covisit summary of item ", item, ": ", why));
  };
  if (bytes.size() < kHeaderBytes) return corrupt("shorter than its header");
  if (static_cast<uint8_t>(bytes[0]) != kFormatVersion) return corrupt("unknown format version");
  const int64_t ref_us = static_cast<int64_t>(GetBits(bytes.data() + 1, 8));
  const int64_t last_us = static_cast<int64_t>(GetBits(bytes.data() + 9, 8));
  const uint64_t n = GetBits(bytes.data() + 17, 4);
  if (last_us < ref_us) return corrupt("last update before the reference time");
  if ((bytes.size() - kHeaderBytes) % kSlotBytes != 0 ||
      (bytes.size() - kHeaderBytes) / kSlotBytes != n) {
    return corrupt("size does not match its slot count");
  }
  std::vector<Slot> slots(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = bytes.data() + kHeaderBytes + i * kSlotBytes;
    Slot& slot = slots[i];
    slot.id = static_cast<uint32_t>(GetBits(p, 4));
    slot.count = std::bit_cast<double>(GetBits(p + 4, 8));
    slot.error = std::bit_cast<float>(static_cast<uint32_t>(GetBits(p + 12, 4)));
    if (slot.id == item) return corrupt("an item is its own neighbour");
    if (!std::isfinite(slot.count) || !(slot.count >= 0)) return corrupt("bad count");
    if (!std::isfinite(slot.error) || !(slot.error >= 0) || slot.error > slot.count) {
      return corrupt("bad error bound");
    }
  }
  std::sort(slots.begin(), slots.end(), Better);
  std::vector<uint32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = slots[i].id;
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
    return corrupt("duplicate neighbour");
  }
  if (slots.size() > static_cast<size_t>(options_.slots_per_item)) {
    slots.resize(options_.slots_per_item);
  }
  slots.shrink_to_fit();

  Summary& s = Touch(item);
  bytes_ -= s.slots.capacity() * sizeof(Slot);
  s.slots = std::move(slots);
  bytes_ += s.slots.capacity() * sizeof(Slot);
  s.ref_us = ref_us;
  s.last_us = last_us;
  clock_us_ = std::max(clock_us_, last_us);
  MarkChanged(item, kDirty);
  EvictOverBudget();
  return absl::OkStatus();
}

constexpr uint8_t kRowFormat = 2;

std::string Covisitation::EncodeRow(uint32_t item,
                                    const std::function<std::string_view(uint32_t)>& id_of) const {
  const std::string summary = Serialize(item);
  if (summary.empty()) return "";
  std::string out;
  out.push_back(static_cast<char>(kRowFormat));
  PutBits(&out, summary.size(), 4);
  out += summary;
  const uint64_t n = GetBits(summary.data() + 17, 4);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string_view id = id_of(static_cast<uint32_t>(
        GetBits(summary.data() + kHeaderBytes + i * kSlotBytes, 4)));
    PutBits(&out, id.size(), 2);
    out += id;
  }
  return out;
}

absl::StatusOr<std::string> Covisitation::DecodeRow(uint32_t item, std::string_view row,
                                                    const LookupMany& lookup) {
  auto corrupt = [item](const char* why) {
    return absl::DataLossError(absl::StrCat("covisit row of item ", item, ": ", why));
  };
  if (row.empty() || static_cast<uint8_t>(row[0]) != kRowFormat) {
    return corrupt("not in row format 2 (written by an older build)");
  }
  if (row.size() < 5) return corrupt("truncated");
  const uint64_t len = GetBits(row.data() + 1, 4);
  if (len < kHeaderBytes || row.size() < 5 + len) return corrupt("truncated summary");
  std::string summary(row.substr(5, len));
  const uint64_t n = GetBits(summary.data() + 17, 4);
  if (summary.size() != kHeaderBytes + n * kSlotBytes) return corrupt("bad slot count");
  std::vector<std::string_view> ids;
  ids.reserve(n);
  size_t at = 5 + len;
  for (uint64_t i = 0; i < n; ++i) {
    if (row.size() < at + 2) return corrupt("truncated ids");
    const uint64_t id_len = GetBits(row.data() + at, 2);
    if (id_len == 0 || row.size() < at + 2 + id_len) return corrupt("truncated ids");
    ids.push_back(row.substr(at + 2, id_len));
    at += 2 + id_len;
  }
  if (at != row.size()) return corrupt("trailing bytes");
  std::vector<std::optional<uint32_t>> dense(n);
  lookup(ids, dense.data());
  for (uint64_t i = 0; i < n; ++i) {
    if (!dense[i]) return absl::NotFoundError("covisit row: a neighbour is not interned");
    for (int b = 0; b < 4; ++b) {  // PutBits' byte order, in place
      summary[kHeaderBytes + i * kSlotBytes + b] = static_cast<char>((*dense[i] >> (8 * b)) & 0xff);
    }
  }
  return summary;
}

}  // namespace recd::core
