#include "core/fold.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <utility>

#include "core/als.h"
#include "core/user_state.h"
#include "google/protobuf/arena.h"
#include "spdlog/spdlog.h"
#include "storage/keys.h"

namespace recd::core {

using recd::v1::records::Affinity;
using recd::v1::records::StoredEvent;
using recd::v1::records::UserItem;
using recd::v1::records::UserState;

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// log2(2^a + 2^b) without overflow.
double Log2AddExp2(double a, double b) {
  if (std::isinf(a) && a < 0) return b;
  double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log2(1.0 + std::exp2(lo - hi));
}

// Per-item aggregate, capped by recency. REQUIRES: PrepareForFold(state),
// so every item's dense id is cached.
void FoldItem(const StoredEvent& e, uint32_t dense, double weight, int max_items,
              UserState* state) {
  UserItem* agg = nullptr;
  for (auto& it : *state->mutable_items()) {
    if (it.dense() == dense) {
      agg = &it;
      break;
    }
  }
  if (agg == nullptr) {
    agg = state->add_items();
    agg->set_item_id(e.item_id());
    agg->set_dense(dense);
  }
  agg->set_weight(agg->weight() + weight);
  agg->set_last_us(std::max(agg->last_us(), e.occurred_at_us()));
  AddType(e.type(), state, agg);
  if (state->items_size() > max_items) {
    auto* items = state->mutable_items();
    items->erase(std::min_element(
        items->begin(), items->end(),
        [](const UserItem& a, const UserItem& b) { return a.last_us() < b.last_us(); }));
  }
}

// Decayed affinities to the item's categories and tags, strongest kept.
void FoldAffinities(const std::vector<std::string>& labels, double weight, int64_t t_us,
                    const EngineOptions& o, UserState* state) {
  const double term = std::log2(weight) + t_us / (o.affinity_half_life_seconds * 1e6);
  auto* affs = state->mutable_affinities();
  for (const auto& label : labels) {
    Affinity* a = nullptr;
    for (auto& x : *affs) {
      if (x.label() == label) {
        a = &x;
        break;
      }
    }
    if (a == nullptr) {
      a = affs->Add();
      a->set_label(label);
      a->set_log2_score(-std::numeric_limits<double>::infinity());
    }
    a->set_log2_score(Log2AddExp2(a->log2_score(), term));
  }
  // Sorted by pointer: moving the messages themselves copied them off the
  // state's arena (a heap temporary per move) and was a tenth of the
  // fold-in thread.
  std::sort(affs->pointer_begin(), affs->pointer_end(),
            [](const Affinity* a, const Affinity* b) { return a->log2_score() > b->log2_score(); });
  while (affs->size() > o.max_affinities) affs->RemoveLast();
}

}  // namespace

bool VectorCurrent(const UserState& state, const LiveModel& model) {
  return state.vector_model() == model.version && !state.vector_stale() &&
         state.vector_size() == model.vectors->dim();
}

bool SolveUserVector(const UserState& state, const Catalog& catalog, const LiveModel& model,
                     int max_items, std::vector<float>* out) {
  std::vector<std::optional<uint32_t>> dense;
  {
    Catalog::Reader r(catalog);
    dense = ItemDenseIds(r, &state);
  }
  return SolveUserVector(state, dense, model, max_items, out);
}

