// The compact parts of a user's state (records.proto UserState): an item's
// event types as a bit mask over the state's own type names, and dense ids
// cached next to the item ids for the catalog they were resolved in. The
// fold-in reads and writes every user's items and session per event, and
// Recommend reads them per request: string lookups of ids (a hash probe and
// two cache misses each) and a string per type per item were a fifth of the
// fold-in's CPU.
//
// Cached dense ids are valid only while UserState.dense_epoch equals the
// catalog's epoch(): a restart numbers items anew, and a state read from
// RocksDB may come from another run. Readers check once per state and fall
// back to the id lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/catalog.h"
#include "recd/v1/records.pb.h"

namespace recd::core {

// Whether `state`'s cached dense ids are valid in `r`'s catalog.
inline bool DenseValid(const recd::v1::records::UserState& state, const Catalog::Reader& r) {
  return state.dense_epoch() == r.epoch();
}

// Dense id of a state's item or session entry: the cached one when `cached`
// (DenseValid), else looked up (nullopt if the catalog never saw the id).
template <typename Entry>
std::optional<uint32_t> DenseOf(const Catalog::Reader& r, bool cached, const Entry& entry) {
  if (cached) return entry.dense();
  return r.Find(entry.item_id());
}

// DenseOf of every entry of state->items(), in order; empty for a null
// state (no history). When not cached the lookups overlap
// (Catalog::Reader::FindMany): after a restart every stored state is
// uncached until the fold-in next touches it.
std::vector<std::optional<uint32_t>> ItemDenseIds(const Catalog::Reader& r,
                                                  const recd::v1::records::UserState* state);

// The bits of state.type_names() that name one of `types`.
uint64_t TypeBits(const recd::v1::records::UserState& state, const std::vector<std::string>& types);

// Whether `item` has an event type in `types`; bits = TypeBits(state, types).
bool HasType(const recd::v1::records::UserItem& item, uint64_t bits,
             const std::vector<std::string>& types);

// Writer (the fold-in), on its own copy. Caches the dense id of every item
// and session entry for `catalog` (interning ids it does not know, as the
// fold-in does for every event's item), and moves type names of states
// written by earlier builds into the mask. Cheap when already done.
void PrepareForFold(Catalog& catalog, recd::v1::records::UserState* state);

// Writer. Adds event type `type` to `item` of `state`: its mask bit, or
// beyond 64 distinct type names in the state, the name itself.
void AddType(std::string_view type, recd::v1::records::UserState* state,
             recd::v1::records::UserItem* item);

}  // namespace recd::core
