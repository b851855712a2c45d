// Item-to-item co-visitation (DESIGN.md "Models and structures"): items seen
// close together in one session, per item a bounded SpaceSaving summary of its
// neighbours, published as an immutable top list for the read path.
//
// Pairs. Observe(item, w, t, recent, session_events) pairs `item` with each distinct item among
// the last `window_items` entries of `recent` whose time is within
// `window_seconds` of t (the same item is never paired with itself; an item
// appearing twice in the window counts once, with its latest entry). Each pair
// adds to both a→b and b→a the weight
//   sqrt(w_a * w_b) * 2 / log2(2 + n) * 2^((t - ref) / h)
// where n = session_events + 1 is the session length so far, this event
// included (session_events: the session's earlier events, of which `recent`
// holds the last few, or fewer after a pause; so a two-item session is
// undamped and a 50-item one counts ~0.35), t the observed event's time and
// h the half-life: forward decay, so ordering by the sum is ordering by the
// decayed value at any later time. Abuse cap: an event whose session already
// has max_session_items or more events forms no pairs, so one session adds
// at most window_items * max_session_items pairs each way, however long it
// runs. `recent` must be the session's items, not a user's whole history.
//
// Decay without overflow. 2^(t/h) overflows at today's timestamps, so each
// summary keeps its own reference time `ref` (its first observation) and
// counters relative to it; when an event lies more than 20 half-lives past
// ref, the summary moves ref to the event's time and rescales its counters
// (rare, and deterministic, so a replay gives the same state). Events before
// ref simply add less; ones too old to matter add nothing.
//
// SpaceSaving. Per item at most slots_per_item (neighbour, count, error)
// counters. A new neighbour takes a free slot, or else replaces the slot with
// the smallest count (ties: the largest id, so the state never depends on slot
// order) and inherits count = min + w, error = min (count - error
// <= true decayed weight <= count). Any neighbour whose decayed weight exceeds
// 1/slots_per_item of the item's total is guaranteed a slot.
//
// Published lists. Top(item) is the item's top_per_item neighbours by count,
// best first, ties by ascending id; the score is the decayed count as of the
// publish time (the latest event time seen by Observe, or by the restored
// summaries), so scores of lists published together are comparable.
//
// Memory. Approximate bytes of summaries and published lists are tracked;
// when over max_bytes, whole summaries of the least recently updated items
// (by order of Observe/Restore calls, not event time) are evicted: their
// Top() becomes nullptr at once, they are reported by TakeChanged() and
// Serialize() returns "" for them (the caller deletes the stored row). Not
// counted: the per-id index, 9 bytes per id up to the largest seen, and the
// reader directory, 512 KB plus 1 MB per block of 65,536 ids with a list.
//
// Thread safety: one writer thread (the fold-in worker) calls everything but
// Top(); Top() is safe from any number of threads at any time and never waits
// for the writer beyond a shared_ptr copy. Lists are immutable once published.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/ann_index.h"

namespace recd::core {

struct CovisitOptions {
  // Pairs only with the last this many items of the session. >= 1.
  int window_items = 5;
  // ... and only with those at most this far apart in time. > 0.
  double window_seconds = 1800;
  // SpaceSaving counters per item. In [1, 65536].
  int slots_per_item = 100;
  // Length of a published list. In [1, slots_per_item].
  int top_per_item = 50;
  // Forward-decay half-life. > 0.
  double half_life_seconds = 7 * 86400;
  // Events of a session beyond this many form no pairs (abuse cap). >= 1.
  int max_session_items = 50;
  // Approximate memory budget of summaries and lists. >= 1.
  size_t max_bytes = 700u << 20;
};

// OK, or INVALID_ARGUMENT naming the first field out of range.
[[nodiscard]] absl::Status ValidateCovisitOptions(const CovisitOptions& options);

// One earlier event of the session: its item, event-type weight and time.
struct SessionItem {
  uint32_t item;
  double weight;
  int64_t t_us;
};

class Covisitation {
 public:
  using List = std::vector<Neighbor>;

  // INVALID_ARGUMENT (naming the field) for bad options.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Covisitation>> Create(
      const CovisitOptions& options);
  ~Covisitation();
  Covisitation(const Covisitation&) = delete;
  Covisitation& operator=(const Covisitation&) = delete;

