#include "prm_study.h"

#include <algorithm>
#include <cstdio>

#include "error.h"
#include "prm_beam.h"
#include "completer.h"
#include "tokenizer.h"
#include "scorer.h"
#include "rerank.h"
#include "reward_data.h"

namespace r1lab {


PrmStudy RunPrmStudy(Transformer& base, const Task& task, const PrmStudySpec& spec) {
  if (!task.LineWrong("1+1=2").has_value())
    throw ConfigError("PRM study: task '" + task.name() + "' has no per-step ground truth (use arith)");
  if (spec.candidates < 1 || (spec.candidates & (spec.candidates - 1)) != 0)
    throw ConfigError("PRM study: candidates must be a power of two");
  if (spec.test_problems > static_cast<int>(task.TestSet().size()))
    throw ConfigError("PRM study: more test problems than the test split has");
  auto truth_of = [&task](const std::string& c, const std::vector<Segment>& steps) {
    return SegmentTruth(c, steps, [&task](const std::string& l) { return task.LineWrong(l); });
  };
  PrmStudy out;
  Rng rng(spec.seed);
  FlopCounter label_flops, train_flops, score_flops;

  // 1. Label the base's own samples on training problems.
  std::vector<Problem> train_problems;
  for (int i = 0; i < spec.label_traces; ++i) train_problems.push_back(task.SampleTrain(rng));
  RewardDataSpec ds;
  ds.label_n = spec.label_n;
  ds.soft_targets = spec.soft_targets;
  ds.segmenter = spec.segmenter;
  ds.sampling = spec.sampling;
  ds.seed = spec.seed;
  const RewardData data = BuildRewardData(base, task, train_problems, ds, &label_flops);
  out.labels = data.quality;

  // 2. Train the PRM and the ORM from the base's trunk.
  Transformer prm = RewardModelFrom(base, true), orm = RewardModelFrom(base, true);
  out.prm_final_loss = TrainRewardModel(prm, data.prm, spec.train_steps, spec.batch_size, spec.optim, rng, &train_flops);
  out.orm_final_loss = TrainRewardModel(orm, data.orm, spec.train_steps, spec.batch_size, spec.optim, rng, &train_flops);

  // 3. Held-out candidates, scored.
  const std::vector<Problem> test(task.TestSet().begin(), task.TestSet().begin() + spec.test_problems);
  const Samples cand = SampleCompletions(base, test, spec.candidates, spec.sampling, spec.seed + 2, &score_flops);
  std::vector<PrmExample> prm_items, orm_items;
  std::vector<bool> correct;
  std::vector<std::string> answers;
  for (size_t i = 0; i < cand.completions.size(); ++i) {
    const std::string& c = cand.completions[i];
    prm_items.push_back({cand.problems[i]->prompt, c, SegmentSteps(c, spec.segmenter), {}});
    orm_items.push_back(OutcomeExample(cand.problems[i]->prompt, c, false));
    const Verdict v = task.Verify(c, *cand.problems[i]);
    correct.push_back(v.correct);
    answers.push_back(v.extracted);
  }
  const auto prm_scores = ScoreSteps(prm, prm_items, &score_flops);
  const auto orm_scores = ScoreSteps(orm, orm_items, &score_flops);

  // 4. PRM quality against the truth on held-out candidates.
  std::vector<double> all_scores;
  std::vector<bool> all_good;
  for (size_t i = 0; i < prm_items.size(); ++i) {
    if (prm_items[i].steps.empty()) continue;
    const std::vector<bool> truth = truth_of(prm_items[i].completion, prm_items[i].steps);
    out.first_error.Add(prm_scores[i], truth);
    for (size_t k = 0; k < truth.size(); ++k) {
      all_scores.push_back(prm_scores[i][k]);
      all_good.push_back(!truth[k]);
    }
  }
  out.step_auc = StepAuc(all_scores, all_good);

  // Best-of-N by each method.
  const std::vector<std::pair<std::string, Aggregation>> aggs = {{"PRM min", Aggregation::kMin},
                                                                 {"PRM last", Aggregation::kLast},
                                                                 {"PRM product", Aggregation::kProduct},
                                                                 {"PRM mean", Aggregation::kMean}};
  std::map<std::string, std::vector<std::vector<Candidate>>> by_method;
  const size_t K = static_cast<size_t>(spec.candidates);
  for (size_t p = 0; p < test.size(); ++p) {
    std::map<std::string, std::vector<Candidate>> cands;
    for (size_t k = 0; k < K; ++k) {
      const size_t i = p * K + k;
      for (const auto& [name, how] : aggs)
        cands[name].push_back({answers[i], correct[i], prm_scores[i].empty() ? 0.0 : Aggregate(prm_scores[i], how)});
      cands["ORM"].push_back({answers[i], correct[i], orm_scores[i][0]});
      cands["majority"].push_back({answers[i], correct[i], 0});
      cands["oracle (pass@N)"].push_back({answers[i], correct[i], correct[i] ? 1.0 : 0.0});
    }
    for (auto& [name, c] : cands) by_method[name].push_back(std::move(c));
  }
  // How well each score separates correct from wrong candidates.
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
    out.outcome_auc[name] = StepAuc(scores, right);
    out.within_problem_auc[name] = mixed ? within / mixed : 0.5;
  }
  for (int n = 1; n <= spec.candidates; n *= 2) out.ns.push_back(n);
  for (const auto& [name, problems] : by_method)
    for (int n : out.ns)
      out.bon[name].push_back(
          SelectionAccuracy(problems, n, name == "majority" ? Selection::kMajority : Selection::kScore));
  // PRM-guided beam search on the same problems.
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
  const Tokenizer& tok = Tokenizer::Get();
  for (const std::string& c : cand.completions) out.bon_tokens += static_cast<double>(tok.Encode(c).size());
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
