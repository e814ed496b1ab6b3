// What a run records about the machine and its memory (model/machine.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "machine.h"

namespace r1lab {
namespace {

TEST(Machine, DescribesTheCpuTheBuildAndTheLibraries) {
  const MachineRecord m = DescribeMachine();
  EXPECT_FALSE(m.cpu().empty());
  EXPECT_FALSE(m.isa().empty());
  EXPECT_EQ(m.libtorch().rfind("1.", 0) == 0 || m.libtorch().rfind("2.", 0) == 0, true) << m.libtorch();
  EXPECT_GE(m.threads(), 1);
  EXPECT_NE(MachineLine(m).find(m.cpu()), std::string::npos);
  // What decides BLAS speed is named: a forced kernel choice, and how idle OpenMP workers wait.
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  EXPECT_NE(DescribeMachine().blas().find("(OPENBLAS_CORETYPE=Haswell)"), std::string::npos);
  ::unsetenv("OPENBLAS_CORETYPE");
  EXPECT_FALSE(m.openmp_wait().empty());
}

// Many small blocks freed: the allocator keeps them until told to give them
// back, which is how a process running many runs grew by ~64 MB per run.
TEST(Machine, ReleasingFreedMemoryShrinksTheResidentSet) {
  ReleaseFreeMemory();
  const double before = ResidentMemoryMb();
  {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < 400000; ++i) {
      blocks.emplace_back(new char[512]);
      blocks.back()[0] = static_cast<char>(i);
    }
    // Keep every 64th block so the heap cannot simply shrink from its top.
    for (size_t i = 0; i < blocks.size(); ++i)
      if (i % 64 != 63) blocks[i].reset();
    EXPECT_GT(ResidentMemoryMb(), before + 100);
    const double held = ResidentMemoryMb();
    ReleaseFreeMemory();
    EXPECT_LT(ResidentMemoryMb(), held - 100) << "before " << before << " MiB, held " << held << " MiB";
  }
  ResetPeakMemory();
  EXPECT_LT(PeakMemoryMb(), ResidentMemoryMb() + 50);
}

}  // namespace
}  // namespace r1lab
