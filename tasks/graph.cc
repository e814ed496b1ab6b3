#include "graph.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <functional>
#include <regex>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>

#include "error.h"

namespace r1lab {

namespace {

using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                         boost::property<boost::edge_weight_t, int>>;

char Name(int v) { return static_cast<char>('A' + v); }

// Dijkstra's distance to a node that cannot be reached.
constexpr int kUnreachable = INT_MAX;

std::string PathText(const std::vector<int>& path) {
  std::string s;
  for (int v : path) s += Name(v);
  return s;
}

// The target must be reachable (Draw's graphs are connected).
std::vector<int> PathTo(const ShortestPaths& sp, int source, int target) {
  std::vector<int> path;
  for (int v = target; v != source; v = sp.pred[v]) path.push_back(v);
  path.push_back(source);
  std::reverse(path.begin(), path.end());
  return path;
}

// A simple path from source to target longer than `best`, if any (DFS,
// bounded to 20,000 expansions).
std::vector<int> LongerPath(const GraphProblem& g, int best) {
  std::vector<std::vector<std::pair<int, int>>> adj(g.nodes);
  for (const GraphEdge& e : g.edges) {
    adj[e.u].push_back({e.v, e.w});
    adj[e.v].push_back({e.u, e.w});
  }
  std::vector<int> path = {g.source}, found;
  std::vector<bool> on(g.nodes, false);
  on[g.source] = true;
  int budget = 20000;
  std::function<void(int, int)> dfs = [&](int v, int len) {
    if (!found.empty() || --budget < 0) return;
    if (v == g.target) {
      if (len > best) found = path;
      return;
    }
    for (auto [u, w] : adj[v])
      if (!on[u]) {
        on[u] = true;
        path.push_back(u);
        dfs(u, len + w);
        path.pop_back();
        on[u] = false;
      }
  };
  dfs(g.source, 0);
  return found;
}

}  // namespace

GraphProblem ParseGraphKey(const std::string& key) {
  auto bad = [&]() { return InputError("graph: malformed key '" + key + "'"); };
  GraphProblem g;
  const size_t semi = key.find(';');
  if (semi == std::string::npos || key.size() != semi + 4 || key[semi + 2] != '-') throw bad();
  int max_node = 0;
  for (size_t i = 0; i < semi;) {
    if (i + 3 > semi || !std::isupper(static_cast<unsigned char>(key[i])) ||
        !std::isupper(static_cast<unsigned char>(key[i + 1])) || !std::isdigit(static_cast<unsigned char>(key[i + 2])))
      throw bad();
    g.edges.push_back({key[i] - 'A', key[i + 1] - 'A', key[i + 2] - '0'});
    max_node = std::max({max_node, key[i] - 'A', key[i + 1] - 'A'});
    i += 3;
    if (i < semi && key[i++] != ',') throw bad();
  }
  g.source = key[semi + 1] - 'A';
  g.target = key[semi + 3] - 'A';
  g.nodes = std::max({max_node, g.source, g.target}) + 1;
  if (g.source < 0 || g.target < 0 || g.source >= 26 || g.target >= 26) throw bad();
  return g;
}

std::string GraphKeyFromPrompt(const std::string& prompt) {
  std::vector<std::string> words;
  std::string w;
  for (char c : prompt + " ") {
    if (c == ' ') {
      if (!w.empty()) words.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (words.size() < 4 || words[words.size() - 2] != "to")
    throw InputError("graph: expected a prompt like 'AB3 BC2 A to C', got '" + prompt + "'");
  std::string key;
  for (size_t i = 0; i + 3 < words.size(); ++i) key += (i ? "," : "") + words[i];
  key += ";" + words[words.size() - 3] + "-" + words.back();
  ParseGraphKey(key);  // validates
  return key;
}

ShortestPaths Dijkstra(const GraphProblem& g) {
  BoostGraph bg(g.nodes);
  for (const GraphEdge& e : g.edges) boost::add_edge(e.u, e.v, e.w, bg);
  ShortestPaths sp;
  sp.dist.assign(g.nodes, 0);
  sp.pred.assign(g.nodes, 0);
  boost::dijkstra_shortest_paths(
      bg, g.source,
      boost::predecessor_map(boost::make_iterator_property_map(sp.pred.begin(), boost::get(boost::vertex_index, bg)))
          .distance_map(boost::make_iterator_property_map(sp.dist.begin(), boost::get(boost::vertex_index, bg))));
  return sp;
}

int PathLength(const GraphProblem& g, const std::vector<int>& path) {
  int len = 0;
  for (size_t i = 1; i < path.size(); ++i) {
    int w = INT_MAX;
    for (const GraphEdge& e : g.edges)
      if ((e.u == path[i - 1] && e.v == path[i]) || (e.v == path[i - 1] && e.u == path[i])) w = std::min(w, e.w);
    if (w == INT_MAX) return -1;
    len += w;
  }
  return len;
}

GraphTask::GraphTask(const TaskConfig& cfg) : cfg_(cfg.graph()) { BuildSplit(cfg); }

Problem GraphTask::Draw(Rng& rng) const {
  const int n = static_cast<int>(rng.Int(cfg_.min_nodes(), cfg_.max_nodes()));
  // A random spanning tree keeps the graph connected; extra edges make choices.
  std::vector<std::vector<bool>> has(n, std::vector<bool>(n, false));
  std::vector<GraphEdge> edges;
  auto add = [&](int u, int v) {
    if (u > v) std::swap(u, v);
    if (u == v || has[u][v]) return;
    has[u][v] = true;
    edges.push_back({u, v, static_cast<int>(rng.Int(1, cfg_.max_weight()))});
  };
  for (int v = 1; v < n; ++v) add(static_cast<int>(rng.Int(0, v - 1)), v);
  for (int u = 0; u < n; ++u)
    for (int v = u + 1; v < n; ++v)
      if (!has[u][v] && rng.Bernoulli(cfg_.extra_edge_rate())) add(u, v);
  std::sort(edges.begin(), edges.end(), [](const GraphEdge& a, const GraphEdge& b) {
    return std::make_pair(a.u, a.v) < std::make_pair(b.u, b.v);
  });
  GraphProblem g;
  g.nodes = n;
  g.edges = edges;
  g.source = static_cast<int>(rng.Int(0, n - 1));
  g.target = static_cast<int>(rng.Int(0, n - 2));
  if (g.target >= g.source) ++g.target;
  Problem p;
  std::string prompt;
  for (size_t i = 0; i < edges.size(); ++i) {
    const std::string e = std::string{Name(edges[i].u), Name(edges[i].v)} + std::to_string(edges[i].w);
    p.key += (i ? "," : "") + e;
    prompt += e + " ";
  }
  p.key += std::string(";") + Name(g.source) + "-" + Name(g.target);
  p.prompt = prompt + Name(g.source) + " to " + Name(g.target);
  const ShortestPaths sp = Dijkstra(g);
  p.gold = cfg_.check() == PATH ? PathText(PathTo(sp, g.source, g.target)) : std::to_string(sp.dist[g.target]);
  p.level = n;
  return p;
}

Trace GraphTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  const GraphProblem g = ParseGraphKey(p.key);
  const ShortestPaths sp = Dijkstra(g);
  std::vector<int> order(g.nodes);
  for (int v = 0; v < g.nodes; ++v) order[v] = v;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sp.dist[a] < sp.dist[b]; });
  Trace tr;
  bool wrong_answer = false;
  for (int v : order) {
    if (v == g.source) continue;
    const std::string head = std::string(1, Name(v)) + "=";
    const std::string tail = std::string(" via ") + Name(sp.pred[v]);
    int written = sp.dist[v];
    if (rng.Bernoulli(t.step_error_rate())) written = std::max(1, written + static_cast<int>(rng.Int(1, 3)) * (rng.Bernoulli(0.5) ? 1 : -1));
    tr.steps.push_back({head + std::to_string(written) + tail, written == sp.dist[v]});
    if (written != sp.dist[v]) {
      if (rng.Bernoulli(t.reflection_rate())) tr.steps.push_back({"wait " + head + std::to_string(sp.dist[v]) + tail, true});
      else if (v == g.target) wrong_answer = true;
    }
    if (v == g.target) break;
  }
  std::string answer = p.gold;
  if (wrong_answer) {
    if (cfg_.check() == LENGTH) {
      answer = std::to_string(sp.dist[g.target] + static_cast<int>(rng.Int(1, 3)));
    } else if (const auto longer = LongerPath(g, sp.dist[g.target]); !longer.empty()) {
      answer = PathText(longer);
    }
  }
  tr.completion = TraceCompletion(tr.steps, answer);
  tr.answer_correct = JudgeAnswer(answer, p.key, cfg_.check()).correct;
  return tr;
}

