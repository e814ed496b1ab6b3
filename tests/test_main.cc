// Test entry point: the same thread set-up as the r1lab binary.
#include <gtest/gtest.h>

#include "threads.h"

int main(int argc, char** argv) {
  // One thread per test process: ctest runs suites in parallel, and two
  // multi-threaded processes on two cores oversubscribe them.
  r1lab::ConfigureThreads(1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
