#include "bench/recd_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace recd::bench {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// utime + stime (seconds) and the command name of a /proc/.../stat file.
absl::StatusOr<std::pair<double, std::string>> ReadStat(const std::string& path) {
  const std::string text = ReadWholeFile(path);
  // Fields after the command name (which may hold spaces) start past ')'.
  const auto open_paren = text.find('(');
  const auto close_paren = text.rfind(')');
  if (text.empty() || open_paren == std::string::npos || close_paren == std::string::npos) {
    return absl::NotFoundError("no " + path);
  }
  std::istringstream in(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 13; ++i) in >> field;  // fields 3..13 precede utime (14), stime (15)
  in >> utime >> stime;
  if (!in) return absl::InternalError("cannot parse " + path);
  return std::make_pair(
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK)),
      text.substr(open_paren + 1, close_paren - open_paren - 1));
}

}  // namespace

absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  auto stat = ReadStat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return stat.status();
  return stat->first;
}

std::map<std::string, double> ThreadCpuSeconds(pid_t pid) {
  std::map<std::string, double> by_name;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(dir, ec)) {
    auto stat = ReadStat(task.path().string() + "/stat");
    if (stat.ok()) by_name[stat->second] += stat->first;  // a thread that ended is skipped
  }
  return by_name;
}

std::string RecdBinary() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError(Errno("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = Errno("bind 127.0.0.1:0");
    close(fd);
    return absl::UnavailableError(err);
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

absl::Status WriteTextFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RecdProcess>> RecdProcess::Spawn(const ServeSpec& spec) {
  const std::string binary = RecdBinary();
  if (binary.empty()) return absl::InternalError(Errno("readlink /proc/self/exe"));
  std::vector<std::string> args = {binary, "serve", "--data-dir", spec.data_dir,
                                   "--listen", spec.listen, "--metrics-listen",
                                   spec.metrics_listen};
  if (!spec.config_path.empty()) {
    args.push_back("--config");
    args.push_back(spec.config_path);
  }
  if (!spec.ready_file.empty()) {
    std::remove(spec.ready_file.c_str());
    args.push_back("--ready-file");
    args.push_back(spec.ready_file);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(Errno("open " + spec.log_path));

  std::unique_ptr<RecdProcess> p(new RecdProcess());
  p->spec_ = spec;
  const pid_t parent = getpid();
  p->spawned_at_ = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return absl::InternalError(Errno("fork"));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until execv.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  p->pid_ = pid;
  return p;
}

RecdProcess::~RecdProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

bool RecdProcess::Running() {
  int status = 0;
  return !Reap(&status);
}

bool RecdProcess::Reap(int* status) {
  if (pid_ <= 0) return true;
  const pid_t r = waitpid(pid_, status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return true;
  }
  return false;
}

absl::Status RecdProcess::WaitReady(double timeout_seconds) {
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_seconds * 1e6));
  const std::regex grpc_re("\"grpc\": \"([^\"]+)\""), metrics_re("\"metrics\": \"([^\"]+)\"");
  while (Clock::now() < deadline) {
    int status = 0;
    if (Reap(&status)) {
      return absl::InternalError("recd serve exited before serving (status " +
                                 std::to_string(status) + "); log " + spec_.log_path + ":\n" +
                                 LogTail(20));
    }
    const std::string text = ReadWholeFile(spec_.ready_file);
    std::smatch g, m;
    if (std::regex_search(text, g, grpc_re) && std::regex_search(text, m, metrics_re)) {
      grpc_address_ = g[1];
      metrics_address_ = m[1];
      return absl::OkStatus();
    }
    // Polling another process's file; there is nothing to wait on.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError("recd serve did not write " + spec_.ready_file + " within " +
                                     std::to_string(timeout_seconds) + " s; log " +
                                     spec_.log_path + ":\n" + LogTail(20));
}

absl::StatusOr<double> RecdProcess::CpuSeconds() const { return ProcessCpuSeconds(pid_); }

absl::StatusOr<int64_t> RecdProcess::StatusBytes(const std::string& field) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream fields(line.substr(field.size() + 1));
      int64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return absl::NotFoundError(field + " not in /proc/" + std::to_string(pid_) + "/status");
}

absl::Status RecdProcess::Terminate(double timeout_seconds) {
  if (pid_ <= 0) return absl::InternalError("recd serve is not running");
  kill(pid_, SIGTERM);
  const auto deadline =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_seconds * 1e6));
  int status = 0;
  while (!Reap(&status)) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return absl::DeadlineExceededError("recd serve did not exit within " +
                                         std::to_string(timeout_seconds) + " s of SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child's exit
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError("recd serve exited with status " + std::to_string(status) +
                               "; log " + spec_.log_path + ":\n" + LogTail(20));
  }
  return absl::OkStatus();
}

std::string RecdProcess::LogTail(int lines) const {
  std::ifstream in(spec_.log_path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out;
}

}  // namespace recd::bench
