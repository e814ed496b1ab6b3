// The shared training loop (train/loop.h).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "error.h"
#include "interrupt.h"
#include "json.h"
#include "loop.h"
#include "test_util.h"
#include "tokenizer.h"

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

// A resumed run's wall time continues from its checkpoint: metrics lines and
// the checkpoint count every segment, not only the last.
TEST(Loop, WallTimeAddsUpAcrossAResume) {
  const std::string dir = testing::TempDir("loop_wall");
  const std::string ckpt = dir + "/checkpoint.pt";
  Transformer policy = MakeModel(testing::TinyModel(), Tokenizer::Get().vocab_size());
  Rng rng(1);
  int64_t tokens = 0;
  auto run = [&](int64_t steps) {
    FlopCounter flops;
    JsonlWriter metrics(dir + "/metrics.jsonl");
    LoopSpec spec;
    spec.flops = &flops;
    spec.metrics = &metrics;
    spec.label = "wall test";
    StrategyLoop loop;
    loop.steps = steps;
    loop.rng = &rng;
    loop.tokens = &tokens;
    loop.step = [](int64_t, MetricsLine*, std::string*) { std::this_thread::sleep_for(std::chrono::milliseconds(60)); };
    RunCheckpointedLoop(spec, policy, ckpt, loop);
  };
  run(2);  // a first segment of two steps, checkpointed at its end
  const double first = CheckpointWallSeconds(ReadCheckpointMeta(ckpt), ckpt);
  EXPECT_GE(first, 0.12);
  run(4);  // resumed: two more steps
  EXPECT_GE(CheckpointWallSeconds(ReadCheckpointMeta(ckpt), ckpt), first + 0.12);
  const std::string lines = ReadFile(dir + "/metrics.jsonl");
  const std::string last = lines.substr(lines.rfind('\n', lines.size() - 2) + 1);
  EXPECT_GE(JsonValue::Parse(last).num("wall_s"), first + 0.12) << last;
}

}  // namespace
}  // namespace r1lab
