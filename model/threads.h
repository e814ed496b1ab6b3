// Thread set-up for LibTorch on CPU.
//
// Debian's LibTorch runs elementwise ops and r1lab's kernels on an OpenMP
// pool, and BLAS (OpenBLAS, pthread build) on a second pool of its own. With
// both at N threads on N cores they oversubscribe the machine and spin against
// each other: a training step ran 2.4x slower here than with either pool at one
// thread (BENCHMARKS.md). r1lab therefore runs LibTorch's pool at N threads and
// OpenBLAS single-threaded inside it.
#pragma once

namespace r1lab {

// n <= 0: all hardware threads.
void ConfigureThreads(int n);
// Sets OpenBLAS's own pool size if OpenBLAS is the loaded BLAS; returns false
// otherwise (then nothing changes).
bool SetBlasThreads(int n);

}  // namespace r1lab
