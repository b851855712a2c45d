// `recd bench`: reproducible performance scenarios (issue 5). Each scenario
// prints its figures and the machine it ran on, and can write them as JSON.
// Timings are printed, never asserted: a scenario fails (non-zero exit) only
// on errors (an RPC that failed, a server that did not start, a figure that
// could not be computed).
//
//   recd bench ann|train|ingest|serve|startup [flags]   one scenario
//   recd bench all --smoke --work-dir DIR               every scenario, tiny
//
// `recd bench <scenario> --help` lists a scenario's flags.
#pragma once

#include <string>
#include <vector>

namespace recd::bench {

// Runs `recd bench`; args exclude "recd bench". Returns the process exit
// code: 0 on success, 1 when a scenario failed, 2 for a usage error.
// Spawns `recd serve` children (the binary at /proc/self/exe) for the
// ingest, serve and startup scenarios and stops them before returning.
// Call from the main thread (children are tied to the spawning thread with
// PR_SET_PDEATHSIG, so they die with the bench).
int RunBench(const std::vector<std::string>& args);

}  // namespace recd::bench
