// Typed errors. Library code throws these; only main() turns them into a
// message and an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace r1lab {

// A config file or field is malformed, unknown or out of range.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A file or directory cannot be read or written, or its content is corrupt.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Input data (a dataset, a token string, a prompt) is unusable.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A stop was asked for (SIGINT/SIGTERM) and the run checkpointed where it was.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A broken invariant inside r1lab: a bug, never a user mistake.
struct InternalError : std::logic_error {
  using std::logic_error::logic_error;
};

#define R1_CHECK(cond, msg)                                                        \
  do {                                                                             \
    if (!(cond))                                                                   \
      throw ::r1lab::InternalError(std::string(__FILE__) + ":" +                  \
                                   std::to_string(__LINE__) + ": " + (msg));      \
  } while (0)

}  // namespace r1lab
