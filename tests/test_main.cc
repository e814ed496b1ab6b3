// Test entry point: the same thread set-up as the r1lab binary.
#include <gtest/gtest.h>

#include "threads.h"

int main(int argc, char** argv) {
  r1lab::ConfigureThreads(0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
