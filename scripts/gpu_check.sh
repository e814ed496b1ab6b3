#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, the CUDA toolkit (nvcc) and a Python whose
# torch has CUDA (R1LAB_TORCH_PYTHON, default python3):
#   1. builds r1lab against that torch's LibTorch in build-cuda/ (with
#      --no-build it uses the build-cuda/ there, e.g. one unpacked from
#      scripts/gpu_bundle.sh's bundle, made elsewhere against the same torch,
#      for a GPU machine without the Debian packages or a network);
#   2. runs the GPU tests (the tiny Hugging Face fixtures in bf16 on the
#      device against transformers' fp32 logits, the char model in bf16
#      against its own fp32 CPU logits, and the all-reduce of CUDA tensors:
#      NCCL's where the build found it, else Gloo's through the host, which
#      the script then says);
#   3. runs `r1lab lm-bench` on the GPU (a random model of Qwen2.5-0.5B's
#      shape: prefill and decode tokens/s with MFU, and a bf16 training step
#      with fp32 master weights);
#   4. runs every strategy on the tiny Qwen2 fixture on the GPU in
#      BF16_MIXED (bench/gpu/strategies.pbtxt);
#   5. times GRPO steps of experiments/gsm8k_real_lm.pbtxt's shape on the
#      random 0.5B-shaped model (bench/gpu/grpo_0.5b.pbtxt; needs
#      ../shared/data/gsm8k_test.jsonl, skipped without it).
# Aimed at under 8 minutes. A step that fails is named and the later steps
# still run (the exit status is 1 if any failed). Results go to stdout, build-cuda/gpu_check.json
# (the lm-bench numbers) and build-cuda/gpu_runs/; with --results DIR the
# test log and gpu_check.json are also copied to DIR as soon as each is made,
# so a check cut short by a time limit still hands back what it measured.
set -euo pipefail
caller=$PWD  # a relative --results DIR is the caller's
cd "$(dirname "$0")/.."
build=1
results=""
usage="usage: bash scripts/gpu_check.sh [--no-build] [--results DIR]"
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --results) [ -n "${2:-}" ] || { echo "$usage" >&2; exit 2; }
      results=$(cd "$caller" && mkdir -p "$2" && cd "$2" && pwd); shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
keep() {  # keep FILE: a copy in --results DIR, if given
  if [ -n "$results" ]; then cp "$1" "$results/"; fi
}
python="${R1LAB_TORCH_PYTHON:-python3}"
if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: $python has no torch with a usable CUDA device (set R1LAB_TORCH_PYTHON)" >&2
  exit 1
fi
"$python" -c "import torch; print('gpu_check: torch', torch.__version__, 'on', torch.cuda.get_device_name(0))"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

start=$(date +%s)
if [ "$build" = 1 ]; then
  prefix=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path)")
  cuda_home="${CUDA_HOME:-/usr/local/cuda}"
  arch=$("$python" -c "import torch; p = torch.cuda.get_device_capability(); print(f'{p[0]}.{p[1]}')")
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}"
  mkdir -p build-cuda
  if ! cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DR1LAB_TESTS=ON -DCMAKE_PREFIX_PATH="$prefix" \
    -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" > build-cuda/configure.log 2>&1; then
    tail -n 30 build-cuda/configure.log >&2
    echo "gpu_check: configuring build-cuda failed (build-cuda/configure.log); --no-build runs a bundle from scripts/gpu_bundle.sh" >&2
    exit 1
  fi
  cmake --build build-cuda -j"$(nproc)" --target r1lab lm_test model_test dist_test
  echo "gpu_check: built in $(( $(date +%s) - start )) s"
else
  bins=(build-cuda/r1lab build-cuda/lm_test build-cuda/model_test build-cuda/dist_test)
  for b in "${bins[@]}"; do
    [ -x "$b" ] || { echo "gpu_check --no-build: no $b (scripts/gpu_bundle.sh makes one elsewhere)" >&2; exit 1; }
  done
  # The bundle was linked against one torch; another version's libraries
  # would fail at the first missing symbol, which ldd does not see.
  if [ -f build-cuda/torch_version ]; then
    bundled=$(cat build-cuda/torch_version)
    here=$("$python" -c "import torch; print(torch.__version__)")
    if [ "${bundled%%+*}" != "${here%%+*}" ]; then
      echo "gpu_check --no-build: the bundle was built against torch $bundled, and $python has torch $here:" \
        "rebuild the bundle against torch ${here%%+*}" >&2
      exit 1
    fi
    [ "$bundled" = "$here" ] || echo "gpu_check: bundle built against torch $bundled, running on $here"
  fi
  # A bundle's libraries (scripts/gpu_bundle.sh), then torch's own.
  torch_lib=$("$python" -c "import torch, os; print(os.path.dirname(torch.__file__))")/lib
  export LD_LIBRARY_PATH="$PWD/build-cuda/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # (ldd's output is read whole: `grep -q` would stop reading it, and under
  # pipefail the killed ldd would make the test false.)
  if ldd "${bins[@]}" 2>&1 | grep "not found" > /dev/null; then
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$PWD/build-cuda/lib-fallback"
  fi
  if ldd "${bins[@]}" 2>&1 | grep "not found"; then
    echo "gpu_check --no-build: the binaries miss the libraries above" >&2
    exit 1
  fi
