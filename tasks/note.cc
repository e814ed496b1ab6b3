#include "note.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "error.h"

namespace r1lab {

namespace {

// Parallel word lists: entry i of an English list is entry i of the Spanish.
const std::vector<std::string> kTopicsEn = {"cats", "dogs", "birds", "fish", "trees",
                                            "books", "songs", "games", "bikes", "boats"};
const std::vector<std::string> kTopicsEs = {"gatos", "perros", "pajaros", "peces", "arboles",
                                            "libros", "canciones", "juegos", "bicis", "barcos"};
const std::vector<std::string> kAdjEn = {"nice", "fun", "good", "great", "cool"};
const std::vector<std::string> kAdjEs = {"bonitos", "divertidos", "buenos", "geniales", "guays"};
const std::vector<std::string> kNames = {"ana", "bob", "eva", "leo", "mia", "sam",
                                         "tom", "zoe", "max", "ivy", "noa", "teo"};
// The notes' own words (besides topics and adjectives), per language.
const std::vector<std::string> kGlueEn = {"hi", "i", "think", "are", "and", "like", "a", "lot", "bye"};
const std::vector<std::string> kGlueEs = {"hola", "creo", "que", "son", "y", "me", "gustan", "mucho", "adios"};
constexpr int kShortMax = 7, kLongMin = 10;

bool In(const std::vector<std::string>& v, const std::string& w) { return std::find(v.begin(), v.end(), w) != v.end(); }

size_t IndexOf(const std::vector<std::string>& v, const std::string& w, const std::string& key) {
  const auto it = std::find(v.begin(), v.end(), w);
  if (it == v.end()) throw InputError("note: '" + key + "' is not a note key (unknown word '" + w + "')");
  return static_cast<size_t>(it - v.begin());
}

struct NoteKey {
  bool es = false, is_long = false;
  std::string name;
  size_t topic = 0, adj = 0;
};

// "es ana cats nice short": language, name, topic and adjective (English
// forms), length.
NoteKey ParseKey(const std::string& key) {
  std::istringstream in(key);
  std::string lang, name, topic, adj, length, extra;
  if (!(in >> lang >> name >> topic >> adj >> length) || (in >> extra) || (lang != "en" && lang != "es") ||
      (length != "short" && length != "long"))
    throw InputError("note: '" + key + "' is not a note key (expected 'en|es NAME TOPIC ADJECTIVE short|long')");
  NoteKey k;
  k.es = lang == "es";
  k.is_long = length == "long";
  k.name = kNames[IndexOf(kNames, name, key)];
  k.topic = IndexOf(kTopicsEn, topic, key);
  k.adj = IndexOf(kAdjEn, adj, key);
  return k;
}

// Lower-case letter runs: the note's words, punctuation dropped.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

// The note in the given language and length, about topic/adj.
std::string WriteNote(bool es, bool is_long, const std::string& greet_name, const std::string& topic,
                      const std::string& adj, bool greeting, bool closing) {
  std::string body;
  if (es) body = is_long ? "creo que " + topic + " son " + adj + " y me gustan mucho " + topic : topic + " son " + adj;
  else body = is_long ? "i think " + topic + " are " + adj + " and i like " + topic + " a lot" : topic + " are " + adj;
  std::string note = greeting ? std::string(es ? "hola " : "hi ") + greet_name + ", " + body : body;
  note += ".";
  if (closing) note += es ? " adios" : " bye";
  return note;
}

}  // namespace

NoteRubric JudgeNote(const std::string& note, const std::string& key) {
  const NoteKey k = ParseKey(key);
  const std::vector<std::string> w = Words(note);
  NoteRubric r;
  if (w.empty()) return r;
  r.greeting = w.size() >= 2 && (w[0] == "hi" || w[0] == "hola") && w[1] == k.name;
  const bool topic = In(w, kTopicsEn[k.topic]) || In(w, kTopicsEs[k.topic]);
  r.content = topic && (In(w, kAdjEn[k.adj]) || In(w, kAdjEs[k.adj]));
  r.language = true;
  for (const std::string& x : w) {
    if (In(kNames, x)) continue;  // names belong to no language
    const bool ours = k.es ? In(kGlueEs, x) || In(kTopicsEs, x) || In(kAdjEs, x)
                           : In(kGlueEn, x) || In(kTopicsEn, x) || In(kAdjEn, x);
    r.language = r.language && ours;
  }
  const int n = static_cast<int>(w.size());
  r.length = k.is_long ? n >= kLongMin : n <= kShortMax;
  r.closing = w.back() == "bye" || w.back() == "adios";
  return r;
}

NoteTask::NoteTask(const TaskConfig& cfg) : cfg_(cfg.note()) { BuildSplit(cfg); }

Problem NoteTask::Draw(Rng& rng) const {
  const bool es = rng.Bernoulli(cfg_.spanish_rate());
  const std::string& name = kNames[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(kNames.size()) - 1))];
  const size_t topic = static_cast<size_t>(rng.Int(0, static_cast<int64_t>(kTopicsEn.size()) - 1));
  const size_t adj = static_cast<size_t>(rng.Int(0, static_cast<int64_t>(kAdjEn.size()) - 1));
  const bool is_long = rng.Bernoulli(0.5);
  Problem p;
  p.key = std::string(es ? "es " : "en ") + name + " " + kTopicsEn[topic] + " " + kAdjEn[adj] +
          (is_long ? " long" : " short");
  p.prompt = es ? "es:nota para " + name + " sobre " + kTopicsEs[topic] + " " + kAdjEs[adj] +
                      (is_long ? " (larga)" : " (corta)")
                : "note for " + name + " about " + kAdjEn[adj] + " " + kTopicsEn[topic] +
                      (is_long ? " (long)" : " (short)");
  p.gold = WriteNote(es, is_long, name, es ? kTopicsEs[topic] : kTopicsEn[topic], es ? kAdjEs[adj] : kAdjEn[adj],
                     true, true);
  p.level = is_long ? 2 : 1;
  p.language = es ? "es" : "en";
  return p;
}

