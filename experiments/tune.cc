#include "tune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "config.h"
#include "dist.h"
#include "error.h"
#include "io.h"
#include "json.h"
#include "report.h"
#include "rng.h"
#include "stats.h"
#include "strategy.h"
#include "task.h"
#include "text.h"

namespace r1lab {

const char* GitCommit();

namespace {

namespace pb = google::protobuf;

// The value of a numeric (or bool) field at `path` ("grpo.optim.lr") in `m`,
// its default when unset; ConfigError naming `source` otherwise.
double NumberAt(const pb::Message& root, const std::string& path, const std::string& source) {
  const pb::Message* m = &root;
  std::stringstream parts(path);
  std::vector<std::string> names;
  for (std::string p; std::getline(parts, p, '.');) names.push_back(p);
  for (size_t i = 0; i < names.size(); ++i) {
    const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(names[i]);
    if (!f || f->is_repeated())
      throw ConfigError(source + ": " + path + ": no single field '" + names[i] + "' in " + m->GetDescriptor()->name());
    const pb::Reflection* r = m->GetReflection();
    if (i + 1 < names.size()) {
      if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
        throw ConfigError(source + ": " + path + ": '" + names[i] + "' is not a message");
      m = &r->GetMessage(*m, f);
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE || f->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM ||
        f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING)
      throw ConfigError(source + ": " + path + ": not a number field (tuning searches numbers and bools)");
    return NumericValue(*m, f);
  }
  throw ConfigError(source + ": an empty tune path");
}

using TuneParams = pb::RepeatedPtrField<TuneParam>;

// The field at `path` in `root`'s message type (null where there is none).
const pb::FieldDescriptor* FieldAt(const pb::Message& root, const std::string& path) {
  const pb::Descriptor* d = root.GetDescriptor();
  const pb::FieldDescriptor* f = nullptr;
  std::stringstream parts(path);
  for (std::string name; std::getline(parts, name, '.');) {
    if (!d) return nullptr;
    f = d->FindFieldByName(name);
    if (!f) return nullptr;
    d = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return f;
}

// `msg` (an arm, or the experiment for its pretraining) with `values` set at
// the parameters' paths.
template <class M>
M WithValues(const M& msg, const TuneParams& params, const std::vector<double>& values, const std::string& source) {
  M out = msg;
  for (int i = 0; i < params.size(); ++i) {
    const TuneParam& p = params[i];
    const pb::FieldDescriptor* f = FieldAt(out, p.path());  // a bool takes "true"/"false"; every other field the number
    const double v = values[static_cast<size_t>(i)];
    const std::string text = f && f->cpp_type() == pb::FieldDescriptor::CPPTYPE_BOOL ? (v != 0 ? "true" : "false")
                                                                                     : JsonNumber(v);
    ApplyOverride(p.path() + "=" + text, source, &out);
  }
  return out;
}

// Each of a space parameter's values, set in `root` (an arm, or the
// experiment for its pretraining) and checked as `root` would hold it,
// before any trial runs.
template <class M>
void CheckSpaceValues(const M& root, const TuneParam& p, const std::string& where, const std::string& what) {
  TuneParams one;
  *one.Add() = p;
  for (double v : p.values()) {
    if (!std::isfinite(v)) throw ConfigError(where + ": " + p.path() + " lists " + PrintedNumber(v) + "; expected finite values");
    ValidateConfig(WithValues(root, one, {v}, where), where + ", " + what + " with " + p.path() + " " + PrintedNumber(v));
  }
}

// The arm's space: the experiment's for this arm, else its strategy's; each
// path checked to lie inside the arm's own strategy and to hold a number.
TuneSpace SpaceFor(const ExperimentConfig& cfg, const Arm& arm, const std::string& source) {
  TuneSpace space = DeclaredTuneSpace(arm);
  for (const TuneSpace& s : cfg.tune().spaces())
    if (s.arm() == arm.name()) space = s;
  space.set_arm(arm.name());
  const std::string strategy = Arm::descriptor()->FindFieldByNumber(arm.strategy_case())->name();
  const std::string where = source + ": tune space of arm '" + arm.name() + "'";
  for (const TuneParam& p : space.params()) {
    if (p.path().rfind(strategy + ".", 0) != 0)
      throw ConfigError(where + ": " + p.path() + ": expected a field of the arm's strategy (" + strategy + ".…)");
    if (p.values_size() == 0) throw ConfigError(where + ": " + p.path() + ": no values to try");
    NumberAt(arm, p.path(), where);
    CheckSpaceValues(arm, p, where, "the arm");
  }
  return space;
}

// Trial 0: `root` (an arm, or the experiment) as configured; then distinct
// grid points, all of them when there are fewer than trials - 1, else drawn
// without replacement by a stream of (seed, name). With `cover`
// (tune.cover_values), each next point is the first in that order that
// tries the most values not yet tried, until every value of every parameter
// has been; then the order alone.
std::vector<std::vector<double>> TrialPoints(const pb::Message& root, const TuneParams& params, int trials, uint64_t seed,
                                             bool cover, const std::string& name, const std::string& source) {
  std::vector<double> configured;
  for (const TuneParam& p : params) configured.push_back(NumberAt(root, p.path(), source));
  std::vector<std::vector<double>> out = {configured};
  double grid = 1;
  for (const TuneParam& p : params) grid *= p.values_size();
  if (grid > 1e6) throw ConfigError(source + ": tune space of '" + name + "' has more than 10^6 points");
  std::vector<int64_t> order(static_cast<size_t>(grid));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  Rng rng(seed ^ Fnv64(name));
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(i) - 1))]);
  auto point_at = [&](int64_t index) {
    std::vector<double> point;
    for (const TuneParam& p : params) {
      point.push_back(p.values(static_cast<int>(index % p.values_size())));
      index /= p.values_size();
    }
    return point;
  };
  std::vector<std::set<double>> untried;  // per parameter, the values no trial has yet
  for (const TuneParam& p : params) {
    untried.emplace_back(p.values().begin(), p.values().end());
    untried.back().erase(configured[untried.size() - 1]);
  }
  auto gain = [&](const std::vector<double>& point) {
    int n = 0;
    for (size_t i = 0; i < point.size(); ++i) n += static_cast<int>(untried[i].count(point[i]));
    return n;
  };
  while (cover && static_cast<int>(out.size()) < trials) {
    int best_gain = 0;
    std::vector<double> best;
    for (int64_t index : order) {
      std::vector<double> point = point_at(index);
      const int g = gain(point);
      if (g > best_gain) best_gain = g, best = std::move(point);  // a point of gain > 0 is untried
    }
    if (best_gain == 0) break;
    for (size_t i = 0; i < best.size(); ++i) untried[i].erase(best[i]);
    out.push_back(std::move(best));
  }
  for (int64_t index : order) {
    if (static_cast<int>(out.size()) >= trials) break;
    std::vector<double> point = point_at(index);
    if (std::find(out.begin(), out.end(), point) == out.end()) out.push_back(point);
  }
  return out;
}

