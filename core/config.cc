#include "config.h"

#include <memory>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "error.h"
#include "text.h"
#include "io.h"

namespace r1lab {
namespace pb = google::protobuf;

namespace {

class Collector : public pb::io::ErrorCollector {
 public:
  explicit Collector(std::string source) : source_(std::move(source)) {}
  void AddError(int line, pb::io::ColumnNumber col, const std::string& msg) override {
    if (!first_.empty()) return;
    first_ = source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1) + ": " + msg;
  }
  void AddWarning(int line, pb::io::ColumnNumber col, const std::string& msg) override {
    AddError(line, col, msg);  // the parser warns on some unknown names; treat as errors
  }
  const std::string& first() const { return first_; }

 private:
  std::string source_;
  std::string first_;
};

}  // namespace

double NumericValue(const pb::Message& m, const pb::FieldDescriptor* f, int index) {
  const pb::Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? 1 : 0;
    default:
      return 0;
  }
}

namespace {

std::string FormatNumber(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

void Fail(const std::string& source, const std::string& path, const std::string& what) {
  throw ConfigError(source + ": " + path + ": " + what);
}

void CheckRanges(const pb::Message& m, const std::string& prefix, const std::string& source) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      for (int k = 0; k < n; ++k) {
        if (f->is_repeated()) {
          CheckRanges(r->GetRepeatedMessage(m, f, k), path + "[" + std::to_string(k) + "]", source);
        } else if (r->HasField(m, f)) {
          CheckRanges(r->GetMessage(m, f), path, source);
        }
      }
      continue;
    }
    const pb::FieldOptions& o = f->options();
    const bool has_min = o.HasExtension(r1lab::min), has_max = o.HasExtension(r1lab::max),
               has_gt = o.HasExtension(r1lab::gt);
    if (!has_min && !has_max && !has_gt) continue;
    for (int k = 0; k < n; ++k) {
      const double v = NumericValue(m, f, k);
      const std::string p = f->is_repeated() ? path + "[" + std::to_string(k) + "]" : path;
      std::string range = std::string(has_gt ? "(" + FormatNumber(o.GetExtension(r1lab::gt))
                                             : has_min ? "[" + FormatNumber(o.GetExtension(r1lab::min))
                                                       : "(-inf") +
                          ", " + (has_max ? FormatNumber(o.GetExtension(r1lab::max)) + "]" : "inf)");
      const bool bad = !std::isfinite(v) || (has_min && v < o.GetExtension(r1lab::min)) ||
                       (has_gt && v <= o.GetExtension(r1lab::gt)) ||
                       (has_max && v > o.GetExtension(r1lab::max));
      if (bad) Fail(source, p, FormatNumber(v) + " is out of range; expected a finite value in " + range);
    }
  }
}