Trace NoteTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  const NoteKey k = ParseKey(p.key);
  auto broken = [&]() { return rng.Bernoulli(t.step_error_rate()); };
  const bool no_greeting = broken(), off_topic = broken(), mixed = broken(), wrong_length = broken(),
             no_closing = broken();
  std::string name = k.name;
  bool greeting = true;
  if (no_greeting) {  // no greeting, or the wrong name
    if (rng.Bernoulli(0.5)) greeting = false;
    else while (name == k.name) name = kNames[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(kNames.size()) - 1))];
  }
  size_t topic = k.topic, adj = k.adj;
  if (off_topic) {  // another topic or another adjective
    if (rng.Bernoulli(0.5)) topic = (topic + 1 + static_cast<size_t>(rng.Int(0, 8))) % kTopicsEn.size();
    else adj = (adj + 1 + static_cast<size_t>(rng.Int(0, 3))) % kAdjEn.size();
  }
  const std::string topic_word = k.es ? kTopicsEs[topic] : kTopicsEn[topic];
  const bool adj_es = k.es != mixed;  // the adjective in the other language
  const std::string adj_word = adj_es ? kAdjEs[adj] : kAdjEn[adj];
  const std::string note = WriteNote(k.es, k.is_long != wrong_length, name, topic_word, adj_word, greeting, !no_closing);
  const std::string plan = k.es ? "nota " + std::string(k.is_long ? "larga" : "corta") + " para " + k.name
                                : std::string(k.is_long ? "long" : "short") + " note for " + k.name;
  Trace tr;
  tr.steps = {{plan, true}};
  tr.completion = TraceCompletion(tr.steps, note);
  tr.answer_correct = JudgeNote(note, p.key).met() == 5;
  return tr;
}

Verdict NoteTask::Verify(const std::string& completion, const Problem& p) const {
  // No reason is given for a note that falls short: the rubric stays hidden
  // (a verdict's error reads as "no answer" to whoever sees it).
  return JudgeExtracted(completion, ExtractTaggedAnswer(completion),
                        [&](const std::string& a, std::string*) { return JudgeNote(a, p.key).met() == 5; });
}

double NoteTask::Quality(const std::string& completion, const Problem& p) const {
  const Extraction x = ExtractTaggedAnswer(completion);
  return x.ok ? JudgeNote(x.answer, p.key).met() / 5.0 : 0.0;
}

}  // namespace r1lab
