// A Hugging Face decoder behind the model interface the strategies use
// (model.hf_folder): the same logits as transformers on the committed tiny
// fixtures, heads on its trunk, batched cached decoding equal to
// transformers' greedy generate(), the folder's tokenizer, the prefix cache,
// checkpoints, FLOPs from its real shape and clear errors for a config that
// contradicts config.json.
#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint.h"
#include "error.h"
#include "flops.h"
#include "generate.h"
#include "hf_tokenizer.h"
#include "io.h"
#include "prefix_cache.h"
#include "safetensors.h"
#include "test_util.h"
#include "tokenizer.h"
#include "transformer.h"

namespace r1lab {
namespace {

std::string HfFolder(const std::string& family) { return std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/" + family; }

// A copy of a fixture's folder in a fresh temp folder `name`, to edit.
std::string CopyOfFixture(const std::string& family, const std::string& name) {
  const std::string folder = testing::TempDir(name);
  for (const auto& e : std::filesystem::directory_iterator(HfFolder(family)))
    std::filesystem::copy_file(e.path(), folder + "/" + e.path().filename().string());
  return folder;
}

ModelConfig HfConfig(const std::string& family, bool heads = false) {
  ModelConfig mc;
  mc.set_hf_folder(HfFolder(family));
  mc.set_max_seq_len(64);
  mc.set_value_head(heads);
  mc.set_prm_head(heads);
  return mc;
}

std::vector<int> HfIds(const torch::Tensor& t, int64_t n = -1) {
  const int64_t len = n < 0 ? t.numel() : n;
  return std::vector<int>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + len);
}

double HfMaxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

template <typename F>
std::string HfErrorOf(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// A prefill's forward with last_position (what a GPU's Generate runs): the
// last position's outputs of the full forward, with left padding and a cache,
// for the character GPT and a model folder's decoder alike.
TEST(Prefill, TheLastPositionAloneIsTheFullForwardsLastPosition) {
  torch::NoGradGuard no_grad;
  ModelConfig gpt = testing::TinyModel();
  gpt.set_value_head(true);
  for (const ModelConfig& mc : {gpt, HfConfig("qwen2", /*heads=*/true)}) {
    Transformer m = MakeModel(mc);
    m->eval();
    const torch::Tensor tokens = torch::randint(1, 50, {3, 9}, torch::kLong);
    const torch::Tensor start = torch::tensor({0, 2, 5}, torch::kLong);
    KvCache full_cache = m->NewCache(3, 12), last_cache = m->NewCache(3, 12);
    const ForwardOutput full = m->forward(tokens, start, &full_cache);
    const ForwardOutput last = m->forward(tokens, start, &last_cache, /*last_position=*/true);
    ASSERT_EQ(last.logits.sizes(), (std::vector<int64_t>{3, 1, full.logits.size(2)})) << mc.hf_folder();
    EXPECT_LT(HfMaxDiff(last.logits.select(1, 0), full.logits.select(1, 8)), 1e-5) << mc.hf_folder();
    EXPECT_LT(HfMaxDiff(last.values.select(1, 0), full.values.select(1, 8)), 1e-5) << mc.hf_folder();
    for (size_t l = 0; l < full_cache.k.size(); ++l) EXPECT_TRUE(torch::equal(full_cache.k[l], last_cache.k[l]));
    EXPECT_EQ(full_cache.len, last_cache.len);
  }
}

class HfTrunk : public ::testing::TestWithParam<const char*> {};

TEST_P(HfTrunk, LogitsMatchTransformersAndTheHeadsSitOnTheTrunk) {
  Transformer m = MakeModel(HfConfig(GetParam(), /*heads=*/true));
  m->eval();
  torch::NoGradGuard no_grad;
  // The shape comes from config.json: 32 wide, 2 layers, 4 query heads;
  // Qwen2's over 2 key/value heads and a 64-wide MLP, the Llama's over 1 and 80.
  const bool qwen = std::string(GetParam()) == "qwen2";
  EXPECT_EQ(m->config().d_model(), 32);
  EXPECT_EQ(m->config().n_layers(), 2);
  EXPECT_EQ(m->config().n_heads(), 4);
  EXPECT_EQ(m->config().n_kv_heads(), qwen ? 2 : 1);
  EXPECT_EQ(m->config().d_ff(), qwen ? 64 : 80);
  EXPECT_EQ(m->vocab_size(), 1200);
  const auto expected = LoadSafetensors(HfFolder(GetParam()) + "/expected.safetensors");
  for (int k = 0; k < 3; ++k) {
    const torch::Tensor ids = expected.at("ids_" + std::to_string(k)).unsqueeze(0);
    const ForwardOutput out = m->forward(ids);
    const torch::Tensor want = expected.at("logits_" + std::to_string(k));
    EXPECT_LT(HfMaxDiff(out.logits[0], want), 1e-4) << k;
    ASSERT_TRUE(out.values.defined());
    ASSERT_TRUE(out.prm_logits.defined());
    EXPECT_EQ(out.values.sizes(), (std::vector<int64_t>{1, ids.size(1)}));
    EXPECT_GT(out.values.std().item<double>(), 0) << "a value per position, from the trunk";
  }
}

TEST_P(HfTrunk, BatchedCachedSamplingIsTransformersGreedyGenerate) {
  Transformer m = MakeModel(HfConfig(GetParam()));
  const auto expected = LoadSafetensors(HfFolder(GetParam()) + "/expected.safetensors");
  // Three prompts of 8, 5 and 3 tokens in one left-padded batch (the
  // fixtures' greedy continuations are of their first 8 tokens; shorter
  // prompts are checked against the full forward below).
  std::vector<std::vector<int>> prompts;
  for (int k = 0; k < 3; ++k) prompts.push_back(HfIds(expected.at("ids_" + std::to_string(k)), 8));
  GenerateOptions opt;
  opt.sampling.set_temperature(0);
  opt.sampling.set_max_new_tokens(8);
  opt.never_stop = true;
  const std::vector<Generation> gens = Generate(m, prompts, opt);
  for (int k = 0; k < 3; ++k)
    EXPECT_EQ(gens[static_cast<size_t>(k)].tokens, HfIds(expected.at("greedy_" + std::to_string(k)))) << k;
  // Ragged prompts: each row's greedy continuation equals the argmax of a full forward, token by token.
  const std::vector<std::vector<int>> ragged = {HfIds(expected.at("ids_0"), 8), HfIds(expected.at("ids_1"), 5),
                                                HfIds(expected.at("ids_2"), 3)};
  const std::vector<Generation> r = Generate(m, ragged, opt);
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < ragged.size(); ++k) {
    std::vector<int> seq = ragged[k];
    for (int t = 0; t < 8; ++t) {
      const torch::Tensor ids = torch::tensor(std::vector<int64_t>(seq.begin(), seq.end())).unsqueeze(0);
      const int next = static_cast<int>(m->forward(ids).logits[0][-1].argmax().item<int64_t>());
      ASSERT_EQ(r[k].tokens[static_cast<size_t>(t)], next) << "row " << k << " token " << t;
      seq.push_back(next);
    }
  }
}

TEST_P(HfTrunk, TheModelCarriesTheFoldersTokenizer) {
  Transformer m = MakeModel(HfConfig(GetParam()));
  const Tokenizer& tok = m->tokenizer();
  EXPECT_FALSE(tok.is_char());
  const HfTokenizer hf = HfTokenizer::Load(HfFolder(GetParam()) + "/tokenizer.json");
  const std::string text = "Natalia sold 48 clips in April. <think>48/2 = 24</think> <answer>72</answer>";
  EXPECT_EQ(tok.Encode(text), hf.Encode(text)) << "the file's own ids; the tags are ordinary text";
  EXPECT_EQ(tok.EncodePrompt(text), hf.Encode(text)) << "neither fixture's template starts with a special";
  // The stop token: Qwen2's config.json has none, so <|endoftext|>; the Llama fixture's config.json says 2.
  EXPECT_EQ(tok.eos(), std::string(GetParam()) == "qwen2" ? hf.Find("<|endoftext|>") : 2);
  std::vector<int> ids = tok.Encode(text);
  ids.push_back(tok.eos());
  EXPECT_EQ(tok.Decode(ids), text + "<eos>") << "the stop token reads <eos> for the verifiers";
  EXPECT_EQ(tok.Encode(text + "<eos>"), ids);
  std::string pieces;
  for (int id : ids) pieces += tok.Piece(id);
  EXPECT_EQ(pieces, text + "<eos>");
  // An id past the file's tokens (a model's vocabulary padded beyond its
  // tokenizer's, as Qwen2.5's) decodes to nothing, as in `tokenizers`.
  EXPECT_EQ(tok.Decode({ids[0], tok.vocab_size() + 5, ids[1]}), tok.Decode({ids[0], ids[1]}));
  EXPECT_EQ(tok.Piece(tok.vocab_size() + 5), "");
  EXPECT_NE(tok.Fingerprint(), Tokenizer::Get().Fingerprint());
  EXPECT_EQ(&Tokenizer::For(HfConfig(GetParam())), &tok) << "read once per folder";
}

TEST_P(HfTrunk, PrefixCacheGivesTheFullForwardsLastOutput) {
  Transformer m = MakeModel(HfConfig(GetParam(), /*heads=*/true));
  m->eval();
  const auto expected = LoadSafetensors(HfFolder(GetParam()) + "/expected.safetensors");
  const std::vector<int> a = HfIds(expected.at("ids_0"), 12), b = HfIds(expected.at("ids_1"), 7);
  PrefixKvStore store(m);
  std::vector<std::vector<int>> seqs = {a, b};
  store.Last(seqs, nullptr, FlopPhase::kScore);  // stores every prefix
  seqs = {a, b};
  seqs[0].push_back(a.back());  // one token past a stored prefix: a decoding step each
  seqs[1].push_back(7);
  const int64_t before = store.computed();
  const ForwardOutput got = store.Last(seqs, nullptr, FlopPhase::kScore);
  EXPECT_EQ(store.computed() - before, 2) << "both extended from the store";
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < seqs.size(); ++k) {
    const torch::Tensor ids = torch::tensor(std::vector<int64_t>(seqs[k].begin(), seqs[k].end())).unsqueeze(0);
    const ForwardOutput full = m->forward(ids);
    EXPECT_LT(HfMaxDiff(got.logits[static_cast<int64_t>(k)], full.logits[0][-1]), 1e-4) << k;
    EXPECT_LT(std::abs(got.values[static_cast<int64_t>(k)].item<double>() - full.values[0][-1].item<double>()), 1e-5);
  }
}

TEST_P(HfTrunk, FlopsCountTheRealMatrices) {
  Transformer m = MakeModel(HfConfig(GetParam()));
  // Reference: every projection matrix of the trunk, plus the LM head (d x
  // vocab; the Llama fixture's untied head is a matrix of its own, counted once).
  double matrices = 0;
  for (const auto& item : m->named_parameters())
    if (item.key().find("_proj_weight") != std::string::npos) matrices += static_cast<double>(item.value().numel());
  ASSERT_GT(matrices, 0) << "the parameter names this test reads";
  matrices += 32.0 * m->vocab_size();
  EXPECT_DOUBLE_EQ(MatmulParams(m->config(), m->vocab_size()), matrices);
}

TEST_P(HfTrunk, CheckpointsRoundTripAndRefuseAnotherVocabulary) {
  const std::string dir = testing::TempDir("hf_ckpt");
  Transformer m = MakeModel(HfConfig(GetParam(), true));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters()) p.add_(0.01);
  }
  SaveCheckpoint(dir + "/c.pt", m, nullptr, CheckpointMeta{});
  Transformer back = MakeModel(ReadCheckpointConfig(dir + "/c.pt"));
  LoadCheckpoint(dir + "/c.pt", back, nullptr);
  auto want = m->named_parameters();
  for (const auto& item : back->named_parameters()) EXPECT_TRUE(torch::equal(item.value(), want[item.key()])) << item.key();
  ModelConfig char_cfg;
  Transformer other = MakeModel(char_cfg);
  EXPECT_NE(HfErrorOf([&] { LoadCheckpoint(dir + "/c.pt", other, nullptr); }).find("another tokenizer vocabulary"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfTrunk, ::testing::Values("qwen2", "llama3"));

// The cached base's key: the folder's content, not its path.
TEST(HfTrunkConfig, FolderHashFollowsTheWeightsNotThePath) {
  const std::string copy = CopyOfFixture("qwen2", "hf_hash");
  EXPECT_EQ(HfFolderHash(copy), HfFolderHash(HfFolder("qwen2")));
  std::string weights = ReadFile(copy + "/model.safetensors");
  weights[weights.size() - 1] ^= 1;  // one bit of the last weight
  WriteFileAtomic(copy + "/model.safetensors", weights);
  EXPECT_NE(HfFolderHash(copy), HfFolderHash(HfFolder("qwen2")));
  EXPECT_NE(HfFolderHash(HfFolder("llama3")), HfFolderHash(HfFolder("qwen2")));
}

// An instruct model's config.json lists several stop tokens (Llama-3's
// <|end_of_text|> and <|eot_id|>), or its generation_config.json adds some
// (Qwen2.5's <|endoftext|> to <|im_end|>): a sample ends at any of them, as
// in transformers' generate, and each reads <eos> for the verifiers.
TEST(HfTrunkConfig, EveryStopTokenOfTheConfigFilesEndsASample) {
  const auto expected = LoadSafetensors(HfFolder("qwen2") + "/expected.safetensors");
  const std::vector<int> prompt = HfIds(expected.at("ids_0"), 8);
  const int first = HfIds(expected.at("greedy_0"))[0];  // the fixture's first greedy token
  const int end_of_text = HfTokenizer::Load(HfFolder("qwen2") + "/tokenizer.json").Find("<|endoftext|>");
  ASSERT_NE(first, end_of_text);
  const std::string config = ReadFile(HfFolder("qwen2") + "/config.json");
  const std::string none = "\"eos_token_id\": null";
  ASSERT_NE(config.find(none), std::string::npos);
  // A copy of the fixture whose config.json says `eos`, with `generation` as
  // its generation_config.json unless empty.
  int copies = 0;
  auto folder_with = [&](const std::string& eos, const std::string& generation) {
    const std::string folder = CopyOfFixture("qwen2", "hf_stops_" + std::to_string(copies++));
    std::string c = config;
    WriteFileAtomic(folder + "/config.json", c.replace(c.find(none), none.size(), "\"eos_token_id\": " + eos));
    if (!generation.empty()) WriteFileAtomic(folder + "/generation_config.json", generation);
    ModelConfig mc = HfConfig("qwen2");
    mc.set_hf_folder(folder);
    return mc;
  };
  const std::string both = std::to_string(end_of_text) + ", " + std::to_string(first);
  for (const ModelConfig& mc : {folder_with("[" + both + "]", ""),
                                folder_with(std::to_string(end_of_text), "{\"eos_token_id\": [" + both + "]}")}) {
    Transformer m = MakeModel(mc);
    const Tokenizer& tok = m->tokenizer();
    EXPECT_EQ(tok.eos(), end_of_text) << "config.json's first";
    EXPECT_EQ(tok.stops(), (std::vector<int>{end_of_text, first}));
    EXPECT_EQ(tok.Decode({first}), "<eos>");
    EXPECT_EQ(tok.Piece(first), "<eos>");
    EXPECT_EQ(tok.Encode("<eos>"), std::vector<int>{end_of_text});
    GenerateOptions opt;
    opt.sampling.set_temperature(0);
    opt.sampling.set_max_new_tokens(8);
    const Generation g = Generate(m, {prompt}, opt)[0];
    EXPECT_EQ(g.tokens, std::vector<int>{first}) << "greedy decoding stops at the second stop token";
    EXPECT_TRUE(g.stopped);
    // The same weights with only <|endoftext|> as stop token go on past it.
    Transformer plain = MakeModel(HfConfig("qwen2"));
    EXPECT_GT(Generate(plain, {prompt}, opt)[0].tokens.size(), 1u);
  }
  // A stop token outside the vocabulary is an error naming its file.
  for (const auto& [mc, file] : {std::pair{folder_with("[5000]", ""), "/config.json: eos_token_id"},
                                 std::pair{folder_with("null", "{\"eos_token_id\": 5000}"),
                                           "/generation_config.json: eos_token_id"}}) {
    const std::string bad = HfErrorOf([&] { MakeModel(mc); });
    EXPECT_NE(bad.find(mc.hf_folder() + file), std::string::npos) << bad;
  }
}

TEST(HfTrunkConfig, AShapeThatContradictsConfigJsonIsAnError) {
  ModelConfig mc = HfConfig("qwen2");
  mc.set_d_model(64);
  const std::string wide = HfErrorOf([&] { ResolveModelShape(mc); });
  EXPECT_NE(wide.find("model.d_model: 64"), std::string::npos) << wide;
  EXPECT_NE(wide.find("hidden_size 32"), std::string::npos) << wide;
  mc = HfConfig("qwen2");
  mc.set_d_model(32);  // the same value is fine
  EXPECT_EQ(ResolveModelShape(mc).n_kv_heads(), 2);
  mc.set_max_seq_len(1000);
  const std::string longer = HfErrorOf([&] { ResolveModelShape(mc); });
  EXPECT_NE(longer.find("max_position_embeddings 128"), std::string::npos) << longer;
  mc = HfConfig("qwen2");
  mc.set_hf_folder("/nonexistent");
  const std::string missing = HfErrorOf([&] { MakeModel(mc); });
  EXPECT_NE(missing.find("/nonexistent/config.json"), std::string::npos) << missing;
}

}  // namespace
}  // namespace r1lab