// One step past the end of p's grid where `v` lies: times the grid's ratio
// at that end when the grid is positive, else by its spacing there; rounded
// for an integer field. Nothing for a bool, a grid of one value, a value
// inside the grid, or a step across zero.
std::optional<double> BeyondEdge(const TuneParam& p, double v, const pb::FieldDescriptor* f) {
  if (!f || f->cpp_type() == pb::FieldDescriptor::CPPTYPE_BOOL) return std::nullopt;
  std::vector<double> g(p.values().begin(), p.values().end());
  std::sort(g.begin(), g.end());
  g.erase(std::unique(g.begin(), g.end()), g.end());
  if (g.size() < 2) return std::nullopt;
  const bool positive = g.front() > 0;
  double next;
  if (v == g.front()) next = positive ? g[0] * g[0] / g[1] : g[0] - (g[1] - g[0]);
  else if (v == g.back()) next = positive ? g.back() * g.back() / g[g.size() - 2] : g.back() + (g.back() - g[g.size() - 2]);
  else return std::nullopt;
  const bool integer = f->cpp_type() != pb::FieldDescriptor::CPPTYPE_FLOAT && f->cpp_type() != pb::FieldDescriptor::CPPTYPE_DOUBLE;
  {  // 1e-05 * 1e-05 / 1e-06 is 1.0000000000000002e-04 in doubles: the value a user would write
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.12g", next);
    next = std::strtod(buf, nullptr);
  }
  if (integer) {
    next = std::round(next);
    if (next == v) next = v == g.front() ? v - 1 : v + 1;
  }
  if ((v >= 0) != (next >= 0)) return std::nullopt;
  return next;
}

// The best trial so far: the highest validation pass@1, ties the earlier.
int BestTrial(const TuneRecord::TunedArm& t) {
  int best = 0;
  for (int k = 1; k < t.trials_size(); ++k)
    if (t.trials(k).validation_pass1() > t.trials(best).validation_pass1()) best = k;
  return best;
}

// tune.edge_trials: appends the next trial to `t` (its trials so far
// scored): the best so far with one value at an end of its grid moved a
// step past it, the first such value whose move is untried and within the
// field's limits, in the space's order or, with `rotate`
// (tune.edge_rotate), by how often the parameter's end has moved already
// (its values past `grid`, the space as configured), fewest first; failing
// that, the next untried point of `order` (the grid in its drawn order).
// The space's values grow by the value moved to, so the end moves with it.
// False when nothing is left to try.
bool ProposeEdgeTrial(const Arm& arm, const TuneParams& grid, bool rotate, const std::vector<std::vector<double>>& order,
                      TuneRecord::TunedArm* t, const std::string& source) {
  const auto& space = t->space();
  if (grid.size() != space.size())
    throw InternalError(source + ": the tuning's space and the configured space of '" + arm.name() + "' differ in length");
  const auto& best = t->trials(BestTrial(*t)).values();
  std::vector<std::pair<int, std::vector<double>>> moves;  // (times the parameter's end has moved, point)
  for (int i = 0; i < space.size(); ++i) {
    const std::optional<double> next = BeyondEdge(space[i], best[i], FieldAt(arm, space[i].path()));
    if (!next) continue;
    moves.emplace_back(rotate ? space[i].values_size() - grid[i].values_size() : 0,
                       std::vector<double>(best.begin(), best.end()));
    moves.back().second[static_cast<size_t>(i)] = *next;
  }
  std::stable_sort(moves.begin(), moves.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::vector<double>> candidates;
  for (auto& m : moves) candidates.push_back(std::move(m.second));
  for (const std::vector<double>& point : order)
    if (point.size() != static_cast<size_t>(space.size()))
      throw InternalError(source + ": the grid's points and the space of '" + arm.name() + "' differ in length");
  candidates.insert(candidates.end(), order.begin(), order.end());
  for (const std::vector<double>& c : candidates) {
    bool tried = false;
    for (const TuneRecord::Trial& trial : t->trials())
      tried = tried || std::equal(c.begin(), c.end(), trial.values().begin(), trial.values().end());
    if (tried) continue;
    try {
      ValidateConfig(WithValues(arm, space, c, source), source);
    } catch (const ConfigError&) {
      continue;  // past the field's limits
    }
    TuneRecord::Trial* trial = t->add_trials();
    for (size_t i = 0; i < c.size(); ++i) {
      trial->add_values(c[i]);
      TuneParam& p = *t->mutable_space(static_cast<int>(i));
      if (std::find(p.values().begin(), p.values().end(), c[i]) == p.values().end()) p.add_values(c[i]);
    }
    return true;
  }
  return false;
}

// What a tuning is valid for: the task, model and pretraining of the base
// (and the arm as configured), hashed by the values set, so a field added to
// the proto later, at its default, leaves it valid.
ExperimentConfig BaseOf(const ExperimentConfig& cfg) {
  ExperimentConfig id;
  *id.mutable_task() = cfg.task();
  *id.mutable_model() = cfg.model();
  *id.mutable_pretrain() = cfg.pretrain();
  return id;
}

}  // namespace