bool SolveUserVector(const UserState& state, std::span<const std::optional<uint32_t>> item_dense,
                     const LiveModel& model, int max_items, std::vector<float>* out) {
  const ItemVectors& vectors = *model.vectors;
  const int dim = vectors.dim();
  // The user's max_items most recent items (items are kept in touch order
  // only approximately, so select by last_us).
  std::vector<int> recent(state.items_size());
  for (int i = 0; i < state.items_size(); ++i) recent[i] = i;
  if (max_items > 0 && recent.size() > static_cast<size_t>(max_items)) {
    std::nth_element(recent.begin(), recent.begin() + max_items, recent.end(), [&](int a, int b) {
      return state.items(a).last_us() > state.items(b).last_us();
    });
    recent.resize(max_items);
  }
  // Those the catalog knows, gathered together: the vectors' cache misses
  // overlap.
  std::erase_if(recent, [&](int i) { return !item_dense[i]; });
  std::vector<uint32_t> ids(recent.size());
  for (size_t j = 0; j < recent.size(); ++j) ids[j] = *item_dense[recent[j]];
  std::vector<float> buf(ids.size() * dim);
  std::unique_ptr<bool[]> present(new bool[ids.size()]);
  vectors.GetMany(ids, buf.data(), present.get());
  std::vector<const float*> rows;
  std::vector<float> weights;
  for (size_t j = 0; j < ids.size(); ++j) {
    if (!present[j]) continue;
    rows.push_back(buf.data() + j * dim);
    weights.push_back(static_cast<float>(state.items(recent[j]).weight()));
  }
  if (rows.empty()) return false;
  AlsParams p;
  p.factors = dim;
  p.alpha = model.als_alpha;
  p.lambda = model.als_lambda;
  const auto yty = vectors.Gramian();
  // The vector folded before the latest events is a warm start for the
  // conjugate-gradient solve, a few steps from the new solution.
  if (state.vector_model() == model.version && state.vector_size() == dim) {
    return FoldInUserFrom(yty->d.data(), yty->f.data(), dim, rows, weights, p,
                          state.vector().data(), out);
  }
  return FoldInUser(yty->d.data(), dim, rows, weights, p, out);
}

FoldWorker::FoldWorker(FoldDeps deps, const EngineOptions* options, FoldStats* stats)
    : deps_(deps), options_(options), stats_(stats) {
  auto raw = deps_.store->Get(storage::Cf::kMeta, storage::kMetaFoldWatermark);
  if (raw.ok() && raw->has_value() && (*raw)->size() == 8) {
    folded_.store(storage::DecodeU64(**raw));
  }
  auto last = deps_.store->Get(storage::Cf::kMeta, storage::kMetaLastSeq);
  if (last.ok() && last->has_value() && (*last)->size() == 8) {
    target_ = storage::DecodeU64(**last);
  }
  // A log to replay waits from the start.
  caught_up_ = target_ <= folded_.load();
  popularity_seq_ = folded_.load();  // the engine published what it restored
  waiting_since_ = std::chrono::steady_clock::now();
  events_ = deps_.store->NewTailer(storage::Cf::kEvents);
  writer_ = std::make_unique<FoldWriter>(deps_.store, deps_.users, folded_.load(),
                                         static_cast<size_t>(options_->max_unpersisted_events));
  pool_ = std::make_unique<WorkerPool>(std::max(0, options_->fold_threads - 1), "recd-fold-help");
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recd-fold");
    Run();
  });
}

FoldWorker::~FoldWorker() { Stop(); }

void FoldWorker::Notify(uint64_t seq) {
  std::lock_guard lock(mu_);
  if (acks_.size() >= kMaxAcks) acks_.pop_front();
  acks_.emplace_back(seq, NowUs());
  if (caught_up_ && seq > target_) {
    waiting_since_ = std::chrono::steady_clock::now();
    caught_up_ = false;
  }
  target_ = std::max(target_, seq);
  cv_.notify_one();
}

bool FoldWorker::WaitFolded(uint64_t seq, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_seconds));
  std::unique_lock lock(mu_);
  if (!folded_cv_.wait_until(lock, deadline, [&] { return folded_seq() >= seq; })) return false;
  if (popularity_seq_ >= seq) return true;
  popularity_asked_ = std::max(popularity_asked_, seq);
  cv_.notify_one();
  return folded_cv_.wait_until(lock, deadline, [&] { return popularity_seq_ >= seq; });
}

void FoldWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  // After the fold thread's last batch (and the co-visitation flush).
  if (writer_) writer_->Stop();
}

