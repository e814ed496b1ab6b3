#!/usr/bin/env bash
# libFuzzer + AddressSanitizer runs of the fuzz targets, SECONDS seconds each
# (default 60): the verifier (fuzz/verify_fuzz.cc) and the tokenizer.json
# reader (fuzz/tokenizer_fuzz.cc, on the committed fixtures). Needs clang and
# a configured build/ (for the generated protobuf sources):
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
out=build/fuzz
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
# build NAME SOURCES... -- LIBS...: rebuilt when a file it is made from changed.
build() {
  local name=$1; shift
  local srcs=() libs=()
  while [[ $1 != -- ]]; do srcs+=("$1"); shift; done
  shift; libs=("$@")
  if [[ ! -x "$out/$name" || -n "$(find "${srcs[@]}" fuzz/*.h core/*.h lm/*.h verify/*.h tasks/*.h -newer "$out/$name" | head -1)" ]]; then
    clang++ "${flags[@]}" -DR1LAB_SOURCE_DIR="\"$PWD\"" -Icore -Iverify -Itasks -Ilm -Ibuild "${srcs[@]}" "${libs[@]}" -o "$out/$name"
  fi
}
run() {
  mkdir -p "$out/corpus_$1"
  "$out/$1" -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=2048 "$out/corpus_$1"
}
mkdir -p "$out"
build verify_fuzz fuzz/verify_fuzz.cc verify/answer.cc verify/language.cc verify/math_equiv.cc \
  tasks/code.cc tasks/countdown.cc tasks/graph.cc tasks/task.cc tasks/arith.cc tasks/dataset.cc \
  tasks/mix.cc tasks/note.cc core/io.cc core/json.cc core/config.cc build/r1lab.pb.cc \
  -- -lprotobuf -ltbb -llzma -lz
build tokenizer_fuzz fuzz/tokenizer_fuzz.cc lm/hf_tokenizer.cc core/io.cc \
  -- -lpcre2-8 -licuuc -llzma -lz
run verify_fuzz
run tokenizer_fuzz
