// The scenarios of `recd bench` (bench/bench.h). Each parses its own flags,
// prints its figures and the machine as it goes, and returns the figures as
// JSON; bench.cc writes that JSON (--json) and turns errors into the exit
// code. Every scenario returns:
//   CANCELLED when only --help was asked (the usage is printed);
//   INVALID_ARGUMENT naming the flag for a bad flag;
//   any other error when something failed that must not (an RPC error, a
//   server that did not start, a figure that could not be computed).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/json.h"
#include "bench/machine.h"

namespace recd::bench {

// Flags every scenario shares, taken out of the arguments by bench.cc.
struct CommonOptions {
  // Caches (built indexes, generated catalogs) and scratch data dirs.
  std::string work_dir = "./recd-bench";
  // Tiny sizes and short runs: checks that everything works, in seconds.
  bool smoke = false;
  // Probed once at the start of `recd bench`.
  Machine machine;
};

absl::StatusOr<Json> RunAnnBench(const std::vector<std::string>& args, const CommonOptions& common);
absl::StatusOr<Json> RunTrainBench(const std::vector<std::string>& args,
                                   const CommonOptions& common);
absl::StatusOr<Json> RunIngestBench(const std::vector<std::string>& args,
                                    const CommonOptions& common);
absl::StatusOr<Json> RunServeBench(const std::vector<std::string>& args,
                                   const CommonOptions& common);
absl::StatusOr<Json> RunStartupBench(const std::vector<std::string>& args,
                                     const CommonOptions& common);

}  // namespace recd::bench
