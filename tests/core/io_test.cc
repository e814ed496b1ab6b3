// File writes (core/io.h).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "error.h"
#include "io.h"
#include "test_util.h"

namespace r1lab {
namespace {

// A write that fails half way (here: a file size limit, as a full disk would)
// leaves the old file as it was and no .tmp behind.
TEST(Io, AFailedAtomicWriteLeavesNoTempFile) {
  const std::string dir = testing::TempDir("io_atomic");
  const std::string path = dir + "/out.json";
  WriteFileAtomic(path, "old\n");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child hits the limit; the parent checks what is left
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1000, 1000};
    setrlimit(RLIMIT_FSIZE, &limit);
    try {
      WriteFileAtomic(path, std::string(5000, 'x'));
    } catch (const IoError&) {
      _exit(0);
    }
    _exit(1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the failed write was not reported";
  EXPECT_FALSE(FileExists(path + ".tmp"));
  EXPECT_EQ(ReadFile(path), "old\n");
}

}  // namespace
}  // namespace r1lab
