// The Llama/Qwen2 decoder against transformers: logits of the committed tiny
// models (tests/fixtures/hf, made by tools/make_hf_fixtures.py) to 1e-4 in
// fp32, cached and left-padded decoding equal to the full forward, and
// safetensors written back that load to the same model.
#include "llama.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "error.h"
#include "io.h"
#include "safetensors.h"
#include "test_util.h"

namespace r1lab {
namespace {

using nlohmann::json;

std::string Folder(const std::string& family) { return std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/" + family; }

double MaxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A copy of a fixture folder, to change one file of.
std::string CopyOf(const std::string& family, const std::string& name) {
  const std::string dir = testing::TempDir(name);
  for (const auto& e : std::filesystem::directory_iterator(Folder(family)))
    std::filesystem::copy_file(e.path(), dir + "/" + e.path().filename().string(),
                               std::filesystem::copy_options::overwrite_existing);
  return dir;
}

std::string LoadError(const std::string& folder) {
  try {
    LoadHfModel(folder);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

class LlamaFamily : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaFamily, LogitsMatchTransformers) {
  Llama model = LoadHfModel(Folder(GetParam()));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto expected = LoadSafetensors(Folder(GetParam()) + "/expected.safetensors");
  for (int k = 0; k < 3; ++k) {
    const torch::Tensor ids = expected.at("ids_" + std::to_string(k));
    const torch::Tensor want = expected.at("logits_" + std::to_string(k));
    const torch::Tensor got = model->forward(ids.unsqueeze(0))[0];
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(MaxDiff(got, want), 1e-4) << GetParam() << " prompt " << k;
    EXPECT_GT(want.std().item<double>(), 0.1) << "logits that vary, so a match means something";
  }
}

// Two prompts of different lengths, left-padded in one batch: the prefill
// and three decoding steps through the cache give each row the logits of its
// prompt alone, run in full.
TEST_P(LlamaFamily, CachedLeftPaddedDecodingEqualsTheFullForward) {
  Llama model = LoadHfModel(Folder(GetParam()));
  torch::NoGradGuard no_grad;
  const auto expected = LoadSafetensors(Folder(GetParam()) + "/expected.safetensors");
  const torch::Tensor a = expected.at("ids_0").narrow(0, 0, 12), b = expected.at("ids_1").narrow(0, 0, 7);
  const int64_t pad = 12 - 7;
  const torch::Tensor batch = torch::stack({a, torch::cat({torch::zeros({pad}, torch::kInt64), b})});
  const torch::Tensor start = torch::tensor({int64_t{0}, pad});
  LlamaCache cache = model->NewCache(2, 16);
  torch::Tensor logits = model->forward(batch, start, &cache);
  std::vector<torch::Tensor> rows = {a, b};
  EXPECT_LT(MaxDiff(logits[0], model->forward(a.unsqueeze(0))[0]), 1e-5);
  EXPECT_LT(MaxDiff(logits[1].narrow(0, pad, 7), model->forward(b.unsqueeze(0))[0]), 1e-5);
  torch::Tensor next = logits.select(1, 11).argmax(-1);
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor step_logits = model->DecodeStep(next, start, cache);
    for (int r = 0; r < 2; ++r) {
      rows[static_cast<size_t>(r)] = torch::cat({rows[static_cast<size_t>(r)], next[r].view({1})});
      const torch::Tensor full = model->forward(rows[static_cast<size_t>(r)].unsqueeze(0))[0];
      EXPECT_LT(MaxDiff(step_logits[r], full[-1]), 1e-5) << "row " << r << " step " << step;
    }
    next = step_logits.argmax(-1);
  }
  EXPECT_EQ(cache.len, 15);
}

// Greedy decoding through the cache picks transformers' generate() tokens.
TEST_P(LlamaFamily, GreedyDecodingPicksTransformersTokens) {
  Llama model = LoadHfModel(Folder(GetParam()));
  const auto expected = LoadSafetensors(Folder(GetParam()) + "/expected.safetensors");
  for (int k = 0; k < 3; ++k) {
    const torch::Tensor ids = expected.at("ids_" + std::to_string(k)).narrow(0, 0, 8);
    const std::vector<int> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + 8);
    const torch::Tensor want = expected.at("greedy_" + std::to_string(k));
    const std::vector<int> got = LlamaGenerate(model, prompt, 8, 0.0, 1);
    EXPECT_EQ(got, std::vector<int>(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel())) << k;
  }
  // Sampling: the seed decides; a stop token ends it.
  const std::vector<int> prompt = {5, 6, 7};
  EXPECT_EQ(LlamaGenerate(model, prompt, 12, 1.0, 7), LlamaGenerate(model, prompt, 12, 1.0, 7));
  EXPECT_NE(LlamaGenerate(model, prompt, 12, 1.0, 7), LlamaGenerate(model, prompt, 12, 1.0, 8));
  const std::vector<int> first = LlamaGenerate(model, prompt, 12, 1.0, 7);
  const std::vector<int> stopped = LlamaGenerate(model, prompt, 12, 1.0, 7, {first[2]});
  EXPECT_LE(stopped.size(), 3u);
  EXPECT_EQ(stopped.back(), first[2]);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LlamaFamily, ::testing::Values("qwen2", "llama3"));

// The parameter count from the shape alone (what LoadHfModel checks before
// it allocates) is the model's, tied or not, with or without biases.
TEST(Llama, ParameterCountFromTheShapeIsTheModels) {
  for (const char* name : {"qwen2", "llama3"}) {
    const Llama model = LoadHfModel(Folder(name));
    int64_t n = 0;
    for (const torch::Tensor& p : model->parameters()) n += p.numel();
    EXPECT_EQ(LlamaParameterCount(model->config()), static_cast<double>(n)) << name;
  }
}

// Saved back (config.json + model.safetensors), a model loads to the same
// logits; in bf16, to bf16's precision.
TEST(Llama, SavesAModelFolderThatLoadsToTheSameModel) {
  Llama model = LoadHfModel(Folder("llama3"));
  const std::string dir = testing::TempDir("llama_save");
  SaveHfModel(model, dir);
  Llama back = LoadHfModel(dir);
  const torch::Tensor ids = LoadSafetensors(Folder("llama3") + "/expected.safetensors").at("ids_2").unsqueeze(0);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(MaxDiff(back->forward(ids), model->forward(ids)), 0.0);
  EXPECT_EQ(ReadHfConfig(dir + "/config.json").rope_type, "llama3");

  Llama qwen = LoadHfModel(Folder("qwen2"));
  SaveHfModel(qwen, dir + "/bf16", torch::kBFloat16);
  const auto saved = LoadSafetensors(dir + "/bf16/model.safetensors");
  EXPECT_EQ(saved.at("model.layers.1.self_attn.q_proj.bias").scalar_type(), torch::kBFloat16);
  EXPECT_FALSE(saved.count("lm_head.weight")) << "tied: the embedding is the head";
  const double diff = MaxDiff(LoadHfModel(dir + "/bf16")->forward(ids), qwen->forward(ids));
  EXPECT_GT(diff, 0.0);
  EXPECT_LT(diff, 0.05);
}

// Files written before transformers 5 keep rope_theta and rope_scaling at
// the top level: the same model.
TEST(Llama, ReadsTheConfigFormatBeforeTransformers5) {
  const std::string dir = CopyOf("llama3", "llama_old_config");
  json j = json::parse(ReadFile(dir + "/config.json"));
  json rope = j["rope_parameters"];
  j.erase("rope_parameters");
  j["rope_theta"] = rope["rope_theta"];
  rope.erase("rope_theta");
  j["rope_scaling"] = rope;
  WriteFileAtomic(dir + "/config.json", j.dump());
  const LlamaConfig old = ReadHfConfig(dir + "/config.json"), now = ReadHfConfig(Folder("llama3") + "/config.json");
  EXPECT_EQ(old.rope_theta, 500000.0);
  EXPECT_EQ(old.rope_type, "llama3");
  EXPECT_EQ(old.original_max_position_embeddings, now.original_max_position_embeddings);
  const torch::Tensor ids = LoadSafetensors(Folder("llama3") + "/expected.safetensors").at("ids_0").unsqueeze(0);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(MaxDiff(LoadHfModel(dir)->forward(ids), LoadHfModel(Folder("llama3"))->forward(ids)), 0.0);
  // Without its scaling the model is another one: the scaling is applied.
  j.erase("rope_scaling");
  WriteFileAtomic(dir + "/config.json", j.dump());
  EXPECT_GT(MaxDiff(LoadHfModel(dir)->forward(ids), LoadHfModel(Folder("llama3"))->forward(ids)), 1e-3);
}

// The loaded model trains: a few AdamW steps on one sequence lower its loss.
TEST(Llama, TrainsThroughAutograd) {
  Llama model = LoadHfModel(Folder("qwen2"));
  const torch::Tensor ids = LoadSafetensors(Folder("qwen2") + "/expected.safetensors").at("ids_1").unsqueeze(0);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-2));
  auto loss_of = [&] {
    const torch::Tensor logits = model->forward(ids.narrow(1, 0, 15));
    return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), ids.narrow(1, 1, 15).reshape({-1}));
  };
  const double first = loss_of().item<double>();
  for (int i = 0; i < 20; ++i) {
    opt.zero_grad();
    loss_of().backward();
    opt.step();
  }
  EXPECT_LT(loss_of().item<double>(), 0.5 * first);
}

