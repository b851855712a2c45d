// A `recd serve` child process for the scenarios that measure the real
// server (ingest, serve, startup): spawned from this very binary
// (/proc/self/exe), on loopback, with its output in a log file.
//
// Thread safety: one thread owns a RecdProcess; CpuSeconds and StatusBytes
// may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recd::bench {

struct ServeSpec {
  std::string config_path;  // --config
  std::string data_dir;     // --data-dir
  std::string log_path;     // stdout and stderr are appended here
  std::string ready_file;   // --ready-file (removed before the start)
  std::string listen = "127.0.0.1:0";          // --listen
  std::string metrics_listen = "127.0.0.1:0";  // --metrics-listen
};

class RecdProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts `recd serve` with spec's flags. The child gets SIGKILL if the
  // spawning thread dies (PR_SET_PDEATHSIG), so call from the main thread.
  // INTERNAL (with errno text) if it cannot be started.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RecdProcess>> Spawn(const ServeSpec& spec);
  ~RecdProcess();  // SIGKILL and reap, if still running
  RecdProcess(const RecdProcess&) = delete;
  RecdProcess& operator=(const RecdProcess&) = delete;

  // Waits until the server wrote its ready file, then knows the bound
  // addresses. INTERNAL (with the log's tail) if the child exited;
  // DEADLINE_EXCEEDED after `timeout_seconds`.
  [[nodiscard]] absl::Status WaitReady(double timeout_seconds);
  // "127.0.0.1:PORT" after WaitReady.
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& metrics_address() const { return metrics_address_; }

  pid_t pid() const { return pid_; }
  Clock::time_point spawned_at() const { return spawned_at_; }
  // False once the child has exited (reaps it).
  bool Running();

  // utime + stime of the child so far (/proc/<pid>/stat), in seconds.
  [[nodiscard]] absl::StatusOr<double> CpuSeconds() const;
  // A "kB" field of /proc/<pid>/status ("VmRSS", "VmHWM"), in bytes.
  [[nodiscard]] absl::StatusOr<int64_t> StatusBytes(const std::string& field) const;

  // SIGTERM, then waits up to `timeout_seconds` for a graceful exit.
  // INTERNAL if it exited with a non-zero code or a signal;
  // DEADLINE_EXCEEDED (after a SIGKILL) if it did not exit in time.
  [[nodiscard]] absl::Status Terminate(double timeout_seconds);

  // The last `lines` lines of the log, for error messages.
  std::string LogTail(int lines) const;

 private:
  RecdProcess() = default;
  // Reaps the child if it has exited; true then (and *status is set).
  bool Reap(int* status);

  pid_t pid_ = -1;
  ServeSpec spec_;
  Clock::time_point spawned_at_;
  std::string grpc_address_;
  std::string metrics_address_;
};

// utime + stime of process `pid` so far (/proc/<pid>/stat), in seconds.
// NOT_FOUND when there is no such process.
[[nodiscard]] absl::StatusOr<double> ProcessCpuSeconds(pid_t pid);

// utime + stime so far of the threads of process `pid`, summed by thread
// name (threads that have ended are not counted); empty if there is no
// such process.
std::map<std::string, double> ThreadCpuSeconds(pid_t pid);

// The path of the running binary (readlink /proc/self/exe): `recd` itself.
std::string RecdBinary();

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read,
// close). For the startup scenario, which must know the port before the
// server reports it. UNAVAILABLE when no socket can be bound.
[[nodiscard]] absl::StatusOr<int> PickFreePort();

// Writes `content` to `path` (truncating). INTERNAL naming the path on error.
[[nodiscard]] absl::Status WriteTextFile(const std::string& path, const std::string& content);

}  // namespace recd::bench
