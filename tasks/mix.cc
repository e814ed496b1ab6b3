#include "mix.h"

#include <numeric>

#include "error.h"

namespace r1lab {

namespace {

// The parts' problems interleaved by weight: each next problem comes from
// the part furthest behind its share (ties: the earlier part), until every
// part's list is used up.
std::vector<Problem> Interleave(const std::vector<std::vector<Problem>>& lists, const std::vector<double>& weights) {
  std::vector<size_t> taken(lists.size(), 0);
  std::vector<Problem> out;
  for (;;) {
    size_t best = lists.size();
    for (size_t i = 0; i < lists.size(); ++i) {
      if (taken[i] >= lists[i].size()) continue;
      if (best == lists.size() ||
          static_cast<double>(taken[i]) / weights[i] < static_cast<double>(taken[best]) / weights[best])
        best = i;
    }
    if (best == lists.size()) return out;
    out.push_back(lists[best][taken[best]++]);
  }
}

}  // namespace

MixTask::MixTask(const TaskConfig& cfg) {
  const MixConfig& m = cfg.mix();
  if (m.parts_size() == 0) throw ConfigError("task.mix.parts: empty; a mix needs at least one part");
  std::vector<std::vector<Problem>> tests, validations;
  for (int i = 0; i < m.parts_size(); ++i) {
    const std::string where = "task.mix.parts[" + std::to_string(i) + "]";
    if (m.parts(i).task().has_mix()) throw ConfigError(where + ".task: a mix inside a mix; list its parts instead");
    if (m.parts(i).weight() <= 0) throw ConfigError(where + ".weight: must be positive");
    parts_.push_back(MakeTask(m.parts(i).task()));
    weights_.push_back(m.parts(i).weight());
    tests.emplace_back();
    validations.emplace_back();
    for (const Problem& p : parts_.back()->TestSet()) tests.back().push_back(Tagged(p, static_cast<size_t>(i)));
    for (const Problem& p : parts_.back()->ValidationSet())
      validations.back().push_back(Tagged(p, static_cast<size_t>(i)));
  }
  test_ = Interleave(tests, weights_);
  validation_ = Interleave(validations, weights_);
}

std::string MixTask::name() const {
  std::string n = "mix(";
  for (size_t i = 0; i < parts_.size(); ++i) n += (i ? "," : "") + parts_[i]->name();
  return n + ")";
}

Problem MixTask::Tagged(Problem p, size_t part) const {
  p.key = std::to_string(part) + "|" + p.key;
  p.level = static_cast<int>(part) + 1;
  return p;
}

const Task& MixTask::PartFor(const Problem& p) const {
  Problem inner;
  return PartOf(p, &inner).PartFor(inner);
}

const Task& MixTask::PartOf(const Problem& p, Problem* inner) const {
  const size_t bar = p.key.find('|');
  size_t part = parts_.size();
  if (bar != std::string::npos && bar > 0 && bar <= 9 && p.key.find_first_not_of("0123456789") == bar)
    part = std::stoul(p.key.substr(0, bar));
  if (part >= parts_.size()) throw InputError("mix: '" + p.key + "' is not a key of this mix (expected PART|KEY)");
  *inner = p;
  inner->key = p.key.substr(bar + 1);
  return *parts_[part];
}

Problem MixTask::SampleTrain(Rng& rng) const {
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  double u = rng.Uniform() * total;
  size_t part = 0;
  while (part + 1 < parts_.size() && u >= weights_[part]) u -= weights_[part++];
  return Tagged(parts_[part]->SampleTrain(rng), part);
}

Trace MixTask::Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const {
  Problem inner;
  const Task& t = PartOf(p, &inner);
  return t.Teach(inner, teacher, rng);
}

Verdict MixTask::Verify(const std::string& completion, const Problem& p) const {
  Problem inner;
  const Task& t = PartOf(p, &inner);
  return t.Verify(completion, inner);
}

double MixTask::Quality(const std::string& completion, const Problem& p) const {
  Problem inner;
  const Task& t = PartOf(p, &inner);
  return t.Quality(completion, inner);
}

bool MixTask::Verifiable(const Problem& p) const {
  Problem inner;
  const Task& t = PartOf(p, &inner);
  return t.Verifiable(inner);
}

}  // namespace r1lab
