// `r1lab lm-generate`: a Hugging Face model folder's continuation of a
// prompt. `r1lab lm-bench`: the Llama/Qwen2 decoder (lm/llama.h) on this machine's
// CPU or GPU, with random weights of a named shape: the device's GEMM rate
// in the working dtype (the MFU denominator), prefill and decode tokens/s
// with their MFU, and one training step (bf16 weights and activations on
// CUDA with fp32 master weights and AdamW state; fp32 on the CPU).
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "commands.h"
#include "error.h"
#include "flops.h"
#include "io.h"
#include "json.h"
#include "hf_tokenizer.h"
#include "llama.h"
#include "progress.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

LlamaConfig Shape(const std::string& name) {
  LlamaConfig c;
  c.model_type = "qwen2";
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  c.rope_theta = 1e6;
  c.max_position_embeddings = 32768;
  if (name == "qwen2.5-0.5b") {  // Qwen2.5-0.5B's config.json
    c.vocab_size = 151936, c.hidden_size = 896, c.intermediate_size = 4864, c.num_layers = 24, c.num_heads = 14,
    c.num_kv_heads = 2;
  } else if (name == "small") {  // a quick CPU shape
    c.vocab_size = 8192, c.hidden_size = 256, c.intermediate_size = 768, c.num_layers = 4, c.num_heads = 4,
    c.num_kv_heads = 2;
  } else {
    throw ConfigError("lm-bench --shape: '" + name + "'; expected qwen2.5-0.5b or small");
  }
  c.head_dim = c.hidden_size / c.num_heads;
  return c;
}

// Forward FLOPs per token at `context` keys, as r1lab counts them for a run
// on this shape (core/flops.h; head_dim x heads is hidden_size here).
double FlopsPerToken(const LlamaConfig& c, double context) {
  ModelConfig m;
  m.set_hf_folder("lm-bench");  // the Llama/Qwen2 decoder's SwiGLU
  m.set_d_model(static_cast<int32_t>(c.hidden_size));
  m.set_n_layers(static_cast<int32_t>(c.num_layers));
  m.set_n_heads(static_cast<int32_t>(c.num_heads));
  m.set_n_kv_heads(static_cast<int32_t>(c.num_kv_heads));
  m.set_d_ff(static_cast<int32_t>(c.intermediate_size));
  return ForwardFlopsPerToken(m, static_cast<int>(c.vocab_size), context);
}

