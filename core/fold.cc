#include "core/fold.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "storage/keys.h"

namespace recd::core {

using recd::v1::records::ItemStats;
using recd::v1::records::StoredEvent;
using recd::v1::records::UserItem;
using recd::v1::records::UserState;

namespace {

// Folds one event into a user state (per-item aggregate, capped).
void FoldIntoUser(const StoredEvent& e, double weight, int max_items, UserState* state) {
  UserItem* agg = nullptr;
  for (auto& it : *state->mutable_items()) {
    if (it.item_id() == e.item_id()) {
      agg = &it;
      break;
    }
  }
  if (agg == nullptr) {
    agg = state->add_items();
    agg->set_item_id(e.item_id());
  }
  agg->set_weight(agg->weight() + weight);
  agg->set_last_us(std::max(agg->last_us(), e.occurred_at_us()));
  auto* types = agg->mutable_types();
  if (std::find(types->begin(), types->end(), e.type()) == types->end()) {
    types->Add(std::string(e.type()));
    std::sort(types->begin(), types->end());
  }
  state->set_folded_seq(e.seq());
  if (state->items_size() > max_items) {
    // Drop the least recently touched item.
    auto* items = state->mutable_items();
    auto oldest = std::min_element(items->begin(), items->end(),
                                   [](const UserItem& a, const UserItem& b) {
                                     return a.last_us() < b.last_us();
                                   });
    items->erase(oldest);
  }
}

}  // namespace

FoldWorker::FoldWorker(storage::Store* store, Catalog* catalog, Trending* trending,
                       UserStore* users, FoldOptions options)
    : store_(store), catalog_(catalog), trending_(trending), users_(users),
      options_(std::move(options)) {
  auto raw = store_->Get(storage::Cf::kMeta, storage::kMetaFoldWatermark);
  if (raw.ok() && raw->has_value() && (*raw)->size() == 8) {
    folded_.store(storage::DecodeU64(**raw));
  }
  auto last = store_->Get(storage::Cf::kMeta, storage::kMetaLastSeq);
  if (last.ok() && last->has_value() && (*last)->size() == 8) {
    target_ = storage::DecodeU64(**last);
  }
  thread_ = std::thread([this] { Run(); });
}

FoldWorker::~FoldWorker() { Stop(); }

void FoldWorker::Notify(uint64_t seq) {
  std::lock_guard lock(mu_);
  target_ = std::max(target_, seq);
  cv_.notify_one();
}

bool FoldWorker::WaitFolded(uint64_t seq, double timeout_seconds) {
  std::unique_lock lock(mu_);
  return folded_cv_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                             [&] { return folded_seq() >= seq; });
}

void FoldWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void FoldWorker::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || target_ > folded_seq(); });
      if (target_ <= folded_seq()) return;  // stopping, nothing left
    }
    auto n = FoldBatch();
    if (!n.ok()) {
      // Storage failure: retry shortly rather than spin; the state stays
      // at its watermark, so nothing is lost.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (*n == 0) {
      // The log ends before target_ (cannot happen unless the log lost
      // events); do not spin on it.
      std::lock_guard lock(mu_);
      target_ = folded_seq();
    }
  }
}

absl::StatusOr<int> FoldWorker::FoldBatch() {
  const uint64_t from = folded_seq() + 1;
  std::unordered_map<std::string, std::shared_ptr<UserState>> changed_users;
  std::unordered_map<uint32_t, std::string> changed_items;  // dense -> id
  uint64_t last = from - 1;
  int n = 0;
  absl::Status inner;
  absl::Status scan = store_->Scan(
      storage::Cf::kEvents, storage::EncodeU64(from),
      [&](std::string_view, std::string_view value) {
        StoredEvent e;
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("events CF: unparsable event after seq " +
                                      std::to_string(last));
          return false;
        }
        auto w = options_.event_weights.find(e.type());
        // A type removed from the config since the event was written
        // still counts, with weight 1.
        double weight = w == options_.event_weights.end() ? 1.0 : w->second;
        std::string key = UserKey(e.user_id(), e.session_id());
        auto& state = changed_users[key];
        if (state == nullptr) {
          auto cur = users_->Get(key);
          if (!cur.ok()) {
            inner = cur.status();
            return false;
          }
          state = *cur ? std::make_shared<UserState>(**cur) : std::make_shared<UserState>();
        }
        FoldIntoUser(e, weight, options_.max_user_items, state.get());
        uint32_t dense = catalog_->Intern(e.item_id());
        trending_->Add(dense, weight, e.occurred_at_us());
        changed_items.emplace(dense, e.item_id());
        last = e.seq();
        return ++n < options_.max_batch_events;
      });
  if (!scan.ok()) return scan;
  if (!inner.ok()) return inner;
  if (n == 0) return 0;

  storage::WriteBatch batch;
  for (const auto& [key, state] : changed_users) {
    batch.Put(storage::Cf::kUsers, key, state->SerializeAsString());
  }
  for (const auto& [dense, id] : changed_items) {
    ItemStats stats;
    stats.set_trending(trending_->Get(dense));
    batch.Put(storage::Cf::kItemStats, id, stats.SerializeAsString());
  }
  batch.Put(storage::Cf::kMeta, storage::kMetaFoldWatermark, storage::EncodeU64(last));
  // Derived state is replayable from the log: no fsync needed.
  if (auto st = store_->Write(batch, /*sync=*/false); !st.ok()) return st;

  for (auto& [key, state] : changed_users) users_->Put(key, std::move(state));
  bool caught_up;
  {
    std::lock_guard lock(mu_);
    caught_up = last >= target_;
  }
  // Republishing the trending list is O(items): once the worker has caught
  // up, or at most every kPublishInterval while it works through a backlog.
  auto now = std::chrono::steady_clock::now();
  if (caught_up || now - last_publish_ >= kPublishInterval) {
    trending_->Publish();
    last_publish_ = now;
  }
  {
    std::lock_guard lock(mu_);
    folded_.store(last, std::memory_order_release);
  }
  folded_cv_.notify_all();
  return n;
}

}  // namespace recd::core
