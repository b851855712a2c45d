// An asynchronous gRPC load generator for recd (the callback API: no thread
// per call, completions run on gRPC's own few threads, so it stays light on
// the CPU it shares with the server).
//
// Two disciplines:
//   open loop   (LoadSpec::rate > 0): calls are scheduled at a fixed rate on
//               a timer, whatever the server does; latency is measured from
//               each call's *scheduled* send time, so a stalled server shows
//               up in the latency (no coordinated omission);
//   closed loop (rate == 0): `outstanding` calls always in flight, each
//               completion sends the next; latency from the actual send.
//
// Thread safety: Run may be called from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/json.h"
#include "bench/stats.h"

namespace grpc {
class Channel;
}

namespace recd::bench {

// What the calls carry.
struct Workload {
  int64_t users = 1000;       // Recommend and events for UserId(uniform in [0, users))
  int64_t items = 1000;       // events on ItemId(power law over [0, items))
  int k = 20;                 // Recommend k (one page)
  std::string surface;        // Recommend surface; "" = default
  double track_ratio = 0;     // share of calls that write events; the rest Recommend
  bool track_stream = false;  // write with TrackStream instead of Track
  int batch = 1;              // events per Track request / per TrackStream message
  int stream_messages = 1;    // messages per TrackStream call
  std::string user_prefix;    // prepended to user ids (e.g. "load-") when set
};

struct LoadSpec {
  double rate = 0;               // > 0: open loop, calls per second
  int outstanding = 32;          // closed loop: calls in flight
  double duration_seconds = 10;  // sending window
  double deadline_seconds = 10;  // per call
  int max_in_flight = 20000;     // open loop: scheduled sends beyond this are skipped
};

struct CallStats {
  uint64_t ok = 0;            // successful calls (all, including after the window)
  uint64_t ok_in_window = 0;  // successful calls completed inside the window
  uint64_t units = 0;         // Recommend: items returned; writes: events accepted
  uint64_t units_in_window = 0;
  uint64_t empty = 0;         // Recommend: OK with no item at all
  std::vector<double> latency;  // seconds, successful calls
};

struct LoadResult {
  double seconds = 0;  // the window
  CallStats recommend;
  CallStats track;  // Track or TrackStream
  std::map<std::string, uint64_t> errors;  // gRPC code name -> calls
  uint64_t skipped = 0;                    // open loop: not sent (max_in_flight)
  double max_send_delay = 0;               // open loop: worst send behind schedule, s
  uint64_t last_sequence = 0;              // highest TrackResponse.last_sequence seen
  uint64_t errors_total() const;
  // Errors other than RESOURCE_EXHAUSTED (backpressure) and DEADLINE_EXCEEDED.
  uint64_t hard_errors() const;
};

class LoadGenerator {
 public:
  // Calls go round-robin over `channels`.
  LoadGenerator(std::vector<std::shared_ptr<grpc::Channel>> channels, Workload workload);
  ~LoadGenerator();

  // Sends for spec.duration_seconds, then waits for every call in flight.
  LoadResult Run(const LoadSpec& spec);

 private:
  struct Stubs;
  struct RunState;
  class RecommendCall;
  class TrackCall;
  class TrackStreamCall;
  // Starts one call (Recommend or a write, by track_ratio) for `run`,
  // latency counted from `scheduled`.
  void Issue(RunState* run, std::chrono::steady_clock::time_point scheduled);

  std::unique_ptr<Stubs> stubs_;
  Workload workload_;
  std::atomic<uint64_t> next_stub_{0};
};

// `n` channels to `address`, each with its own TCP connection (a local
// subchannel pool), connected. UNAVAILABLE if one does not connect within
// `timeout_seconds`.
[[nodiscard]] absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> ConnectChannels(
    const std::string& address, int n, double timeout_seconds);

// Name of a gRPC status code ("RESOURCE_EXHAUSTED").
std::string CodeName(int code);

// Throughput, latency and error figures of one run as JSON.
Json ToJson(const LoadResult& r);

}  // namespace recd::bench
