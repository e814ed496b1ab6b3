// Progress for long work: a live line on a terminal (stderr), plain lines at
// most every `plain_interval_s` seconds in logs. Shows done/total, rate, ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace r1lab {

using Clock = std::chrono::steady_clock;
// Seconds elapsed since t.
inline double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class Progress {
 public:
  Progress(std::string label, int64_t total, double plain_interval_s = 10.0);
  // `extra` is appended, e.g. "loss 0.41".
  void Update(int64_t done, const std::string& extra = "");
  // The last line: how far the work got (which may be short of total).
  void Finish(int64_t done, const std::string& extra = "");
  static std::string FormatDuration(double seconds);

 private:
  void Print(int64_t done, const std::string& extra, bool final);
  std::string label_;
  int64_t total_;
  double interval_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace r1lab