std::string TunedArmIdentity(const ExperimentConfig& cfg, const Arm& arm) {
  ExperimentConfig id = BaseOf(cfg);
  *id.add_arms() = arm;
  return HexHash(ConfigHash(id));
}

std::string TunedBaseIdentity(const ExperimentConfig& cfg) { return HexHash(ConfigHash(BaseOf(cfg))); }

ExperimentConfig WithTunedPretraining(const ExperimentConfig& cfg, const TuneRecord& record, const std::string& source) {
  if (!record.has_pretrain()) return cfg;
  const TuneRecord::TunedPretrain& t = record.pretrain();
  if (t.chosen() < 0 || t.chosen() >= t.trials_size() || t.trials(t.chosen()).values_size() != t.space_size())
    throw ConfigError(source + ": pretrain: chosen trial " + std::to_string(t.chosen()) + " is not one of its " +
                      std::to_string(t.trials_size()) + " trials with a value per parameter");
  for (const TuneParam& p : t.space())
    if (p.path().rfind("pretrain.", 0) != 0)
      throw ConfigError(source + ": pretrain: " + p.path() + ": expected a field of the pretraining (pretrain.…)");
  const auto& v = t.trials(t.chosen()).values();
  return WithValues(cfg, t.space(), {v.begin(), v.end()}, source);
}

