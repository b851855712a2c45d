// Progress of a long offline step: a bar with rate and ETA redrawn in place
// on a terminal, or a log line per step (at most one every few seconds)
// when stderr is not a terminal (CI logs, pipes).
#pragma once

#include <chrono>
#include <string>

namespace recd::cli {

class Progress {
 public:
  // `what` names the step ("als", "replay"); `total` steps (>= 1).
  Progress(std::string what, long total);
  ~Progress();  // Done()

  // `done` steps out of total are finished.
  void Update(long done);
  // Ends the bar's line (terminal) or logs the total time.
  void Done();

 private:
  std::string what_;
  long total_;
  long done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_log_;
};

}  // namespace recd::cli
