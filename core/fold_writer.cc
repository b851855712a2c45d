#include "core/fold_writer.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/container/flat_hash_set.h"
#include "recd/v1/records.pb.h"
#include "spdlog/spdlog.h"
#include "storage/keys.h"

namespace recd::core {

FoldWriter::FoldWriter(storage::Store* store, UserStore* users, uint64_t persisted,
                       size_t max_pending_events)
    : store_(store),
      users_(users),
      max_pending_events_(std::max<size_t>(1, max_pending_events)),
      persisted_(persisted) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recd-fold-write");
    // Below the fold-in when the cores are busy: visibility first, the
    // writer catches up when there is room (bounded by max_pending_events).
    // Raising one's own nice value needs no privilege; a failure only
    // leaves the default priority.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kWriterNice);
    Run();
  });
}

FoldWriter::~FoldWriter() { Stop(); }

void FoldWriter::Push(DerivedBatch batch) {
  std::unique_lock lock(mu_);
  auto room = [&] {
    return stopping_ || pending_events_ == 0 ||
           pending_events_ + batch.events <= max_pending_events_;
  };
  if (!room()) {
    const auto t0 = std::chrono::steady_clock::now();
    space_cv_.wait(lock, room);
    push_wait_us_.fetch_add(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count(),
        std::memory_order_relaxed);
  }
  pending_events_ += batch.events;
  queue_.push_back(std::move(batch));
  work_cv_.notify_one();
}

size_t FoldWriter::pending_events() const {
  std::lock_guard lock(mu_);
  return pending_events_;
}

void FoldWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    work_cv_.notify_one();
  }
  space_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FoldWriter::Run() {
  std::vector<DerivedBatch> group;
  uint64_t failures = 0;  // in a row
  for (;;) {
    bool stopping;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      // A group that failed to write is written again with what came since.
      for (auto& b : queue_) group.push_back(std::move(b));
      queue_.clear();
      stopping = stopping_;
    }
    if (group.empty()) return;  // stopping, all written
    uint64_t watermark = 0;
    const absl::Status st = Write(group, &watermark);
    if (!st.ok()) {
      // Logged once, then every ~10 s while it lasts.
      if (failures++ % 100 == 0 || stopping) {
        spdlog::error("fold-in: writing derived state: {}; {}", st.ToString(),
                      stopping ? "giving up at stop (the next start replays from the watermark)"
                               : "retrying every 100 ms");
      }
      if (stopping) return;
      std::unique_lock lock(mu_);
      work_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
      continue;
    }
    if (failures > 0)
      spdlog::info("fold-in: derived state written again after {} failures", failures);
    failures = 0;
    size_t events = 0;
    for (const auto& b : group) events += b.events;
    group.clear();
    {
      std::lock_guard lock(mu_);
      pending_events_ -= events;
    }
    // After the count: a reader that sees the watermark sees the queue
    // without what it covers.
    persisted_.store(watermark, std::memory_order_release);
    space_cv_.notify_all();
  }
}

absl::Status FoldWriter::Write(const std::vector<DerivedBatch>& group, uint64_t* written) {
  // Latest value per key: the batches are visited newest first and a key
  // already written is skipped (one batch has each key once, so a single
  // batch needs no sets).
  const bool dedupe = group.size() > 1;
  absl::flat_hash_set<std::string_view> seen_users, seen_stats, seen_rows;
  auto first = [dedupe](absl::flat_hash_set<std::string_view>& seen, std::string_view key) {
    return !dedupe || seen.insert(key).second;
  };
  std::vector<const std::pair<std::string, UserStatePtr>*> users;
  storage::WriteBatch batch;
  std::string buf;
  recd::v1::records::ItemStats item;
  uint64_t watermark = 0;
  for (auto b = group.rbegin(); b != group.rend(); ++b) {
    watermark = std::max(watermark, b->watermark);
    for (const auto& user : b->users) {
      if (!first(seen_users, user.first)) continue;
      user.second->SerializeToString(&buf);
      batch.Put(storage::Cf::kUsers, user.first, buf);
      users.push_back(&user);
    }
    for (const auto& s : b->item_stats) {
      if (!first(seen_stats, s.id)) continue;
      item.set_trending(s.trending);
      item.set_popular(s.popular);
      item.set_clock_us(s.clock_us);
      item.SerializeToString(&buf);
      batch.Put(storage::Cf::kItemStats, s.id, buf);
    }
    for (const auto& [id, row] : b->covisit) {
      if (!first(seen_rows, id)) continue;
      // An evicted summary encodes as "": its stored row goes too.
      if (row.empty()) {
        batch.Delete(storage::Cf::kCovisit, id);
      } else {
        batch.Put(storage::Cf::kCovisit, id, row);
      }
    }
  }
  batch.Put(storage::Cf::kMeta, storage::kMetaFoldWatermark, storage::EncodeU64(watermark));
  // Derived state is replayable from the log: outside the WAL, so it never
  // waits for (or adds bytes to) the commit thread's fsyncs; a crash rolls
  // it and its watermark back together to the last flush.
  if (auto st = store_->WriteDerived(batch); !st.ok()) return st;
  for (const auto* user : users) users_->MarkPersisted(user->first, user->second.get());
  *written = watermark;
  return absl::OkStatus();
}

}  // namespace recd::core
