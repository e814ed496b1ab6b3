// Shared helpers for the GoogleTest suites.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "config.h"
#include "r1lab.pb.h"

namespace r1lab::testing {

// std::filesystem::remove_all's work without calling it: the LibTorch in
// PyPI's torch 2.11 wheel exports its own copy of the filesystem library,
// which the tests bind to, and its remove_all crashes (a null call; its other
// functions work). Entries in reverse of the walk's order: children first.
inline void RemoveTree(const std::filesystem::path& root) {
  std::error_code ec;
  std::vector<std::filesystem::path> entries;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    entries.push_back(it->path());
  for (auto p = entries.rbegin(); p != entries.rend(); ++p) std::filesystem::remove(*p, ec);
  std::filesystem::remove(root, ec);
}

// A fresh empty directory under the system temp dir, removed when the test
// process exits (kept if R1LAB_KEEP_TEST_DIRS is set, to look inside).
inline std::string TempDir(const std::string& name) {
  struct Removal {
    std::vector<std::filesystem::path> dirs;
    ~Removal() {
      if (std::getenv("R1LAB_KEEP_TEST_DIRS")) return;
      for (const auto& d : dirs) RemoveTree(d);
    }
  };
  static Removal removal;
  const auto dir = std::filesystem::temp_directory_path() / ("r1lab_test_" + name + "_" + std::to_string(::getpid()));
  RemoveTree(dir);
  std::filesystem::create_directories(dir);
  removal.dirs.push_back(dir);
  return dir.string();
}

template <typename T>
T ParseResolved(const std::string& text) {
  T msg;
  ParseConfigText(text, "<test>", &msg);
  ResolveDefaults(&msg);
  ValidateConfig(msg, "<test>");
  return msg;
}

// A model small enough for unit tests.
inline ModelConfig TinyModel(int d = 32, int layers = 2, int heads = 4) {
  ModelConfig m = ParseResolved<ModelConfig>("");
  m.set_d_model(d);
  m.set_n_layers(layers);
  m.set_n_heads(heads);
  m.set_d_ff(4 * d);
  m.set_max_seq_len(64);
  return m;
}

}  // namespace r1lab::testing