bool IsSafeName(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

void CheckModel(const ModelConfig& m, const std::string& p, const std::string& src) {
  if (!m.prompt_template().empty() && m.prompt_template().find("{prompt}") == std::string::npos)
    Fail(src, p + ".prompt_template", "has no {prompt}, where the problem's prompt goes");
  if (m.hf_folder().empty() && m.n_kv_heads() != 0)
    Fail(src, p + ".n_kv_heads", "only a Hugging Face model (model.hf_folder) has grouped-query attention");
  if (m.n_kv_heads() != 0 && m.n_heads() % m.n_kv_heads() != 0)
    Fail(src, p + ".n_kv_heads", std::to_string(m.n_kv_heads()) + " does not divide n_heads=" + std::to_string(m.n_heads()));
  if (m.precision() == BF16_MIXED && m.dtype() != FLOAT32)
    Fail(src, p + ".precision", "BF16_MIXED keeps float32 master weights; it needs dtype FLOAT32");
  if (m.d_model() % m.n_heads() != 0)
    Fail(src, p + ".n_heads", std::to_string(m.n_heads()) + " does not divide d_model=" +
                                  std::to_string(m.d_model()));
}

void CheckTask(const TaskConfig& t, const std::string& p, const std::string& src) {
  if (t.task_case() == TaskConfig::TASK_NOT_SET)
    Fail(src, p, "no task set; expected one of: arith, countdown, graph, code, dataset, note, mix");
  auto order = [&](const std::string& field, int lo, int hi, const std::string& hi_name) {
    if (lo > hi) Fail(src, p + "." + field, std::to_string(lo) + " exceeds " + hi_name + "=" + std::to_string(hi));
  };
  if (t.has_arith()) order("arith.min_ops", t.arith().min_ops(), t.arith().max_ops(), "max_ops");
  if (t.has_countdown())
    order("countdown.min_numbers", t.countdown().min_numbers(), t.countdown().max_numbers(), "max_numbers");
  if (t.has_graph()) order("graph.min_nodes", t.graph().min_nodes(), t.graph().max_nodes(), "max_nodes");
  if (t.has_dataset()) {
    if (t.dataset().path().empty()) Fail(src, p + ".dataset.path", "is empty; expected a JSONL file");
    order("dataset.min_level", t.dataset().min_level(), t.dataset().max_level(), "max_level");
  }
  if (t.has_code()) order("code.min_level", t.code().min_level(), t.code().max_level(), "max_level");
  if (t.has_mix()) {
    if (t.mix().parts_size() == 0) Fail(src, p + ".mix.parts", "is empty; a mix needs at least one part");
    // Resolved configs hold every default, so a part's teacher counts as set
    // when it differs from the default one.
    TeacherConfig default_teacher;
    ResolveDefaults(&default_teacher);
    for (int i = 0; i < t.mix().parts_size(); ++i) {
      const std::string part = p + ".mix.parts[" + std::to_string(i) + "].task";
      const TaskConfig& pt = t.mix().parts(i).task();
      if (pt.has_mix()) Fail(src, part + ".mix", "a mix inside a mix; list its parts in the outer mix");
      if (pt.has_teacher() && pt.teacher().SerializeAsString() != default_teacher.SerializeAsString())
        Fail(src, part + ".teacher", "the mix's teacher teaches every part; set it on the mix");
      CheckTask(pt, part, src);
    }
  }
}

std::map<int, ArmCheck>& ArmChecks() {
  static std::map<int, ArmCheck> checks;
  return checks;
}

// The Arm.strategy oneof's members, from the descriptor: always complete.
std::string StrategyNames() {
  const pb::OneofDescriptor* o = Arm::descriptor()->FindOneofByName("strategy");
  std::string out;
  for (int i = 0; i < o->field_count(); ++i) out += (i ? ", " : "") + o->field(i)->name();
  return out;
}

// Calls visit(message, path) for `m` and every message set under it.
void ForEachMessage(const pb::Message& m, const std::string& path,
                    const std::function<void(const pb::Message&, const std::string&)>& visit) {
  visit(m, path);
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string sub = path + (path.empty() ? "" : ".") + f->name();
    if (f->is_repeated()) {
      for (int k = 0; k < r->FieldSize(m, f); ++k)
        ForEachMessage(r->GetRepeatedMessage(m, f, k), sub + "[" + std::to_string(k) + "]", visit);
    } else if (r->HasField(m, f)) {
      ForEachMessage(r->GetMessage(m, f), sub, visit);
    }
  }
}

// Fields that only some tasks can honour, wherever they are set: a teacher's
// retry_rate (only the countdown teacher writes failed attempts) and a
// reward's form_weight (only tasks with a grammar for their lines,
// Task::LineInTeacherForm).
void CheckTaskFields(const ExperimentConfig& e, const std::string& src) {
  const TaskConfig& t = e.task();
  const bool grammar = t.has_arith() || t.has_countdown() || t.has_graph();
  ForEachMessage(e, "", [&](const pb::Message& m, const std::string& path) {
    const auto* teacher = dynamic_cast<const TeacherConfig*>(&m);
    if (teacher && teacher->retry_rate() > 0 && !t.has_countdown())
      Fail(src, path + ".retry_rate", "only the countdown teacher writes failed attempts; expected 0 for this task");
    const auto* reward = dynamic_cast<const RewardConfig*>(&m);
    if (reward && reward->form_weight() > 0 && !grammar)
      Fail(src, path + ".form_weight",
           "only arith, countdown and graph have a grammar for their chain-of-thought lines; expected 0 for this task");
  });
}

