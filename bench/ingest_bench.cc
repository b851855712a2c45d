// `recd bench ingest`: durable event throughput of a real `recd serve`
// through Track and TrackStream at several batch sizes (closed loop, several
// concurrent calls), the fold-in's catch-up rate after each, and the fold-in
// lag (Track ack -> effect visible) at a fixed offered event rate, both from
// the server's recd_fold_lag_seconds histogram and from a client probe that
// polls Recommend's folded_sequence until it reaches the Track's
// last_sequence.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bench/catalog_gen.h"
#include "bench/datagen.h"
#include "bench/flags.h"
#include "bench/loadgen.h"
#include "bench/metrics_scrape.h"
#include "bench/recd_process.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "recd/v1/recd.grpc.pb.h"

namespace recd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct IngestFlags {
  bool catalog = false;
  CatalogSpec catalog_spec;
  bool rebuild_catalog = false;
  int64_t items = 10000;
  int dim = 16;
  int64_t users = 10000;
  std::vector<int64_t> batches = {1, 10, 100};
  int streams = 32;
  int stream_messages = 10;
  double duration = 5;
  double lag_rate = 10000;
  int lag_batch = 10;
  double lag_duration = 10;
  double probe_interval_ms = 50;
  std::string durability = "fsync";
  int64_t max_fold_lag_events = 0;
  double fold_timeout = 120;
};

// Upserts `items` generated items through the public Catalog API.
absl::Status UpsertCatalog(const std::shared_ptr<grpc::Channel>& channel, int64_t items, int dim) {
  auto stub = recd::v1::Catalog::NewStub(channel);
  ClusteredVectorsSpec spec;
  spec.count = items;
  spec.dim = dim;
  spec.clusters = 20;
  std::vector<int> cluster;
  const std::vector<float> vecs = ClusteredVectors(spec, &cluster);
  constexpr int64_t kPerCall = 5000;
  for (int64_t start = 0; start < items; start += kPerCall) {
    grpc::ClientContext ctx;
    recd::v1::UpsertItemsResponse resp;
    auto writer = stub->UpsertItems(&ctx, &resp);
    recd::v1::UpsertItemsRequest req;
    for (int64_t i = start; i < std::min(items, start + kPerCall); ++i) {
      auto* item = req.add_items();
      item->set_id(ItemId(i));
      item->add_categories("cat" + std::to_string(cluster[static_cast<size_t>(i)]));
      item->add_tags("tag" + std::to_string(i % 97));
      const float* v = &vecs[static_cast<size_t>(i) * dim];
      item->mutable_vector()->Add(v, v + dim);
    }
    writer->Write(req);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    if (!st.ok()) {
      return absl::InternalError("UpsertItems: " + CodeName(st.error_code()) + " " +
                                 st.error_message());
    }
  }
  return absl::OkStatus();
}

// Polls /metrics until the fold-in has folded everything committed; returns
// the moment it did. DEADLINE_EXCEEDED after `timeout` seconds.
absl::StatusOr<Clock::time_point> WaitFoldCaughtUp(const RecdProcess& server, double timeout) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  while (Clock::now() < deadline) {
    auto m = ScrapeMetrics(server.metrics_address());
    if (!m.ok()) return m.status();
    if (m->Sum("recd_fold_sequence") >= m->Sum("recd_events_last_sequence")) return Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling another process
  }
  return absl::DeadlineExceededError("the fold-in did not catch up within " +
                                     std::to_string(timeout) + " s");
}

// CPU seconds of the server's threads by role, and of this process (the
// load generator), at one moment; the difference of two is a phase's.
struct PhaseCpu {
  double fold = 0, commit = 0, rocksdb = 0, rest = 0, self = 0, wall = 0;