namespace {

// A tuned value as a reader wants it: as written where six significant
// digits hold it, else three (an edge trial's 1e-4 / 3 shows as 3.33e-05).
std::string Shown(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  if (std::strtod(buf, nullptr) == v) return JsonNumber(v);
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// A trial's values, e.g. "optim.lr 3e-05, kl_coef 0.001". With `edge`, a
// value at an end of a grid of three or more is marked ("(lowest of 3)":
// the optimum may lie beyond the grid) and *edge set; where nothing lies
// beyond (a step would cross zero, as below a KL coefficient of 0), the
// mark says so ("(lowest of 3, none below)") and *edge is left. `root`: the
// message the paths start from (an arm, or the experiment).
std::string Values(const pb::Message& root, const TuneParams& space, const TuneRecord::Trial& t,
                   bool* edge = nullptr) {
  std::string s;
  for (int i = 0; i < space.size() && i < t.values_size(); ++i) {
    const TuneParam& p = space[i];
    const double v = t.values(i);
    s += (i ? ", " : "") + p.path().substr(p.path().find('.') + 1) + " " + Shown(v);
    if (!edge || p.values_size() < 3) continue;
    const auto [lo, hi] = std::minmax_element(p.values().begin(), p.values().end());
    if (v != *lo && v != *hi) continue;
    const bool beyond = BeyondEdge(p, v, FieldAt(root, p.path())).has_value();
    s += std::string(v == *lo ? " (lowest of " : " (highest of ") + std::to_string(p.values_size()) +
         (beyond ? ")" : v == *lo ? ", none below)" : ", none above)");
    *edge = *edge || beyond;
  }
  return s;
}

// Trial k of `arm` ("<arm>-t<k>") with `values` at the space's paths, at
// tune.budget_scale times its flop_budget and steps.
Arm TrialArm(const ExperimentConfig& cfg, const Arm& arm, const TuneParams& space, const pb::RepeatedField<double>& values,
             int k) {
  Arm x = WithValues(arm, space, {values.begin(), values.end()}, cfg.name() + " (r1lab tune)");
  x.set_name(arm.name() + "-t" + std::to_string(k));
  x.set_flop_budget(arm.flop_budget() * cfg.tune().budget_scale());
  ScaleArmSteps(&x, cfg.tune().budget_scale());
  return x;
}

}  // namespace

bool NextEdgeTrial(const ExperimentConfig& cfg, const Arm& arm, TuneRecord::TunedArm* t) {
  const std::string source = cfg.name() + " (r1lab tune)";
  const TuneSpace space = SpaceFor(cfg, arm, source);
  // The arm's grid in its drawn order: what edge trials fall back to.
  const std::vector<std::vector<double>> order = TrialPoints(
      arm, space.params(), std::numeric_limits<int>::max(), cfg.tune().seed(), cfg.tune().cover_values(), arm.name(), source);
  return ProposeEdgeTrial(arm, space.params(), cfg.tune().edge_rotate(), order, t, source);
}

std::vector<Arm> TrialArms(const ExperimentConfig& cfg, const Arm& arm, TuneRecord::TunedArm* record) {
  const TuneConfig& tc = cfg.tune();
  const std::string source = cfg.name() + " (r1lab tune)";
  const TuneSpace space = SpaceFor(cfg, arm, source);
  TuneRecord::TunedArm local;
  TuneRecord::TunedArm& t = record ? *record : local;
  *t.mutable_space() = space.params();
  std::vector<Arm> out;
  for (const std::vector<double>& point :
       TrialPoints(arm, space.params(), tc.trials(), tc.seed(), tc.cover_values(), arm.name(), source)) {
    TuneRecord::Trial* trial = t.add_trials();
    for (double v : point) trial->add_values(v);
    out.push_back(TrialArm(cfg, arm, space.params(), trial->values(), static_cast<int>(out.size())));
  }
  return out;
}

std::string TunedPath(const std::string& experiment_path, const std::string& size) {
  const std::string ext = ".pbtxt";
  const bool has_ext =
      experiment_path.size() > ext.size() && experiment_path.compare(experiment_path.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? experiment_path.substr(0, experiment_path.size() - ext.size()) : experiment_path) +
         (size.empty() ? "" : "." + size) + ".tuned.pbtxt";
}

std::string TunedPath(const std::string& experiment_path) { return TunedPath(experiment_path, ""); }

namespace {

// The trials as an experiment of their own ("<name>-tune", one seed and base
// seed, scored on validation), without arms yet.
ExperimentConfig TrialsExperiment(const ExperimentConfig& cfg, const std::string& source) {
  ExperimentConfig trials = cfg;
  trials.set_name(cfg.name() + "-tune");
  trials.clear_seeds();
  trials.add_seeds(cfg.seeds(0));
  trials.clear_base_seeds();
  if (cfg.base_seeds_size() > 0) trials.add_base_seeds(cfg.base_seeds(0));
  trials.clear_budgets();
  trials.clear_paired_reference();  // it names a configured arm; the trials are "<arm>-t<k>"
  trials.clear_tune();
  trials.clear_tuned();
  trials.clear_arms();
  trials.mutable_eval()->set_split(VALIDATION);
  const size_t validation = MakeTask(cfg.task())->ValidationSet().size();
  if (validation == 0) throw ConfigError(source + ": task.num_validation is 0; tuning needs a validation split");
  trials.mutable_eval()->set_num_problems(std::min(cfg.eval().num_problems(), static_cast<int>(validation)));
  return trials;
}

// tune.pretrain, each path checked to lie in the pretraining and hold a number.
const TuneParams& PretrainSpace(const ExperimentConfig& cfg, const std::string& source) {
  const std::string where = source + ": tune.pretrain";
  for (const TuneParam& p : cfg.tune().pretrain()) {
    if (p.path().rfind("pretrain.", 0) != 0)
      throw ConfigError(where + ": " + p.path() + ": expected a field of the pretraining (pretrain.…)");
    if (p.values_size() == 0) throw ConfigError(where + ": " + p.path() + ": no values to try");
    NumberAt(cfg, p.path(), where);
    CheckSpaceValues(cfg, p, where, "the experiment");
  }
  return cfg.tune().pretrain();
}

// The pretraining trials (tune.pretrain): each pretrains a base from the
// first base seed (cached with the other bases) and evaluates it on the
// validation problems in <name>-tune/pretrain/p<k>/; returns cfg with the
// chosen values (cfg itself when there is no pretraining space).
ExperimentConfig TunePretraining(const ExperimentConfig& cfg, const RunnerOptions& opt, TuneRecord* rec) {
  const std::string source = cfg.name() + " (r1lab tune)";
  const TuneParams& space = PretrainSpace(cfg, source);
  if (space.empty()) return cfg;
  const ExperimentConfig trials = TrialsExperiment(cfg, source);
  TuneRecord::TunedPretrain& t = *rec->mutable_pretrain();
  t.set_identity(TunedBaseIdentity(cfg));
  *t.mutable_space() = space;
  const std::string root = opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir;
  const std::string cache = opt.cache_dir.empty() ? root + "/.cache" : opt.cache_dir;
  const auto task = MakeTask(cfg.task());
  const BaseSlot slot = Bases(trials)[0];
  const auto points =
      TrialPoints(cfg, space, cfg.tune().trials(), cfg.tune().seed(), cfg.tune().cover_values(), "pretrain", source);
  const int rank = opt.dist ? opt.dist->rank() : 0, world = opt.dist ? opt.dist->world_size() : 1;
  if (rank == 0)
    std::fprintf(stderr, "tune: %zu pretraining trials, each base scored on the validation split\n", points.size());
  std::vector<ExperimentConfig> xs;  // every trial checked before the first pretrains
  for (size_t k = 0; k < points.size(); ++k) {
    xs.push_back(ForBase(WithValues(trials, space, points[k], source), slot));
    ValidateConfig(xs.back(), source + ", pretraining trial p" + std::to_string(k));
  }
  // With several ranks each pretrains and evaluates its share of the trials
  // (trial k on rank k mod world); then every rank reads them all back.
  auto evaluate = [&](size_t k, bool elsewhere) {
    const std::string name = "p" + std::to_string(k), bdir = root + "/" + trials.name() + "/pretrain/" + name;
    const std::string base = elsewhere ? BaseMadeElsewhere(xs[k], cache) : EnsureBase(xs[k], *task, cache);
    if (elsewhere)
      for (const char* f : {"/eval.json", "/done.json"}) WaitForFile(bdir + f, "another rank's pretraining trial");
    return EvaluateBase(xs[k], *task, base, HexHash(Fnv64(ReadFile(base))), bdir, "pretraining trial " + name);
  };
  if (world > 1) {
    for (size_t k = static_cast<size_t>(rank); k < points.size(); k += static_cast<size_t>(world)) evaluate(k, false);
    opt.dist->RoundBarrier();
  }
  for (size_t k = 0; k < points.size(); ++k) {
    const BaseEvaluation e = evaluate(k, world > 1 && static_cast<int>(k % static_cast<size_t>(world)) != rank);
    TuneRecord::Trial* trial = t.add_trials();
    for (double v : points[k]) trial->add_values(v);
    trial->set_validation_pass1(e.eval.pass1());
    trial->set_flops(e.done.flops());
    if (trial->validation_pass1() > t.trials(t.chosen()).validation_pass1())  // ties: the earlier trial
      t.set_chosen(static_cast<int>(k));
  }
  return WithTunedPretraining(cfg, *rec, source);
}

}  // namespace

bool TuningIsCurrent(const ExperimentConfig& configured, const TuneRecord& record) {
  const std::string source = configured.name() + " (r1lab tune)";
  const TuneParams& pretrain = PretrainSpace(configured, source);
  if (pretrain.empty() == record.has_pretrain()) return false;
  if (!pretrain.empty()) {
    const TuneRecord::TunedPretrain& t = record.pretrain();
    const auto points =
        TrialPoints(configured, pretrain, configured.tune().trials(), configured.tune().seed(),
                    configured.tune().cover_values(), "pretrain", source);
    if (t.identity() != TunedBaseIdentity(configured) || t.space_size() != pretrain.size() ||
        t.trials_size() != static_cast<int>(points.size()) || t.chosen() < 0 || t.chosen() >= t.trials_size())
      return false;
    for (int k = 0; k < t.space_size(); ++k)
      if (t.space(k).SerializeAsString() != pretrain[k].SerializeAsString()) return false;
    for (int k = 0; k < t.trials_size(); ++k)
      if (!std::equal(t.trials(k).values().begin(), t.trials(k).values().end(), points[k].begin(), points[k].end()))
        return false;
  }
  const ExperimentConfig cfg = WithTunedPretraining(configured, record, source);
  const ExperimentConfig trials = TrialsExperiment(cfg, source);
  if (record.experiment() != cfg.name() || record.budget_scale() != cfg.tune().budget_scale() ||
      record.edge_trials() != cfg.tune().edge_trials() || record.cover_values() != cfg.tune().cover_values() ||
      record.seeds_size() != 1 || record.seeds(0) != cfg.seeds(0) ||
      record.base_seed() != Bases(trials)[0].init_seed ||
      record.validation_problems() != trials.eval().num_problems() || record.arms_size() != cfg.arms_size())
    return false;
  for (int i = 0; i < cfg.arms_size(); ++i) {
    const Arm& arm = cfg.arms(i);
    const TuneRecord::TunedArm& t = record.arms(i);
    TuneRecord::TunedArm fresh;  // the space and grid points a tuning now would try
    TrialArms(cfg, arm, &fresh);
    const int grid = fresh.trials_size();
    if (t.arm() != arm.name() || t.identity() != TunedArmIdentity(cfg, arm) ||
        t.trial_flop_budget() != arm.flop_budget() * cfg.tune().budget_scale() ||
        t.space_size() != fresh.space_size() || t.trials_size() < grid ||
        t.trials_size() > grid + cfg.tune().edge_trials() || t.chosen() < 0 || t.chosen() >= t.trials_size())
      return false;
    // Trial k as recorded has fresh's values; fresh takes its score.
    auto same = [&](int k) {
      const auto &a = t.trials(k).values(), &b = fresh.trials(k).values();
      if (!std::equal(a.begin(), a.end(), b.begin(), b.end())) return false;
      *fresh.mutable_trials(k) = t.trials(k);
      return true;
    };
    for (int k = 0; k < grid; ++k)
      if (!same(k)) return false;
    // The edge trials, replayed from the scores: the same proposals, and no
    // more left to make where fewer than edge_trials were run.
    for (int k = grid; k < grid + cfg.tune().edge_trials(); ++k) {
      if (!NextEdgeTrial(cfg, arm, &fresh)) break;
      if (k >= t.trials_size() || !same(k)) return false;
    }
    if (fresh.trials_size() != t.trials_size()) return false;
    for (int k = 0; k < t.space_size(); ++k)
      if (t.space(k).SerializeAsString() != fresh.space(k).SerializeAsString()) return false;
  }
  return true;
}

void RunChosenTrials(const ExperimentConfig& configured, const RunnerOptions& opt, const TuneRecord& record,
                     const std::set<std::string>& arms) {
  const std::string source = configured.name() + " (r1lab tune)";
  const ExperimentConfig cfg = WithTunedPretraining(configured, record, source);
  ExperimentConfig trials = TrialsExperiment(cfg, source);
  for (int i = 0; i < cfg.arms_size(); ++i) {
    const Arm& arm = cfg.arms(i);
    if (!arms.count(arm.name())) continue;
    if (!ArmDependencies(arm).empty())
      throw ConfigError(source + ": arm '" + arm.name() + "' is distilled by another size and starts from another "
                        "arm; its chosen trial cannot be run alone (tune the sweep with --again)");
    const TuneRecord::TunedArm& t = record.arms(i);
    Arm x = TrialArm(cfg, arm, t.space(), t.trials(t.chosen()).values(), t.chosen());
    if (x.has_rft()) x.mutable_rft()->clear_teacher_size();
    *trials.add_arms() = x;
  }
  if (trials.arms_size() == 0) return;
  ValidateConfig(trials, source + ", its chosen trials");
  std::fprintf(stderr, "tune: %s's tuning is current; running the %d chosen trial(s) other sizes distil from\n",
               cfg.name().c_str(), trials.arms_size());
  RunExperiment(trials, opt);
}

TuneRecord Tune(const ExperimentConfig& configured, const RunnerOptions& opt,
                const std::map<std::string, TuneRecord>& sizes_tuned) {
  const TuneConfig& tc = configured.tune();
  const std::string source = configured.name() + " (r1lab tune)";
  for (const TuneSpace& s : tc.spaces()) {
    bool found = false;
    for (const Arm& a : configured.arms()) found = found || a.name() == s.arm();
    if (!found) throw ConfigError(source + ": tune.spaces: no arm named '" + s.arm() + "'");
  }
  for (const Arm& arm : configured.arms()) TrialArms(configured, arm);  // every space checked before any run
  TuneRecord rec;
  // The pretraining first: the arms are tuned from the chosen base.
  const ExperimentConfig cfg = TunePretraining(configured, opt, &rec);
  ExperimentConfig trials = TrialsExperiment(cfg, source);
  rec.set_experiment(cfg.name());
  rec.set_budget_scale(tc.budget_scale());
  if (tc.edge_trials() > 0) rec.set_edge_trials(tc.edge_trials());
  if (tc.cover_values()) rec.set_cover_values(true);
  rec.add_seeds(cfg.seeds(0));
  rec.set_base_seed(Bases(trials)[0].init_seed);
  rec.set_validation_problems(trials.eval().num_problems());
  rec.set_commit(GitCommit());
  // Pipeline stages (init_from, rft.teacher_arm) are tuned after the arms
  // they start from, from their chosen trials: one round per depth of the chain.
  std::map<std::string, int> depth, index;
  int rounds = 0;
  for (int i = 0; i < cfg.arms_size(); ++i) {
    const Arm& a = cfg.arms(i);
    int d = 0;  // validated: dependencies are earlier arms
    for (const auto& dep : ArmDependencies(a)) d = std::max(d, depth.at(dep.second) + 1);
    depth[a.name()] = d;
    index[a.name()] = i;
    rounds = std::max(rounds, d + 1);
  }
  auto chosen_trial = [&](const std::string& arm) {
    const TuneRecord::TunedArm& t = rec.arms(index.at(arm));
    return t.arm() + "-t" + std::to_string(t.chosen());
  };
  std::vector<std::vector<int>> trial_arm(static_cast<size_t>(cfg.arms_size()));  // indices into trials.arms
  for (const Arm& arm : cfg.arms()) {
    TuneRecord::TunedArm* t = rec.add_arms();
    t->set_arm(arm.name());
    t->set_identity(TunedArmIdentity(cfg, arm));
    t->set_trial_flop_budget(arm.flop_budget() * tc.budget_scale());
  }
  const std::string dir = (opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir) + "/" + trials.name();
  // Trial x of arm i joins the trials experiment, its pipeline stages
  // renamed to the chosen trials they start from.
  auto add_trial = [&](int i, Arm x) {
    const Arm& arm = cfg.arms(i);
    if (CrossSizeTeacher(x, cfg.name())) {  // the teacher size's chosen trial, in its tuning folder
      RftConfig& r = *x.mutable_rft();
      const auto size = sizes_tuned.find(r.teacher_size());
      if (size == sizes_tuned.end())
        throw ConfigError(source + ": arm '" + arm.name() + "': rft.teacher_size '" + r.teacher_size() +
                          "' has not been tuned before this size");
      std::string teacher;
      for (const TuneRecord::TunedArm& ta : size->second.arms())
        if (ta.arm() == r.teacher_arm()) teacher = ta.arm() + "-t" + std::to_string(ta.chosen());
      if (teacher.empty())
        throw ConfigError(source + ": arm '" + arm.name() + "': size '" + r.teacher_size() + "' tuned no arm '" +
                          r.teacher_arm() + "'");
      RenameDependencies(&x, chosen_trial);
      r.set_teacher_arm(teacher);  // not this size's trial of that arm
      r.set_teacher_size(r.teacher_size() + "-tune");
    } else {
      if (x.has_rft()) x.mutable_rft()->clear_teacher_size();  // this size's own trials
      RenameDependencies(&x, chosen_trial);
    }
    trial_arm[static_cast<size_t>(i)].push_back(trials.arms_size());
    *trials.add_arms() = x;
  };
  // Runs the trials (the finished ones are skipped) and scores those of this round's arms.
  auto run_and_score = [&](int round, const std::string& what) {
    ValidateConfig(trials, source + ", its trials");
    if (!opt.dist || opt.dist->rank() == 0)
      std::fprintf(stderr, "tune: %d trial runs for %d arms%s, scored on the validation split%s\n", trials.arms_size(),
                   cfg.arms_size(), what.c_str(), rounds > 1 ? (", stage " + std::to_string(round + 1) + " of " +
                                                                 std::to_string(rounds)).c_str() : "");
    RunExperiment(trials, opt);
    const ReportInput in = ReadReportInput(trials, dir);
    for (int i = 0; i < cfg.arms_size(); ++i) {
      if (depth.at(cfg.arms(i).name()) != round) continue;
      TuneRecord::TunedArm& t = *rec.mutable_arms(i);
      for (int k = 0; k < t.trials_size(); ++k) {
        const auto& runs = in.arms[static_cast<size_t>(trial_arm[static_cast<size_t>(i)][static_cast<size_t>(k)])].runs;
        TuneRecord::Trial* trial = t.mutable_trials(k);
        trial->set_validation_pass1(OverRuns(runs, [](const RunRecords& r) { return r.final.pass1(); }).mean);
        trial->set_flops(OverRuns(runs, [](const RunRecords& r) { return r.done.flops(); }).mean);
      }
      t.set_chosen(BestTrial(t));
    }
  };
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < cfg.arms_size(); ++i)
      if (depth.at(cfg.arms(i).name()) == round)
        for (Arm x : TrialArms(cfg, cfg.arms(i), rec.mutable_arms(i))) add_trial(i, x);
    run_and_score(round, "");
    // tune.edge_trials, one trial per arm at a time, each from the scores so far.
    for (int e = 0; e < tc.edge_trials(); ++e) {
      bool any = false;
      for (int i = 0; i < cfg.arms_size(); ++i) {
        const Arm& arm = cfg.arms(i);
        TuneRecord::TunedArm& t = *rec.mutable_arms(i);
        if (depth.at(arm.name()) != round || !NextEdgeTrial(cfg, arm, &t)) continue;
        add_trial(i, TrialArm(cfg, arm, t.space(), t.trials(t.trials_size() - 1).values(), t.trials_size() - 1));
        any = true;
      }
      if (!any) break;
      run_and_score(round, ", edge trial " + std::to_string(e + 1) + " of " + std::to_string(tc.edge_trials()));
    }
  }
  return rec;
}

