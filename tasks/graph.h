// Shortest path in a small connected weighted undirected graph written in the
// prompt: "AB3 AC7 BC2 CD1 A to D" (edge AB of weight 3, ...). Ground truth
// from Boost.Graph's Dijkstra. Level: the number of nodes.
//
// GraphCheck PATH: the answer is a node sequence ("ABCD", "A-B-C-D"); it
// must start and end right, follow edges, and have the optimal length (any
// optimal path counts; from a node to itself, the node alone). LENGTH: the
// answer is the distance. Drawn graphs are connected; in a prompt from
// elsewhere whose target cannot be reached, no answer is right.
//
// Teacher: Dijkstra's settled nodes in order, "C=5 via B", up to the target,
// then the answer; a wrong distance with step_error_rate, fixed by a "wait"
// line with reflection_rate; an unfixed error on the target's line gives a
// wrong answer (a longer path, or the wrong length).
#pragma once

#include <string>
#include <vector>

#include "task.h"

namespace r1lab {

struct GraphEdge {
  int u = 0, v = 0, w = 0;
};

struct GraphProblem {
  int nodes = 0;
  std::vector<GraphEdge> edges;
  int source = 0, target = 0;
};

// Parses a key such as "AB3,AC7,BC2,CD1;A-D". InputError if malformed.
GraphProblem ParseGraphKey(const std::string& key);

// The key of a prompt such as "AB3 AC7 BC2 CD1 A to D". InputError if malformed.
std::string GraphKeyFromPrompt(const std::string& prompt);

// Dijkstra (Boost.Graph): distances and predecessors from `source`; a node
// that cannot be reached has distance INT_MAX and is its own predecessor.
struct ShortestPaths {
  std::vector<int> dist, pred;
};
ShortestPaths Dijkstra(const GraphProblem& g);

// The length of `path` (node indices) if it is a valid walk along edges, else -1.
int PathLength(const GraphProblem& g, const std::vector<int>& path);

// A completion's tagged answer judged by GraphTask::JudgeAnswer.
Verdict VerifyGraph(const std::string& completion, const std::string& key, GraphCheck check);

class GraphTask : public DrawnTask {
 public:
  explicit GraphTask(const TaskConfig& cfg);
  std::string name() const override { return "graph"; }
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;
  // "B=5 via A" or "wait B=5 via A".
  std::optional<bool> LineInTeacherForm(const std::string& line) const override;

  // Judges an answer text for the problem with this key.
  static Verdict JudgeAnswer(const std::string& answer, const std::string& key, GraphCheck check);

 protected:
  Problem Draw(Rng& rng) const override;

 private:
  GraphConfig cfg_;
};

}  // namespace r1lab
