#!/usr/bin/env bash
# One-command set-up on a fresh Debian machine (as root):
#   bash scripts/setup.sh experiment   install, build, run the default experiment
#   bash scripts/setup.sh test         install, build, run the whole test suite
# With --cuda (after the mode): build against the CUDA-enabled LibTorch inside
# PyPI's torch wheel instead of Debian's LibTorch 1.13 (CPU), in build-cuda/.
# The wheel and its NVIDIA libraries (about 5 GB) go into .venv-torch/ unless
# R1LAB_TORCH_PYTHON names a Python that already has torch; the CUDA toolkit
# (nvcc) is expected at /usr/local/cuda (CUDA_HOME); TORCH_CUDA_ARCH_LIST
# (default "8.0;9.0": A100, H100/H200) says which GPUs the kernels target.
set -euo pipefail
mode="${1:-}"
cuda="${2:-}"
case "$mode" in
  experiment|test) ;;
  *) echo "usage: bash scripts/setup.sh experiment|test [--cuda]" >&2; exit 2 ;;
esac
case "$cuda" in
  ""|--cuda) ;;
  *) echo "setup: unknown option '$cuda' (expected --cuda or nothing)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
jobs=$(nproc)
tests=$([ "$mode" = test ] && echo ON || echo OFF)

if [ -z "$cuda" ]; then
  build=build
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS="$tests"
else
  build=build-cuda
  python="${R1LAB_TORCH_PYTHON:-}"
  if [ -z "$python" ]; then
    bash scripts/install_deps.sh --with python3-venv python3-pip
    [ -x .venv-torch/bin/python ] || python3 -m venv .venv-torch
    .venv-torch/bin/python -c "import torch" 2>/dev/null || .venv-torch/bin/pip install "torch>=2.4,<3"
    python=.venv-torch/bin/python
  fi
  prefix=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")
  cuda_home="${CUDA_HOME:-/usr/local/cuda}"
  if [ ! -x "$cuda_home/bin/nvcc" ]; then
    echo "setup --cuda: no nvcc at $cuda_home/bin/nvcc; install the CUDA toolkit or set CUDA_HOME" >&2
    exit 1
  fi
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS="$tests" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc"
fi
cmake --build "$build" -j"$jobs"

if [ "$mode" = test ]; then
  (cd "$build" && ctest --output-on-failure -j"$jobs")
  # The verifier under libFuzzer with AddressSanitizer, briefly.
  if [ -z "$cuda" ]; then bash scripts/fuzz.sh 30; fi
else
  "./$build/r1lab" run
fi