namespace {

// A tuning record's numbers as r1lab tune writes them: finite values, a
// positive budget scale, a validation count, scores within [0, 1]; one
// record per arm. ConfigError naming the file and the member otherwise.
void CheckTuneRecord(const TuneRecord& record, const std::string& source) {
  auto fail = [&](const std::string& what, const std::string& expected) {
    throw ConfigError(source + ": " + what + "; expected " + expected +
                      " (the record r1lab tune writes: rerun r1lab tune, or run with --untuned)");
  };
  if (record.has_budget_scale() && !(std::isfinite(record.budget_scale()) && record.budget_scale() > 0))
    fail("budget_scale: " + PrintedNumber(record.budget_scale()), "a positive number");
  if (record.has_validation_problems() && record.validation_problems() < 1)
    fail("validation_problems: " + std::to_string(record.validation_problems()), "at least 1");
  auto trials = [&](const std::string& where, const auto& space, const auto& list) {
    for (int i = 0; i < space.size(); ++i)
      for (double v : space.Get(i).values())
        if (!std::isfinite(v)) fail(where + ": space " + space.Get(i).path() + " lists " + PrintedNumber(v), "finite values");
    for (int k = 0; k < list.size(); ++k) {
      const TuneRecord::Trial& t = list.Get(k);
      for (double v : t.values())
        if (!std::isfinite(v)) fail(where + ": trial " + std::to_string(k) + " holds " + PrintedNumber(v), "finite values");
      if (t.has_validation_pass1() && !(t.validation_pass1() >= 0 && t.validation_pass1() <= 1))
        fail(where + ": trial " + std::to_string(k) + "'s validation_pass1 " + PrintedNumber(t.validation_pass1()),
             "a share within [0, 1]");
    }
  };
  std::set<std::string> arms;
  for (const TuneRecord::TunedArm& t : record.arms()) {
    if (!arms.insert(t.arm()).second) fail("arm '" + t.arm() + "' has two records", "one record per arm");
    trials("arm '" + t.arm() + "'", t.space(), t.trials());
  }
  if (record.has_pretrain()) trials("pretrain", record.pretrain().space(), record.pretrain().trials());
}

}  // namespace