void FoldWorker::TakeCovisitRows(size_t max_rows, DerivedBatch* out) {
  const size_t n = std::min(max_rows, covisit_pending_.size() - covisit_next_);
  const uint32_t* items = covisit_pending_.data() + covisit_next_;
  covisit_next_ += n;
  const size_t first = out->covisit.size();
  out->covisit.resize(first + n);
  // The reader's shared lock, held here, covers the helpers' reads too.
  Catalog::Reader r(*deps_.catalog);
  const std::function<std::string_view(uint32_t)> id_of = [&](uint32_t d) {
    return std::string_view(r.Id(d));
  };
  // Encoding is read-only on the summaries (nothing observes meanwhile);
  // an evicted summary encodes as "", which deletes its stored row.
  pool_->ForEach(n, [&](size_t i) {
    out->covisit[first + i] = {std::string(r.Id(items[i])),
                               deps_.covisit->EncodeRow(items[i], id_of)};
  });
}

void FoldWorker::FlushCovisitRows() {
  // What is still pending, then everything changed since the last take (a
  // row in both is written twice, the second time as it is now).
  std::vector<uint32_t> changed = deps_.covisit->TakeChanged();
  covisit_pending_.insert(covisit_pending_.end(), changed.begin(), changed.end());
  DerivedBatch batch;
  batch.watermark = folded_seq();
  TakeCovisitRows(covisit_pending_.size(), &batch);
  writer_->Push(std::move(batch));
}

void FoldWorker::RequestRefresh(const std::string& user_key, SolvedVector solved) {
  UserStatePtr replaced;  // freed after the lock is released
  std::lock_guard lock(mu_);
  auto it = refresh_.find(user_key);
  if (it != refresh_.end()) {
    replaced = std::exchange(it->second.from, std::move(solved.from));
    it->second.vector = std::move(solved.vector);
    it->second.model_version = std::move(solved.model_version);
    return;
  }
  if (refresh_.size() >= kMaxRefreshPending) return;
  refresh_.emplace(user_key, std::move(solved));
  cv_.notify_one();
}

absl::StatusOr<int> FoldWorker::RefreshUsers() {
  constexpr size_t kPerRound = 256;  // events are never kept waiting longer
  std::vector<std::pair<std::string, SolvedVector>> taken;
  {
    std::lock_guard lock(mu_);
    while (!refresh_.empty() && taken.size() < kPerRound) {
      auto node = refresh_.extract(refresh_.begin());
      taken.emplace_back(std::move(node.key()), std::move(node.mapped()));
    }
  }
  const std::shared_ptr<LiveModel> model = deps_.model->Pin();
  DerivedBatch batch;
  batch.watermark = folded_seq();
  std::vector<float> x;
  for (auto& [key, solved] : taken) {
    auto cur = deps_.users->Get(key);
    if (!cur.ok()) return cur.status();
    const UserStatePtr& state = *cur;
    if (state == nullptr || VectorCurrent(*state, *model)) continue;
    // The reader's solution stands while nothing was folded into the state
    // since and the model is the same (same inputs, same solve).
    if (state == solved.from && solved.model_version == model->version &&
        static_cast<int>(solved.vector.size()) == model->vectors->dim()) {
      x = std::move(solved.vector);
    } else if (!SolveUserVector(*state, *deps_.catalog, *model, options_->user_recent_items, &x)) {
      continue;
    } else {
      stats_->refreshes_resolved.fetch_add(1, std::memory_order_relaxed);
    }
    auto next = NewUserState(state.get());
    PrepareForFold(*deps_.catalog, next.get());
    next->mutable_vector()->Assign(x.begin(), x.end());
    next->set_vector_model(model->version);
    next->set_vector_stale(false);
    deps_.users->Put(key, next);
    batch.users.emplace_back(std::move(key), std::move(next));
  }
  if (batch.users.empty()) return 0;
  const int solved = static_cast<int>(batch.users.size());
  stats_->vectors_refreshed.fetch_add(solved, std::memory_order_relaxed);
  writer_->Push(std::move(batch));  // at the same watermark
  return solved;
}

