// Test entry point: the same thread set-up as the r1lab binary.
#include <gtest/gtest.h>

#ifdef R1LAB_TEST_THREADS  // suites that link the model layer
#include <unistd.h>

#include "machine.h"
#include "threads.h"
#endif

int main(int argc, char** argv) {
#ifdef R1LAB_TEST_THREADS
  // The BLAS kernels and OpenMP waiting the r1lab binary runs with, so a test
  // that compares its own numbers with the binary's sees the same arithmetic.
  if (r1lab::SetRunEnvironment()) ::execv("/proc/self/exe", argv);
  // One thread per test process: ctest runs suites in parallel, and two
  // multi-threaded processes on two cores oversubscribe them.
  r1lab::ConfigureThreads(1);
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