void CheckExperiment(const ExperimentConfig& e, const std::string& src) {
  CheckTaskFields(e, src);
  if (!IsSafeName(e.name()))
    Fail(src, "name", "'" + e.name() + "' is not a valid name; expected letters, digits, '_', '-', '.'");
  if (e.seeds_size() == 0) Fail(src, "seeds", "empty; expected at least one seed");
  std::set<uint64_t> seeds(e.seeds().begin(), e.seeds().end());
  if (static_cast<int>(seeds.size()) != e.seeds_size()) Fail(src, "seeds", "contains duplicates");
  std::set<uint64_t> bases(e.base_seeds().begin(), e.base_seeds().end());
  if (static_cast<int>(bases.size()) != e.base_seeds_size()) Fail(src, "base_seeds", "contains duplicates");
  std::set<double> budgets(e.budgets().begin(), e.budgets().end());
  if (static_cast<int>(budgets.size()) != e.budgets_size()) Fail(src, "budgets", "contains duplicates");
  std::set<std::string> sizes;
  for (int i = 0; i < e.sizes_size(); ++i) {
    const std::string p = "sizes[" + std::to_string(i) + "].name", n = e.sizes(i).name();
    if (!IsSafeName(n) || n == "plots")
      Fail(src, p, "'" + n + "' is not a valid size name; expected letters, digits, '_', '-', '.' (not 'plots')");
    if (!sizes.insert(n).second) Fail(src, p, "'" + n + "' is used twice");
  }
  if (!e.has_task()) Fail(src, "task", "missing; expected a task block");
  CheckTask(e.task(), "task", src);
  CheckModel(e.model(), "model", src);
  // Dataset text as the model's tokenizer reads it.
  const bool own_tokenizer = !e.model().hf_folder().empty();
  auto check_verbatim = [&](const TaskConfig& t, const std::string& p) {
    if (!t.has_dataset() || t.dataset().verbatim() == own_tokenizer) return;
    Fail(src, p + ".dataset.verbatim",
         own_tokenizer ? "false rewrites the text into the character vocabulary ('<' as \\lt, non-ASCII dropped), "
                         "which model.hf_folder's tokenizer does not need; set it to true"
                       : "true keeps text the character model cannot encode; it needs model.hf_folder");
  };
  check_verbatim(e.task(), "task");
  for (int i = 0; i < e.task().mix().parts_size(); ++i)
    check_verbatim(e.task().mix().parts(i).task(), "task.mix.parts[" + std::to_string(i) + "].task");
  std::set<std::string> names;
  for (int i = 0; i < e.arms_size(); ++i) {
    const Arm& a = e.arms(i);
    const std::string p = "arms[" + std::to_string(i) + "]";
    if (!IsSafeName(a.name()))
      Fail(src, p + ".name", "'" + a.name() + "' is not a valid name; expected letters, digits, '_', '-', '.'");
    if (!names.insert(a.name()).second) Fail(src, p + ".name", "'" + a.name() + "' is used twice");
    for (const auto& [field, from] : ArmDependencies(a))
      if (from == a.name() || !names.count(from))
        Fail(src, p + "." + field, "'" + from + "' is not an earlier arm; expected the name of an arm listed before "
                                   "this one");
    if (a.strategy_case() == Arm::STRATEGY_NOT_SET) Fail(src, p, "no strategy set; expected one of: " + StrategyNames());
    if (e.budgets_size() > 0 && a.flop_budget() <= 0)
      Fail(src, p + ".flop_budget", "unset, but budgets scales every arm's flop_budget; expected a budget > 0");
    auto it = ArmChecks().find(a.strategy_case());
    if (it != ArmChecks().end()) it->second(a, e, p, src);
  }
  if (e.has_paired_reference() && !names.count(e.paired_reference()))
    Fail(src, "paired_reference", "'" + e.paired_reference() + "' names no arm; expected the name of one of the arms");
}

}  // namespace