  static PhaseCpu Now(pid_t server) {
    PhaseCpu c;
    for (const auto& [name, seconds] : ThreadCpuSeconds(server)) {
      if (name.rfind("recd-fold", 0) == 0) {
        c.fold += seconds;  // the fold thread, its helpers and its writer
      } else if (name == "recd-commit") {
        c.commit += seconds;
      } else if (name.rfind("rocksdb:", 0) == 0) {
        c.rocksdb += seconds;
      } else {
        c.rest += seconds;
      }
    }
    c.self = ProcessCpuSeconds(getpid()).value_or(0);
    c.wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return c;
  }
  PhaseCpu operator-(const PhaseCpu& o) const {
    return {fold - o.fold, commit - o.commit, rocksdb - o.rocksdb,
            rest - o.rest, self - o.self,     std::max(1e-9, wall - o.wall)};
  }
};

// Client-side fold-in lag probes: every interval, one Track (a probe user),
// then Recommend (k = 1) every kPollInterval until its folded_sequence
// reaches the Track's last_sequence. Each probe's lag is ack -> first
// response showing it (an upper bound: it includes one Recommend round trip
// and up to one poll interval, 5 ms, or 20 ms past 50 ms). Polling back to back would measure the
// probe: when the fold-in lags, a busy loop of Recommend calls took half of
// the server's gRPC threads from the load it measures, and a 1 ms poll
// still took ~0.13 of a core.
class LagProbe {
 public:
  LagProbe(std::shared_ptr<grpc::Channel> channel, double interval_ms)
      : stub_(recd::v1::Recommender::NewStub(channel)), interval_ms_(interval_ms) {}

  void Start(double seconds) {
    thread_ = std::thread([this, seconds] { Run(seconds); });
  }
  void Join() { thread_.join(); }
  const std::vector<double>& lags() const { return lags_; }
  // When each lag's Track was acknowledged, seconds from Start.
  const std::vector<double>& acked_at() const { return at_; }
  int errors() const { return errors_; }

 private:
  void Run(double seconds) {
    const auto end = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
    auto next = Clock::now();
    const auto start = next;
    for (int n = 0; Clock::now() < end; ++n) {
      next += std::chrono::microseconds(static_cast<int64_t>(interval_ms_ * 1e3));
      recd::v1::TrackRequest req;
      auto* e = req.add_events();
      e->set_user_id("probe");
      e->set_session_id("probe-session");
      e->set_item_id(ItemId(n % 100));
      e->set_type("view");
      recd::v1::TrackResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      if (!stub_->Track(&ctx, req, &resp).ok()) {
        ++errors_;
        continue;
      }
      const auto acked = Clock::now();
      for (;;) {
        recd::v1::RecommendRequest rr;
        rr.set_user_id("probe");
        rr.set_k(1);
        grpc::ClientContext rctx;
        rctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        auto reader = stub_->Recommend(&rctx, rr);
        recd::v1::RecommendResponse page;
        uint64_t folded = 0;
        bool first = true;
        while (reader->Read(&page)) {
          if (first) folded = page.folded_sequence();
          first = false;
        }
        if (!reader->Finish().ok()) {
          ++errors_;
          break;
        }
        if (folded >= resp.last_sequence()) {
          lags_.push_back(std::chrono::duration<double>(Clock::now() - acked).count());
          at_.push_back(std::chrono::duration<double>(acked - start).count());
          break;
        }
        if (Clock::now() - acked > std::chrono::seconds(30)) {
          ++errors_;
          break;
        }
        std::this_thread::sleep_for(Clock::now() - acked < kFinePollFor ? kPollInterval
                                                                        : kSlowPollInterval);
      }
      std::this_thread::sleep_until(next);
    }
  }

  // Every 5 ms for the first 50 ms after the ack, then every 20 ms: a
  // probe of a lagging fold-in polled every 5 ms throughout, so the lag it
  // measured added ~200 Recommend calls a second (~0.1-0.2 of a core) to
  // the load that caused it.
  static constexpr std::chrono::microseconds kPollInterval{5000};
  static constexpr std::chrono::milliseconds kFinePollFor{50};
  static constexpr std::chrono::microseconds kSlowPollInterval{20000};
  std::unique_ptr<recd::v1::Recommender::Stub> stub_;
  double interval_ms_;
  std::thread thread_;
  std::vector<double> lags_;  // written by the probe thread, read after Join
  std::vector<double> at_;
  int errors_ = 0;
};

}  // namespace

