// The shared training loop (train/loop.h).
#include <gtest/gtest.h>

#include <vector>

#include "error.h"
#include "interrupt.h"
#include "loop.h"

namespace r1lab {
namespace {

// SIGINT/SIGTERM during a step: the loop finishes that step, checkpoints and
// ends with Interrupted (exit code 130), so a rerun loses nothing.
TEST(Loop, AStopRequestCheckpointsAfterTheStepInProgress) {
  FlopCounter flops;
  LoopSpec spec;
  spec.steps = 10;
  spec.flops = &flops;
  spec.label = "stop test";
  LoopHooks hooks;
  int64_t ran = 0;
  std::vector<int64_t> saved;
  hooks.step = [&](int64_t step, MetricsLine*, std::string*) {
    ran = step + 1;
    if (step == 2) RequestStop();
  };
  hooks.save = [&](int64_t step) { saved.push_back(step); };
  EXPECT_THROW(RunLoop(spec, 0, hooks), Interrupted);
  ClearStopRequest();
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(saved, std::vector<int64_t>{3});
  // Resumed from there, it runs the rest.
  saved.clear();
  EXPECT_EQ(RunLoop(spec, 3, hooks), 10);
  EXPECT_EQ(ran, 10);
  EXPECT_EQ(saved, std::vector<int64_t>{10});
}

}  // namespace
}  // namespace r1lab
