#include "bench/bench.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include "bench/json.h"
#include "bench/machine.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "spdlog/spdlog.h"

namespace recd::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Scenario = std::function<absl::StatusOr<Json>(const std::vector<std::string>&,
                                                    const CommonOptions&)>;

constexpr const char* kUsage = R"(usage: recd bench <scenario> [flags]
scenarios:
  ann       HNSW recall@10/@100 vs exact search, search time and QPS per (M, ef), build/save/load
  train     seconds per implicit-ALS iteration vs factors and data size
  ingest    durable events/s through Track/TrackStream, fold-in lag at a fixed event rate
  serve     Recommend (+Track) latency and QPS against a real `recd serve`: open loop,
            closed loop, --sweep of offered loads, per-stage profile
  startup   process start -> SERVING, resident memory per item
  all       every scenario in turn (with --smoke: tiny sizes, well under a minute)
flags for every scenario:
  --work-dir DIR   caches (indexes, generated catalogs) and scratch data (default ./recd-bench)
  --json PATH      also write the figures (and the machine) as JSON
  --smoke          tiny sizes and short runs: fails only on errors, never on timings
`recd bench <scenario> --help` lists a scenario's own flags.
)";

const std::vector<std::pair<std::string, Scenario>>& Scenarios() {
  static const auto* const kScenarios = new std::vector<std::pair<std::string, Scenario>>{
      {"ann", RunAnnBench},         {"train", RunTrainBench}, {"ingest", RunIngestBench},
      {"serve", RunServeBench},     {"startup", RunStartupBench}};
  return *kScenarios;
}

// Takes --work-dir, --json and --smoke out of `args`. INVALID_ARGUMENT when
// a value is missing.
absl::Status ExtractCommon(std::vector<std::string>* args, CommonOptions* common,
                           std::string* json_path) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    auto value = [&](const std::string& name, std::string* out) -> absl::Status {
      if (a.rfind(name + "=", 0) == 0) {
        *out = a.substr(name.size() + 1);
        return absl::OkStatus();
      }
      if (i + 1 >= args->size()) return absl::InvalidArgumentError(name + ": needs a value");
      *out = (*args)[++i];
      return absl::OkStatus();
    };
    absl::Status st;
    if (a == "--work-dir" || a.rfind("--work-dir=", 0) == 0) {
      st = value("--work-dir", &common->work_dir);
    } else if (a == "--json" || a.rfind("--json=", 0) == 0) {
      st = value("--json", json_path);
    } else if (a == "--smoke") {
      common->smoke = true;
    } else {
      rest.push_back(a);
    }
    if (!st.ok()) return st;
  }
  *args = std::move(rest);
  return absl::OkStatus();
}

// Runs one scenario with the machine probed just before; prints the result
// line. Returns the JSON of the run (figures or error).
absl::StatusOr<Json> RunOne(const std::string& name, const Scenario& run,
                            const std::vector<std::string>& args, CommonOptions common) {
  common.machine = ProbeMachine();
  std::cout << "machine: " << Describe(common.machine) << "\n" << std::flush;
  const auto start = Clock::now();
  absl::StatusOr<Json> figures = run(args, common);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!figures.ok()) {
    if (!absl::IsCancelled(figures.status())) {
      std::cout << Sprintf("== %s FAILED after %.1f s: %s\n", name.c_str(), seconds,
                           figures.status().ToString().c_str());
    }
    return figures.status();
  }
  std::cout << Sprintf("== %s done in %.1f s\n\n", name.c_str(), seconds) << std::flush;
  Json out = Json::Object();
  out.Set("scenario", name);
  out.Set("smoke", common.smoke);
  out.Set("machine", ToJson(common.machine));
  out.Set("wall_seconds", seconds);
  out.Set("results", std::move(*figures));
  return out;
}

}  // namespace

int RunBench(const std::vector<std::string>& all_args) {
  if (all_args.empty() || all_args[0] == "-h" || all_args[0] == "--help" || all_args[0] == "help") {
    std::cout << kUsage;
    return all_args.empty() ? 2 : 0;
  }
  const std::string name = all_args[0];
  std::vector<std::string> args(all_args.begin() + 1, all_args.end());
  CommonOptions common;
  std::string json_path;
  if (auto st = ExtractCommon(&args, &common, &json_path); !st.ok()) {
    std::cerr << "recd bench: " << st.message() << "\n" << kUsage;
    return 2;
  }
  // Progress and figures appear as they come, even when piped to a file.
  std::cout.setf(std::ios::unitbuf);
  // The engine and the server children log through spdlog; keep the bench's
  // own output to its figures.
  spdlog::set_level(spdlog::level::warn);
  std::error_code ec;
  std::filesystem::create_directories(common.work_dir, ec);
  if (ec) {
    std::cerr << "recd bench: --work-dir " << common.work_dir << ": " << ec.message() << "\n";
    return 2;
  }

  Json report;
  int code = 0;
  if (name == "all") {
    if (!args.empty()) {
      std::cerr << "recd bench all: takes only --work-dir, --json and --smoke\n";
      return 2;
    }
    report = Json::Object();
    Json runs = Json::Object();
    std::vector<std::string> failed;
    for (const auto& [scenario, run] : Scenarios()) {
      auto r = RunOne(scenario, run, {}, common);
      if (r.ok()) {
        runs.Set(scenario, std::move(*r));
      } else {
        failed.push_back(scenario);
        runs.Set(scenario, Json::Object().Set("error", r.status().ToString()));
      }
    }
    report.Set("scenarios", std::move(runs));
    if (!failed.empty()) {
      std::cout << "recd bench all: FAILED:";
      for (const auto& f : failed) std::cout << " " << f;
      std::cout << "\n";
      code = 1;
    } else {
      std::cout << "recd bench all: every scenario ran without error\n";
    }
  } else {
    const Scenario* run = nullptr;
    for (const auto& [scenario, fn] : Scenarios()) {
      if (scenario == name) run = &fn;
    }
    if (run == nullptr) {
      std::cerr << "recd bench: unknown scenario " << name << "\n" << kUsage;
      return 2;
    }
    auto r = RunOne(name, *run, args, common);
    if (!r.ok()) {
      if (absl::IsCancelled(r.status())) return 0;  // --help
      if (absl::IsInvalidArgument(r.status())) {
        std::cerr << "recd bench " << name << ": " << r.status().message() << "\n";
        return 2;
      }
      return 1;
    }
    report = std::move(*r);
  }
  if (!json_path.empty()) {
    if (auto st = WriteJsonFile(report, json_path); !st.ok()) {
      std::cerr << "recd bench: " << st.message() << "\n";
      return 1;
    }
    std::cout << "figures written to " << json_path << "\n";
  }
  return code;
}

}  // namespace recd::bench