absl::StatusOr<Json> RunIngestBench(const std::vector<std::string>& args,
                                    const CommonOptions& common) {
  IngestFlags f;
  FlagSet flags("recd bench ingest");
  flags.Add("catalog", &f.catalog,
            "run on a copy of the generated catalog of serve/startup (--items etc. describe it) "
            "instead of a fresh data dir (without it the defaults are --items 10000 --dim 16 "
            "--users 10000, items upserted through gRPC)");
  // Without --catalog: --items items are upserted through gRPC into a fresh
  // data dir (keep it under model.fresh_tier_max, or the server rebuilds its
  // index every that many items).
  AddCatalogFlags(&flags, &f.catalog_spec, &f.rebuild_catalog);
  flags.Add("batches", &f.batches, "events per Track request / TrackStream message");
  flags.Add("streams", &f.streams, "concurrent calls (closed loop)");
  flags.Add("stream-messages", &f.stream_messages,
            "messages per TrackStream call (capped at 1000 events per call)");
  flags.Add("duration", &f.duration, "seconds per throughput phase");
  flags.Add("lag-rate", &f.lag_rate, "offered events/s of the fold-in lag phase");
  flags.Add("lag-batch", &f.lag_batch, "events per Track call in the lag phase");
  flags.Add("lag-duration", &f.lag_duration, "seconds of the lag phase");
  flags.Add("probe-interval-ms", &f.probe_interval_ms, "client lag probe period");
  flags.Add("durability", &f.durability, "storage.durability: fsync | process");
  flags.Add("max-fold-lag-events", &f.max_fold_lag_events,
            "ingest.max_fold_lag_events of the server (0: its default); raise it to measure "
            "the commit path without fold-in backpressure");
  flags.Add("fold-timeout", &f.fold_timeout, "seconds to wait for the fold-in to catch up");
  if (auto st = flags.Parse(args); !st.ok()) return st;
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return absl::CancelledError("help");
  }
  if (!f.catalog) {
    SmokeDefault(flags, "items", &f.catalog_spec.items, f.items);
    SmokeDefault(flags, "dim", &f.catalog_spec.dim, f.dim);
    SmokeDefault(flags, "users", &f.catalog_spec.users, f.users);
  }
  if (common.smoke) {
    SmokeCatalog(flags, &f.catalog_spec, &f.rebuild_catalog);
    SmokeDefault(flags, "items", &f.catalog_spec.items, int64_t{500});
    SmokeDefault(flags, "users", &f.catalog_spec.users, int64_t{200});
    SmokeDefault(flags, "streams", &f.streams, 2);
    SmokeDefault(flags, "duration", &f.duration, 0.25);
    SmokeDefault(flags, "lag-rate", &f.lag_rate, 500.0);
    SmokeDefault(flags, "lag-duration", &f.lag_duration, 1.0);
    SmokeDefault(flags, "fold-timeout", &f.fold_timeout, 30.0);
  }
  f.items = f.catalog_spec.items;
  f.dim = f.catalog_spec.dim;
  f.users = f.catalog_spec.users;
  if (f.items < 1 || f.users < 1 || f.streams < 1 || f.duration <= 0 || f.lag_rate <= 0 ||
      f.lag_batch < 1 || f.batches.empty() || (f.durability != "fsync" && f.durability != "process")) {
    return absl::InvalidArgumentError(
        "--items, --users, --streams, --duration, --lag-rate, --lag-batch must be positive, "
        "--batches non-empty, --durability fsync|process");
  }
  for (int64_t b : f.batches) {
    if (b < 1 || b > 1000) return absl::InvalidArgumentError("--batches: each in [1, 1000]");
  }

  const fs::path dir = fs::path(common.work_dir) / "ingest";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  const std::string config = (dir / "recd.yaml").string();
  std::string yaml;
  if (f.catalog) {
    // A copy: the events written here must not change the catalog that the
    // serve and startup scenarios reuse.
    f.catalog_spec.threads = std::max(1, common.machine.cores);
    auto catalog = EnsureCatalog(common.work_dir, f.catalog_spec, f.rebuild_catalog);
    if (!catalog.ok()) return catalog.status();
    const auto t = Clock::now();
    if (auto st = CloneCatalogData(*catalog, (dir / "data").string()); !st.ok()) return st;
    std::cout << Sprintf("cloned the catalog's data dir in %.1f s\n",
                         std::chrono::duration<double>(Clock::now() - t).count());
    yaml = CatalogConfigYaml(f.catalog_spec);
  } else {
    yaml = Sprintf("demo: {enabled: false}\nmodel: {dimension: %d}\n", f.dim);
  }
  yaml += "storage: {durability: " + f.durability + "}\n";
  if (f.max_fold_lag_events > 0) {
    yaml += Sprintf("ingest: {max_fold_lag_events: %lld}\n",
                    static_cast<long long>(f.max_fold_lag_events));
  }
  if (auto st = WriteTextFile(config, yaml); !st.ok()) return st;
  ServeSpec spec;
  spec.config_path = config;
  spec.data_dir = (dir / "data").string();
  spec.log_path = (dir / "recd.log").string();
  spec.ready_file = (dir / "ready.json").string();
  std::cout << Sprintf("== ingest: %lld items%s, durability %s, %d concurrent calls, %.1f s per "
                       "phase, data dir %s\n",
                       static_cast<long long>(f.items),
                       f.catalog ? " (generated catalog with history)" : " (fresh data dir)",
                       f.durability.c_str(), f.streams, f.duration, spec.data_dir.c_str());
  auto server = RecdProcess::Spawn(spec);
  if (!server.ok()) return server.status();
  if (auto st = (*server)->WaitReady(f.catalog ? 900 : 60); !st.ok()) return st;
  auto channels = ConnectChannels((*server)->grpc_address(), 2, 10);
  if (!channels.ok()) return channels.status();
  if (!f.catalog) {
    if (auto st = UpsertCatalog(channels->front(), f.items, f.dim); !st.ok()) return st;
  }

  std::cout << Sprintf("%-12s %6s %6s | %11s %9s | %8s %8s | %8s | %14s\n", "api", "batch",
                       "msgs", "events/s", "calls/s", "p50 ms", "p99 ms", "refused",
                       "fold events/s");
  Json rows = Json::Array();
  uint64_t hard_errors = 0;
  for (bool stream : {false, true}) {
    for (int64_t b : f.batches) {
      Workload w;
      w.users = f.users;
      w.items = f.items;
      w.track_ratio = 1;
      w.track_stream = stream;
      w.batch = static_cast<int>(b);
      w.stream_messages =
          stream ? static_cast<int>(std::clamp<int64_t>(1000 / b, 1, f.stream_messages)) : 1;
      w.user_prefix = "";
      LoadGenerator gen(*channels, w);
      LoadSpec s;
      s.outstanding = f.streams;
      s.duration_seconds = f.duration;
      const auto started = Clock::now();
      const LoadResult r = gen.Run(s);
      auto caught_up = WaitFoldCaughtUp(**server, f.fold_timeout);
      if (!caught_up.ok()) return caught_up.status();
      const double fold_rate =
          r.track.units / std::max(1e-9, std::chrono::duration<double>(*caught_up - started).count());
      const Summary l = Summarize(r.track.latency);
      const double events_per_s = r.track.units_in_window / r.seconds;
      const uint64_t refused =
          r.errors.count("RESOURCE_EXHAUSTED") ? r.errors.at("RESOURCE_EXHAUSTED") : 0;
      hard_errors += common.smoke ? r.errors_total() : r.hard_errors();
      std::cout << Sprintf("%-12s %6lld %6d | %11.0f %9.0f | %8.3f %8.3f | %8llu | %14.0f\n",
                           stream ? "TrackStream" : "Track", static_cast<long long>(b),
                           w.stream_messages, events_per_s, r.track.ok_in_window / r.seconds,
                           l.p50 * 1e3, l.p99 * 1e3, static_cast<unsigned long long>(refused),
                           fold_rate)
                << std::flush;
      if (r.track.ok == 0) return absl::InternalError("no write succeeded");
      Json row = ToJson(r);
      row.Set("api", stream ? "TrackStream" : "Track").Set("batch", b);
      row.Set("messages_per_call", w.stream_messages).Set("concurrent_calls", f.streams);
      row.Set("durable_events_per_second", events_per_s);
      row.Set("fold_catch_up_events_per_second", fold_rate);
      rows.Push(std::move(row));
    }
  }

  // Fold-in lag at a fixed offered event rate.
  auto m0 = ScrapeMetrics((*server)->metrics_address());
  if (!m0.ok()) return m0.status();
  Workload lw;
  lw.users = f.users;
  lw.items = f.items;
  lw.track_ratio = 1;
  lw.batch = f.lag_batch;
  LoadGenerator lag_gen(*channels, lw);
  LoadSpec ls;
  ls.rate = f.lag_rate / f.lag_batch;
  ls.duration_seconds = f.lag_duration;
  LagProbe probe(channels->back(), f.probe_interval_ms);
  const PhaseCpu cpu0 = PhaseCpu::Now((*server)->pid());
  probe.Start(f.lag_duration);
  const LoadResult lr = lag_gen.Run(ls);
  probe.Join();
  const PhaseCpu cpu = PhaseCpu::Now((*server)->pid()) - cpu0;
  auto m1 = ScrapeMetrics((*server)->metrics_address());
  if (!m1.ok()) return m1.status();
  hard_errors += common.smoke ? lr.errors_total() : lr.hard_errors();
  hard_errors += static_cast<uint64_t>(probe.errors());
  const auto hist = BucketDelta(m1->Buckets("recd_fold_lag_seconds"),
                                m0->Buckets("recd_fold_lag_seconds"));
  const double folded = hist.empty() ? 0 : hist.back().cumulative;
  const double sum = m1->Sum("recd_fold_lag_seconds_sum") - m0->Sum("recd_fold_lag_seconds_sum");
  const Summary probe_lag = Summarize(probe.lags());
  std::cout << Sprintf("-- fold-in lag at %.0f events/s offered (%.0f Track calls/s of %d "
                       "events, %.1f s): achieved %.0f events/s, errors %llu\n",
                       f.lag_rate, ls.rate, f.lag_batch, f.lag_duration,
                       lr.track.units_in_window / lr.seconds,
                       static_cast<unsigned long long>(lr.errors_total()));
  std::cout << Sprintf("   server histogram (ack -> visible, %.0f events): mean %.3f ms, p50 ~%.3f, "
                       "p90 ~%.3f, p99 ~%.3f ms (interpolated in buckets)\n",
                       folded, folded > 0 ? sum / folded * 1e3 : 0,
                       HistogramQuantile(hist, 0.5) * 1e3, HistogramQuantile(hist, 0.9) * 1e3,
                       HistogramQuantile(hist, 0.99) * 1e3);
  const auto seen = BucketDelta(m1->Buckets("recd_event_visible_seconds"),
                                m0->Buckets("recd_event_visible_seconds"));
  std::cout << Sprintf(
      "   server, from receipt (adds the commit's queue and fsync): p50 ~%.3f, "
      "p90 ~%.3f, p99 ~%.3f ms\n",
      HistogramQuantile(seen, 0.5) * 1e3, HistogramQuantile(seen, 0.9) * 1e3,
      HistogramQuantile(seen, 0.99) * 1e3);
  std::cout << "   client probe (ack -> Recommend shows it): " << FormatMs(probe_lag) << "\n";
  {
    // Worst probe per second of the phase: bursts show as isolated seconds.
    std::vector<double> worst(static_cast<size_t>(std::ceil(f.lag_duration)), -1);
    for (size_t i = 0; i < probe.lags().size(); ++i) {
      const size_t s = std::min(worst.size() - 1, static_cast<size_t>(probe.acked_at()[i]));
      worst[s] = std::max(worst[s], probe.lags()[i]);
    }
    std::string line;
    for (double w : worst) line += w < 0 ? " -" : Sprintf(" %.0f", w * 1e3);
    std::cout << "   client probe, worst per second (ms):" << line << "\n";
  }
  std::cout << "   Track latency under this load: " << FormatMs(Summarize(lr.track.latency))
            << "\n";
  const double phase_events = lr.track.units_in_window;
  std::cout << Sprintf(
      "   CPU in the phase (cores): fold-in %.2f (%.0f us per event), commit %.2f, "
      "RocksDB background %.2f, rest of the server %.2f, load generator %.2f\n",
      cpu.fold / cpu.wall, phase_events > 0 ? cpu.fold / phase_events * 1e6 : 0,
      cpu.commit / cpu.wall, cpu.rocksdb / cpu.wall, cpu.rest / cpu.wall, cpu.self / cpu.wall);
  // Solves the fold-in left to readers while behind (a reader that needs
  // the vector pays it): how much of its work moved.
  const double deferred =
      m1->Sum("recd_fold_solves_deferred_total") - m0->Sum("recd_fold_solves_deferred_total");
  std::cout << Sprintf(
      "   user solves deferred to readers (ingest.defer_solves_lag_ms): %.0f, "
      "%.0f%% of the phase's events\n",
      deferred, folded > 0 ? 100 * deferred / folded : 0);
  const double writer_wait = m1->Sum("recd_fold_writer_wait_seconds_total") -
                             m0->Sum("recd_fold_writer_wait_seconds_total");
  std::cout << Sprintf(
      "   fold-in waiting for its writer (ingest.max_unpersisted_events reached): %.3f s\n",
      writer_wait);
  if (probe_lag.count == 0) return absl::InternalError("no fold-in lag probe completed");

  if (auto st = (*server)->Terminate(60); !st.ok()) return st;
  if (hard_errors > 0) {
    return absl::InternalError(Sprintf("%llu failed calls", static_cast<unsigned long long>(hard_errors)));
  }
  fs::remove_all(dir, ec);

  Json out = Json::Object();
  Json params = Json::Object();
  params.Set("items", f.items).Set("users", f.users).Set("concurrent_calls", f.streams);
  params.Set("generated_catalog", f.catalog);
  params.Set("duration_seconds", f.duration).Set("durability", f.durability);
  params.Set("max_fold_lag_events", f.max_fold_lag_events);
  out.Set("params", std::move(params));
  out.Set("throughput", std::move(rows));
  Json lag = Json::Object();
  lag.Set("offered_events_per_second", f.lag_rate).Set("batch", f.lag_batch);
  lag.Set("achieved_events_per_second", lr.track.units_in_window / lr.seconds);
  lag.Set("server_events", folded);
  lag.Set("server_mean_ms", folded > 0 ? sum / folded * 1e3 : 0);
  lag.Set("server_p50_ms", HistogramQuantile(hist, 0.5) * 1e3);
  lag.Set("server_p90_ms", HistogramQuantile(hist, 0.9) * 1e3);
  lag.Set("server_p99_ms", HistogramQuantile(hist, 0.99) * 1e3);
  lag.Set("server_from_receipt_p99_ms", HistogramQuantile(seen, 0.99) * 1e3);
  lag.Set("probe_ms", ToJson(probe_lag, 1e3));
  lag.Set("load", ToJson(lr));
  Json cores = Json::Object();
  cores.Set("fold_in", cpu.fold / cpu.wall).Set("commit", cpu.commit / cpu.wall);
  cores.Set("rocksdb_background", cpu.rocksdb / cpu.wall).Set("rest", cpu.rest / cpu.wall);
  cores.Set("load_generator", cpu.self / cpu.wall);
  lag.Set("cpu_cores", std::move(cores));
  lag.Set("fold_in_cpu_us_per_event", phase_events > 0 ? cpu.fold / phase_events * 1e6 : 0);
  lag.Set("solves_deferred", deferred);
  lag.Set("writer_wait_seconds", writer_wait);
  out.Set("fold_lag", std::move(lag));
  return out;
}

}  // namespace recd::bench
