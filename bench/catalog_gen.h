// The generated catalog of the serve and startup scenarios: a data dir of N
// items (64-d vectors in power-law-sized clusters, each cluster a category,
// tags per category, created_at over the last 180 days, some series) and an
// event history (users with one to three favourite categories, sessions of
// a few events a minute or two apart over the last 30 days, power-law item
// popularity within a category, the five default event types), and by
// default a model trained on that history (bench/catalog_model.h). Written
// through the engine's C++ API (core/engine.h), not through gRPC, so that a
// million items load in minutes. Built once into the work dir and reused.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "bench/flags.h"
#include "bench/json.h"

namespace recd::bench {

// Item and user ids of generated data: "i<n>", "u<n>".
std::string ItemId(int64_t n);
std::string UserId(int64_t n);

struct CatalogSpec {
  int64_t items = 1000000;
  int dim = 64;
  int categories = 200;
  int tags_per_category = 10;
  int64_t users = 100000;
  int64_t events = 2000000;
  int64_t seed = 1;
  // Train a model on the history and make it the data dir's current model
  // (the server then loads its saved HNSW index at start); otherwise the
  // server serves the catalog's own vectors and builds the index at start.
  bool model = true;
  int model_iterations = 5;
  int threads = 2;  // training and index-build threads (not part of the identity)
};

struct Catalog {
  CatalogSpec spec;
  std::string dir;          // <work_dir>/catalog-...
  std::string data_dir;     // dir + "/data": pass to recd serve --data-dir
  std::string config_path;  // dir + "/recd.yaml": the serve config matching the data
  bool reused = false;      // found complete in the work dir
  double build_seconds = 0;  // when built now (else as recorded when built)
  int64_t events_written = 0;
};

// The recd config (YAML) for serving a generated catalog: model.dimension
// = spec.dim, demo off, the default surface (all sources on) and one
// profiling surface per source ("only_<source>", no diversity, no
// exploration) plus "no_rerank" (all sources, no diversity or exploration),
// so that time per stage can be measured through the public API.
std::string CatalogConfigYaml(const CatalogSpec& spec);

// Returns the catalog for `spec` under `work_dir`, building it first unless
// a complete one (its manifest written last) is there and `rebuild` is
// false. Prints progress. Errors from the engine (open, writes, fold-in)
// are returned as they are; DEADLINE_EXCEEDED if the fold-in does not catch
// up. REQUIRES: no recd process has the data dir open.
[[nodiscard]] absl::StatusOr<Catalog> EnsureCatalog(const std::string& work_dir,
                                                    const CatalogSpec& spec, bool rebuild);

// A working copy of the catalog's data dir at `to` (replaced if there), for
// a server that writes: the catalog stays as generated, so every run and
// scenario starts from the same state: a RocksDB checkpoint
// (Store::Checkpoint, table files hard-linked) plus hard links of the model
// snapshots, which are never changed in place (a copy of a 1M catalog took
// seconds and 2 GB). REQUIRES: no process has either dir open.
absl::Status CloneCatalogData(const Catalog& c, const std::string& to);

Json ToJson(const Catalog& c);

// The catalog flags shared by the serve and startup scenarios (--items,
// --dim, --categories, --users, --events, --catalog-seed, --rebuild-catalog,
// --model, --model-iterations).
void AddCatalogFlags(FlagSet* flags, CatalogSpec* spec, bool* rebuild);
// Under --smoke: a tiny catalog (2,000 items), rebuilt every time, unless
// the flags say otherwise.
void SmokeCatalog(const FlagSet& flags, CatalogSpec* spec, bool* rebuild);

}  // namespace recd::bench
