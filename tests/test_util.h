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

// A fresh empty directory under the system temp dir, removed when the test
// process exits (kept if R1LAB_KEEP_TEST_DIRS is set, to look inside).
inline std::string TempDir(const std::string& name) {
  struct Removal {
    std::vector<std::filesystem::path> dirs;
    ~Removal() {
      if (std::getenv("R1LAB_KEEP_TEST_DIRS")) return;
      std::error_code ec;
      for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
    }
  };
  static Removal removal;
  const auto dir = std::filesystem::temp_directory_path() / ("r1lab_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
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