bool FoldWorker::PopularityDue() const {
  return folded_seq() > popularity_seq_ &&
         (popularity_asked_ > popularity_seq_ ||
          std::chrono::steady_clock::now() - last_popularity_publish_ >=
              kPopularityPublishInterval);
}

void FoldWorker::PublishPopularity(bool full) {
  const uint64_t seq = folded_seq();  // this thread sets it: what was folded
  deps_.popularity->Publish(full);
  last_popularity_publish_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    popularity_seq_ = seq;
  }
  folded_cv_.notify_all();
}

bool FoldWorker::RepublishPopularity(double timeout_seconds) {
  std::unique_lock lock(mu_);
  const uint64_t ticket = ++republish_asked_;
  cv_.notify_one();
  return folded_cv_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                             [&] { return republish_done_ >= ticket; });
}

void FoldWorker::Run() {
  for (;;) {
    bool events, publish, refresh;
    uint64_t republish = 0;
    {
      std::unique_lock lock(mu_);
      // Unpublished popularity (events folded since the last republish) is
      // published when a waiter asks, or once the interval has passed.
      auto wake = [&] {
        return stopping_ || target_ > folded_seq() || !refresh_.empty() ||
               republish_asked_ > republish_done_ ||
               (popularity_asked_ > popularity_seq_ && folded_seq() > popularity_seq_);
      };
      if (folded_seq() > popularity_seq_) {
        cv_.wait_until(lock, last_popularity_publish_ + kPopularityPublishInterval, wake);
      } else {
        cv_.wait(lock, wake);
      }
      events = target_ > folded_seq();
      publish = PopularityDue();
      refresh = !refresh_.empty();
      if (!events && republish_asked_ > republish_done_) republish = republish_asked_;
      if (!events && !republish && !refresh && stopping_) {
        const bool unpublished = folded_seq() > popularity_seq_;
        lock.unlock();
        if (unpublished) PublishPopularity(/*full=*/false);
        FlushCovisitRows();
        return;
      }
    }
    if (republish != 0) {
      PublishPopularity(/*full=*/true);
      {
        std::lock_guard lock(mu_);
        republish_done_ = republish;
      }
      folded_cv_.notify_all();
      continue;
    }
    if (!events) {
      if (publish) {
        PublishPopularity(/*full=*/false);
        continue;
      }
      if (!refresh) continue;  // woken by the interval with nothing due
      // Vectors of another model version, asked for by Recommend: only
      // when no event waits (and drained at Stop, so none is lost).
      if (auto r = RefreshUsers(); !r.ok()) {
        spdlog::error("fold-in: refreshing user vectors: {}", r.status().ToString());
      }
      continue;
    }
    auto n = FoldBatch();
    if (!n.ok()) {
      // Storage failure: retry shortly rather than spin (the persisted state
      // stays at its watermark, so nothing is lost), but never past a Stop():
      // the next start resumes from the watermark.
      spdlog::error("fold-in: {}; retrying", n.status().ToString());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
      if (stopping_) {
        lock.unlock();
        FlushCovisitRows();
        return;
      }
      continue;
    }
    if (*n == 0) {
      // The log ends before target_ (cannot happen unless the log lost
      // events); do not spin on it.
      std::lock_guard lock(mu_);
      target_ = folded_seq();
      caught_up_ = true;
    }
  }
}

