#include "interrupt.h"

#include <csignal>

#include <atomic>

namespace r1lab {

namespace {

std::atomic<bool> stop{false};

extern "C" void OnStopSignal(int sig) {
  if (stop.exchange(true)) {  // the second signal: no more waiting
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

void InstallStopHandlers() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
}

bool StopRequested() { return stop.load(); }
void RequestStop() { stop.store(true); }
void ClearStopRequest() { stop.store(false); }

}  // namespace r1lab