namespace {

// The fields of `d`, for "expected one of" messages.
std::string FieldNames(const pb::Descriptor* d) {
  std::string out;
  for (int i = 0; i < d->field_count(); ++i) out += (i ? ", " : "") + d->field(i)->name();
  return out;
}

// A text-format string literal of `v`: quotes, backslashes and line breaks
// escaped. (protobuf's own CEscape lives in an internal header that newer
// protobuf releases drop.)
std::string QuoteText(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// One path element "name" or "name[i]" or "name[arm_name]" (a repeated message
// with a `name` field, selected by its value).
pb::Message* Descend(pb::Message* m, const std::string& part, const std::string& where, const std::string& src) {
  const size_t br = part.find('[');
  const std::string name = part.substr(0, br);
  const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
  if (!f)
    Fail(src, where, "no field '" + name + "' in " + m->GetDescriptor()->name() + "; expected one of: " +
                         FieldNames(m->GetDescriptor()));
  if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) Fail(src, where, "'" + name + "' is not a message");
  const pb::Reflection* r = m->GetReflection();
  if (br == std::string::npos) {
    if (f->is_repeated()) Fail(src, where, "'" + name + "' is repeated; select one with " + name + "[i] or " + name + "[name]");
    // Descending into another member of a oneof would switch it (an arm's
    // strategy, a task's kind) and drop what was set: refused. A whole
    // message (--set task={countdown {}}) still replaces it.
    if (const pb::OneofDescriptor* one = f->containing_oneof()) {
      const pb::FieldDescriptor* set = r->GetOneofFieldDescriptor(*m, one);
      if (set && set != f)
        Fail(src, where, "'" + name + "' is not what " + one->name() + " holds here ('" + set->name() +
                             "'); a path cannot switch it (set the whole message to replace it)");
    }
    return r->MutableMessage(m, f);
  }
  if (!f->is_repeated() || part.back() != ']') Fail(src, where, "'" + part + "' is not name[index] of a repeated field");
  const std::string key = part.substr(br + 1, part.size() - br - 2);
  const int n = r->FieldSize(*m, f);
  char* end = nullptr;
  const long idx = std::strtol(key.c_str(), &end, 10);
  if (!key.empty() && *end == '\0') {
    if (idx < 0 || idx >= n) Fail(src, where, "index " + key + " is out of range; " + name + " has " + std::to_string(n));
    return r->MutableRepeatedMessage(m, f, static_cast<int>(idx));
  }
  const pb::FieldDescriptor* nf = f->message_type()->FindFieldByName("name");
  std::string names;
  for (int i = 0; nf && i < n; ++i) {
    pb::Message* e = r->MutableRepeatedMessage(m, f, i);
    const std::string v = e->GetReflection()->GetString(*e, nf);
    if (v == key) return e;
    names += (i ? ", " : "") + v;
  }
  Fail(src, where, "no " + name + " entry named '" + key + "'" + (nf ? "; there are: " + names : ""));
  return nullptr;
}

}  // namespace

void ApplyOverride(const std::string& assignment, const std::string& source, pb::Message* msg) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(source + ": '" + assignment + "' is not path.to.field=value");
  const std::string path = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  pb::Message* m = msg;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
    m = Descend(m, path.substr(start, dot - start), path, source);
  const std::string name = path.substr(start);
  const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
  if (!f)
    Fail(source, path, "no field '" + name + "' in " + m->GetDescriptor()->name() + "; expected one of: " +
                           FieldNames(m->GetDescriptor()));
  // Protobuf's own text parser reads the value, so every type, enum name and
  // range error reads as it does in a .pbtxt file; the field is replaced.
  const std::unique_ptr<pb::Message> parsed(m->New());
  // A bare string (--set name=run2) is quoted for the parser; a quoted one is kept.
  const bool bare_string = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && !f->is_repeated() &&
                           (value.empty() || (value[0] != '"' && value[0] != '\''));
  const std::string text = name + (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE ? " " : ": ") +
                           (bare_string ? QuoteText(value) : value);
  ParseConfigText(text, source + " --set " + path, parsed.get());
  // The value is the field's alone: text after it that sets another field
  // ("64 n_layers: 7") is refused, not applied.
  std::vector<const pb::FieldDescriptor*> set;
  parsed->GetReflection()->ListFields(*parsed, &set);
  for (const pb::FieldDescriptor* g : set)
    if (g != f)
      Fail(source, path, "the value '" + value + "' also sets '" + g->name() + "'; give one field per --set");
  m->GetReflection()->ClearField(m, f);
  m->MergeFrom(*parsed);
}

void ConfigFail(const std::string& source, const std::string& path, const std::string& what) {
  throw ConfigError(source + ": " + path + ": " + what);
}

void RegisterArmCheck(Arm::StrategyCase which, ArmCheck check) { ArmChecks()[which] = std::move(check); }

