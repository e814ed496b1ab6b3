// Best-of-N selection among sampled candidates: by a score (a PRM's
// aggregated step scores, or an ORM's), by majority vote over answers, or by
// score-weighted vote; and accuracy against N from the first N candidates.
#pragma once

#include <string>
#include <vector>

namespace r1lab {

struct Candidate {
  std::string answer;  // vote key ("" = no answer; never wins a vote)
  bool correct = false;
  double score = 0;    // higher is better
};

enum class Selection { kScore, kMajority, kWeightedMajority };
const char* SelectionName(Selection s);

// Index of the chosen candidate among the first n (n <= size). Ties go to
// the earliest candidate (score) or the earliest-seen answer (votes). A vote
// among candidates that all lack an answer picks the first.
int Select(const std::vector<Candidate>& candidates, int n, Selection how);

// Share of problems whose chosen candidate (among the first n) is correct.
double SelectionAccuracy(const std::vector<std::vector<Candidate>>& problems, int n, Selection how);

}  // namespace r1lab
