// `recd bench serve`: a real `recd serve` on a generated catalog, loaded
// over loopback by the asynchronous generator (bench/loadgen.h):
//   - open loop at --rate (latency from the scheduled send time),
//   - closed loop at max rate (--outstanding calls in flight),
//   - optionally a --sweep of offered loads (latency vs load, CSV + JSON),
//   - a per-stage profile through the public API: serial Recommends on
//     surfaces with one source each, and with/without diversity and
//     exploration (see CatalogConfigYaml), next to the server-side latency
//     from its /metrics.
// Recommend (k = --k, random users) is mixed with Track at --track-ratio.
// The server's CPU per request comes from /proc/<pid>/stat.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench/catalog_gen.h"
#include "bench/flags.h"
#include "bench/loadgen.h"
#include "bench/metrics_scrape.h"
#include "bench/recd_process.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "eval/svg_chart.h"

namespace recd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ServeFlags {
  CatalogSpec catalog;
  bool rebuild_catalog = false;
  double rate = 1000;
  double duration = 10;
  double warmup = 3;
  int outstanding = 32;
  double track_ratio = 0.1;
  int k = 20;
  int channels = 2;
  bool sweep = false;
  // Empty: fractions of the closed-loop throughput measured just before.
  std::vector<double> sweep_rates;
  double sweep_duration = 5;
  std::string csv;
  bool profile = true;
  double profile_seconds = 2;
  double start_timeout = 900;
};

// Server-side view of a phase: CPU and the Recommend latency histogram.
struct ServerView {
  double cpu_seconds = 0;
  double recommend_count = 0, recommend_sum = 0;
  std::vector<Bucket> recommend_buckets;
};

absl::StatusOr<ServerView> Observe(const RecdProcess& server) {
  ServerView v;
  auto cpu = server.CpuSeconds();
  if (!cpu.ok()) return cpu.status();
  v.cpu_seconds = *cpu;
  auto m = ScrapeMetrics(server.metrics_address());
  if (!m.ok()) return m.status();
  const std::map<std::string, std::string> rec = {{"method", "Recommend"}};
  v.recommend_count = m->Sum("recd_rpc_latency_seconds_count", rec);
  v.recommend_sum = m->Sum("recd_rpc_latency_seconds_sum", rec);
  v.recommend_buckets = m->Buckets("recd_rpc_latency_seconds", rec);
  return v;
}

struct Phase {
  std::string name;
  double offered = 0;  // calls/s; 0 for closed loop
  LoadResult result;
  double elapsed = 0;          // seconds from the first send to the last answer
  double server_cpu = 0;       // seconds during the phase (window and drain)
  double client_cpu = 0;       // this process, seconds during the phase
  double server_rec_mean = 0;  // server-side Recommend latency, s
  double server_rec_p50 = 0, server_rec_p99 = 0;

  uint64_t calls_in_window() const {
    return result.recommend.ok_in_window + result.track.ok_in_window;
  }
  double cores_busy() const { return server_cpu / std::max(1e-9, elapsed); }
  double cpu_per_call() const {
    const uint64_t n = result.recommend.ok + result.track.ok;
    return n ? server_cpu / static_cast<double>(n) : 0;
  }
};

// Waits until the server's CPU use over 250 ms stays under 5% of a core
// (work queued by an overloaded phase is done), for at most `timeout` s.
void Settle(const RecdProcess& server, double timeout) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  auto last = server.CpuSeconds();
  while (last.ok() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // sampling another process
    auto now = server.CpuSeconds();
    if (!now.ok()) return;
    if (*now - *last < 0.0125) return;
    last = now;
  }
}

absl::StatusOr<Phase> RunPhase(const std::string& name, LoadGenerator& gen, const LoadSpec& spec,
                               const RecdProcess& server) {
  Settle(server, 120);
  Phase p;
  p.name = name;
  p.offered = spec.rate;
  auto before = Observe(server);
  if (!before.ok()) return before.status();
  auto self0 = ProcessCpuSeconds(getpid());
  const auto start = Clock::now();
  p.result = gen.Run(spec);
  p.elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  auto after = Observe(server);
  if (!after.ok()) return after.status();
  auto self1 = ProcessCpuSeconds(getpid());
  p.server_cpu = after->cpu_seconds - before->cpu_seconds;
  p.client_cpu = self0.ok() && self1.ok() ? *self1 - *self0 : 0;
  const double n = after->recommend_count - before->recommend_count;
  if (n > 0) {
    p.server_rec_mean = (after->recommend_sum - before->recommend_sum) / n;
    const auto delta = BucketDelta(after->recommend_buckets, before->recommend_buckets);
    p.server_rec_p50 = HistogramQuantile(delta, 0.5);
    p.server_rec_p99 = HistogramQuantile(delta, 0.99);
  }
  return p;
}