namespace {

// The first `name: []` (or `name []`) in a config's text, found by
// protobuf's own tokenizer (so comments and strings are skipped as the
// parser skips them): its line and name; line 0 if there is none. The text
// format reads an empty list as the field left out, so in a file that
// extends another it keeps the parent's list, silently.
std::pair<int, std::string> FirstEmptyList(const std::string& text) {
  struct Quiet : pb::io::ErrorCollector {
    void AddError(int, pb::io::ColumnNumber, const std::string&) override {}
  } quiet;  // the text has parsed already
  pb::io::ArrayInputStream in(text.data(), static_cast<int>(text.size()));
  pb::io::Tokenizer tokens(&in, &quiet);
  tokens.set_comment_style(pb::io::Tokenizer::SH_COMMENT_STYLE);
  std::string name;
  enum { kNone, kName, kOpen } state = kNone;  // after a name (and its ':'), after its '['
  while (tokens.Next()) {
    const pb::io::Tokenizer::Token& t = tokens.current();
    if (t.type == pb::io::Tokenizer::TYPE_IDENTIFIER) {
      name = t.text;
      state = kName;
    } else if (state == kName && t.text == ":") {  // optional before a list: the state holds
    } else if (state == kName && t.text == "[") {
      state = kOpen;
    } else if (state == kOpen && t.text == "]") {
      return {t.line + 1, name};
    } else {
      state = kNone;
    }
  }
  return {0, ""};
}

}  // namespace

void ParseConfigText(const std::string& text, const std::string& source, pb::Message* msg) {
  msg->Clear();
  Collector collector(source);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  if (!parser.ParseFromString(text, msg)) {
    std::string first = collector.first().empty() ? source + ": cannot parse config" : collector.first();
    // protobuf names the token it found; at the end of the text there is none.
    const std::string got = "got: ";
    if (first.size() >= got.size() && first.compare(first.size() - got.size(), got.size(), got) == 0)
      first += "the end of the text (a '{' or '[' not closed?)";
    throw ConfigError(first);
  }
}

void LoadConfigFile(const std::string& path, pb::Message* msg) {
  std::string text;
  try {
    text = ReadFile(path);
  } catch (const IoError& e) {
    throw ConfigError(std::string("cannot read config: ") + e.what());
  }
  ParseConfigText(text, path, msg);
  // In a file (a --set may empty a list on purpose: `arms=[]`).
  const auto [line, name] = FirstEmptyList(text);
  if (line > 0)
    throw ConfigError(path + ":" + std::to_string(line) + ": " + name + ": [] is an empty list, which reads as " +
                      name + " left out (in a file that extends another, the parent's " + name +
                      " stay); expected at least one value, or no mention of " + name);
}

void LoadValidConfigFile(const std::string& path, pb::Message* msg) {
  LoadConfigFile(path, msg);
  ValidateConfig(*msg, path);
}

void ValidateConfig(const pb::Message& msg, const std::string& source) {
  CheckRanges(msg, "", source);
  if (auto* e = dynamic_cast<const ExperimentConfig*>(&msg)) CheckExperiment(*e, source);
  if (auto* m = dynamic_cast<const ModelConfig*>(&msg)) CheckModel(*m, "", source);
  if (auto* t = dynamic_cast<const TaskConfig*>(&msg)) CheckTask(*t, "", source);
}

void ResolveDefaults(pb::Message* msg) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE)
        for (int k = 0; k < r->FieldSize(*msg, f); ++k) ResolveDefaults(r->MutableRepeatedMessage(msg, f, k));
      continue;
    }
    // Never switch a oneof: only the member already chosen is resolved.
    if (f->containing_oneof() && !r->HasField(*msg, f)) continue;
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      // Unset means something here, so these stay unset: an SFT run's teacher
      // ("the task's teacher") and an experiment's arm_defaults (none).
      const bool keep_unset = (f->message_type() == TeacherConfig::descriptor() && d == SftConfig::descriptor()) ||
                              (f->message_type() == Arm::descriptor() && d == ExperimentConfig::descriptor());
      if (keep_unset && !r->HasField(*msg, f)) continue;
      // A tuning record (none applied, or what r1lab tune wrote) is not
      // settings: left as written. Resolving it gave a tuning without a
      // pretraining search an empty one, and summary.md an empty table.
      if (f->message_type() == TuneRecord::descriptor()) continue;
      // A sweep's size holds the fields it merges over the experiment's model
      // and pretraining (each size resolves as its own experiment): defaults
      // here would show a recipe the size does not run.
      if (d == ModelSize::descriptor()) continue;
      ResolveDefaults(r->MutableMessage(msg, f));
      continue;
    }
    if (r->HasField(*msg, f) || !f->has_default_value()) continue;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(msg, f, f->default_value_int32()); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(msg, f, f->default_value_int64()); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(msg, f, f->default_value_uint32()); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(msg, f, f->default_value_uint64()); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(msg, f, f->default_value_float()); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(msg, f, f->default_value_double()); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(msg, f, f->default_value_bool()); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(msg, f, f->default_value_enum()); break;
      case pb::FieldDescriptor::CPPTYPE_STRING: r->SetString(msg, f, f->default_value_string()); break;
      default: break;
    }
  }
}

