// The machine a benchmark ran on: printed and written next to every figure
// so numbers from different boxes (or a loaded box) are never confused.
#pragma once

#include <string>

#include "bench/json.h"

namespace recd::bench {

struct Machine {
  int cores = 0;             // online logical CPUs
  std::string cpu_model;     // /proc/cpuinfo "model name"
  double ram_gib = 0;        // /proc/meminfo MemTotal
  double load1 = 0, load5 = 0, load15 = 0;  // /proc/loadavg when probed
  std::string kernel;        // uname -r
};

// Reads /proc and uname now. Missing fields stay empty/zero.
Machine ProbeMachine();

// One line: "2 cores, AMD EPYC, 23.4 GiB RAM, load average 0.29 1.54 2.76
// (at start), Linux 6.1". Appends a warning when load1 exceeds cores/2.
std::string Describe(const Machine& m);

Json ToJson(const Machine& m);

}  // namespace recd::bench
