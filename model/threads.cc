#include "threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>

#include <thread>

namespace r1lab {

bool SetBlasThreads(int n) {
  using SetFn = void (*)(int);
  auto fn = reinterpret_cast<SetFn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!fn) return false;
  fn(n);
  return true;
}

void ConfigureThreads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(n > 0 ? n : 1);
  SetBlasThreads(1);
}

}  // namespace r1lab