void ApplyArmDefaults(ExperimentConfig* cfg) {
  if (!cfg->has_arm_defaults()) return;
  for (Arm& arm : *cfg->mutable_arms()) {
    Arm merged = cfg->arm_defaults();
    merged.MergeFrom(arm);
    arm = merged;
  }
  cfg->clear_arm_defaults();  // the resolved config shows each arm in full
}

std::string ConfigToText(const pb::Message& msg) {
  std::string out;
  pb::TextFormat::Printer printer;
  printer.PrintToString(msg, &out);
  return out;
}

namespace {

// Clears every singular field that holds its default, recursively (into
// repeated messages too), and a sub-message left empty: what is set, not what
// the defaults fill in. A oneof member stays, so the chosen member stays chosen.
void ClearDefaultValues(pb::Message* msg) {
  const pb::Reflection* r = msg->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*msg, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->real_containing_oneof()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) ClearDefaultValues(r->MutableMessage(msg, f));
      continue;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(*msg, f); ++k) ClearDefaultValues(r->MutableRepeatedMessage(msg, f, k));
      } else {
        pb::Message* sub = r->MutableMessage(msg, f);
        ClearDefaultValues(sub);
        if (sub->ByteSizeLong() == 0) r->ClearField(msg, f);
      }
      continue;
    }
    if (f->is_repeated()) continue;
    bool is_default = false;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32: is_default = r->GetInt32(*msg, f) == f->default_value_int32(); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: is_default = r->GetInt64(*msg, f) == f->default_value_int64(); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: is_default = r->GetUInt32(*msg, f) == f->default_value_uint32(); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: is_default = r->GetUInt64(*msg, f) == f->default_value_uint64(); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: is_default = r->GetDouble(*msg, f) == f->default_value_double(); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: is_default = r->GetFloat(*msg, f) == f->default_value_float(); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: is_default = r->GetBool(*msg, f) == f->default_value_bool(); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: is_default = r->GetEnumValue(*msg, f) == f->default_value_enum()->number(); break;
      case pb::FieldDescriptor::CPPTYPE_STRING: is_default = r->GetString(*msg, f) == f->default_value_string(); break;
      default: break;
    }
    if (is_default) r->ClearField(msg, f);
  }
}

}  // namespace

uint64_t ConfigHash(const pb::Message& msg_in) {
  std::unique_ptr<pb::Message> msg(msg_in.New());
  msg->CopyFrom(msg_in);
  ClearDefaultValues(msg.get());
  return Fnv64(ConfigToText(*msg));
}

std::vector<std::pair<std::string, std::string>> ArmDependencies(const Arm& arm) {
  std::vector<std::pair<std::string, std::string>> out;
  if (arm.has_init_from()) out.emplace_back("init_from", arm.init_from());
  if (arm.has_rft() && arm.rft().has_teacher_arm()) out.emplace_back("rft.teacher_arm", arm.rft().teacher_arm());
  return out;
}

bool CrossSizeTeacher(const Arm& arm, const std::string& experiment) {
  return arm.has_rft() && arm.rft().has_teacher_size() && arm.rft().teacher_size() != experiment;
}

void RenameDependencies(Arm* arm, const std::function<std::string(const std::string&)>& rename) {
  if (arm->has_init_from()) arm->set_init_from(rename(arm->init_from()));
  if (arm->has_rft() && arm->rft().has_teacher_arm())
    arm->mutable_rft()->set_teacher_arm(rename(arm->rft().teacher_arm()));
}

TeacherConfig EffectiveTeacher(const TaskConfig& task, const SftConfig& sft) {
  return sft.has_teacher() ? sft.teacher() : task.teacher();
}

}  // namespace r1lab
