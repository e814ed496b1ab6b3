// Rejection-sampling fine-tuning (RftConfig in proto/r1lab.proto): sample the
// current policy, keep what the verifier accepts, fine-tune on it. The
// report's stage 3 and the expert-iteration baseline that MCTS self-search
// (search/self_search.h) adds a tree to.
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "answer.h"
#include "checkpoint.h"
#include "config.h"
#include "data_parallel.h"
#include "error.h"
#include "io.h"
#include "language.h"
#include "optim.h"
#include "progress.h"
#include "reward.h"
#include "rollout.h"
#include "strategy.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

// The accepted samples of one step: per problem, distinct completions that
// finished (not truncated) with a right answer (and well-formed and
// readable, if asked),
// at most max_kept_per_problem of them, in sampling order.
struct Kept {
  std::vector<std::pair<std::string, std::string>> pairs;  // (prompt, completion without <eos>)
  int accepted = 0;                                        // before de-duplication and the cap
  int problems = 0;                                        // with at least one kept completion
};

// R1's readable: every chain-of-thought word in the prompt's language (when
// it has a lexicon) and a summary line at the end.
bool Readable(const std::string& completion, const std::string& language) {
  return (!KnownLanguage(language) || LanguageConsistency(completion, language) == 1.0) && HasSummaryLine(completion);
}

Kept Accept(const Rollouts& ro, const RftConfig& cfg) {
  const Tokenizer& tok = *ro.tokenizer;
  Kept k;
  const int G = ro.group_size;
  for (size_t p = 0; p < ro.problems.size(); ++p) {
    std::set<std::string> seen;
    for (int i = 0; i < G; ++i) {
      const size_t r = p * static_cast<size_t>(G) + static_cast<size_t>(i);
      const Verdict& v = ro.rewards[r].verdict;
      if (ro.gens[r].truncated || !v.correct || (cfg.require_format() && !v.format_ok)) continue;
      const std::string c = StripEos(tok.Decode(ro.gens[r].tokens));
      if (cfg.require_readable() && !Readable(c, ro.problems[p].language)) continue;
      ++k.accepted;
      if (static_cast<int>(seen.size()) < cfg.max_kept_per_problem() && seen.insert(c).second)
        k.pairs.emplace_back(ro.problems[p].prompt, c);
    }
    k.problems += !seen.empty();
  }
  return k;
}

// The teacher model of distillation: its checkpoint's own config (any size),
// on the policy's device; the same vocabulary as the policy.
Transformer LoadTeacher(const std::string& path, const TransformerImpl& policy) {
  if (!FileExists(path)) throw IoError("rft.teacher_checkpoint: " + path + ": checkpoint not found");
  ModelConfig mc = ReadCheckpointConfig(path);
  Transformer t = MakeModel(mc, policy.vocab_size());
  LoadCheckpoint(path, t, nullptr);
  t->to(policy.device());
  t->eval();
  return t;
}

class RftStrategy : public Strategy {
 public:
  explicit RftStrategy(const Arm& arm) : cfg_(arm.rft()) {}

