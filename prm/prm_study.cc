#include "prm_study.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "error.h"
#include "prm_beam.h"
#include "completer.h"
#include "tokenizer.h"
#include "scorer.h"
#include "rerank.h"
#include "reward_data.h"

namespace r1lab {

namespace {

// Held-out candidates and their scores by the PRM (per step) and the ORM.
struct ScoredCandidates {
  Samples samples;
  std::vector<PrmExample> prm_items;
  std::vector<std::vector<double>> prm_scores, orm_scores;
  std::vector<bool> correct;
  std::vector<std::string> answers;
};

ScoredCandidates ScoreCandidates(Transformer& base, Transformer& prm, Transformer& orm, const Task& task,
                                 const std::vector<Problem>& test, const PrmStudySpec& spec, FlopCounter* flops) {
  ScoredCandidates sc;
  sc.samples = SampleCompletions(base, test, spec.candidates, spec.sampling, spec.seed + 2, flops);
  std::vector<PrmExample> orm_items;
  for (size_t i = 0; i < sc.samples.completions.size(); ++i) {
    const std::string& c = sc.samples.completions[i];
    sc.prm_items.push_back({sc.samples.problems[i]->prompt, c, SegmentSteps(c, spec.segmenter), {}});
    orm_items.push_back(OutcomeExample(sc.samples.problems[i]->prompt, c, false));
    const Verdict v = task.Verify(c, *sc.samples.problems[i]);
    sc.correct.push_back(v.correct);
    sc.answers.push_back(v.extracted);
  }
  sc.prm_scores = ScoreSteps(prm, sc.prm_items, flops);
  sc.orm_scores = ScoreSteps(orm, orm_items, flops);
  return sc;
}

// The PRM against the per-step truth on the candidates: first-error
// detection into *out, and the AUC of step scores for good against bad steps.
double StepQuality(const Task& task, const ScoredCandidates& sc, FirstErrorScore* out) {
  std::vector<double> all_scores;
  std::vector<bool> all_good;
  for (size_t i = 0; i < sc.prm_items.size(); ++i) {
    const PrmExample& item = sc.prm_items[i];
    if (item.steps.empty()) continue;
    const std::vector<bool> truth =
        SegmentTruth(item.completion, item.steps, [&task](const std::string& l) { return task.LineWrong(l); });
    out->Add(sc.prm_scores[i], truth);
    for (size_t k = 0; k < truth.size(); ++k) {
      all_scores.push_back(sc.prm_scores[i][k]);
      all_good.push_back(!truth[k]);
    }
  }
  return StepAuc(all_scores, all_good);
}

// Per method (each PRM aggregation, the ORM, majority, the oracle), each
// problem's candidates with that method's score.
std::map<std::string, std::vector<std::vector<Candidate>>> CandidatesByMethod(const ScoredCandidates& sc,
                                                                               size_t problems, size_t K) {
  const std::vector<std::pair<std::string, Aggregation>> aggs = {{"PRM min", Aggregation::kMin},
                                                                 {"PRM last", Aggregation::kLast},
                                                                 {"PRM product", Aggregation::kProduct},
                                                                 {"PRM mean", Aggregation::kMean}};
  std::map<std::string, std::vector<std::vector<Candidate>>> by_method;
  for (size_t p = 0; p < problems; ++p) {
    std::map<std::string, std::vector<Candidate>> cands;
    for (size_t k = 0; k < K; ++k) {
      const size_t i = p * K + k;
      const std::string& a = sc.answers[i];
      const bool right = sc.correct[i];
      for (const auto& [name, how] : aggs)
        cands[name].push_back({a, right, sc.prm_scores[i].empty() ? 0.0 : Aggregate(sc.prm_scores[i], how)});
      cands["ORM"].push_back({a, right, sc.orm_scores[i][0]});
      cands["majority"].push_back({a, right, 0});
      cands["oracle (pass@N)"].push_back({a, right, right ? 1.0 : 0.0});
    }
    for (auto& [name, c] : cands) by_method[name].push_back(std::move(c));
  }
  return by_method;
}

// How well each scoring method separates right from wrong candidates, over
// all candidates and within problems that have both.
void SeparationAucs(const std::map<std::string, std::vector<std::vector<Candidate>>>& by_method, PrmStudy* out) {
  for (const auto& [name, problems] : by_method) {
    if (name == "majority" || name == "oracle (pass@N)") continue;
    std::vector<double> scores;
    std::vector<bool> right;
    double within = 0;
    int mixed = 0;
    for (const auto& c : problems) {
      std::vector<double> ps;
      std::vector<bool> pr;
      for (const Candidate& x : c) {
        scores.push_back(x.score);
        right.push_back(x.correct);
        ps.push_back(x.score);
        pr.push_back(x.correct);
      }
      const int n_right = static_cast<int>(std::count(pr.begin(), pr.end(), true));
      if (n_right > 0 && n_right < static_cast<int>(pr.size())) {
        within += StepAuc(ps, pr);
        ++mixed;
      }
    }
    out->outcome_auc[name] = StepAuc(scores, right);
    out->within_problem_auc[name] = mixed ? within / mixed : 0.5;
  }
}

}  // namespace

PrmStudy RunPrmStudy(Transformer& base, const Task& task, const PrmStudySpec& spec) {
  if (!task.LineWrong("1+1=2").has_value())
    throw ConfigError("PRM study: task '" + task.name() + "' has no per-step ground truth (use arith)");
  if (spec.candidates < 1 || (spec.candidates & (spec.candidates - 1)) != 0)
    throw ConfigError("PRM study: candidates must be a power of two");
  if (spec.test_problems > static_cast<int>(task.TestSet().size()))
    throw ConfigError("PRM study: more test problems than the test split has");
  PrmStudy out;
  Rng rng(spec.seed);
  FlopCounter label_flops, train_flops, score_flops;

  // 1. Label the base's own samples on training problems.
  std::vector<Problem> train_problems;
  for (int i = 0; i < spec.label_traces; ++i) train_problems.push_back(task.SampleTrain(rng));
  RewardDataSpec ds;
  ds.label_n = spec.label_n;
  ds.soft_targets = spec.soft_targets;
  ds.truth_labels = spec.truth_labels;
  ds.segmenter = spec.segmenter;
  ds.sampling = spec.sampling;
  ds.seed = spec.seed;
  const RewardData data = BuildRewardData(base, task, train_problems, ds, &label_flops);
  out.labels = data.quality;

  // 2. Train the PRM and the ORM from the base's trunk.
  Transformer prm = RewardModelFrom(base, true), orm = RewardModelFrom(base, true);
  out.prm_final_loss = TrainRewardModel(prm, data.prm, spec.train_steps, spec.batch_size, spec.optim, rng, &train_flops);
  out.orm_final_loss = TrainRewardModel(orm, data.orm, spec.train_steps, spec.batch_size, spec.optim, rng, &train_flops);

  // 3. Held-out candidates, scored; the PRM against the step truth.
  const std::vector<Problem> test(task.TestSet().begin(), task.TestSet().begin() + spec.test_problems);
  const ScoredCandidates sc = ScoreCandidates(base, prm, orm, task, test, spec, &score_flops);
  out.step_auc = StepQuality(task, sc, &out.first_error);

  // 4. Best-of-N by each method, and how each score separates right from wrong.
  const auto by_method = CandidatesByMethod(sc, test.size(), static_cast<size_t>(spec.candidates));
  SeparationAucs(by_method, &out);
  for (int n = 1; n <= spec.candidates; n *= 2) out.ns.push_back(n);
  for (const auto& [name, problems] : by_method)
    for (int n : out.ns)
      out.bon[name].push_back(
          SelectionAccuracy(problems, n, name == "majority" ? Selection::kMajority : Selection::kScore));

  // 5. PRM-guided beam search on the same problems.
  BeamSpec bs;
  bs.beam_width = spec.beam_width;
  bs.expansions = spec.beam_expansions;
  bs.sampling = spec.sampling;
  bs.seed = spec.seed + 3;
  const BeamResult beam = PrmBeamSearch(base, prm, task, test, bs, &score_flops);
  out.beam_width = spec.beam_width;
  out.beam_expansions = spec.beam_expansions;
  out.beam_accuracy = beam.accuracy;
  out.beam_tokens = beam.generated_tokens / static_cast<double>(test.size());
  const Tokenizer& tok = base->tokenizer();
  for (const std::string& c : sc.samples.completions) out.bon_tokens += static_cast<double>(tok.Encode(c).size());
  out.bon_tokens /= static_cast<double>(test.size());
  out.flops_label = label_flops.Total();
  out.flops_train = train_flops.Total();
  out.flops_score = score_flops.Total();
  return out;
}

std::string PrmStudyTable(const PrmStudy& s) {
  std::string out;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "training labels against the truth: wrong-step precision %.3f, recall %.3f, F1 %.3f, first-error "
                "accuracy %.3f (%d traces, %d steps)\n"
                "final BCE: PRM %.3f, ORM %.3f\n"
                "held-out PRM: step AUC %.3f; first error found on %.1f%% of traces with one, none flagged on "
                "%.1f%% of clean ones (F1 %.3f)\n"
                "FLOPs: labelling %.3g, PRM+ORM training %.3g, held-out sampling, scoring and beam search %.3g\n"
                "PRM-guided beam search (%d beams x %d sampled next lines, PRM min): accuracy %.1f%% with %.0f "
                "generated tokens per problem; best-of-%d generates %.0f\n\n",
                s.labels.precision(), s.labels.recall(), s.labels.f1(), s.labels.first_error_accuracy(),
                s.labels.traces, s.labels.steps, s.prm_final_loss, s.orm_final_loss, s.step_auc,
                100 * s.first_error.error_accuracy(), 100 * s.first_error.clean_accuracy(), s.first_error.f1(),
                s.flops_label, s.flops_train, s.flops_score, s.beam_width, s.beam_expansions, 100 * s.beam_accuracy,
                s.beam_tokens, s.ns.empty() ? 0 : s.ns.back(), s.bon_tokens);
  out += buf;
  out += "| best-of-N accuracy % |";
  for (int n : s.ns) out += " N=" + std::to_string(n) + " |";
  out += " AUC pooled | AUC within a problem |\n|---|";
  for (size_t i = 0; i <= s.ns.size() + 1; ++i) out += "---|";
  out += "\n";
  for (const auto& [name, acc] : s.bon) {
    out += "| " + name + " |";
    for (double a : acc) {
      std::snprintf(buf, sizeof buf, " %.1f |", 100 * a);
      out += buf;
    }
    const auto auc = s.outcome_auc.find(name);
    if (auc == s.outcome_auc.end()) {
      out += " - | - |\n";
    } else {
      std::snprintf(buf, sizeof buf, " %.3f | %.3f |\n", auc->second, s.within_problem_auc.at(name));
      out += buf;
    }
  }
  return out;
}

}  // namespace r1lab