fi

# From here on a failed step is recorded and the next one still runs, so one
# lent GPU session measures everything it can; the exit status says whether
# all passed.
failures=()
fail() {
  echo "gpu_check: FAILED: $1" >&2
  failures+=("$1")
}

# Every test that needs a GPU has Cuda in its name and skips without one;
# here a skip is a failure.
: > build-cuda/gpu_tests.log
for t in lm_test model_test dist_test; do
  ./build-cuda/$t --gtest_filter='*Cuda*' 2>&1 | tee -a build-cuda/gpu_tests.log || fail "the GPU tests of $t"
done
keep build-cuda/gpu_tests.log
if grep "SKIPPED" build-cuda/gpu_tests.log > /dev/null; then
  fail "a GPU test skipped: this LibTorch sees no CUDA device"
fi
if grep "r1lab: NCCL all-reduce" build-cuda/configure.log > /dev/null 2>&1; then
  echo "gpu_check: CUDA tensors are all-reduced by NCCL"
else
  echo "gpu_check: this build found no NCCL (configure.log): CUDA tensors were all-reduced by Gloo through the host"
fi
echo "gpu_check: GPU tests done at $(( $(date +%s) - start )) s"

model=build-cuda/qwen2.5-0.5b-random
rm -rf "$model"
if ./build-cuda/r1lab lm-bench --device cuda --json build-cuda/gpu_check.json --save "$model"; then
  keep build-cuda/gpu_check.json
  cp tests/fixtures/hf/qwen2/tokenizer.json "$model/"
else
  fail "lm-bench on the GPU"
fi
echo "gpu_check: lm-bench done at $(( $(date +%s) - start )) s"

# Every strategy through the model layer on the GPU. Fresh each time: a
# finished run folder would only be read back.
rm -rf build-cuda/gpu_runs
./build-cuda/r1lab run bench/gpu/strategies.pbtxt --out build-cuda/gpu_runs || fail "r1lab run bench/gpu/strategies.pbtxt"
for arm in grpo ppo sft prm_rl rft mcts_tokens mcts_steps; do
  if [ ! -f "build-cuda/gpu_runs/gpu_strategies/runs/$arm/seed-1/done.json" ]; then
    fail "the $arm arm did not finish on the GPU"
  fi
done
echo "gpu_check: the strategies' runs done at $(( $(date +%s) - start )) s"

if [ ! -f ../shared/data/gsm8k_test.jsonl ]; then
  echo "gpu_check: no ../shared/data/gsm8k_test.jsonl: the GRPO timing on the 0.5B shape is skipped"
elif [ ! -f "$model/config.json" ]; then
  fail "the GRPO timing on the 0.5B shape: lm-bench wrote no model to start from"
elif ./build-cuda/r1lab run bench/gpu/grpo_0.5b.pbtxt --out build-cuda/gpu_runs; then
  "$python" - build-cuda/gpu_runs/gpu_grpo_0.5b/runs/grpo/seed-1/metrics.jsonl.xz <<'EOF' || fail "the GRPO timing table"
import json, lzma, sys
rows = [json.loads(line) for line in lzma.open(sys.argv[1], "rt") if line.strip()]
print("| GRPO step | samples' tokens | generate s | generated tok/s | train s | step s |")
print("|---|---|---|---|---|---|")
prev = 0
for r in rows:
    if "time_step_s" not in r: continue
    new = r["tokens_generated"] - prev
    prev = r["tokens_generated"]
    print(f"| {r['step']} | {new} | {r['time_generate_s']:.2f} | {new / r['time_generate_s']:.0f} | "
          f"{r['time_train_s']:.2f} | {r['time_step_s']:.2f} |")
EOF
else
  fail "r1lab run bench/gpu/grpo_0.5b.pbtxt"
fi
if ((${#failures[@]})); then
  echo "gpu_check: ${#failures[@]} step(s) failed in $(( $(date +%s) - start )) s:" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "gpu_check: every step passed in $(( $(date +%s) - start )) s"
