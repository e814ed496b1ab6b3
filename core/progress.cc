#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace r1lab {

Progress::Progress(std::string label, int64_t total, double plain_interval_s)
    : label_(std::move(label)), total_(total), interval_(plain_interval_s),
      tty_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()), last_(start_) {}

std::string Progress::FormatDuration(double s) {
  char buf[32];
  if (s < 0 || s > 1e7) return "?";
  const int t = static_cast<int>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dm%02ds", t / 60, t % 60);
  return buf;
}

void Progress::Update(int64_t done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since < (tty_ ? 0.2 : interval_)) return;
  last_ = now;
  Print(done, extra, false);
}

void Progress::Finish(int64_t done, const std::string& extra) { Print(done, extra, true); }

void Progress::Print(int64_t done, const std::string& extra, bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double eta = rate > 0 ? (total_ - done) / rate : -1;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld (%.1f/s, %s, ETA %s)", label_.c_str(),
                static_cast<long long>(done), static_cast<long long>(total_), rate,
                FormatDuration(elapsed).c_str(), final ? "done" : FormatDuration(eta).c_str());
  std::string line = buf;
  if (!extra.empty()) line += " " + extra;
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace r1lab
