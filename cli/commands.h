#pragma once

#include <cstdint>
#include <string>

namespace r1lab {
// `r1lab bench`: prints the measurements as a markdown table; see BENCHMARKS.md.
// --compare: the peers in bench/compare/ that are installed, side by side.
int RunBench(bool quick, bool compare);
// Verification throughput per task; decode_tok_s prices a GRPO step's generation.
void BenchVerify(bool quick, int threads, double decode_tok_s);
// `r1lab verify`: one JSON verdict per JSONL input line (stdin, or `input`), in order.
// extract: "tagged" (<answer> or \boxed) or "free-text" (math only; see MathExtraction).
int RunVerify(const std::string& task, const std::string& input, double rel_tol, double language_weight,
              const std::string& extract);
// FLOP/s of repeated n x n matrix products for at least `min_seconds`: on
// the CPU in fp32, or (cuda) on the GPU in bf16, synchronised each time.
double MatmulRate(int n, double min_seconds, bool cuda = false);
// `r1lab lm-generate`: FOLDER's (tokenizer.json, config.json, safetensors)
// continuation of `prompt`, decoded, on stdout; stops at config.json's eos.
int RunLmGenerate(const std::string& folder, const std::string& prompt, int max_new, double temperature,
                  uint64_t seed);
// `r1lab lm-bench`: the Llama/Qwen2 decoder's prefill, decode and training
// speed with MFU on the CPU or a CUDA GPU (cli/lm_cmd.cc); `json_path`, if
// given, gets the numbers; `save_folder`, if given, the random model as a
// Hugging Face folder without a tokenizer (bench/gpu/grpo_0.5b.pbtxt runs on it).
int RunLmBench(const std::string& device, const std::string& shape, int batch, int prompt, int new_tokens,
               const std::string& json_path, const std::string& save_folder);
// `r1lab run --nproc N`: runs argv (without --nproc N) as N ranks on this
// machine (RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT);
// the first rank to fail stops the others. Returns the job's exit code.
int LaunchRanks(int argc, char** argv, int nproc);
// A loopback port the kernel has free now (a rendezvous binds it a moment later).
int FreeLoopbackPort();
}  // namespace r1lab
