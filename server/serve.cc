#include "server/serve.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>

#include "config/config.h"
#include "core/demo.h"
#include "core/engine.h"
#include "server/options_from_config.h"
#include "server/server.h"
#include "spdlog/spdlog.h"

namespace recd::server {
namespace {

constexpr const char* kUsage = R"(usage: recd serve [flags]
  --config FILE            YAML config (default: built-in defaults; see config/README.md)
  --listen HOST:PORT       gRPC address (overrides server.listen; port 0 = any free port)
  --metrics-listen HOST:PORT  Prometheus /metrics address (overrides server.metrics_listen)
  --data-dir DIR           RocksDB directory (overrides storage.data_dir)
  --ready-file FILE        when serving, write {"grpc": "HOST:PORT", "metrics": "HOST:PORT"} here
)";

bool WriteReadyFile(const std::string& path, const Server& server) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "{\"grpc\": \"" << server.grpc_address() << "\", \"metrics\": \""
        << server.metrics_address() << "\"}\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  std::string config_path, listen, metrics_listen, data_dir, ready_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--config") ok = value(&config_path);
    else if (a == "--listen") ok = value(&listen);
    else if (a == "--metrics-listen") ok = value(&metrics_listen);
    else if (a == "--data-dir") ok = value(&data_dir);
    else if (a == "--ready-file") ok = value(&ready_file);
    else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "recd serve: unknown flag " << a << "\n" << kUsage;
      return 2;
    }
    if (!ok) {
      std::cerr << "recd serve: " << a << " needs a value\n" << kUsage;
      return 2;
    }
  }

  absl::StatusOr<config::Config> cfg =
      config_path.empty() ? config::ParseYaml("") : config::LoadFile(config_path);
  if (!cfg.ok()) {
    std::cerr << "recd serve: bad config: " << cfg.status().message() << "\n";
    return 2;
  }
  if (!listen.empty()) cfg->mutable_server()->set_listen(listen);
  if (!metrics_listen.empty()) cfg->mutable_server()->set_metrics_listen(metrics_listen);
  if (!data_dir.empty()) cfg->mutable_storage()->set_data_dir(data_dir);
  if (auto st = config::Validate(*cfg); !st.ok()) {
    std::cerr << "recd serve: bad flag: " << st.message() << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg->logging().level()));

  // Signals are taken by sigwait below; block them before any thread starts
  // so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto engine = core::Engine::Open(EngineOptionsFromConfig(*cfg));
  if (!engine.ok()) {
    spdlog::critical("cannot open the engine: {}", engine.status().ToString());
    return 1;
  }
  if (cfg->demo().enabled() && (*engine)->CatalogEmpty() && (*engine)->Stats().last_seq == 0) {
    spdlog::info("empty data dir: generating the demo catalog (demo.enabled)");
    if (auto st = core::SeedDemo(**engine, DemoOptionsFromConfig(*cfg)); !st.ok()) {
      spdlog::critical("demo catalog: {}", st.ToString());
      return 1;
    }
  }

  ServerOptions so;
  so.listen = cfg->server().listen();
  so.metrics_listen = cfg->server().metrics_listen();
  so.shutdown_grace_seconds = cfg->server().shutdown_grace_seconds();
  so.max_message_bytes = cfg->server().max_message_bytes();
  auto server = Server::Start(engine->get(), so);
  if (!server.ok()) {
    spdlog::critical("{}", server.status().ToString());
    return 1;
  }
  if (!ready_file.empty() && !WriteReadyFile(ready_file, **server)) {
    spdlog::critical("cannot write --ready-file {}", ready_file);
    return 1;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  const auto t0 = std::chrono::steady_clock::now();
  (*server)->Shutdown();
  const auto t1 = std::chrono::steady_clock::now();
  (*engine)->Shutdown();
  const auto t2 = std::chrono::steady_clock::now();
  spdlog::info("stopped cleanly (seconds: server {:.2f}, engine {:.2f})",
               std::chrono::duration<double>(t1 - t0).count(),
               std::chrono::duration<double>(t2 - t1).count());
  return 0;
}

}  // namespace recd::server