void PrintPhase(const Phase& p) {
  const LoadResult& r = p.result;
  const double w = std::max(1e-9, r.seconds);
  std::cout << Sprintf("-- %s: %.0f Recommend/s + %.0f Track/s achieved over %.1f s", p.name.c_str(),
                       r.recommend.ok_in_window / w, r.track.ok_in_window / w, r.seconds);
  if (p.offered > 0) std::cout << Sprintf(" (offered %.0f calls/s)", p.offered);
  std::cout << Sprintf("; errors %llu", static_cast<unsigned long long>(r.errors_total()));
  for (const auto& [code, n] : r.errors) {
    std::cout << Sprintf(" %s=%llu", code.c_str(), static_cast<unsigned long long>(n));
  }
  if (r.skipped) std::cout << Sprintf(", skipped %llu", static_cast<unsigned long long>(r.skipped));
  std::cout << "\n";
  std::cout << "   Recommend latency: " << FormatMs(Summarize(r.recommend.latency)) << "\n";
  if (!r.track.latency.empty()) {
    std::cout << "   Track latency:     " << FormatMs(Summarize(r.track.latency)) << "\n";
  }
  std::cout << Sprintf("   server: %.2f CPU-s over %.1f s = %.2f cores busy, %.3f ms CPU per call; "
                       "server-side Recommend mean %.3f ms (p50 ~%.3f, p99 ~%.3f from buckets)\n",
                       p.server_cpu, p.elapsed, p.cores_busy(), p.cpu_per_call() * 1e3,
                       p.server_rec_mean * 1e3, p.server_rec_p50 * 1e3, p.server_rec_p99 * 1e3);
  std::cout << Sprintf("   load generator: %.2f CPU-s = %.2f cores", p.client_cpu,
                       p.client_cpu / std::max(1e-9, p.elapsed));
  if (p.offered > 0) std::cout << Sprintf(", worst send delay %.2f ms", r.max_send_delay * 1e3);
  std::cout << "\n" << std::flush;
}

Json PhaseJson(const Phase& p) {
  Json j = ToJson(p.result);
  j.Set("name", p.name);
  j.Set("offered_calls_per_second", p.offered);
  j.Set("server_cpu_seconds", p.server_cpu);
  j.Set("elapsed_seconds", p.elapsed);
  j.Set("server_cores_busy", p.cores_busy());
  j.Set("server_cpu_ms_per_call", p.cpu_per_call() * 1e3);
  j.Set("client_cpu_seconds", p.client_cpu);
  Json srv = Json::Object();
  srv.Set("mean", p.server_rec_mean * 1e3).Set("p50_from_buckets", p.server_rec_p50 * 1e3);
  srv.Set("p99_from_buckets", p.server_rec_p99 * 1e3);
  j.Set("server_side_recommend_ms", std::move(srv));
  return j;
}

}  // namespace

