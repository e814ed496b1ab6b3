#!/usr/bin/env bash
# For a GPU machine that has a CUDA torch but neither a network nor the
# Debian packages r1lab builds with (a cluster's compute node, say): builds
# scripts/gpu_check.sh's targets in build-cuda/ here, against a torch of the
# same version and CUDA as there (R1LAB_TORCH_PYTHON, default
# .venv-torch/bin/python; TORCH_CUDA_ARCH_LIST names the GPU, default 9.0),
# and packs them with the shared libraries they need that torch does not
# bring into one file (default build-cuda/gpu_bundle.tar.xz). There, at the
# root of a checkout of the same commit at the same path as here (the tests
# read their fixtures from the source folder compiled in):
#   tar -xJf gpu_bundle.tar.xz && bash scripts/gpu_check.sh --no-build
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build-cuda/gpu_bundle.tar.xz}"
python="${R1LAB_TORCH_PYTHON:-.venv-torch/bin/python}"
prefix=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")
torch_lib=$("$python" -c "import torch, os; print(os.path.realpath(os.path.dirname(torch.__file__)))")
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
# Generic x86-64 with AVX2 rather than this CPU's -march=native.
mkdir -p build-cuda
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS=ON -DR1LAB_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3 \
  -DCMAKE_PREFIX_PATH="$prefix" -DCUDAToolkit_ROOT="${CUDA_HOME:-/usr/local/cuda}" \
  -DCMAKE_CUDA_COMPILER="${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" > build-cuda/configure.log
cmake --build build-cuda -j"$(nproc)" --target r1lab lm_test model_test dist_test

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/build-cuda/lib" "$stage/build-cuda/lib-fallback"
bins=(build-cuda/r1lab build-cuda/lm_test build-cuda/model_test build-cuda/dist_test)
cp "${bins[@]}" build-cuda/configure.log "$stage/build-cuda/"
# The torch it links against: gpu_check.sh --no-build refuses another version.
"$python" -c "import torch; print(torch.__version__)" > "$stage/build-cuda/torch_version"
if ! grep "r1lab: NCCL all-reduce" build-cuda/configure.log > /dev/null; then
  echo "gpu_bundle: this torch ships no NCCL header r1lab found: CUDA tensors will be all-reduced by Gloo" >&2
fi
# Libraries outside torch's wheels: the C library stays (the machine's own);
# the C++ runtime, zlib, liblzma and PCRE2, which a machine with a CUDA torch nearly
# always has in a newer version, go to lib-fallback (used only where missing).
ldd "${bins[@]}" | awk '/=> \// {print $1, $3}' | sort -u | while read -r name path; do
  case "$(realpath "$path")" in "$torch_lib"/* | "$(dirname "$torch_lib")"/nvidia/*) continue ;; esac
  case "$name" in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libutil.so.* | ld-linux*) ;;
    libstdc++.so.* | libgcc_s.so.* | libz.so.* | liblzma.so.* | libpcre2-8.so.*) cp -L "$path" "$stage/build-cuda/lib-fallback/" ;;
    *) cp -L "$path" "$stage/build-cuda/lib/" ;;
  esac
done
tar -C "$stage" -cJf "$out" build-cuda
echo "gpu_bundle: $out ($(du -h "$out" | cut -f1)): ${bins[*]} and $(ls "$stage/build-cuda/lib" | wc -l) libraries"
