#include "cli/train.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/inputs.h"
#include "cli/progress.h"
#include "config/config.h"
#include "recd/v1/recd.grpc.pb.h"
#include "server/options_from_config.h"

namespace recd::cli {
namespace {

constexpr const char* kUsage = R"(usage: recd train (--data-dir DIR | --dataset FORMAT:PATH) --out DIR [flags]
Trains implicit ALS (conjugate gradient, multithreaded) with confidence from
the event-type weights, fits the metadata -> vector map for items without
events, builds the HNSW index, and writes a model snapshot directory
<out>/<version>. With --load, asks a running server to swap it in.
)";

absl::Status LoadInto(const std::string& address, const std::string& dir) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = recd::v1::Admin::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  recd::v1::LoadModelRequest req;
  req.set_path(std::filesystem::absolute(dir).string());
  recd::v1::LoadModelResponse resp;
  grpc::Status s = stub->LoadModel(&ctx, req, &resp);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        "LoadModel at " + address + ": " + s.error_message());
  }
  std::cout << "loaded by " << address << ": version " << resp.version() << ", " << resp.items()
            << " rows, " << resp.cold_items() << " catalog items from the label map, gate recall "
            << resp.gate_recall() << ", " << resp.seconds() << " s"
            << (resp.already_loaded() ? " (already serving)" : "") << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<core::EngineOptions> EngineOptionsFromFlags(const Flags& flags) {
  auto config = flags.Get("config").empty() ? absl::StatusOr<recd::v1::config::Config>(
                                                  config::DefaultConfig())
                                            : config::LoadFile(flags.Get("config"));
  if (!config.ok()) return config.status();
  return server::EngineOptionsFromConfig(*config);
}

void AddTrainFlags(Flags* flags) {
  flags->Add("config", "", "YAML config for defaults (model.*, event_types)");
  flags->Add("factors", "", "vector length [config model.dimension]");
  flags->Add("alpha", "", "confidence slope c = 1 + alpha*w [config model.als_alpha]");
  flags->Add("lambda", "", "L2 regularisation [config model.als_lambda]");
  flags->Add("iterations", "15", "ALS iterations");
  flags->Add("cg-steps", "3", "conjugate-gradient steps per row and iteration");
  flags->Add("threads", std::to_string(std::max(1u, std::thread::hardware_concurrency())),
             "training threads");
  flags->Add("seed", "1", "initial factors' seed");
  flags->Add("hnsw-m", "", "HNSW graph degree [config model.hnsw_m]");
  flags->Add("hnsw-ef-construction", "", "HNSW build beam [config model.hnsw_ef_construction]");
  flags->AddList("weight", "event-type weight TYPE=W (0 drops the type); overrides the defaults");
}

absl::StatusOr<core::TrainOptions> TrainOptionsFromFlags(const Flags& flags,
                                                         const core::EngineOptions& config) {
  const core::EngineOptions* eo = &config;
  core::TrainOptions t;
  t.als.factors = eo->dimension;
  t.als.alpha = eo->als_alpha;
  t.als.lambda = eo->als_lambda;
  t.ann.m = eo->hnsw_m;
  t.ann.ef_construction = eo->hnsw_ef_construction;
  t.ann.ef_search = eo->hnsw_ef_search;
  int seed = 1;
  absl::Status st;
  if (flags.Has("factors") && !(st = flags.GetInt("factors", &t.als.factors)).ok()) return st;
  if (flags.Has("alpha") && !(st = flags.GetDouble("alpha", &t.als.alpha)).ok()) return st;
  if (flags.Has("lambda") && !(st = flags.GetDouble("lambda", &t.als.lambda)).ok()) return st;
  if (flags.Has("hnsw-m") && !(st = flags.GetInt("hnsw-m", &t.ann.m)).ok()) return st;
  if (flags.Has("hnsw-ef-construction") &&
      !(st = flags.GetInt("hnsw-ef-construction", &t.ann.ef_construction)).ok()) {
    return st;
  }
  if (!(st = flags.GetInt("iterations", &t.als.iterations)).ok()) return st;
  if (!(st = flags.GetInt("cg-steps", &t.als.cg_steps)).ok()) return st;
  if (!(st = flags.GetInt("threads", &t.als.threads)).ok()) return st;
  if (!(st = flags.GetInt("seed", &seed)).ok()) return st;
  t.als.seed = static_cast<uint64_t>(seed);
  t.ann.num_threads = t.als.threads;
  t.ann.dim = t.als.factors;
  if (auto v = core::ValidateAlsParams(t.als); !v.ok()) {
    return absl::InvalidArgumentError("--" + std::string(v.message()));
  }
  if (auto v = core::ValidateAnnOptions(t.ann); !v.ok()) return v;
  return t;
}

