// The machine and build a result was made on: trained numbers are exact only
// on one machine (CPU, ISA, BLAS kernels, threads), so every run records it.
#pragma once

#include <string>

#include "r1lab.pb.h"

namespace r1lab {

// CPU model and instruction sets, the ISA this binary was compiled for,
// LibTorch and BLAS versions, the compiler and the intra-op thread count;
// for a model on `device` CUDA, the GPU's name too.
MachineRecord DescribeMachine(Device device = CPU);

// One line: "AMD EPYC 9B14 (avx512f avx2 fma), built for avx512f, LibTorch 1.13.0,
// OpenBLAS 0.3.21 ..., 2 threads".
std::string MachineLine(const MachineRecord& m);

// OpenBLAS picks its kernels from the CPU model when it loads. A model it
// does not know (a virtual "Intel(R) Xeon(R) Processor") gets its generic
// Prescott (SSE3) kernels: on such a 2-core AVX-512 Xeon a GRPO step took
// 2.1x as long as with the SkylakeX kernels the CPU runs (BENCHMARKS.md).
// The kernels to ask for instead of `detected`, given what the CPU supports,
// or "" to keep OpenBLAS's choice (it knew the CPU, or nothing better runs).
std::string BetterOpenBlasCore(const std::string& detected, bool avx512, bool avx2_fma);

// The process environment r1lab runs best in, set before the libraries that
// read it load: OPENBLAS_CORETYPE from BetterOpenBlasCore for this CPU and
// GOMP_SPINCOUNT=1000 (idle OpenMP workers spin briefly instead of stealing
// the other core). A variable the user set is kept. Returns whether it
// changed anything; the caller then re-executes itself so the libraries see it.
bool SetRunEnvironment();

// Memory of this process, for each run's record. Resident set now and its
// peak (Linux /proc/self/status), in MiB; ResetPeakMemory starts a new peak.
double ResidentMemoryMb();
double PeakMemoryMb();
void ResetPeakMemory();
// Gives memory the allocator keeps after frees back to the system
// (malloc_trim): without it a process running many runs grows by the
// fragments each run leaves.
void ReleaseFreeMemory();

// Memory the kernel says is available for a new allocation without swapping
// (/proc/meminfo MemAvailable), in MiB; 0 if unknown.
double AvailableMemoryMb();

// Free memory of the GPU a CUDA model runs on (device 0: the first of
// CUDA_VISIBLE_DEVICES when set), as `nvidia-smi` reports it, in MiB; 0 if
// unknown (no nvidia-smi on PATH, or no such GPU).
double GpuFreeMemoryMb();
// That GPU's name ("NVIDIA H200"), for the machine record of a CUDA run; ""
// if unknown.
std::string GpuName();
// The memory a model on `device` can use (CPU: AvailableMemoryMb; CUDA:
// GpuFreeMemoryMb), in MiB; 0 if unknown.
double DeviceMemoryMb(Device device);

}  // namespace r1lab