Verdict GraphTask::JudgeAnswer(const std::string& answer, const std::string& key, GraphCheck check) {
  Verdict v;
  v.extracted = answer;
  const GraphProblem g = ParseGraphKey(key);
  const int best = Dijkstra(g).dist[g.target];
  // Drawn graphs are connected, so a drawn problem always has a gold; a key
  // from elsewhere (r1lab verify's prompt) may not, and then no answer is
  // right (not even Dijkstra's "infinite" distance).
  if (best == kUnreachable) {
    v.error = std::string(1, Name(g.target)) + " is not reachable from " + Name(g.source);
    return v;
  }
  if (check == LENGTH) {
    long long got = 0;
    v.correct = ParseInteger(answer, &got) && got == best;
    if (!v.correct) v.error = "not the shortest distance " + std::to_string(best);
    return v;
  }
  std::vector<int> path;
  for (size_t i = 0; i < answer.size(); ++i) {
    const char c = answer[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (c - 'A' >= g.nodes) {
        v.error = std::string("no node ") + c;
        return v;
      }
      path.push_back(c - 'A');
    } else if (!(c == '-' || std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '>')) {
      v.error = "unexpected '" + CharAt(answer, i) + "' in a path";
      return v;
    }
  }
  // A path of one node is the path from a node to itself.
  if (path.empty() || path.front() != g.source || path.back() != g.target) {
    v.error = "the path must run from " + std::string(1, Name(g.source)) + " to " + std::string(1, Name(g.target));
    return v;
  }
  const int len = PathLength(g, path);
  if (len < 0) v.error = "the path uses a missing edge";
  else if (len != best) v.error = "length " + std::to_string(len) + " is not the shortest " + std::to_string(best);
  v.correct = len == best;
  return v;
}

Verdict VerifyGraph(const std::string& completion, const std::string& key, GraphCheck check) {
  return JudgeExtracted(completion, ExtractTaggedAnswer(completion), [&](const std::string& a, std::string* why) {
    const Verdict g = GraphTask::JudgeAnswer(a, key, check);
    *why = g.error;
    return g.correct;
  });
}

std::optional<bool> GraphTask::LineInTeacherForm(const std::string& line) const {
  static const std::regex form(R"((wait )?[A-Z]=\d+ via [A-Z])");
  return std::regex_match(line, form);
}

Verdict GraphTask::Verify(const std::string& completion, const Problem& p) const {
  return VerifyGraph(completion, p.key, cfg_.check());
}

}  // namespace r1lab