  // Writer. Folds one event (dense `item`, event-type `weight` > 0, event time
  // t_us) given the session's earlier events `recent`, most recent last.
  // Events with a non-positive or non-finite weight are ignored, as are
  // entries of `recent` with such weights. Changes are visible to readers
  // after the next Publish(). REQUIRES: dense ids (memory grows with the
  // largest id seen).
  void Observe(uint32_t item, double weight, int64_t t_us, const std::vector<SessionItem>& recent,
               size_t session_events);

  // Writer. Republishes the lists of the items changed since the last call.
  void Publish();

  // Writer. The items changed (or evicted) since the last call, each once, in
  // no particular order; for the fold-in to persist with Serialize().
  std::vector<uint32_t> TakeChanged();

  // Writer. One item's summary in a compact little-endian format (version
  // byte first; equal summaries give equal bytes); "" if the item has none
  // (never observed, or evicted).
  std::string Serialize(uint32_t item) const;

  // Writer, at start-up. Replaces the item's summary with `bytes` from
  // Serialize() and schedules its list for the next Publish(); does not mark
  // it changed. A summary with more slots than slots_per_item keeps the
  // largest counts. DATA_LOSS (nothing changed) if `bytes` is malformed.
  [[nodiscard]] absl::Status Restore(uint32_t item, std::string_view bytes);

  // What the covisit column family stores. Dense ids are stable only within
  // one process (a restart numbers items in load order, and a loaded model
  // interns its rows first), so a stored row names each neighbour by its
  // item id: u8 row format (2), u32 summary length, the Serialize() bytes,
  // then per slot in the same order a u16 length and the neighbour's id.
  // EncodeRow returns "" when the item has no summary. `id_of` maps a dense
  // id to its item id (a view that stays valid during the call).
  std::string EncodeRow(uint32_t item,
                        const std::function<std::string_view(uint32_t)>& id_of) const;
  // Item ids -> this process's dense ids (nullopt if unknown), a row's
  // neighbours at a time: out has ids.size() entries.
  using LookupMany =
      std::function<void(absl::Span<const std::string_view> ids, std::optional<uint32_t>* out)>;
  // The Restore() bytes of a stored row, its neighbours renumbered by
  // `lookup` (called once, with all of them, so it can overlap their
  // lookups: Catalog::Reader::FindMany). DATA_LOSS for a malformed row, or
  // one written in the dense-id-only format of earlier builds (its
  // co-visitation restarts); NOT_FOUND when `lookup` does not know a
  // neighbour. Pure: any thread, so a start-up can decode rows in parallel.
  [[nodiscard]] static absl::StatusOr<std::string> DecodeRow(uint32_t item, std::string_view row,
                                                             const LookupMany& lookup);

  // Writer. Approximate bytes held by summaries and published lists.
  size_t ApproxBytes() const { return bytes_; }

  // Any thread. The item's last published list, best first, no id twice;
  // nullptr if none was published (or it was evicted).
  std::shared_ptr<const List> Top(uint32_t item) const;

 private:
  struct Summary;
  struct Chunk;

  explicit Covisitation(const CovisitOptions& options);
  Summary& Touch(uint32_t item);
  void Add(uint32_t item, uint32_t neighbour, double weight, int64_t t_us);
  void MarkChanged(uint32_t item, uint8_t bits);
  void PublishOne(uint32_t item);
  void Store(uint32_t item, std::shared_ptr<const List> list);
  void EvictOverBudget();

  const CovisitOptions options_;
  const double half_life_us_;
  int64_t clock_us_ = 0;  // latest event time seen
  size_t bytes_ = 0;
  // Writer-only state, indexed by dense id.
  std::vector<std::unique_ptr<Summary>> summaries_;
  std::vector<uint8_t> flags_;  // kDirty | kChanged
  std::vector<uint32_t> dirty_, changed_;
  std::list<uint32_t> lru_;     // least recently updated first
  std::vector<uint32_t> seen_;  // scratch for Observe
  // Reader-visible directory: chunks are created by the writer and never
  // moved or freed before destruction.
  std::unique_ptr<std::atomic<Chunk*>[]> dir_;
};

}  // namespace recd::core
