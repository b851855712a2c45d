#include "bench/loadgen.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "bench/catalog_gen.h"
#include "bench/datagen.h"
#include "recd/v1/recd.grpc.pb.h"

namespace recd::bench {

using Clock = std::chrono::steady_clock;
using recd::v1::Recommender;

namespace {

constexpr const char* kCodeNames[] = {
    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// Per-thread generator: completions run on several gRPC threads.
std::mt19937_64& Rng() {
  static std::atomic<uint64_t> seeds{0x5eed};
  thread_local std::mt19937_64 rng(seeds.fetch_add(0x9E3779B97F4A7C15ull));
  return rng;
}

const char* RandomEventType(std::mt19937_64& rng) {
  const double r = std::uniform_real_distribution<double>(0, 1)(rng);
  if (r < 0.70) return "view";
  if (r < 0.88) return "click";
  if (r < 0.93) return "save";
  if (r < 0.98) return "cart";
  return "purchase";
}

}  // namespace

std::string CodeName(int code) {
  if (code >= 0 && code < static_cast<int>(std::size(kCodeNames))) return kCodeNames[code];
  return "CODE_" + std::to_string(code);
}

uint64_t LoadResult::errors_total() const {
  uint64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

uint64_t LoadResult::hard_errors() const {
  uint64_t n = 0;
  for (const auto& [code, count] : errors) {
    if (code != "RESOURCE_EXHAUSTED" && code != "DEADLINE_EXCEEDED") n += count;
  }
  return n;
}

struct LoadGenerator::Stubs {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<Recommender::Stub>> stubs;
};

// State of one Run, shared by its calls.
struct LoadGenerator::RunState {
  LoadGenerator* gen;
  LoadSpec spec;
  bool closed_loop;
  Clock::time_point start, end;
  std::atomic<int64_t> in_flight{0};
  std::mutex mu;
  std::condition_variable idle;  // in_flight reached 0
  LoadResult result;             // guarded by mu

  // A call finished: record it, send the next one (closed loop), and
  // signal when nothing is left in flight.
  void Complete(bool is_write, const grpc::Status& status, Clock::time_point started,
                uint64_t units, uint64_t last_sequence) {
    const Clock::time_point now = Clock::now();
    const bool in_window = now <= end;
    {
      std::lock_guard lock(mu);
      if (status.ok()) {
        CallStats& s = is_write ? result.track : result.recommend;
        ++s.ok;
        s.units += units;
        if (in_window) {
          ++s.ok_in_window;
          s.units_in_window += units;
        }
        if (!is_write && units == 0) ++s.empty;
        s.latency.push_back(std::chrono::duration<double>(now - started).count());
        result.last_sequence = std::max(result.last_sequence, last_sequence);
      } else {
        ++result.errors[CodeName(status.error_code())];
      }
    }
    if (closed_loop && in_window) gen->Issue(this, now);
    // Decrement under mu: Run may destroy this state as soon as it sees 0.
    std::lock_guard lock(mu);
    if (in_flight.fetch_sub(1) == 1) idle.notify_all();
  }
};

class LoadGenerator::RecommendCall final
    : public grpc::ClientReadReactor<recd::v1::RecommendResponse> {
 public:
  RecommendCall(RunState* run, Recommender::Stub* stub, Clock::time_point scheduled)
      : run_(run), stub_(stub), scheduled_(scheduled) {}

  void Start(const Workload& w) {
    auto& rng = Rng();
    request_.set_user_id(w.user_prefix +
                         UserId(std::uniform_int_distribution<int64_t>(0, w.users - 1)(rng)));
    request_.set_k(w.k);
    request_.set_surface(w.surface);
    ctx_.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::microseconds(
                          static_cast<int64_t>(run_->spec.deadline_seconds * 1e6)));
    stub_->async()->Recommend(&ctx_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // end of stream: OnDone follows
    items_ += static_cast<uint64_t>(response_.items_size());
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    run_->Complete(false, status, scheduled_, items_, 0);
    delete this;
  }

 private:
  RunState* run_;
  Recommender::Stub* stub_;
  Clock::time_point scheduled_;
  grpc::ClientContext ctx_;
  recd::v1::RecommendRequest request_;
  recd::v1::RecommendResponse response_;
  uint64_t items_ = 0;
};

namespace {

void FillEvents(const Workload& w, recd::v1::TrackRequest* request) {
  auto& rng = Rng();
  const PowerLaw item_pick(w.items, 1.0);
  for (int i = 0; i < w.batch; ++i) {
    const int64_t u = std::uniform_int_distribution<int64_t>(0, w.users - 1)(rng);
    auto* e = request->add_events();
    e->set_user_id(w.user_prefix + UserId(u));
    e->set_session_id(w.user_prefix + "s" + std::to_string(u));
    e->set_item_id(ItemId(item_pick(rng)));
    e->set_type(RandomEventType(rng));
  }
}

}  // namespace

class LoadGenerator::TrackCall {
 public:
  TrackCall(RunState* run, Recommender::Stub* stub, Clock::time_point scheduled)
      : run_(run), stub_(stub), scheduled_(scheduled) {}

  void Start(const Workload& w) {
    FillEvents(w, &request_);
    ctx_.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::microseconds(
                          static_cast<int64_t>(run_->spec.deadline_seconds * 1e6)));
    stub_->async()->Track(&ctx_, &request_, &response_, [this](grpc::Status status) {
      run_->Complete(true, status, scheduled_, response_.accepted(), response_.last_sequence());
      delete this;
    });
  }

 private:
  RunState* run_;
  Recommender::Stub* stub_;
  Clock::time_point scheduled_;
  grpc::ClientContext ctx_;
  recd::v1::TrackRequest request_;
  recd::v1::TrackResponse response_;
};

class LoadGenerator::TrackStreamCall final
    : public grpc::ClientWriteReactor<recd::v1::TrackRequest> {
 public:
  TrackStreamCall(RunState* run, Recommender::Stub* stub, Clock::time_point scheduled)
      : run_(run), stub_(stub), scheduled_(scheduled) {}

  void Start(const Workload& w) {
    messages_.resize(static_cast<size_t>(std::max(1, w.stream_messages)));
    for (auto& m : messages_) FillEvents(w, &m);
    ctx_.set_deadline(std::chrono::system_clock::now() +
                      std::chrono::microseconds(
                          static_cast<int64_t>(run_->spec.deadline_seconds * 1e6)));
    stub_->async()->TrackStream(&ctx_, &response_, this);
    StartWrite(&messages_[0]);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the call failed: OnDone follows
    if (++next_ < messages_.size()) {
      StartWrite(&messages_[next_]);
    } else {
      StartWritesDone();
    }
  }
  void OnDone(const grpc::Status& status) override {
    run_->Complete(true, status, scheduled_, response_.accepted(), response_.last_sequence());
    delete this;
  }

 private:
  RunState* run_;
  Recommender::Stub* stub_;
  Clock::time_point scheduled_;
  grpc::ClientContext ctx_;
  std::vector<recd::v1::TrackRequest> messages_;
  size_t next_ = 0;
  recd::v1::TrackResponse response_;
};

LoadGenerator::LoadGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels,
                             Workload workload)
    : stubs_(std::make_unique<Stubs>()), workload_(std::move(workload)) {
  stubs_->channels = std::move(channels);
  for (const auto& c : stubs_->channels) stubs_->stubs.push_back(Recommender::NewStub(c));
  workload_.users = std::max<int64_t>(1, workload_.users);
  workload_.items = std::max<int64_t>(1, workload_.items);
}

LoadGenerator::~LoadGenerator() = default;

void LoadGenerator::Issue(RunState* run, Clock::time_point scheduled) {
  Recommender::Stub* stub =
      stubs_->stubs[next_stub_.fetch_add(1, std::memory_order_relaxed) % stubs_->stubs.size()]
          .get();
  run->in_flight.fetch_add(1);
  const bool write = workload_.track_ratio > 0 &&
                     std::uniform_real_distribution<double>(0, 1)(Rng()) < workload_.track_ratio;
  if (!write) {
    (new RecommendCall(run, stub, scheduled))->Start(workload_);
  } else if (workload_.track_stream) {
    (new TrackStreamCall(run, stub, scheduled))->Start(workload_);
  } else {
    (new TrackCall(run, stub, scheduled))->Start(workload_);
  }
}

LoadResult LoadGenerator::Run(const LoadSpec& spec) {
  RunState run;
  run.gen = this;
  run.spec = spec;
  run.closed_loop = spec.rate <= 0;
  run.start = Clock::now();
  run.end = run.start + std::chrono::microseconds(static_cast<int64_t>(spec.duration_seconds * 1e6));
  if (run.closed_loop) {
    for (int i = 0; i < std::max(1, spec.outstanding); ++i) Issue(&run, run.start);
    std::this_thread::sleep_until(run.end);
  } else {
    const double interval_us = 1e6 / spec.rate;
    double max_delay = 0;
    for (int64_t i = 0;; ++i) {
      const Clock::time_point t =
          run.start + std::chrono::microseconds(static_cast<int64_t>(i * interval_us));
      if (t >= run.end) break;
      Clock::time_point now = Clock::now();
      if (t > now) {
        std::this_thread::sleep_until(t);
        now = Clock::now();
      }
      max_delay = std::max(max_delay, std::chrono::duration<double>(now - t).count());
      if (run.in_flight.load() >= spec.max_in_flight) {
        std::lock_guard lock(run.mu);
        ++run.result.skipped;
        continue;
      }
      Issue(&run, t);
    }
    std::lock_guard lock(run.mu);
    run.result.max_send_delay = max_delay;
  }
  std::unique_lock lock(run.mu);
  run.idle.wait(lock, [&] { return run.in_flight.load() == 0; });
  run.result.seconds = spec.duration_seconds;
  return std::move(run.result);
}

absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> ConnectChannels(
    const std::string& address, int n, double timeout_seconds) {
  std::vector<std::shared_ptr<grpc::Channel>> out;
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::microseconds(static_cast<int64_t>(timeout_seconds * 1e6));
  for (int i = 0; i < std::max(1, n); ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own TCP connection
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError("cannot connect to " + address);
    }
    out.push_back(std::move(channel));
  }
  return out;
}

Json ToJson(const LoadResult& r) {
  Json j = Json::Object();
  j.Set("window_seconds", r.seconds);
  auto calls = [&](const CallStats& s, const char* unit) {
    Json c = Json::Object();
    c.Set("ok", s.ok).Set("per_second", s.ok_in_window / std::max(1e-9, r.seconds));
    c.Set(std::string(unit) + "_per_second", s.units_in_window / std::max(1e-9, r.seconds));
    c.Set("empty", s.empty);
    c.Set("latency_ms", ToJson(Summarize(s.latency), 1e3));
    return c;
  };
  j.Set("recommend", calls(r.recommend, "items"));
  j.Set("write", calls(r.track, "events"));
  Json errors = Json::Object();
  for (const auto& [code, n] : r.errors) errors.Set(code, n);
  j.Set("errors", std::move(errors));
  j.Set("skipped", r.skipped).Set("max_send_delay_ms", r.max_send_delay * 1e3);
  return j;
}

}  // namespace recd::bench