absl::StatusOr<int> FoldWorker::FoldBatch() {
  const EngineOptions& o = *options_;
  const uint64_t from = folded_seq() + 1;
  // Only committed events: the log may already hold the next commit's
  // events before the commit thread publishes its sequence and notifies,
  // and folded_seq() must never pass the committed sequence (the fold-lag
  // check and read-your-writes compare the two).
  uint64_t target;
  {
    std::lock_guard lock(mu_);
    target = target_;
  }
  std::unordered_map<uint32_t, std::string> changed_items;  // dense -> id
  std::vector<std::pair<uint64_t, int64_t>> received;       // seq, received_at_us
  std::vector<SessionItem> recent;
  std::vector<std::string> labels;
  uint64_t last = from - 1;
  int n = 0;
  // The batch's events live on one arena: parsed without a heap string
  // per field, freed at once.
  google::protobuf::Arena arena;
  std::vector<StoredEvent*> events;
  absl::Status scan = events_->Read(
      storage::EncodeU64(from), [&](std::string_view seq_key, std::string_view value) {
        if (storage::DecodeU64(seq_key) > target) return false;
        StoredEvent& e =
            *events.emplace_back(google::protobuf::Arena::CreateMessage<StoredEvent>(&arena));
        if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          // A corrupt record must not stall the fold-in for good: skip it
          // (counted and logged), the watermark moves past it.
          events.pop_back();
          last = storage::DecodeU64(seq_key);
          stats_->events_skipped.fetch_add(1, std::memory_order_relaxed);
          spdlog::error("events CF: skipping unparsable event seq {}", last);
          return ++n < o.max_batch_events;
        }
        last = e.seq();
        return ++n < o.max_batch_events;
      });
  if (!scan.ok()) return scan;
  if (n == 0) return 0;
  // Behind: the batch's user solves (the fold-in's largest cost) are left
  // to readers, so visibility catches up first (DESIGN.md "The fold-in
  // sheds user solves when behind"). Behind means events have been
  // waiting without a break for longer than the threshold, counted from the
  // first commit after the fold-in last caught up (so the wait for this
  // thread to be scheduled counts; the events' own age would count the
  // commit's fsync too, and defer solves on an idle server).
  std::chrono::steady_clock::time_point waiting_since;
  {
    std::lock_guard lock(mu_);
    waiting_since = waiting_since_;
  }
  const bool defer_solves = std::chrono::steady_clock::now() - waiting_since >=
                            std::chrono::duration<double, std::milli>(o.defer_solves_lag_ms);

  // The batch's users, in first-event order, and their states: read (a
  // cache miss reads RocksDB) and taken or copied for writing, on the pool.
  std::vector<std::string> keys;
  std::vector<uint32_t> user_of(events.size());
  {
    std::unordered_map<std::string, uint32_t> index;
    for (size_t i = 0; i < events.size(); ++i) {
      std::string key = UserKey(events[i]->user_id(), events[i]->session_id());
      auto [it, added] = index.try_emplace(std::move(key), static_cast<uint32_t>(keys.size()));
      if (added) keys.push_back(it->first);
      user_of[i] = it->second;
    }
  }
  std::vector<std::shared_ptr<UserState>> states(keys.size());
  std::mutex read_mu;
  absl::Status read_error;
  pool_->ForEach(keys.size(), [&](size_t i) {
    // Taken out of the cache when nothing else holds it (no copy), else
    // copied; Put back below. On a read error the batch is not applied and
    // the states taken are dropped: the cache reloads them from RocksDB,
    // which has them (only persisted states are taken).
    auto cur = deps_.users->GetForUpdate(keys[i]);
    if (!cur.ok()) {
      std::lock_guard lock(read_mu);
      if (read_error.ok()) read_error = cur.status();
      return;
    }
    states[i] = *cur != nullptr ? std::move(*cur) : NewUserState();
    PrepareForFold(*deps_.catalog, states[i].get());
  });
  if (!read_error.ok()) return read_error;

  // The events' dense ids, looked up together so that their cache misses
  // overlap (one at a time, the id index's misses were 7% of this thread).
  std::vector<uint32_t> dense_of(events.size());
  {
    std::vector<std::string_view> ids(events.size());
    for (size_t i = 0; i < events.size(); ++i) ids[i] = events[i]->item_id();
    deps_.catalog->InternMany(ids, dense_of.data());
  }

  for (size_t i = 0; i < events.size(); ++i) {
    const StoredEvent& e = *events[i];
    UserState* state = states[user_of[i]].get();
    auto w = o.event_weights.find(e.type());
    // A type removed from the config since the event was written still
    // counts, with weight 1.
    const double weight = w == o.event_weights.end() ? 1.0 : w->second;
    const int64_t t = e.occurred_at_us();
    const uint32_t dense = dense_of[i];

    // Session ring -> co-visitation pairs with the previous items.
    // The session's earlier events, for co-visitation's damping and cap:
    // counted since the session id changed, or since a pause longer than
    // the pairing window (events without a session id, or a session
    // resumed, would otherwise reach the cap for good); in states of
    // earlier builds (0), the ring's size stands in.
    uint32_t session_events = state->session_events();
    if (!e.session_id().empty() && state->session_id() != e.session_id()) {
      state->set_session_id(e.session_id());
      state->clear_session();
      session_events = 0;
    } else if (state->session_size() > 0 && t - state->session(state->session_size() - 1).t_us() >
                                                o.covisit.window_seconds * 1e6) {
      session_events = 0;
    } else if (session_events == 0) {
      session_events = static_cast<uint32_t>(state->session_size());
    }
    recent.clear();
    for (const auto& s : state->session()) recent.push_back({s.dense(), s.weight(), s.t_us()});
    {
      Catalog::Reader r(*deps_.catalog);
      labels = LabelKeys(r, r.Row(dense));
    }
    deps_.covisit->Observe(dense, weight, t, recent, session_events);
    state->set_session_events(session_events == UINT32_MAX ? session_events : session_events + 1);
    auto* ring = state->add_session();
    ring->set_item_id(e.item_id());
    ring->set_weight(weight);
    ring->set_t_us(t);
    ring->set_dense(dense);
    if (state->session_size() > o.session_items) {
      state->mutable_session()->DeleteSubrange(0, state->session_size() - o.session_items);
    }

    FoldItem(e, dense, weight, o.max_user_items, state);
    (*state->mutable_type_counts())[e.type()] += 1;
    FoldAffinities(labels, weight, t, o, state);
    state->set_folded_seq(e.seq());

    deps_.popularity->Add(dense, weight, t);
    changed_items.emplace(dense, e.item_id());
    if (!e.recommendation_id().empty()) {
      if (auto src = deps_.slates->SourceOf(e.recommendation_id(), e.item_id())) {
        auto it = stats_->attributed.find(e.type());
        if (it != stats_->attributed.end()) {
          it->second[static_cast<int>(*src)].fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    received.emplace_back(e.seq(), e.received_at_us());
  }

  // One fold-in solve per changed user, spread over the pool: each call
  // touches its own state (on its own arena) only. Deferred: marked stale.
  if (defer_solves) {
    for (auto& state : states) state->set_vector_stale(true);
    stats_->solves_deferred.fetch_add(states.size(), std::memory_order_relaxed);
  } else {
    const std::shared_ptr<LiveModel> model = deps_.model->Pin();
    pool_->ForEach(keys.size(), [&](size_t i) {
      UserState* state = states[i].get();
      std::vector<float> x;
      if (SolveUserVector(*state, *deps_.catalog, *model, o.user_recent_items, &x)) {
        state->mutable_vector()->Assign(x.begin(), x.end());
        state->set_vector_model(model->version);
      }
      state->set_vector_stale(false);
    });
  }

  // What the writer persists behind the fold-in (core/fold_writer.h).
  DerivedBatch batch;
  batch.watermark = last;
  batch.events = static_cast<size_t>(n);
  batch.item_stats.reserve(changed_items.size());
  for (auto& [dense, id] : changed_items) {
    batch.item_stats.push_back({std::move(id), deps_.popularity->Log2Short(dense),
                                deps_.popularity->Log2Long(dense), deps_.popularity->clock_us()});
  }
  // Co-visitation rows: an event changes up to 2 x window_items rows of
  // ~100 slots (~1.6 KB) each, so writing them per batch was most of the
  // fold-in's bytes, and writing all of a period's at once stalled that
  // batch for seconds. The rows changed in a period are taken together and
  // written one per event of the batch, or kCovisitRowsPerSecond over the
  // time since the previous batch when that is more (so a trickle of small
  // batches still drains), at most kCovisitRowsMax: a small batch stays fast
  // and a busy fold-in does not spend more on old rows than on new events
  // (the next take waits for the drain, so the period stretches under
  // load). A floor per batch instead (64 rows) cost several rows per event
  // once batches became small.
  const auto batch_start = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(batch_start - last_batch_).count();
  last_batch_ = batch_start;
  if (covisit_next_ >= covisit_pending_.size() &&
      batch_start - last_covisit_take_ >=
          std::chrono::duration<double>(o.covisit_persist_seconds)) {
    covisit_pending_ = deps_.covisit->TakeChanged();
    covisit_next_ = 0;
    last_covisit_take_ = batch_start;
  }
  const double rows = std::max(static_cast<double>(kCovisitRowsPerEvent) * n,
                               std::min(since_last, 1.0) * kCovisitRowsPerSecond);
  TakeCovisitRows(std::min(static_cast<size_t>(rows), kCovisitRowsMax), &batch);

  // Visible now; persisted by the writer (a crash replays from its
  // watermark, so nothing here waits for the disk).
  batch.users.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    deps_.users->Put(keys[i], states[i]);
    batch.users.emplace_back(std::move(keys[i]), std::move(states[i]));
  }
  deps_.covisit->Publish();
  // The states are visible now. Their lag is counted before folded_seq
  // moves, so whoever waits for it (the bench, tests) finds it counted.
  const int64_t visible = NowUs();
  {
    // Lag from the ack: the commit that wrote an event acknowledged it when
    // it notified its last seq. An event without a recorded commit (a
    // replay after a restart, or past kMaxAcks) counts from its receipt.
    // The batch's commits (one entry each) are taken under the lock that
    // Notify, on the commit thread, needs; the events are matched outside.
    std::vector<std::pair<uint64_t, int64_t>> acks;
    {
      std::lock_guard lock(mu_);
      while (!acks_.empty() && acks_.front().first < from) acks_.pop_front();
      for (const auto& a : acks_) {
        acks.push_back(a);
        if (a.first >= last) break;
      }
    }
    auto ack = acks.begin();
    for (const auto& [seq, received_us] : received) {
      while (ack != acks.end() && ack->first < seq) ++ack;
      const int64_t t0 = ack == acks.end() ? received_us : ack->second;
      stats_->lag_seconds.Observe(std::max<int64_t>(0, visible - t0) / 1e6);
      stats_->visible_seconds.Observe(std::max<int64_t>(0, visible - received_us) / 1e6);
    }
  }
  stats_->events_folded.fetch_add(n, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    folded_.store(last, std::memory_order_release);
    caught_up_ = target_ <= last;
  }
  folded_cv_.notify_all();
  // The popularity lists are rebuilt in O(pool), ~0.1 ms at a million
  // items, and a caught-up fold-in at 10k events/s runs several hundred
  // small batches a second: republishing after each was 17% of this
  // thread. At most every kPopularityPublishInterval instead (Run
  // publishes what a quiet spell leaves), or at once for a WaitFolded
  // caller whose events this batch folded.
  bool due;
  {
    std::lock_guard lock(mu_);
    due = PopularityDue();
  }
  if (due) PublishPopularity(/*full=*/false);
  writer_->Push(std::move(batch));  // blocks while the writer is far behind
  return n;
}

}  // namespace recd::core
