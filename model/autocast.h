// LibTorch's autocast switches across versions: one function per device
// type before 2.4, per device type argument from 2.4 on.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace r1lab {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool AutocastEnabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
inline void SetAutocastEnabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
inline c10::ScalarType AutocastDtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
inline void SetAutocastDtype(c10::DeviceType t, c10::ScalarType d) { at::autocast::set_autocast_dtype(t, d); }
#else
inline bool AutocastEnabled(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
inline void SetAutocastEnabled(c10::DeviceType t, bool on) {
  if (t == c10::DeviceType::CUDA) at::autocast::set_enabled(on);
  else at::autocast::set_cpu_enabled(on);
}
inline c10::ScalarType AutocastDtype(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
inline void SetAutocastDtype(c10::DeviceType t, c10::ScalarType d) {
  if (t == c10::DeviceType::CUDA) at::autocast::set_autocast_gpu_dtype(d);
  else at::autocast::set_autocast_cpu_dtype(d);
}
#endif

inline bool CpuAutocast() { return AutocastEnabled(c10::DeviceType::CPU); }

}  // namespace r1lab
