#!/usr/bin/env bash
# libFuzzer + AddressSanitizer run of the verifier fuzz target
# (fuzz/verify_fuzz.cc) for SECONDS seconds (default 60). Needs clang and
# a configured build/ (for the generated protobuf sources):
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
out=build/fuzz
mkdir -p "$out/corpus"
if [[ ! -x "$out/verify_fuzz" || -n "$(find fuzz verify tasks core build/r1lab.pb.cc -newer "$out/verify_fuzz" | head -1)" ]]; then
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Icore -Iverify -Itasks -Ibuild \
    fuzz/verify_fuzz.cc verify/answer.cc verify/language.cc verify/math_equiv.cc \
    tasks/code.cc tasks/countdown.cc tasks/graph.cc tasks/task.cc tasks/arith.cc tasks/dataset.cc \
    tasks/mix.cc tasks/note.cc \
    core/io.cc core/json.cc core/config.cc build/r1lab.pb.cc \
    -lprotobuf -ltbb -lz -o "$out/verify_fuzz"
fi
"$out/verify_fuzz" -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=2048 "$out/corpus"
