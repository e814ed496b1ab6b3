#include "machine.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <torch/version.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace r1lab {

namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::string CpuIsa() {
  std::string isa;
  auto add = [&](bool has, const char* name) {
    if (has) isa += (isa.empty() ? "" : " ") + std::string(name);
  };
  __builtin_cpu_init();
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  return isa.empty() ? "x86-64" : isa;
}

// The widest vector ISA the compiler was allowed to use.
const char* BuildIsa() {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__)
  return "avx2";
#else
  return "x86-64";
#endif
}

using OpenBlasString = char* (*)();

// The kernels OpenBLAS runs ("" if LibTorch's BLAS is not OpenBLAS).
std::string OpenBlasCore() {
  auto core = reinterpret_cast<OpenBlasString>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return core ? core() : "";
}

// Set when r1lab chose OPENBLAS_CORETYPE: the kernels OpenBLAS chose itself.
constexpr char kOpenBlasDetectedVar[] = "R1LAB_OPENBLAS_DETECTED";

// The BLAS LibTorch calls, if it is OpenBLAS (it says so itself).
std::string Blas() {
  std::string blas = "unknown BLAS";
  if (auto f = reinterpret_cast<OpenBlasString>(::dlsym(RTLD_DEFAULT, "openblas_get_config"))) blas = f();
  const std::string core = OpenBlasCore();
  if (!core.empty()) blas += " core " + core;
  // A forced kernel choice (AVX2 kernels on an AVX-512 machine) decides the speed.
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE")) {
    blas += std::string(" (OPENBLAS_CORETYPE=") + forced;
    if (const char* detected = std::getenv(kOpenBlasDetectedVar))
      blas += std::string(", set by r1lab: OpenBLAS chose ") + detected;
    blas += ")";
  }
  return blas;
}

}  // namespace

std::string BetterOpenBlasCore(const std::string& detected, bool avx512, bool avx2_fma) {
  // OpenBLAS's fallbacks for a CPU model it does not know.
  if (detected != "Prescott" && detected != "Core2" && detected != "Nehalem") return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

bool SetRunEnvironment() {
  bool changed = false;
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    ::setenv("GOMP_SPINCOUNT", "1000", 1);
    changed = true;
  }
  if (!std::getenv("OPENBLAS_CORETYPE")) {
    __builtin_cpu_init();
    // OpenBLAS's SkylakeX kernels use AVX-512 F, BW, DQ and VL.
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const std::string detected = OpenBlasCore();
    const std::string better = BetterOpenBlasCore(detected, avx512, avx2_fma);
    if (!better.empty()) {
      ::setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
      ::setenv(kOpenBlasDetectedVar, detected.c_str(), 1);
      changed = true;
    }
  }
  return changed;
}

MachineRecord DescribeMachine(Device device) {
  MachineRecord m;
  m.set_cpu(CpuModel());
  m.set_isa(CpuIsa());
  m.set_build_isa(BuildIsa());
  m.set_libtorch(TORCH_VERSION);
  m.set_blas(Blas());
  m.set_compiler(__VERSION__);
  m.set_threads(at::get_num_threads());
  std::string wait;
  for (const char* var : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"})
    if (const char* v = std::getenv(var)) wait += std::string(wait.empty() ? "" : " ") + var + "=" + v;
  m.set_openmp_wait(wait.empty() ? "libgomp default" : wait);
  if (device == CUDA) m.set_gpu(GpuName());
  return m;
}

std::string MachineLine(const MachineRecord& m) {
  return m.cpu() + " (" + m.isa() + "), built for " + m.build_isa() + " with " + m.compiler() + ", LibTorch " +
         m.libtorch() + ", " + m.blas() + ", " + std::to_string(m.threads()) + " threads" +
         (m.has_openmp_wait() ? ", OpenMP " + m.openmp_wait() : "") + (m.has_gpu() ? ", GPU " + m.gpu() : "");
}

namespace {

// A "VmRSS:" / "VmHWM:" line of /proc/self/status, in MiB (0 if unreadable).
double StatusMb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;  // kB
  return 0;
}

}  // namespace

double ResidentMemoryMb() { return StatusMb("VmRSS:"); }
double PeakMemoryMb() { return StatusMb("VmHWM:"); }

void ResetPeakMemory() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets the peak resident set (Linux 4.0 and later)
}

void ReleaseFreeMemory() { ::malloc_trim(0); }

namespace {

// nvidia-smi's value of `field` for the GPU a CUDA model runs on (device 0:
// the first of CUDA_VISIBLE_DEVICES when set), without its line end; "" if
// unknown (no nvidia-smi on PATH, or no such GPU).
std::string NvidiaSmi(const std::string& field) {
  std::string which = "0";
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    which = std::string(visible).substr(0, std::string(visible).find(','));
    // An index or a GPU UUID; anything else is not passed to a shell.
    for (char c : which)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return "";
    if (which.empty()) return "";
  }
  const std::string cmd = "nvidia-smi --query-gpu=" + field + " --format=csv,noheader,nounits -i " + which + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  char line[256] = {0};
  const bool got = std::fgets(line, sizeof line, p) != nullptr;
  const int status = ::pclose(p);
  if (!got || status != 0) return "";
  std::string out = line;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

double GpuFreeMemoryMb() {
  const std::string line = NvidiaSmi("memory.free");
  char* end = nullptr;
  const double mb = std::strtod(line.c_str(), &end);
  return end != line.c_str() && mb > 0 ? mb : 0;
}

std::string GpuName() { return NvidiaSmi("name"); }

double DeviceMemoryMb(Device device) { return device == CUDA ? GpuFreeMemoryMb() : AvailableMemoryMb(); }

double AvailableMemoryMb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb / 1024;
  return 0;
}

}  // namespace r1lab
