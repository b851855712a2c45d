#include "core/ingest.h"

#include <pthread.h>

#include <chrono>
#include <string>
#include <unordered_set>

#include "storage/keys.h"

namespace recd::core {

using recd::v1::records::StoredEvent;

namespace {
int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Ingestor::Ingestor(storage::Store* store, IngestOptions options, OnCommit on_commit)
    : store_(store), options_(options), on_commit_(std::move(on_commit)) {
  auto raw = store_->Get(storage::Cf::kMeta, storage::kMetaLastSeq);
  if (raw.ok() && raw->has_value() && (*raw)->size() == 8) {
    last_seq_.store(storage::DecodeU64(**raw));
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recd-commit");
    Run();
  });
}

Ingestor::~Ingestor() { Stop(); }

absl::Status Ingestor::SubmitEvents(std::vector<StoredEvent> events, EventsDone done) {
  std::lock_guard lock(mu_);
  if (stopping_) return absl::ResourceExhaustedError("ingest: shutting down");
  size_t n = events.size();
  if (queued_events_.load(std::memory_order_relaxed) + n >
      static_cast<size_t>(options_.queue_capacity)) {
    return absl::ResourceExhaustedError("ingest: commit queue full (" +
                                        std::to_string(options_.queue_capacity) +
                                        " events); retry with backoff");
  }
  queued_events_.fetch_add(n, std::memory_order_relaxed);
  queue_.push_back(Entry{std::move(events), std::move(done), nullptr});
  cv_.notify_one();
  return absl::OkStatus();
}

absl::Status Ingestor::SubmitTask(std::function<void()> task) {
  std::lock_guard lock(mu_);
  if (stopping_) return absl::UnavailableError("ingest: shutting down");
  queue_.push_back(Entry{{}, nullptr, std::move(task)});
  cv_.notify_one();
  return absl::OkStatus();
}

void Ingestor::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void Ingestor::Run() {
  for (;;) {
    std::vector<Entry> group;
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      if (queue_.front().task) {
        task = std::move(queue_.front().task);
        queue_.pop_front();
      } else {
        // Group consecutive event entries up to the batch limit (a single
        // entry larger than the limit still goes whole: calls are atomic).
        size_t events = 0;
        while (!queue_.empty() && !queue_.front().task &&
               (group.empty() ||
                events + queue_.front().events.size() <=
                    static_cast<size_t>(options_.max_batch_events))) {
          events += queue_.front().events.size();
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (task) {
      task();
    } else {
      CommitGroup(group);
    }
  }
}

void Ingestor::CommitGroup(std::vector<Entry>& group) {
  const int64_t now = NowUs();
  const int64_t window_us = static_cast<int64_t>(options_.dedupe_window_seconds * 1e6);
  uint64_t seq = last_seq_.load(std::memory_order_relaxed);
  storage::WriteBatch batch;
  std::vector<CommitResult> results(group.size());
  std::vector<StoredEvent> written;
  std::unordered_set<std::string> ids_in_group;
  absl::Status status;
  size_t total = 0;

  for (size_t g = 0; g < group.size() && status.ok(); ++g) {
    total += group[g].events.size();
    for (auto& e : group[g].events) {
      if (!e.event_id().empty()) {
        bool dup = ids_in_group.count(e.event_id()) > 0;
        if (!dup) {
          auto prev = store_->Get(storage::Cf::kEventIds, e.event_id());
          if (!prev.ok()) {
            status = prev.status();
            break;
          }
          // Value: seq (8 bytes) + received time (8 bytes).
          dup = prev->has_value() && (*prev)->size() == 16 &&
                now - static_cast<int64_t>(storage::DecodeU64(std::string_view(**prev).substr(8))) <
                    window_us;
        }
        if (dup) {
          ++results[g].duplicates;
          continue;
        }
        ids_in_group.insert(e.event_id());
      }
      e.set_seq(++seq);
      e.set_received_at_us(now);
      if (e.occurred_at_us() == 0) e.set_occurred_at_us(now);
      batch.Put(storage::Cf::kEvents, storage::EncodeU64(seq), e.SerializeAsString());
      if (!e.event_id().empty()) {
        batch.Put(storage::Cf::kEventIds, e.event_id(),
                  storage::EncodeU64(seq) + storage::EncodeU64(static_cast<uint64_t>(now)));
      }
      ++results[g].accepted;
      results[g].last_seq = seq;
      written.push_back(e);
    }
  }
  if (status.ok() && !batch.Empty()) {
    batch.Put(storage::Cf::kMeta, storage::kMetaLastSeq, storage::EncodeU64(seq));
    status = store_->Write(batch, options_.fsync);
  }
  queued_events_.fetch_sub(total, std::memory_order_relaxed);
  if (!status.ok()) {
    for (auto& entry : group) entry.done(status, CommitResult{});
    return;
  }
  last_seq_.store(seq, std::memory_order_release);
  if (!written.empty() && on_commit_) on_commit_(written, seq);
  for (size_t g = 0; g < group.size(); ++g) group[g].done(absl::OkStatus(), results[g]);
}

}  // namespace recd::core
