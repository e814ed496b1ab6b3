// Notes: a task with no answer to check, only preferences (R1's
// non-verifiable prompts, stage 4). The prompt asks for a short or long note
// to someone about a topic; a hidden rubric of five criteria judges the
// note, and no rule reward may see it: an RL arm learns it only through a
// reward model trained on pairs the rubric labelled (prm_rl with
// reward_model.kind PREFERENCE). The rubric is also the truth the metrics
// report (like the verifier's verdict for a learned reward on arith).
//
// Prompt: "note for ana about nice cats (short)"; Spanish (spanish_rate)
// "es:nota para ana sobre gatos bonitos (corta)". The teacher's note:
//   short  "hi ana, cats are nice. bye"
//   long   "hi ana, i think cats are nice and i like cats a lot. bye"
//   es     "hola ana, gatos son bonitos. adios" / "hola ana, creo que gatos
//          son bonitos y me gustan mucho gatos. adios"
// after one chain-of-thought line restating the request.
//
// The rubric (NoteRubric), each criterion worth a fifth:
//   greeting  the note opens with "hi <name>" or "hola <name>"
//   content   it names the topic and the adjective (either language)
//   language  every word but names is a note word of the prompt's language
//   length    short: at most 7 words; long: at least 10
//   closing   the last word is "bye" or "adios"
// Verify: correct iff all five hold. The teacher breaks each criterion
// independently with probability teacher.step_error_rate (a wrong name or
// no greeting; another topic or adjective; the adjective in the other
// language; the other length; no closing), so the base leaves room to learn.
#pragma once

#include <string>

#include "task.h"

namespace r1lab {

struct NoteRubric {
  bool greeting = false, content = false, language = false, length = false, closing = false;
  int met() const { return greeting + content + language + length + closing; }
};

// The rubric on a note (the <answer> text) for the problem with this key.
// InputError for a key that is not a note key.
NoteRubric JudgeNote(const std::string& note, const std::string& key);

class NoteTask : public DrawnTask {
 public:
  explicit NoteTask(const TaskConfig& cfg);
  std::string name() const override { return "note"; }
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;
  // The share of the rubric's criteria met; 0 without a tagged answer.
  double Quality(const std::string& completion, const Problem& p) const override;
  bool Verifiable(const Problem&) const override { return false; }

 protected:
  Problem Draw(Rng& rng) const override;

 private:
  NoteConfig cfg_;
};

}  // namespace r1lab
