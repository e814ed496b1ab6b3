#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, the CUDA toolkit (nvcc) and a Python whose
# torch has CUDA (R1LAB_TORCH_PYTHON, default python3): builds r1lab against
# that torch's LibTorch in build-cuda/, runs the GPU tests (the tiny Hugging
# Face fixtures in bf16 on the device against transformers' fp32 logits) and
# `r1lab lm-bench` on the GPU (a random model of Qwen2.5-0.5B's shape: prefill
# and decode tokens/s with MFU, and a bf16 training step with fp32 master
# weights). Aimed at under 8 minutes. Results go to stdout and
# build-cuda/gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${R1LAB_TORCH_PYTHON:-python3}"
if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: $python has no torch with a usable CUDA device (set R1LAB_TORCH_PYTHON)" >&2
  exit 1
fi
prefix=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")
cuda_home="${CUDA_HOME:-/usr/local/cuda}"
arch=$("$python" -c "import torch; p = torch.cuda.get_device_capability(); print(f'{p[0]}.{p[1]}')")
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

start=$(date +%s)
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS=ON -DCMAKE_PREFIX_PATH="$prefix" \
  -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" > build-cuda.configure.log
cmake --build build-cuda -j"$(nproc)" --target r1lab lm_test model_test dist_test
echo "gpu_check: built in $(( $(date +%s) - start )) s"

# Every test that needs a GPU has Cuda in its name and skips without one;
# here a skip is a failure.
{ ./build-cuda/lm_test --gtest_filter='*Cuda*' && ./build-cuda/model_test --gtest_filter='*Cuda*' &&
  ./build-cuda/dist_test --gtest_filter='*Cuda*'; } | tee build-cuda/gpu_tests.log
if grep -q "SKIPPED" build-cuda/gpu_tests.log; then
  echo "gpu_check: a GPU test skipped: this LibTorch sees no CUDA device" >&2
  exit 1
fi

./build-cuda/r1lab lm-bench --device cuda --json build-cuda/gpu_check.json
echo "gpu_check: done in $(( $(date +%s) - start )) s"