absl::StatusOr<Json> RunServeBench(const std::vector<std::string>& args,
                                   const CommonOptions& common) {
  ServeFlags f;
  FlagSet flags("recd bench serve");
  AddCatalogFlags(&flags, &f.catalog, &f.rebuild_catalog);
  flags.Add("rate", &f.rate, "open loop: offered calls/s (Recommend + Track)");
  flags.Add("duration", &f.duration, "seconds per measured phase");
  flags.Add("warmup", &f.warmup, "seconds of closed-loop warm-up before measuring");
  flags.Add("outstanding", &f.outstanding, "closed loop: calls in flight");
  flags.Add("track-ratio", &f.track_ratio, "share of calls that are Track (1 event)");
  flags.Add("k", &f.k, "Recommend k");
  flags.Add("channels", &f.channels, "gRPC connections");
  flags.Add("sweep", &f.sweep, "also measure latency vs offered load");
  flags.Add("sweep-rates", &f.sweep_rates,
            "offered loads of the sweep, calls/s (default: 0.1 0.25 0.5 0.7 0.8 0.9 1.0 1.2 x "
            "the closed-loop throughput)");
  flags.Add("sweep-duration", &f.sweep_duration, "seconds per sweep point");
  flags.Add("csv", &f.csv, "sweep CSV path (default <work-dir>/serve_sweep.csv)");
  flags.Add("profile", &f.profile, "serial Recommends per source-only surface (time per stage)");
  flags.Add("profile-seconds", &f.profile_seconds, "seconds per profiled surface");
  flags.Add("start-timeout", &f.start_timeout, "seconds to wait for the server to serve");
  if (auto st = flags.Parse(args); !st.ok()) return st;
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return absl::CancelledError("help");
  }
  if (common.smoke) {
    SmokeCatalog(flags, &f.catalog, &f.rebuild_catalog);
    SmokeDefault(flags, "rate", &f.rate, 200.0);
    SmokeDefault(flags, "duration", &f.duration, 1.0);
    SmokeDefault(flags, "warmup", &f.warmup, 0.3);
    SmokeDefault(flags, "outstanding", &f.outstanding, 8);
    SmokeDefault(flags, "sweep", &f.sweep, true);
    SmokeDefault(flags, "sweep-rates", &f.sweep_rates, std::vector<double>{100, 300});
    SmokeDefault(flags, "sweep-duration", &f.sweep_duration, 0.5);
    SmokeDefault(flags, "profile-seconds", &f.profile_seconds, 0.25);
    SmokeDefault(flags, "start-timeout", &f.start_timeout, 60.0);
  }
  if (f.duration <= 0 || f.rate <= 0 || f.outstanding < 1 || f.k < 1 || f.track_ratio < 0 ||
      f.track_ratio > 1 || f.catalog.items < 1 || f.catalog.users < 1) {
    return absl::InvalidArgumentError(
        "--duration, --rate, --outstanding, --k, --items, --users must be positive; "
        "--track-ratio in [0, 1]");
  }
  fs::create_directories(common.work_dir);
  if (f.csv.empty()) f.csv = (fs::path(common.work_dir) / "serve_sweep.csv").string();

  std::cout << "== serve\n";
  f.catalog.threads = std::max(1, common.machine.cores);
  auto catalog = EnsureCatalog(common.work_dir, f.catalog, f.rebuild_catalog);
  if (!catalog.ok()) return catalog.status();

  // The Track calls and impressions of a run go to a clone, not into the
  // catalog the next run and the other scenarios start from.
  const std::string data_dir = (fs::path(common.work_dir) / "serve-data").string();
  if (auto st = CloneCatalogData(*catalog, data_dir); !st.ok()) return st;
  ServeSpec spec;
  spec.config_path = catalog->config_path;
  spec.data_dir = data_dir;
  spec.log_path = (fs::path(common.work_dir) / "serve-recd.log").string();
  spec.ready_file = (fs::path(common.work_dir) / "serve-ready.json").string();
  auto server = RecdProcess::Spawn(spec);
  if (!server.ok()) return server.status();
  if (auto st = (*server)->WaitReady(f.start_timeout); !st.ok()) return st;
  const double start_seconds =
      std::chrono::duration<double>(Clock::now() - (*server)->spawned_at()).count();
  std::cout << Sprintf("server pid %d serving on %s after %.2f s (log %s)\n", (*server)->pid(),
                       (*server)->grpc_address().c_str(), start_seconds, spec.log_path.c_str());

  auto channels = ConnectChannels((*server)->grpc_address(), f.channels, 10);
  if (!channels.ok()) return channels.status();
  Workload w;
  w.users = f.catalog.users;
  w.items = f.catalog.items;
  w.k = f.k;
  w.track_ratio = f.track_ratio;
  LoadGenerator gen(*channels, w);

  std::vector<Phase> phases;
  if (f.warmup > 0) {
    LoadSpec warm;
    warm.outstanding = f.outstanding;
    warm.duration_seconds = f.warmup;
    (void)gen.Run(warm);
  }
  LoadSpec open;
  open.rate = f.rate;
  open.duration_seconds = f.duration;
  auto p = RunPhase(Sprintf("open loop %.0f/s", f.rate), gen, open, **server);
  if (!p.ok()) return p.status();
  PrintPhase(*p);
  phases.push_back(std::move(*p));
  LoadSpec closed;
  closed.outstanding = f.outstanding;
  closed.duration_seconds = f.duration;
  p = RunPhase(Sprintf("closed loop, %d outstanding", f.outstanding), gen, closed, **server);
  if (!p.ok()) return p.status();
  PrintPhase(*p);
  phases.push_back(std::move(*p));
  if (f.track_ratio > 0) {
    // The same without Track: what the writes (commit + fold-in) cost the reads.
    Workload ro = w;
    ro.track_ratio = 0;
    LoadGenerator ro_gen(*channels, ro);
    p = RunPhase(Sprintf("closed loop, %d outstanding, Recommend only", f.outstanding), ro_gen,
                 closed, **server);
    if (!p.ok()) return p.status();
    PrintPhase(*p);
    phases.push_back(std::move(*p));
  }

  Json sweep = Json::Array();
  if (f.sweep && f.sweep_rates.empty()) {
    const double max_rate = phases[1].calls_in_window() / std::max(1e-9, phases[1].result.seconds);
    for (double x : {0.1, 0.25, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2}) {
      f.sweep_rates.push_back(std::max(1.0, std::round(x * max_rate)));
    }
  }
  if (f.sweep) {
    std::ofstream csv(f.csv, std::ios::trunc);
    csv << "offered_per_s,achieved_recommend_per_s,achieved_track_per_s,p50_ms,p95_ms,p99_ms,"
           "p999_ms,max_ms,errors,skipped,server_cores,server_cpu_ms_per_call\n";
    std::cout << Sprintf("-- sweep (Recommend latency vs offered load, %.1f s each)\n",
                         f.sweep_duration);
    std::cout << Sprintf("%9s %9s %9s | %8s %8s %8s %8s %8s | %6s %6s\n", "offered", "rec/s",
                         "track/s", "p50", "p95", "p99", "p99.9", "max", "errors", "cores");
    for (double rate : f.sweep_rates) {
      LoadSpec s;
      s.rate = rate;
      s.duration_seconds = f.sweep_duration;
      auto sp = RunPhase(Sprintf("sweep %.0f/s", rate), gen, s, **server);
      if (!sp.ok()) return sp.status();
      const Summary l = Summarize(sp->result.recommend.latency);
      const double win = std::max(1e-9, sp->result.seconds);
      const double rec = sp->result.recommend.ok_in_window / win;
      const double trk = sp->result.track.ok_in_window / win;
      std::cout << Sprintf("%9.0f %9.0f %9.0f | %8.3f %8.3f %8.3f %8.3f %8.3f | %6llu %6.2f\n",
                           rate, rec, trk, l.p50 * 1e3, l.p95 * 1e3, l.p99 * 1e3, l.p999 * 1e3,
                           l.max * 1e3, static_cast<unsigned long long>(sp->result.errors_total()),
                           sp->cores_busy())
                << std::flush;
      csv << Sprintf("%.0f,%.1f,%.1f,%.4f,%.4f,%.4f,%.4f,%.4f,%llu,%llu,%.3f,%.4f\n", rate, rec,
                     trk, l.p50 * 1e3, l.p95 * 1e3, l.p99 * 1e3, l.p999 * 1e3, l.max * 1e3,
                     static_cast<unsigned long long>(sp->result.errors_total()),
                     static_cast<unsigned long long>(sp->result.skipped), sp->cores_busy(),
                     sp->cpu_per_call() * 1e3);
      sweep.Push(PhaseJson(*sp));
      phases.push_back(std::move(*sp));
    }
    if (!csv) return absl::InternalError("cannot write " + f.csv);
    // The plot docs/performance.md shows: Recommend latency vs offered load.
    eval::LineChart chart;
    chart.title = Sprintf("Recommend latency vs offered load (Recommend + %.0f%% Track)",
                          f.track_ratio * 100);
    chart.x_label = "offered calls/s";
    chart.y_label = "latency, ms";
    eval::ChartSeries p50{"p50", {}}, p99{"p99", {}};
    for (size_t i = phases.size() - f.sweep_rates.size(); i < phases.size(); ++i) {
      const Summary l = Summarize(phases[i].result.recommend.latency);
      p50.values.push_back(l.p50 * 1e3);
      p99.values.push_back(l.p99 * 1e3);
    }
    for (double rate : f.sweep_rates) chart.x_labels.push_back(Sprintf("%.0f", rate));
    chart.series = {p50, p99};
    const std::string svg_path = fs::path(f.csv).replace_extension(".svg").string();
    std::ofstream svg(svg_path, std::ios::trunc);
    svg << eval::RenderSvg(chart);
    if (!svg) return absl::InternalError("cannot write " + svg_path);
    std::cout << "   sweep written to " << f.csv << " and " << svg_path << "\n";
  }

  Json profile = Json::Array();
  if (f.profile) {
    std::cout << Sprintf("-- profile: serial Recommend (1 in flight, no Track), %.1f s per "
                         "surface; server-side = recd_rpc_latency_seconds\n",
                         f.profile_seconds);
    std::cout << Sprintf("%-20s | %8s %8s %8s | %11s %13s\n", "surface", "mean", "p50", "p99",
                         "server mean", "CPU/call (ms)");
    for (const char* surface : {"default", "no_rerank", "only_ann", "only_covisit",
                                "only_content", "only_trending", "only_popular",
                                "only_continuation"}) {
      Workload pw = w;
      pw.track_ratio = 0;
      pw.surface = surface;
      LoadGenerator pgen(*channels, pw);
      LoadSpec s;
      s.outstanding = 1;
      s.duration_seconds = f.profile_seconds;
      auto sp = RunPhase(surface, pgen, s, **server);
      if (!sp.ok()) return sp.status();
      const Summary l = Summarize(sp->result.recommend.latency);
      std::cout << Sprintf("%-20s | %8.3f %8.3f %8.3f | %11.3f %13.3f\n", surface, l.mean * 1e3,
                           l.p50 * 1e3, l.p99 * 1e3, sp->server_rec_mean * 1e3,
                           sp->cpu_per_call() * 1e3);
      const uint64_t bad =
          common.smoke ? sp->result.errors_total() : sp->result.hard_errors();
      if (bad > 0 || sp->result.recommend.ok == 0) {
        return absl::InternalError(Sprintf("profile surface %s: %llu errors, %llu ok", surface,
                                           static_cast<unsigned long long>(
                                               sp->result.errors_total()),
                                           static_cast<unsigned long long>(
                                               sp->result.recommend.ok)));
      }
      Json row = PhaseJson(*sp);
      row.Set("surface", surface);
      profile.Push(std::move(row));
    }
    std::cout << "   (only_<source>: that source alone, no diversity, no exploration; "
                 "no_rerank: all sources, no diversity/exploration; default: everything;\n"
                 "    server mean = recd_rpc_latency_seconds{method=\"Recommend\"}, as the server "
                 "measures it)\n";
  }

  const auto stop = Clock::now();
  if (auto st = (*server)->Terminate(60); !st.ok()) return st;
  std::error_code ec;
  fs::remove_all(data_dir, ec);
  const double stop_seconds = std::chrono::duration<double>(Clock::now() - stop).count();
  std::cout << Sprintf("server stopped cleanly in %.2f s\n", stop_seconds);

  // Errors fail the run: any at all under --smoke; otherwise those that are
  // not load shedding (RESOURCE_EXHAUSTED) or overload (DEADLINE_EXCEEDED).
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& ph = phases[i];
    const uint64_t bad = common.smoke ? ph.result.errors_total() : ph.result.hard_errors();
    if (bad > 0) {
      return absl::InternalError(Sprintf("%s: %llu failed calls", ph.name.c_str(),
                                         static_cast<unsigned long long>(bad)));
    }
    // The open- and closed-loop phases must have served something; sweep
    // points past saturation may time out entirely.
    if (ph.name.rfind("sweep", 0) != 0 && ph.result.recommend.ok == 0 && w.track_ratio < 1) {
      return absl::InternalError(ph.name + ": no Recommend succeeded");
    }
    if (ph.result.recommend.ok > 0 && ph.result.recommend.empty == ph.result.recommend.ok) {
      return absl::InternalError(ph.name + ": every slate was empty");
    }
  }

  Json out = Json::Object();
  Json params = Json::Object();
  params.Set("rate", f.rate).Set("duration_seconds", f.duration).Set("outstanding", f.outstanding);
  params.Set("track_ratio", f.track_ratio).Set("k", f.k).Set("channels", f.channels);
  out.Set("params", std::move(params));
  out.Set("catalog", ToJson(*catalog));
  out.Set("server_start_seconds", start_seconds);
  out.Set("server_stop_seconds", stop_seconds);
  out.Set("open_loop", PhaseJson(phases[0]));
  out.Set("closed_loop", PhaseJson(phases[1]));
  if (f.track_ratio > 0) out.Set("closed_loop_recommend_only", PhaseJson(phases[2]));
  if (f.sweep) {
    out.Set("sweep", std::move(sweep));
    out.Set("sweep_csv", f.csv);
  }
  if (f.profile) out.Set("profile", std::move(profile));
  return out;
}

}  // namespace recd::bench
