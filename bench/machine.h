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
  // Mean time of one dependent random read over 64 MiB (pointer chasing, 4
  // KiB pages as malloc gives them): DRAM plus TLB misses, what HNSW
  // search, catalog lookups and the start-up's loads wait on. A busy
  // neighbour on the memory bus moves it (~300 ns against ~100-150 on a
  // quiet box), and with it every memory-bound figure.
  double memory_latency_ns = 0;
  // Share of CPU time the hypervisor took from this VM during that probe
  // (/proc/stat steal), percent.
  double steal_percent = 0;
};

// Reads /proc and uname now, and measures memory latency (~0.5 s).
// Missing fields stay empty/zero.
Machine ProbeMachine();

// One line: "2 cores, AMD EPYC, 23.4 GiB RAM, load average 0.29 1.54 2.76
// (at start), Linux 6.1", then the memory latency and steal. Appends a
// warning when load1 exceeds cores/2.
std::string Describe(const Machine& m);

Json ToJson(const Machine& m);

}  // namespace recd::bench
