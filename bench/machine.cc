#include "bench/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "bench/stats.h"

namespace recd::bench {

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
  return m;
}

std::string Describe(const Machine& m) {
  std::string s = Sprintf("%d cores, %s, %.1f GiB RAM, load average %.2f %.2f %.2f (at start), %s",
                          m.cores, m.cpu_model.c_str(), m.ram_gib, m.load1, m.load5, m.load15,
                          m.kernel.c_str());
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
  return j;
}

}  // namespace recd::bench
