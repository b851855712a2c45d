// recd — the online recommendation service. Subcommands: serve, train, version.
#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "bench/bench.h"
#include "cli/eval.h"
#include "cli/train.h"
#include "server/serve.h"

namespace {
constexpr const char* kUsage = R"(usage: recd <command> [flags]
commands:
  serve     run the gRPC service (recd serve --help)
  bench     run the performance benchmarks (recd bench --help)
  train     train a model snapshot from events (recd train --help)
  eval      evaluate the ranking on a dataset (recd eval --help)
  version   print the version
)";
}  // namespace

int main(int argc, char** argv) {
  // Debian's abseil is built without NDEBUG, which leaves absl::Mutex's
  // deadlock detection on: every gRPC mutex acquisition then updates a
  // process-wide lock graph under a global lock (~1% of the server's CPU
  // under load). Off before any thread starts; the tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "serve") return recd::server::RunServe(args);
  if (cmd == "bench") return recd::bench::RunBench(args);
  if (cmd == "train") return recd::cli::RunTrain(args);
  if (cmd == "eval") return recd::cli::RunEval(args);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "recd 0.1.0 (API recd.v1)\n";
    return 0;
  }
  if (cmd == "help" || cmd == "-h" || cmd == "--help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "recd: unknown command " << cmd << "\n" << kUsage;
  return 2;
}
