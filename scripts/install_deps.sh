#!/usr/bin/env bash
# Installs every Debian package r1lab needs, skipping those already present.
# Run as root on Debian 12 (bookworm) or newer. Safe to run repeatedly.
set -euo pipefail

packages=(
  build-essential cmake git pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-pthread    # fast BLAS for LibTorch; without it GEMMs run ~30x slower
  libblas-dev             # cblas.h and libblas.so to link r1lab's own GEMM calls (resolve to OpenBLAS)
  libtbb-dev              # oneTBB: parallel scoring and search
  libboost-graph-dev      # Graphviz export of search trees
  libprotobuf-dev protobuf-compiler  # configs in protobuf text format
  liblzma-dev             # xz for the committed records (samples.jsonl.xz, metrics.jsonl.xz)
  zlib1g-dev              # gzip, for records r1lab wrote before (.gz)
  libgtest-dev            # tests
  libgloo-dev             # torch.distributed c10d backend on CPU
  nlohmann-json3-dev      # Hugging Face config.json and tokenizer.json
  libpcre2-dev            # tokenizer.json's Unicode pre-tokenizer regex
  libicu-dev              # NFC normalization (Qwen2 tokenizers)
  gnuplot-nox             # results plots (SVG, PNG)
  pngquant                # palette PNGs for committed results (scripts/commit_results.sh)
  clang libclang-rt-dev   # libFuzzer for scripts/fuzz.sh
  python3                 # the analysis scripts under tools/ (standard library only) and their tests
)

# --with PKG...: packages a variant of the build needs besides these
# (setup.sh --cuda: python3-venv python3-pip).
if [ "${1:-}" = --with ]; then
  shift
  packages+=("$@")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install_deps: all packages present"
fi