void Sync(const torch::Device& dev) {
  if (dev.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int RunLmGenerate(const std::string& folder, const std::string& prompt, int max_new, double temperature,
                  uint64_t seed) {
  const HfTokenizer tok = HfTokenizer::Load(folder + "/tokenizer.json");
  Llama model = LoadHfModel(folder);
  if (tok.vocab_size() > model->config().vocab_size)
    throw InputError(folder + ": tokenizer.json has " + std::to_string(tok.vocab_size()) +
                     " tokens, more than config.json's vocab_size " + std::to_string(model->config().vocab_size));
  const std::vector<int> ids = tok.Encode(prompt);
  if (ids.empty()) throw InputError("lm-generate --prompt: empty");
  // Stops where a run on this folder does.
  const std::vector<int> out = LlamaGenerate(model, ids, max_new, temperature, seed, HfStopTokens(folder, tok));
  std::printf("%s\n", tok.Decode(out).c_str());
  std::fprintf(stderr, "lm-generate: %zu prompt tokens, %zu new\n", ids.size(), out.size());
  return 0;
}

int RunLmBench(const std::string& device, const std::string& shape, int batch, int prompt, int new_tokens,
               const std::string& json_path, const std::string& save_folder) {
  if (device != "cpu" && device != "cuda") throw ConfigError("lm-bench --device: '" + device + "'; expected cpu or cuda");
  if (device == "cuda" && !torch::cuda::is_available())
    throw ConfigError("lm-bench --device cuda: this LibTorch build sees no CUDA device (build with setup.sh --cuda)");
  const torch::Device dev(device == "cuda" ? torch::kCUDA : torch::kCPU);
  const torch::Dtype dtype = dev.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
  const LlamaConfig cfg = Shape(shape);
  torch::manual_seed(0);
  Llama master(cfg);  // fp32: the weights AdamW updates
  if (!save_folder.empty()) {
    SaveHfModel(master, save_folder, torch::kBFloat16);
    std::printf("lm-bench: wrote the random model to %s (config.json, model.safetensors)\n", save_folder.c_str());
  }
  master->to(dev);
  Llama work(cfg);  // the working copy in `dtype`
  work->to(dev, dtype);
  int64_t params = 0;
  for (const auto& p : master->parameters()) params += p.numel();
  const double peak = MatmulRate(dev.is_cuda() ? 8192 : 1024, 1.0, dev.is_cuda());
  std::printf("lm-bench: %s shape, %.3g parameters, %s %s, GEMM %.1f TFLOP/s\n", shape.c_str(),
              static_cast<double>(params), device.c_str(), dev.is_cuda() ? "bf16" : "fp32", peak / 1e12);

  // Prefill and decode: sampling on the device, no host round trip per token.
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  const torch::Tensor prompts = torch::randint(cfg.vocab_size, {batch, prompt}, i64);
  double prefill_s = 0, decode_s = 0;
  {
    torch::NoGradGuard no_grad;
    for (int rep = 0; rep < 2; ++rep) {  // the first warms up kernels and allocator
      LlamaCache cache = work->NewCache(batch, prompt + new_tokens);
      Sync(dev);
      auto t0 = Clock::now();
      torch::Tensor logits = work->forward(prompts, {}, &cache).select(1, prompt - 1);
      Sync(dev);
      prefill_s = SecondsSince(t0);
      t0 = Clock::now();
      for (int i = 0; i < new_tokens; ++i) {
        const torch::Tensor next = torch::multinomial(torch::softmax(logits, -1), 1).squeeze(1);
        logits = work->DecodeStep(next, {}, cache);
      }
      Sync(dev);
      decode_s = SecondsSince(t0);
    }
  }
  const double prefill_flops = static_cast<double>(batch) * prompt * FlopsPerToken(cfg, prompt / 2.0);
  const double decode_flops = static_cast<double>(batch) * new_tokens * FlopsPerToken(cfg, prompt + new_tokens / 2.0);

  // One training step on the prompts: bf16 forward and backward, gradients
  // into the fp32 master weights, AdamW there, weights copied back.
  torch::optim::AdamW opt(master->parameters(), torch::optim::AdamWOptions(1e-5));
  const int64_t T = prompt - 1;
  double train_s = 0;
  for (int rep = 0; rep < 2; ++rep) {
    Sync(dev);
    const auto t0 = Clock::now();
    work->zero_grad();
    const torch::Tensor logits = work->forward(prompts.narrow(1, 0, T));
    const torch::Tensor loss = torch::cross_entropy_loss(logits.reshape({-1, cfg.vocab_size}),
                                                         prompts.narrow(1, 1, T).reshape({-1}));
    loss.backward();
    {
      torch::NoGradGuard no_grad;
      auto mp = master->parameters(), wp = work->parameters();
      for (size_t i = 0; i < mp.size(); ++i) mp[i].mutable_grad() = wp[i].grad().to(torch::kFloat32);
      opt.step();
      for (size_t i = 0; i < mp.size(); ++i) wp[i].copy_(mp[i]);
    }
    Sync(dev);
    train_s = SecondsSince(t0);
  }
  const double train_flops = 3.0 * static_cast<double>(batch) * T * FlopsPerToken(cfg, T / 2.0);

  const double prefill_tps = batch * prompt / prefill_s, decode_tps = batch * new_tokens / decode_s,
               train_tps = static_cast<double>(batch * T) / train_s;
  std::printf("| part | tokens/s | MFU |\n|---|---|---|\n");
  std::printf("| prefill (batch %d x %d) | %.0f | %.1f%% |\n", batch, prompt, prefill_tps, 100 * prefill_flops / prefill_s / peak);
  std::printf("| decode (batch %d, %d new) | %.0f | %.1f%% |\n", batch, new_tokens, decode_tps, 100 * decode_flops / decode_s / peak);
  std::printf("| training step (batch %d x %lld) | %.0f | %.1f%% |\n", batch, static_cast<long long>(T), train_tps,
              100 * train_flops / train_s / peak);
  if (!json_path.empty()) {
    Json j;
    j.Add("shape", shape).Add("device", device).Add("parameters", static_cast<double>(params)).Add("gemm_flops", peak);
    j.Add("prefill_tok_s", prefill_tps).Add("prefill_mfu", prefill_flops / prefill_s / peak);
    j.Add("decode_tok_s", decode_tps).Add("decode_mfu", decode_flops / decode_s / peak);
    j.Add("train_tok_s", train_tps).Add("train_mfu", train_flops / train_s / peak);
    WriteFileAtomic(json_path, j.str() + "\n");
  }
  return 0;
}

}  // namespace r1lab
