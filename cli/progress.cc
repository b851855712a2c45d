#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace recd::cli {
namespace {
constexpr int kBarWidth = 30;
constexpr double kLogEverySeconds = 5;

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

Progress::Progress(std::string what, long total)
    : what_(std::move(what)),
      total_(std::max(1L, total)),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_log_(start_) {}

Progress::~Progress() { Done(); }

void Progress::Update(long done) {
  done_ = std::min(done, total_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = Seconds(now - start_);
  const double eta = done_ > 0 ? elapsed / done_ * (total_ - done_) : 0;
  if (tty_) {
    const int filled = static_cast<int>(kBarWidth * done_ / total_);
    std::string bar(filled, '#');
    bar.resize(kBarWidth, '.');
    std::fprintf(stderr, "\r%-8s [%s] %ld/%ld  %.1f s elapsed  ETA %.1f s   ", what_.c_str(),
                 bar.c_str(), done_, total_, elapsed, eta);
    std::fflush(stderr);
  } else if (done_ == total_ || Seconds(now - last_log_) >= kLogEverySeconds || done_ == 1) {
    last_log_ = now;
    std::fprintf(stderr, "%s: %ld/%ld (%.0f%%), %.1f s elapsed, ETA %.1f s\n", what_.c_str(),
                 done_, total_, 100.0 * done_ / total_, elapsed, eta);
  }
}

void Progress::Done() {
  if (finished_) return;
  finished_ = true;
  if (tty_) {
    std::fprintf(stderr, "\n");
  } else if (done_ < total_) {
    std::fprintf(stderr, "%s: stopped at %ld/%ld after %.1f s\n", what_.c_str(), done_, total_,
                 Seconds(std::chrono::steady_clock::now() - start_));
  }
}

}  // namespace recd::cli