absl::StatusOr<core::TrainedModel> TrainWithProgress(const core::TrainingSet& set,
                                                     const core::TrainOptions& options) {
  std::cerr << "training on " << set.events() << " events (" << set.skipped_events()
            << " skipped: type without weight), " << set.users() << " users, " << set.items()
            << " items; " << options.als.factors << " factors, alpha " << options.als.alpha
            << ", lambda " << options.als.lambda << ", " << options.als.threads << " threads\n";
  std::unique_ptr<Progress> bar = std::make_unique<Progress>("als", options.als.iterations);
  auto model = core::TrainModel(set, options,
                                [&](const std::string& stage, int step, int, double) {
                                  if (stage == "als") {
                                    bar->Update(step);
                                    if (step == options.als.iterations) {
                                      bar->Done();
                                      std::cerr << "building the HNSW index...\n";
                                    }
                                  }
                                });
  bar->Done();
  return model;
}

int RunTrain(const std::vector<std::string>& args) {
  Flags flags;
  flags.Add("data-dir", "", "a recd data dir (stopped server's dir or a checkpoint), read only");
  flags.Add("dataset", "", "a dataset file: FORMAT:PATH (movielens-100k, movielens-1m, trivago, csv)");
  flags.Add("out", "", "directory to write the snapshot into (as <out>/<version>)");
  flags.Add("load", "", "HOST:PORT of a running server to load the new model into");
  AddTrainFlags(&flags);
  if (auto st = flags.Parse(args); !st.ok() || flags.help()) {
    if (!st.ok()) std::cerr << "recd train: " << st.message() << "\n";
    (st.ok() ? std::cout : std::cerr) << kUsage << flags.Usage();
    return st.ok() ? 0 : 2;
  }
  auto fail = [](const absl::Status& st) {
    std::cerr << "recd train: " << st.ToString() << "\n";
    return 1;
  };
  if (flags.Get("data-dir").empty() == flags.Get("dataset").empty()) {
    std::cerr << "recd train: give exactly one of --data-dir and --dataset\n" << kUsage;
    return 2;
  }
  if (flags.Get("out").empty()) {
    std::cerr << "recd train: --out is required\n" << kUsage;
    return 2;
  }
  auto engine_options = EngineOptionsFromFlags(flags);
  if (!engine_options.ok()) return fail(engine_options.status());
  auto options = TrainOptionsFromFlags(flags, *engine_options);
  if (!options.ok()) return fail(options.status());

  std::map<std::string, double> weights = engine_options->event_weights;
  std::unique_ptr<core::TrainingSet> set;
  if (!flags.Get("dataset").empty()) {
    auto spec = ParseDatasetSpec(flags.Get("dataset"), "dataset");
    if (!spec.ok()) return fail(spec.status());
    auto defaults = DefaultWeights(spec->format);
    if (!defaults.empty()) weights = defaults;
    if (auto st = ApplyWeightOverrides(flags.List("weight"), "weight", &weights); !st.ok()) {
      return fail(st);
    }
    auto dataset = eval::LoadDataset(spec->format, spec->path);
    if (!dataset.ok()) return fail(dataset.status());
    set = std::make_unique<core::TrainingSet>(weights);
    AddDataset(*dataset, nullptr, set.get());
    options->source = flags.Get("dataset");
  } else {
    if (auto st = ApplyWeightOverrides(flags.List("weight"), "weight", &weights); !st.ok()) {
      return fail(st);
    }
    set = std::make_unique<core::TrainingSet>(weights);
    if (auto st = AddDataDir(flags.Get("data-dir"), set.get()); !st.ok()) return fail(st);
    options->source = flags.Get("data-dir");
  }
  auto model = TrainWithProgress(*set, *options);
  if (!model.ok()) return fail(model.status());
  const std::string dir = flags.Get("out") + "/" + model->data.manifest.version();
  std::error_code ec;
  std::filesystem::create_directories(flags.Get("out"), ec);
  if (auto st = core::WriteModelSnapshot(&model->data, *model->index, dir); !st.ok()) {
    return fail(st);
  }
  const auto& mf = model->data.manifest;
  std::cout << "wrote " << dir << "\n  version " << mf.version() << ", " << mf.items() << " rows ("
            << mf.trained_items() << " trained, " << mf.items() - mf.trained_items()
            << " from the label map), " << mf.dim() << " factors, " << mf.users() << " users, "
            << mf.interactions() << " interactions, " << mf.train_seconds() << " s\n";
  if (!flags.Get("load").empty()) {
    if (auto st = LoadInto(flags.Get("load"), dir); !st.ok()) return fail(st);
  }
  return 0;
}

}  // namespace recd::cli