  void Train(StrategyContext& ctx) override {
    // Data-parallel: each rank samples its share of a step's problems from
    // its own stream; the kept samples are gathered, and the fine-tuning
    // steps on them are one process's, split by rows (`rng`, which draws
    // their batches, stays the same on every rank).
    Dist* dp = ctx.data_parallel;
    const int problems =
        dp ? ShardSize(cfg_.problems_per_step(), dp->world_size(),
                       "arm '" + ctx.arm->name() + "': rft.problems_per_step", "the data-parallel run")
           : cfg_.problems_per_step();
    Rng rng(ctx.seed);
    torch::optim::AdamW optimizer = MakeAdamW(*ctx.policy, cfg_.optim());
    // The sampler: the current policy, or a fixed teacher model.
    Transformer teacher(nullptr);
    if (!cfg_.teacher_checkpoint().empty()) teacher = LoadTeacher(cfg_.teacher_checkpoint(), **ctx.policy);
    Transformer& sampler = teacher ? teacher : *ctx.policy;
    const RewardChain reward(cfg_.reward(), cfg_.sampling().max_new_tokens(), LineFormJudgeOf(*ctx.task));
    int64_t tokens_generated = 0, tokens_trained = 0;
    StrategyLoop loop;
    loop.steps = cfg_.steps();
    loop.log_every = cfg_.log_every();
    loop.optimizer = &optimizer;
    loop.rng = &rng;
    loop.tokens = &tokens_generated;
    double teacher_total = 0;  // the teacher's generation FLOPs so far, kept across resumes
    if (teacher) {
      loop.save_state = [&]() { return std::to_string(teacher_total); };
      loop.restore_state = [&](const std::string& state) {
        if (!state.empty()) teacher_total = std::stod(state);
      };
    }
    loop.step = [&](int64_t step, MetricsLine* m, std::string* note) {
      const auto t0 = Clock::now();
      const uint64_t seed = RankSeed(SplitMix64(ctx.seed ^ SplitMix64(static_cast<uint64_t>(step) * 1024)), dp);
      Rng rank_rng(seed ^ 0x9e3779b97f4a7c15ULL);
      Rng& draw = dp ? rank_rng : rng;
      const FlopMark before = dp && ctx.flops ? MarkFlops(*ctx.flops, tokens_generated) : FlopMark{};
      FlopCounter teacher_flops;  // the teacher's sampling: charged only with charge_teacher
      std::vector<std::pair<std::string, std::string>> demos;  // non-reasoning data
      const Rollouts ro =
          cfg_.has_non_reasoning_teacher()
              ? SampleRollouts(sampler, *ctx.task, DrawReasoning(*ctx.task, draw, problems, &demos),
                               cfg_.samples_per_problem(), cfg_.sampling(), seed, reward,
                               teacher ? &teacher_flops : ctx.flops)
              : SampleRollouts(sampler, *ctx.task, draw, problems, cfg_.samples_per_problem(), cfg_.sampling(), seed,
                               reward, teacher ? &teacher_flops : ctx.flops);
      if (ctx.flops) ctx.flops->AddOracleCalls(static_cast<int64_t>(ro.gens.size()));  // verified to accept
      for (const Generation& g : ro.gens) tokens_generated += static_cast<int64_t>(g.tokens.size());
      if (dp && ctx.flops) SumFlopsSince(before, *dp, ctx.flops, &tokens_generated);
      if (teacher) {
        const double spent = dp ? SumOverRanks({teacher_flops.Total()}, *dp)[0] : teacher_flops.Total();
        teacher_total += spent;
        m->set_teacher_flops(teacher_total);
        if (cfg_.charge_teacher() && ctx.flops) ctx.flops->Add(FlopPhase::kGenerate, spent);
      }
      Kept kept = Accept(ro, cfg_);
      if (dp) {  // every rank's, in rank order
        kept.pairs = AllGatherPairs(*dp, kept.pairs);
        demos = AllGatherPairs(*dp, demos);
      }
      const size_t samples_kept = kept.pairs.size();
      if (cfg_.has_non_reasoning_teacher()) m->set_non_reasoning_examples(static_cast<double>(demos.size()));
      kept.pairs.insert(kept.pairs.end(), demos.begin(), demos.end());
      const auto t_train0 = Clock::now();
      const int64_t total = static_cast<int64_t>(cfg_.steps()) * cfg_.sft_steps();
      const int64_t first = step * cfg_.sft_steps();
      double loss = 0;
      if (!kept.pairs.empty())
        loss = SupervisedSteps(*ctx.policy, optimizer, kept.pairs, cfg_.sft_steps(), cfg_.batch_size(),
                               cfg_.optim(), first, total, rng, ctx.flops, &tokens_trained, dp);
      char buf[64];
      std::snprintf(buf, sizeof buf, " kept %zu", samples_kept);
      *note = RolloutNote(ro) + buf;
      RolloutMetrics(ro, reward, m);
      m->set_accept_rate(static_cast<double>(kept.accepted) / ro.size());
      m->set_kept(static_cast<double>(samples_kept));
      m->set_problems_kept(static_cast<double>(kept.problems) / ro.problems.size());
      m->set_sft_loss(loss);
      m->set_lr(ScheduledLr(cfg_.optim(), first + cfg_.sft_steps() - 1, total));
      m->set_tokens_generated(static_cast<double>(tokens_generated));
      m->set_tokens_trained(static_cast<double>(tokens_trained));
      m->set_time_generate_s(ro.t_generate);
      m->set_time_score_s(ro.t_score);
      m->set_time_train_s(SecondsSince(t_train0));
      m->set_time_step_s(SecondsSince(t0));
      if (dp) AverageOverRanks(m, *dp);  // per-sample shares: the whole batch's (equal shards)
    };
    RunStrategyLoop(ctx, loop);
  }

 private:
  // Draws training prompts until `count` verifiable ones (returned, to be
  // sampled); each other prompt met on the way gets the non-reasoning
  // teacher's demonstration in *demos.
  std::vector<Problem> DrawReasoning(const Task& task, Rng& rng, int count,
                                     std::vector<std::pair<std::string, std::string>>* demos) const {
    std::vector<Problem> reasoning;
    for (int run = 0; static_cast<int>(reasoning.size()) < count;) {
      Problem p = task.SampleTrain(rng);
      if (task.Verifiable(p)) {
        reasoning.push_back(std::move(p));
        run = 0;
        continue;
      }
      if (++run == 10000)
        throw InputError("rft.non_reasoning_teacher: task '" + task.name() +
                         "' drew no verifiable training prompt in 10000 tries; nothing to sample");
      demos->emplace_back(p.prompt, TeachTrace(task, p, cfg_.non_reasoning_teacher(), rng).completion);
    }
    return reasoning;
  }

  RftConfig cfg_;
};

void CheckRftArm(const Arm& a, const ExperimentConfig&, const std::string& p, const std::string& src) {
  const RftConfig& c = a.rft();
  // That teacher_arm names an earlier arm is checked with the other dependencies (core/config.h).
  if (c.has_teacher_arm() && !c.teacher_checkpoint().empty())
    ConfigFail(src, p + ".rft.teacher_arm", "set together with teacher_checkpoint; expected one teacher");
  if (c.reward().overlong_buffer() >= c.sampling().max_new_tokens())
    ConfigFail(src, p + ".rft.reward.overlong_buffer",
               "must be below sampling.max_new_tokens=" + std::to_string(c.sampling().max_new_tokens()));
}

void QuickRft(Arm* a) { a->mutable_rft()->set_steps(QuickSteps(a->rft().steps())); }

void ScaleRft(Arm* a, double f) { a->mutable_rft()->set_steps(ScaledSteps(a->rft().steps(), f)); }

// The fine-tuning learning rate and updates per round of samples.
constexpr const char* kRftSpace = R"(
  params { path: "rft.optim.lr" values: [1e-4, 3e-4, 1e-3] }
  params { path: "rft.sft_steps" values: [2, 4, 8] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kRft, RftStrategy, CheckRftArm, QuickRft, ScaleRft, kRftSpace);

}  // namespace
}  // namespace r1lab