void ApplyTuning(const TuneRecord& record, const std::string& source, ExperimentConfig* cfg,
                 const ExperimentConfig* as_tuned) {
  CheckTuneRecord(record, source);
  ExperimentConfig pretrained;  // as_tuned with the chosen pretraining, which the arms were tuned from
  if (record.has_pretrain()) {
    if (TunedBaseIdentity(as_tuned ? *as_tuned : *cfg) != record.pretrain().identity())
      throw ConfigError(source + ": the pretraining was tuned for another config (its task, model or pretraining "
                        "changed since); rerun r1lab tune, or run with --untuned");
    if (as_tuned) {
      pretrained = WithTunedPretraining(*as_tuned, record, source);
      as_tuned = &pretrained;
    }
    *cfg = WithTunedPretraining(*cfg, record, source);
  }
  for (const TuneRecord::TunedArm& t : record.arms()) {
    Arm* arm = nullptr;
    for (Arm& a : *cfg->mutable_arms())
      if (a.name() == t.arm()) arm = &a;
    if (!arm)
      throw ConfigError(source + ": tuned arm '" + t.arm() + "' is not in the experiment; rerun r1lab tune, or run "
                        "with --untuned");
    const ExperimentConfig& id_cfg = as_tuned ? *as_tuned : *cfg;
    const Arm* id_arm = arm;
    if (as_tuned)
      for (const Arm& a : as_tuned->arms())
        if (a.name() == t.arm()) id_arm = &a;
    if (TunedArmIdentity(id_cfg, *id_arm) != t.identity())
      throw ConfigError(source + ": arm '" + t.arm() + "' was tuned as another config (its task, model, pretraining "
                        "or arm settings changed since); rerun r1lab tune, or run with --untuned");
    for (int k = 0; k < t.trials_size(); ++k)
      if (t.trials(k).values_size() != t.space_size())
        throw ConfigError(source + ": arm '" + t.arm() + "': trial " + std::to_string(k) + " has " +
                          std::to_string(t.trials(k).values_size()) + " values; expected one per parameter (" +
                          std::to_string(t.space_size()) + ")");
    if (t.chosen() < 0 || t.chosen() >= t.trials_size())
      throw ConfigError(source + ": arm '" + t.arm() + "': chosen trial " + std::to_string(t.chosen()) +
                        " is not one of its " + std::to_string(t.trials_size()) + " trials");
    const auto& v = t.trials(t.chosen()).values();
    for (int i = 0; i < t.space_size(); ++i) {  // trial 0 is the arm as configured, which may lie off the grid
      const auto& grid = t.space(i).values();
      if (std::find(grid.begin(), grid.end(), v[i]) == grid.end() && v[i] != t.trials(0).values(i))
        throw ConfigError(source + ": arm '" + t.arm() + "': the chosen trial's " + t.space(i).path() + " " +
                          JsonNumber(v[i]) + " is neither a value its space lists nor the arm's as configured");
    }
    *arm = WithValues(*arm, t.space(), {v.begin(), v.end()}, source);
  }
  *cfg->mutable_tuned() = record;
}

