#include "bench/metrics_scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

namespace recd::bench {
namespace {

bool Matches(const Sample& s, const std::map<std::string, std::string>& match) {
  for (const auto& [k, v] : match) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

double ParseValue(const std::string& text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  return std::strtod(text.c_str(), nullptr);
}

}  // namespace

MetricsSnapshot MetricsSnapshot::Parse(const std::string& text) {
  MetricsSnapshot snap;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) continue;
    s.name = line.substr(0, pos);
    if (line[pos] == '{') {
      const size_t end = line.find('}', pos);
      if (end == std::string::npos) continue;
      // key="value",key="value" (values hold no quotes in recd's metrics).
      std::string labels = line.substr(pos + 1, end - pos - 1);
      size_t i = 0;
      while (i < labels.size()) {
        const size_t eq = labels.find('=', i);
        if (eq == std::string::npos || eq + 1 >= labels.size()) break;
        const size_t close = labels.find('"', eq + 2);
        if (close == std::string::npos) break;
        s.labels[labels.substr(i, eq - i)] = labels.substr(eq + 2, close - eq - 2);
        i = close + 1;
        if (i < labels.size() && labels[i] == ',') ++i;
      }
      pos = end + 1;
    }
    std::istringstream rest(line.substr(pos));
    std::string value;
    rest >> value;
    s.value = ParseValue(value);
    snap.samples_.push_back(std::move(s));
  }
  return snap;
}

double MetricsSnapshot::Sum(const std::string& name,
                            const std::map<std::string, std::string>& match) const {
  double sum = 0;
  for (const auto& s : samples_) {
    if (s.name == name && Matches(s, match)) sum += s.value;
  }
  return sum;
}

std::vector<Bucket> MetricsSnapshot::Buckets(const std::string& name,
                                             const std::map<std::string, std::string>& match) const {
  std::map<double, double> by_le;
  for (const auto& s : samples_) {
    if (s.name != name + "_bucket" || !Matches(s, match)) continue;
    auto le = s.labels.find("le");
    if (le == s.labels.end()) continue;
    by_le[ParseValue(le->second)] += s.value;
  }
  std::vector<Bucket> out;
  for (const auto& [le, count] : by_le) out.push_back({le, count});
  return out;
}

absl::StatusOr<MetricsSnapshot> ScrapeMetrics(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError("bad address " + address);
  std::string host = address.substr(0, colon);
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address: " + address);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError(std::string("socket: ") + std::strerror(errno));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string err = std::strerror(errno);
    close(fd);
    return absl::UnavailableError("metrics " + address + ": " + err);
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("metrics " + address + ": cannot send the request");
  }
  std::string response;
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) {
    return absl::UnavailableError("metrics " + address + ": no complete HTTP answer");
  }
  if (response.find(" 200", 0) > response.find("\r\n")) {
    return absl::InternalError("metrics " + address + ": " + response.substr(0, response.find("\r\n")));
  }
  return MetricsSnapshot::Parse(response.substr(body + 4));
}

}  // namespace recd::bench
