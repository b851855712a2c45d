#include "bench/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

#include "bench/stats.h"

namespace recd::bench {

namespace {

// (steal, total) jiffies of all CPUs from /proc/stat's first line.
std::pair<double, double> StealAndTotal() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  double v, total = 0, steal = 0;
  for (int i = 0; i < 8 && in >> v; ++i) {  // user nice system idle iowait irq softirq steal
    total += v;
    if (i == 7) steal = v;
  }
  return {steal, total};
}

// Nanoseconds per dependent read of a random single-cycle permutation
// (Sattolo) of 64 MiB: each read's address is the previous read's value,
// so no two misses overlap.
double MemoryLatencyNs() {
  constexpr size_t kWords = (64u << 20) / sizeof(uint64_t);
  constexpr size_t kSteps = 1u << 20;
  std::vector<uint64_t> next(kWords);
  std::iota(next.begin(), next.end(), uint64_t{0});
  std::mt19937_64 rng(42);
  for (size_t i = kWords - 1; i > 0; --i) {
    std::swap(next[i], next[std::uniform_int_distribution<size_t>(0, i - 1)(rng)]);
  }
  uint64_t at = 0;
  for (size_t i = 0; i < kSteps / 8; ++i) at = next[at];  // warm the page tables a little
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kSteps; ++i) at = next[at];
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // `at` feeds the result so the chase cannot be optimised away.
  return s / kSteps * 1e9 + static_cast<double>(at % 2) * 1e-9;
}

}  // namespace

Machine ProbeMachine() {
  Machine m;
  m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        auto colon = line.find(':');
        if (colon != std::string::npos) m.cpu_model = line.substr(colon + 2);
        break;
      }
    }
  }
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kib = 0;
    while (in >> key >> kib) {
      if (key == "MemTotal:") {
        m.ram_gib = kib / (1024.0 * 1024.0);
        break;
      }
      in.ignore(1 << 10, '\n');
    }
  }
  {
    std::ifstream in("/proc/loadavg");
    in >> m.load1 >> m.load5 >> m.load15;
  }
  struct utsname u;
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  const auto [steal0, total0] = StealAndTotal();
  m.memory_latency_ns = MemoryLatencyNs();
  const auto [steal1, total1] = StealAndTotal();
  if (total1 > total0) m.steal_percent = 100.0 * (steal1 - steal0) / (total1 - total0);
  return m;
}

std::string Describe(const Machine& m) {
  std::string s = Sprintf("%d cores, %s, %.1f GiB RAM, load average %.2f %.2f %.2f (at start), %s",
                          m.cores, m.cpu_model.c_str(), m.ram_gib, m.load1, m.load5, m.load15,
                          m.kernel.c_str());
  s += Sprintf(
      "\n  memory latency %.0f ns (dependent random reads over 64 MiB), CPU steal %.0f%% "
      "during that probe",
      m.memory_latency_ns, m.steal_percent);
  if (m.cores > 0 && m.load1 > m.cores / 2.0) {
    s += Sprintf("\n  WARNING: load average %.2f on %d cores: other work shares this machine; "
                 "figures are pessimistic",
                 m.load1, m.cores);
  }
  return s;
}

Json ToJson(const Machine& m) {
  Json j = Json::Object();
  j.Set("cores", m.cores);
  j.Set("cpu_model", m.cpu_model);
  j.Set("ram_gib", m.ram_gib);
  Json load = Json::Array();
  load.Push(m.load1).Push(m.load5).Push(m.load15);
  j.Set("load_average_at_start", std::move(load));
  j.Set("kernel", m.kernel);
  j.Set("memory_latency_ns", m.memory_latency_ns);
  j.Set("steal_percent", m.steal_percent);
  return j;
}

}  // namespace recd::bench