std::string TuningSection(const ExperimentConfig& cfg) {
  if (cfg.tuned().arms_size() == 0) return "";
  const TuneRecord& rec = cfg.tuned();
  std::ostringstream md;
  md << "\n## Tuning (r1lab tune, validation split)\n\n| arm | trials | FLOPs per trial | tuning FLOPs | chosen | "
        "validation pass@1: as configured → chosen |\n|---|---|---|---|---|---|\n";
  bool edge = false;  // a chosen value at an end of its grid
  for (const Arm& arm : cfg.arms()) {
    const TuneRecord::TunedArm* t = nullptr;
    for (const TuneRecord::TunedArm& a : rec.arms())
      if (a.arm() == arm.name()) t = &a;
    if (!t) {
      md << "| " << arm.name() << " | not tuned | - | - | as configured | - |\n";
      continue;
    }
    double total = 0;
    for (const TuneRecord::Trial& trial : t->trials()) total += trial.flops();
    char buf[96];
    if (t->trial_flop_budget() > 0) std::snprintf(buf, sizeof buf, "%.3g | %.3g", t->trial_flop_budget(), total);
    else std::snprintf(buf, sizeof buf, "no budget: steps x %g | %.3g", rec.budget_scale(), total);
    md << "| " << arm.name() << " | " << t->trials_size() << " | " << buf << " | "
       << (t->chosen() == 0 ? "as configured (" + Values(arm, t->space(), t->trials(0), &edge) + ")"
                            : Values(arm, t->space(), t->trials(t->chosen()), &edge))
       << " | "
       << Fmt(MeanWithCi({t->trials(0).validation_pass1()}), 100, 1) << "% → "
       << Fmt(MeanWithCi({t->trials(t->chosen()).validation_pass1()}), 100, 1) << "% |\n";
  }
  if (rec.pretrain().trials_size() > 0) {  // (resolved configs written before 2026-12-04 hold an empty one)
    const TuneRecord::TunedPretrain& p = rec.pretrain();
    md << "\nThe pretraining, tuned first (the arms were tuned, and run, from the chosen base):\n\n| pretraining trial "
          "| values | base's validation pass@1 | pretraining FLOPs |\n|---|---|---|---|\n";
    for (int k = 0; k < p.trials_size(); ++k) {
      char flops[32];
      std::snprintf(flops, sizeof flops, "%.3g", p.trials(k).flops());
      md << "| p" << k << (k == 0 ? ", as configured" : "") << (k == p.chosen() ? ", chosen" : "") << " | "
         << Values(cfg, p.space(), p.trials(k), k == p.chosen() ? &edge : nullptr) << " | "
         << Fmt(MeanWithCi({p.trials(k).validation_pass1()}), 100, 1) << "% | " << flops << " |\n";
    }
  }
  md << "\nEach arm's trials: the arm as configured, then distinct points of its search space (the experiment's "
        "tune.spaces, else its strategy's)";
  if (rec.cover_values()) md << ", drawn so that every value of each parameter was tried (tune.cover_values)";
  if (rec.edge_trials() > 0)
    md << ", then " << rec.edge_trials() << " more one at a time past the grid's end where the best trial so far "
          "lay at one (tune.edge_trials; the grid shown includes the values they reached)";
  md << ", each run at "
     << JsonNumber(rec.budget_scale()) << "x its flop_budget and steps from base seed " << rec.base_seed()
     << " with RL seed " << (rec.seeds_size() > 0 ? std::to_string(rec.seeds(0)) : "-")
     << ", scored by pass@1 on the first " << rec.validation_problems()
     << " validation problems (ties: the earlier trial). The test split was not read. Tuning FLOPs are not in "
        "the arms' budgets.";
  if (edge)
    md << " A chosen value marked lowest or highest of its grid may be short of the arm's best: the optimum can "
          "lie beyond the values tried.";
  md << "\n";
  return md.str();
}

}  // namespace r1lab
