// What a run records about the machine and its memory (model/machine.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "io.h"
#include "machine.h"
#include "test_util.h"

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
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string kept = before ? before : "";
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  EXPECT_NE(DescribeMachine().blas().find("(OPENBLAS_CORETYPE=Haswell"), std::string::npos);
  if (before) {
    ::setenv("OPENBLAS_CORETYPE", kept.c_str(), 1);
  } else {
    ::unsetenv("OPENBLAS_CORETYPE");
  }
  EXPECT_FALSE(m.openmp_wait().empty());
}

// OpenBLAS's generic kernels for a CPU model it does not know are replaced by
// the widest ones the CPU runs; a core OpenBLAS recognised is left alone.
TEST(Machine, AsksOpenBlasForTheWidestKernelsWhenItFellBackToGenericOnes) {
  EXPECT_EQ(BetterOpenBlasCore("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(BetterOpenBlasCore("Prescott", false, true), "Haswell");
  EXPECT_EQ(BetterOpenBlasCore("Prescott", false, false), "");
  EXPECT_EQ(BetterOpenBlasCore("Core2", true, true), "SkylakeX");
  EXPECT_EQ(BetterOpenBlasCore("Haswell", true, true), "");
  EXPECT_EQ(BetterOpenBlasCore("Zen", true, true), "");
  EXPECT_EQ(BetterOpenBlasCore("SkylakeX", true, true), "");
  EXPECT_EQ(BetterOpenBlasCore("", true, true), "");  // not OpenBLAS
}

// This process ran through SetRunEnvironment (tests/test_main.cc), so it runs
// what the r1lab binary runs: never OpenBLAS's generic kernels on a CPU with
// AVX2, and a choice r1lab made is named in the machine record.
TEST(Machine, RunsTheKernelsTheBinaryRuns) {
  EXPECT_FALSE(SetRunEnvironment()) << "the environment was already set before the libraries loaded";
  __builtin_cpu_init();
  const std::string blas = DescribeMachine().blas();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && blas.rfind("OpenBLAS", 0) == 0) {
    EXPECT_EQ(blas.find("core Prescott"), std::string::npos) << blas;
  }
  if (std::getenv("R1LAB_OPENBLAS_DETECTED")) {
    EXPECT_NE(blas.find("set by r1lab"), std::string::npos) << blas;
  }
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

// A CUDA model's memory check asks nvidia-smi about the GPU it will run on:
// device 0 of CUDA_VISIBLE_DEVICES, and a CUDA run's record names that GPU.
// Here a stand-in nvidia-smi on PATH.
TEST(Machine, AsksNvidiaSmiForTheFreeMemoryOfTheVisibleGpu) {
  const std::string dir = testing::TempDir("machine_smi");
  WriteFileAtomic(dir + "/nvidia-smi", "#!/bin/sh\necho \"$@\" > " + dir + "/args\n"
                                       "case \"$1\" in --query-gpu=name) echo 'NVIDIA H200' ;; *) echo 40960 ;; esac\n");
  ASSERT_EQ(std::system(("chmod +x " + dir + "/nvidia-smi").c_str()), 0);
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir + ":" + path).c_str(), 1);
  ::unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(GpuFreeMemoryMb(), 40960);
  EXPECT_EQ(DeviceMemoryMb(CUDA), 40960);
  EXPECT_NE(ReadFile(dir + "/args").find("--query-gpu=memory.free --format=csv,noheader,nounits -i 0"), std::string::npos);
  ::setenv("CUDA_VISIBLE_DEVICES", "3,1", 1);
  EXPECT_EQ(GpuFreeMemoryMb(), 40960);
  EXPECT_NE(ReadFile(dir + "/args").find("-i 3"), std::string::npos);
  ::setenv("CUDA_VISIBLE_DEVICES", ("0;touch " + dir + "/owned").c_str(), 1);  // never reaches a shell
  EXPECT_EQ(GpuFreeMemoryMb(), 0);
  EXPECT_FALSE(FileExists(dir + "/owned"));
  ::unsetenv("CUDA_VISIBLE_DEVICES");
  // A CUDA run's machine record names its GPU; a CPU run's names none.
  const MachineRecord gpu = DescribeMachine(CUDA);
  EXPECT_EQ(gpu.gpu(), "NVIDIA H200");
  EXPECT_NE(MachineLine(gpu).find(", GPU NVIDIA H200"), std::string::npos) << MachineLine(gpu);
  EXPECT_FALSE(DescribeMachine(CPU).has_gpu());
  ::setenv("PATH", "/nonexistent", 1);  // no nvidia-smi: unknown, so no check
  EXPECT_EQ(GpuFreeMemoryMb(), 0);
  EXPECT_EQ(GpuName(), "");
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_GT(DeviceMemoryMb(CPU), 0);
}

}  // namespace
}  // namespace r1lab
