// `recd bench startup`: time from spawning `recd serve --data-dir D` on the
// generated catalog (bench/catalog_gen.h, shared with the serve scenario) to
// grpc.health.v1 reporting SERVING, and the resident memory per item then.
// Several runs: the first start after a build may differ from later ones
// (an index built and saved vs loaded, a cold page cache).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench/catalog_gen.h"
#include "bench/flags.h"
#include "bench/recd_process.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace recd::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Polls Health/Check("") on `address` until SERVING; returns that moment.
// Fails if the child exits, DEADLINE_EXCEEDED after `timeout` seconds.
absl::StatusOr<Clock::time_point> WaitServing(RecdProcess& server, const std::string& address,
                                              double timeout) {
  const auto deadline = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  while (Clock::now() < deadline) {
    if (!server.Running()) return absl::InternalError("recd serve exited:\n" + server.LogTail(20));
    // A fresh channel per attempt (with its own subchannel): a refused
    // connection would otherwise put the channel into gRPC's reconnect
    // backoff and round the measurement up by seconds.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (health->Check(&ctx, req, &resp).ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling another process
  }
  return absl::DeadlineExceededError("not SERVING within " + std::to_string(timeout) + " s");
}

// Lines of the server log that tell how the index came to be.
std::string IndexLogLines(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("index") != std::string::npos || line.find("loaded") != std::string::npos ||
        line.find("HNSW") != std::string::npos) {
      out += "     | " + line + "\n";
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> RunStartupBench(const std::vector<std::string>& args,
                                     const CommonOptions& common) {
  CatalogSpec catalog_spec;
  bool rebuild = false;
  int runs = 2;
  double timeout = 900;
  FlagSet flags("recd bench startup");
  AddCatalogFlags(&flags, &catalog_spec, &rebuild);
  flags.Add("runs", &runs, "server starts to measure");
  flags.Add("start-timeout", &timeout, "seconds to wait for SERVING");
  if (auto st = flags.Parse(args); !st.ok()) return st;
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return absl::CancelledError("help");
  }
  if (common.smoke) {
    SmokeCatalog(flags, &catalog_spec, &rebuild);
    SmokeDefault(flags, "start-timeout", &timeout, 60.0);
  }
  if (runs < 1) return absl::InvalidArgumentError("--runs: must be >= 1");
  fs::create_directories(common.work_dir);
  std::cout << "== startup\n";
  catalog_spec.threads = std::max(1, common.machine.cores);
  auto catalog = EnsureCatalog(common.work_dir, catalog_spec, rebuild);
  if (!catalog.ok()) return catalog.status();

  Json rows = Json::Array();
  std::cout << Sprintf("%4s | %12s | %10s %10s %12s | %9s\n", "run", "to SERVING s", "VmRSS MiB",
                       "VmHWM MiB", "RSS/item B", "stop s");
  std::string logs;
  for (int run = 1; run <= runs; ++run) {
    auto port = PickFreePort();
    if (!port.ok()) return port.status();
    const std::string address = "127.0.0.1:" + std::to_string(*port);
    // Every run starts from the catalog as generated (a clone: a start
    // writes RocksDB's manifest and may fold or compact).
    const std::string data_dir = (fs::path(common.work_dir) / "startup-data").string();
    if (auto st = CloneCatalogData(*catalog, data_dir); !st.ok()) return st;
    ServeSpec spec;
    spec.config_path = catalog->config_path;
    spec.data_dir = data_dir;
    spec.listen = address;
    spec.log_path = (fs::path(common.work_dir) / Sprintf("startup-run%d.log", run)).string();
    spec.ready_file = (fs::path(common.work_dir) / "startup-ready.json").string();
    std::error_code ec;
    fs::remove(spec.log_path, ec);
    auto server = RecdProcess::Spawn(spec);
    if (!server.ok()) return server.status();
    auto serving = WaitServing(**server, address, timeout);
    if (!serving.ok()) return serving.status();
    const double seconds = std::chrono::duration<double>(*serving - (*server)->spawned_at()).count();
    auto rss = (*server)->StatusBytes("VmRSS");
    auto hwm = (*server)->StatusBytes("VmHWM");
    if (!rss.ok()) return rss.status();
    if (!hwm.ok()) return hwm.status();
    const double per_item = static_cast<double>(*rss) / static_cast<double>(catalog_spec.items);
    if (auto st = (*server)->WaitReady(10); !st.ok()) return st;
    const auto stop = Clock::now();
    if (auto st = (*server)->Terminate(120); !st.ok()) return st;
    const double stop_seconds = std::chrono::duration<double>(Clock::now() - stop).count();
    fs::remove_all(data_dir, ec);
    std::cout << Sprintf("%4d | %12.3f | %10.1f %10.1f %12.0f | %9.2f\n", run, seconds,
                         *rss / 1048576.0, *hwm / 1048576.0, per_item, stop_seconds)
              << std::flush;
    logs += Sprintf("   run %d log (%s), index lines:\n", run, spec.log_path.c_str()) +
            IndexLogLines(spec.log_path);
    Json row = Json::Object();
    row.Set("run", run).Set("seconds_to_serving", seconds);
    row.Set("vm_rss_bytes", *rss).Set("vm_hwm_bytes", *hwm);
    row.Set("rss_bytes_per_item", per_item).Set("stop_seconds", stop_seconds);
    rows.Push(std::move(row));
  }
  std::cout << logs;

  Json out = Json::Object();
  out.Set("catalog", ToJson(*catalog));
  out.Set("runs", std::move(rows));
  return out;
}

}  // namespace recd::bench