TEST(Llama, ACastToBf16KeepsTheRotaryFrequenciesInFp32) {
  Llama fp32 = LoadHfModel(Folder("llama3"));
  Llama bf16 = LoadHfModel(Folder("llama3"));
  bf16->to(torch::kBFloat16);
  Llama moved = LoadHfModel(Folder("llama3"));
  moved->to(torch::kCPU, torch::kBFloat16);
  const torch::Tensor want = fp32->named_buffers()["inv_freq"];
  for (Llama* m : {&bf16, &moved}) {
    EXPECT_EQ((*m)->named_parameters()["model_norm_weight"].scalar_type(), torch::kBFloat16);
    const torch::Tensor got = (*m)->named_buffers()["inv_freq"];
    ASSERT_EQ(got.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(got, want));
  }
  // Through a parent module, as a policy holds the decoder.
  torch::nn::Module parent;
  Llama child = parent.register_module("hf", LoadHfModel(Folder("llama3")));
  parent.to(torch::kBFloat16);
  EXPECT_EQ(child->named_buffers()["inv_freq"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(child->named_buffers()["inv_freq"], want));
  // From a checkpoint that stored the buffer in another dtype (a float64
  // model's, saved before casts kept it in float32).
  Llama stored = LoadHfModel(Folder("llama3"));
  stored->to(torch::kFloat64);
  stored->named_buffers()["inv_freq"].set_data(want.to(torch::kFloat64) * 1.001);
  const std::string path = testing::TempDir("llama_inv_freq") + "/model.pt";
  torch::save(stored, path);
  Llama loaded = LoadHfModel(Folder("llama3"));
  loaded->to(torch::kFloat64);
  torch::load(loaded, path);
  EXPECT_EQ(loaded->named_buffers()["inv_freq"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(loaded->named_buffers()["inv_freq"], want));
  // and in bf16 the model still gives its fp32 logits within bf16's precision
  const auto expected = LoadSafetensors(Folder("llama3") + "/expected.safetensors");
  torch::NoGradGuard no_grad;
  EXPECT_LT(MaxDiff(bf16->forward(expected.at("ids_0").unsqueeze(0))[0], expected.at("logits_0")), 0.1);
}

// On a GPU (scripts/gpu_check.sh; skipped without one): bf16 weights and
// activations give transformers' fp32 logits within bf16's precision, and
// cached decoding stays on the device.
TEST(Llama, OnCudaInBf16MatchesTheFp32Logits) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device in this LibTorch build";
  const auto expected = LoadSafetensors(Folder("qwen2") + "/expected.safetensors");
  Llama model = LoadHfModel(Folder("qwen2"));
  model->to(torch::kCUDA, torch::kBFloat16);
  torch::NoGradGuard no_grad;
  const torch::Tensor ids = expected.at("ids_0").unsqueeze(0).to(torch::kCUDA);
  const torch::Tensor got = model->forward(ids)[0];
  EXPECT_TRUE(got.is_cuda());
  EXPECT_LT(MaxDiff(got.cpu(), expected.at("logits_0")), 0.1);
  LlamaCache cache = model->NewCache(1, 20);
  model->forward(ids.narrow(1, 0, 8), {}, &cache);
  EXPECT_TRUE(cache.k[0].is_cuda());
  const torch::Tensor step = model->DecodeStep(ids.select(1, 8), {}, cache);
  EXPECT_LT(MaxDiff(step.cpu(), expected.at("logits_0")[8]), 0.1);
}

TEST(Llama, BadFoldersAreErrorsNamingTheFileAndField) {
  EXPECT_NE(LoadError("/nonexistent").find("/nonexistent/config.json"), std::string::npos);
  const std::string dir = CopyOf("qwen2", "llama_bad");
  const std::string config = ReadFile(dir + "/config.json");
  auto with_config = [&](const std::function<void(json&)>& edit) {
    json j = json::parse(config);
    edit(j);
    WriteFileAtomic(dir + "/config.json", j.dump());
    return LoadError(dir);
  };
  EXPECT_NE(with_config([](json& j) { j["model_type"] = "gpt2"; }).find("config.json: model_type: 'gpt2'; expected llama or qwen2"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["num_key_value_heads"] = 3; }).find("num_key_value_heads: 3 does not divide num_attention_heads 4"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["hidden_act"] = "gelu"; }).find("hidden_act: expected silu"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["rope_parameters"]["rope_type"] = "yarn"; }).find("rope_parameters.rope_type: 'yarn'; expected default, linear or llama3"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["layer_types"][1] = "sliding_attention"; }).find("layer_types[1]: expected full_attention"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["intermediate_size"] = 63; }).find("tensor 'model.layers.0.mlp.down_proj.weight' has shape [32, 64]; config.json gives [32, 63]"), std::string::npos);
  // Shapes that ask for more than the files hold are refused before the
  // model is allocated (a million layers, a hidden size of 3e9).
  EXPECT_NE(with_config([](json& j) { j["num_hidden_layers"] = 1000000; }).find("config.json describes 9.344e+09 parameters, but the folder's safetensors hold"), std::string::npos)
      << LoadError(dir);
  EXPECT_NE(with_config([](json& j) { j["hidden_size"] = 3000000000; j["head_dim"] = 8; }).find("config.json describes"), std::string::npos)
      << LoadError(dir);
  EXPECT_NE(with_config([](json& j) { j["vocab_size"] = 9223372036854775807; }).find("config.json describes"), std::string::npos)
      << LoadError(dir);
  EXPECT_NE(with_config([](json& j) { j.erase("vocab_size"); }).find("config.json: vocab_size: missing"), std::string::npos);
  // Values whose float32 rotary or norm arithmetic would give NaN or zero logits.
  EXPECT_NE(with_config([](json& j) { j["rope_parameters"]["rope_theta"] = 1e-300; }).find("rope_parameters.rope_theta: expected a number above 1"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["rope_parameters"]["rope_theta"] = 1e39; }).find("rope_parameters.rope_theta: expected a positive number below 1e+30"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["rms_norm_eps"] = 1e300; }).find("config.json: rms_norm_eps: expected a positive number below 1"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 5e5}, {"factor", 8}, {"original_max_position_embeddings", -64}}; })
                .find("rope_parameters.original_max_position_embeddings: expected a positive integer"), std::string::npos);
  EXPECT_NE(with_config([](json& j) { j["rope_parameters"] = {{"rope_type", "linear"}, {"rope_theta", 1e4}, {"factor", 1e-300}}; })
                .find("rope_parameters.factor: expected a number of at least 1"), std::string::npos);
  WriteFileAtomic(dir + "/config.json", config);

  auto weights = LoadSafetensors(Folder("qwen2") + "/model.safetensors");
  std::map<std::string, torch::Tensor> edited(weights.begin(), weights.end());
  edited.erase("model.norm.weight");
  SaveSafetensors(dir + "/model.safetensors", edited);
  EXPECT_NE(LoadError(dir).find("no tensor 'model.norm.weight' (config.json asks for it)"), std::string::npos);
  edited = weights;
  edited["model.norm.weight"] = weights.at("model.norm.weight").to(torch::kInt32);
  SaveSafetensors(dir + "/model.safetensors", edited);
  EXPECT_NE(LoadError(dir).find("tensor 'model.norm.weight' is Int; expected F32, BF16 or F16 weights"), std::string::npos);
  edited = weights;
  edited["model.extra.weight"] = torch::zeros({2});
  SaveSafetensors(dir + "/model.safetensors", edited);
  EXPECT_NE(LoadError(dir).find("unexpected tensor 'model.extra.weight'"), std::string::npos);

  // A header that says more than the file holds; a dtype torch 1.13 cannot hold.
  std::string file = ReadFile(Folder("qwen2") + "/model.safetensors");
  WriteFileAtomic(dir + "/model.safetensors", file.substr(0, file.size() - 4));
  EXPECT_NE(LoadError(dir).find("model.safetensors: tensor 'model.norm.weight': data_offsets"), std::string::npos) << LoadError(dir);
  const std::string header = R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})";
  const std::string f8 = std::string(1, static_cast<char>(header.size())) + std::string(7, '\0') + header + "\x01";
  WriteFileAtomic(dir + "/model.safetensors", f8);
  EXPECT_NE(LoadError(dir).find("tensor 'x': dtype F8_E4M3 is not supported"), std::string::npos) << LoadError(dir);
  // Two tensors on the same bytes (the format forbids it: a change to one
  // would change the other); a negative dimension or offset.
  auto header_only = [&](const std::string& h, size_t data) {
    WriteFileAtomic(dir + "/model.safetensors",
                    std::string(1, static_cast<char>(h.size())) + std::string(7, '\0') + h + std::string(data, '\0'));
    return LoadError(dir);
  };
  EXPECT_NE(header_only(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)
                .find("tensors 'a' and 'b' share data bytes (data_offsets [0, 8) and [4, 8))"), std::string::npos);
  EXPECT_NE(header_only(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)
                .find("tensor 'a': shape holds -2; expected non-negative integers"), std::string::npos);
  EXPECT_NE(header_only(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", 8)
                .find("tensor 'a': data_offsets [-8,0]; expected two non-negative integers [begin, end]"), std::string::npos);
  // Shapes whose element counts overflow are refused before any product is taken.
  for (const std::string shape : {"[9223372036854775808,2]", "[4294967296,4294967296]", "[0,4294967296]"}) {
    const std::string big = R"({"x":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,0]}})";
    WriteFileAtomic(dir + "/model.safetensors", std::string(1, static_cast<char>(big.size())) + std::string(7, '\0') + big);
    EXPECT_NE(LoadError(dir).find("model.safetensors: tensor 'x': shape dimension"), std::string::npos)
        << shape << ": " << LoadError(dir);
  }
  WriteFileAtomic(dir + "/model.safetensors", std::string("\xff\xff\xff\xff\0\0\0\0", 8) + "{}");
  EXPECT_NE(LoadError(dir).find("header length 4294967295 runs past the end of the file"), std::string::npos);
  std::filesystem::remove(dir + "/model.safetensors");
  EXPECT_NE(LoadError(dir).find("no model.safetensors and no model.safetensors.index.json"), std::string::npos);
}

}  // namespace
}  // namespace r1lab
