// File writes (core/io.h).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <thread>

#include "error.h"
#include "io.h"
#include "test_util.h"
#include "text.h"

namespace r1lab {
namespace {

// The checksum recorded in checkpoint headers and run identities: FNV-1a's
// arithmetic from r1lab's own start (core/text.h says why it is not the
// published basis). Reference values from Python's integers.
TEST(Io, Fnv64IsFnv1aFromR1labsStart) {
  EXPECT_EQ(Fnv64(""), kFnv64Start);
  EXPECT_EQ(Fnv64("r1lab"), 0x2a187b8cae96eb6dULL);
  EXPECT_EQ(Fnv64("a", 14695981039346656037ULL), 0xaf63dc4c8601ec8cULL);  // FNV-1a's published value
  EXPECT_EQ(Fnv64("lab", Fnv64("r1")), Fnv64("r1lab"));
}

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

// gzip round trip of text with every byte value, deterministic output with
// gzip's magic and no time stamp (so a rerun commits the same bytes), and a
// cut-short or foreign file is an IoError naming it.
TEST(Io, GzipRoundTripsAndRefusesBrokenInput) {
  std::string text;
  for (int i = 0; i < 70000; ++i) text += static_cast<char>((i * 7919) % 256);
  text += "{\"completion\":\"<think>1+2=3</think>\"}\n";
  const std::string z = Gzip(text);
  EXPECT_EQ(Gunzip(z, "x.gz"), text);
  EXPECT_EQ(Gzip(text), z);
  ASSERT_GT(z.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_EQ(z.substr(4, 4), std::string(4, '\0')) << "no modification time";
  EXPECT_EQ(Gunzip(Gzip(""), "empty.gz"), "");
  try {
    Gunzip(z.substr(0, z.size() / 2), "cut.jsonl.gz");
    ADD_FAILURE() << "a cut-short file was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.jsonl.gz"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Gunzip("plain text, not gzip", "plain.jsonl"), IoError);
  // Members one after another (cat a.gz b.gz) read as zcat reads them;
  // other bytes after the data are an error.
  EXPECT_EQ(Gunzip(Gzip("a\n") + Gzip("b\n"), "two.gz"), "a\nb\n");
  try {
    Gunzip(z + "junk", "tail.jsonl.gz");
    ADD_FAILURE() << "bytes after the gzip data were accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("tail.jsonl.gz: 4 bytes after the end of the gzip data"), std::string::npos)
        << e.what();
  }
}

// The same for xz, r1lab's format for records (Python's lzma.compress with
// the same filter writes the same bytes: checked by hand on a committed 1.2 MB
// samples file), with streams one after another read as xzcat reads them.
TEST(Io, XzRoundTripsAndRefusesBrokenInput) {
  std::string text;
  for (int i = 0; i < 70000; ++i) text += static_cast<char>((i * 7919) % 256);
  const std::string z = Xz(text);
  EXPECT_EQ(Unxz(z, "x.xz"), text);
  EXPECT_EQ(Xz(text), z);
  EXPECT_EQ(z.substr(0, 6), std::string("\xfd" "7zXZ\0", 6));
  EXPECT_EQ(Unxz(Xz(""), "empty.xz"), "");
  EXPECT_EQ(Unxz(Xz("a\n") + Xz("b\n"), "two.xz"), "a\nb\n");
  // Stream padding (zero bytes, four at a time) may follow a stream, as in xz's format.
  EXPECT_EQ(Unxz(Xz("a\n") + std::string(8, '\0') + Xz("b\n") + std::string(4, '\0'), "padded.xz"), "a\nb\n");
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {z.substr(0, z.size() / 2), "cut short"},
           {"plain text, not xz", "no xz header"},
           {Gzip(text), "no xz header"},
           {z.substr(0, z.size() - 20) + "junk" + z.substr(z.size() - 16), "corrupt data"},
           {z + "junk", "4 bytes after the end of the xz data; expected none"},
           {z + std::string(3, '\0'), "3 bytes after the end of the xz data; expected none"}}) {
    try {
      Unxz(bad, "r.jsonl.xz");
      ADD_FAILURE() << "accepted data: " << why;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("r.jsonl.xz: "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

TEST(Io, AFolderIsNotAFile) {
  const std::string dir = testing::TempDir("io_folder");
  try {
    ReadFile(dir);
    ADD_FAILURE() << "a folder was read as a file";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), dir + ": is a folder; expected a file");
  }
}

TEST(Io, ReadLinesReadsXzAndGzipByTheirSuffix) {
  const std::string dir = testing::TempDir("io_lines");
  const std::string text = "{\"step\":1}\n{\"step\":2}\n";
  WriteFileAtomic(dir + "/m.jsonl", text);
  WriteFileAtomic(dir + "/m.jsonl.gz", Gzip(text));
  const std::vector<std::string> want = {"{\"step\":1}", "{\"step\":2}"};
  EXPECT_EQ(ReadLines(dir + "/m.jsonl"), want);
  EXPECT_EQ(ReadLines(dir + "/m.jsonl.gz"), want);
  EXPECT_EQ(CompressedPath(dir + "/m.jsonl"), dir + "/m.jsonl.gz");
  WriteFileAtomic(dir + "/m.jsonl.xz", Xz(text));
  EXPECT_EQ(ReadLines(dir + "/m.jsonl.xz"), want);
  EXPECT_EQ(CompressedPath(dir + "/m.jsonl"), dir + "/m.jsonl.xz") << "xz, r1lab's own, comes first";
  EXPECT_EQ(CompressedPath(dir + "/absent.jsonl"), "");
  WriteFileAtomic(dir + "/bad.jsonl.xz", text);  // named .xz, not xz
  EXPECT_THROW(ReadLines(dir + "/bad.jsonl.xz"), IoError);
  EXPECT_TRUE(ReadLines(dir + "/absent.jsonl.gz").empty());
  WriteFileAtomic(dir + "/bad.jsonl.gz", text);  // named .gz, not gzip
  EXPECT_THROW(ReadLines(dir + "/bad.jsonl.gz"), IoError);
  // ReadText is the strict one: a missing file or a folder is an error.
  EXPECT_EQ(ReadText(dir + "/m.jsonl.gz"), text);
  EXPECT_THROW(ReadText(dir + "/absent.jsonl"), IoError);
  EXPECT_THROW(ReadLines(dir), IoError);  // a folder is not an empty file
  // A record written as xz replaces an older r1lab's gzip of it.
  WriteXzAtomic(dir + "/m.jsonl", "{\"step\":3}\n");
  EXPECT_FALSE(FileExists(dir + "/m.jsonl.gz"));
  EXPECT_EQ(ReadText(dir + "/m.jsonl.xz"), "{\"step\":3}\n");
}

// R1LAB_SHARED_FOLDER_WAIT_S for one test (ctest runs each in a process of its own).
struct SharedFolderWait {
  explicit SharedFolderWait(const char* seconds) { ::setenv("R1LAB_SHARED_FOLDER_WAIT_S", seconds, 1); }
  ~SharedFolderWait() { ::unsetenv("R1LAB_SHARED_FOLDER_WAIT_S"); }
};

double SecondsOf(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Another rank's file shows late in a shared folder (NFS caches listings):
// a rank waits for it, and for its very bytes where it has an older copy.
TEST(Io, WaitForFileWaitsForALateFileAndForTheBytesItExpects) {
  const std::string dir = testing::TempDir("io_wait");
  const SharedFolderWait wait("20");
  WriteFileAtomic(dir + "/here", "x");
  EXPECT_LT(SecondsOf([&] { WaitForFile(dir + "/here", "a file"); }), 0.1);
  EXPECT_LT(SecondsOf([&] { WaitForFile(dir + "/here", "a file", Fnv64("x")); }), 0.1);
  auto later = [&](const std::string& path, const std::string& bytes) {
    return std::thread([=] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      WriteFileAtomic(path, bytes);
    });
  };
  std::thread late = later(dir + "/late", "y");
  EXPECT_GT(SecondsOf([&] { WaitForFile(dir + "/late", "a file"); }), 0.25);
  late.join();
  WriteFileAtomic(dir + "/old", "an older checkpoint");
  std::thread newer = later(dir + "/old", "rank 0's checkpoint");
  EXPECT_GT(SecondsOf([&] { WaitForFile(dir + "/old", "a file", Fnv64("rank 0's checkpoint")); }), 0.25);
  newer.join();
  EXPECT_EQ(ReadFile(dir + "/old"), "rank 0's checkpoint");
}

TEST(Io, WaitForFileGivesUpWithAnErrorSayingWhatThisRankSees) {
  const std::string dir = testing::TempDir("io_wait_fail");
  {
    const SharedFolderWait wait("0.3");
    std::string error;
    const double s = SecondsOf([&] {
      try {
        WaitForFile(dir + "/never", "rank 0's probe file");
      } catch (const IoError& e) {
        error = e.what();
      }
    });
    EXPECT_GE(s, 0.3);
    EXPECT_LT(s, 5);
    EXPECT_NE(error.find(dir + "/never: rank 0's probe file is not there for this rank after 0.3 s (it sees no such "
                               "file)"),
              std::string::npos)
        << error;
    EXPECT_NE(error.find("R1LAB_SHARED_FOLDER_WAIT_S"), std::string::npos) << error;
    WriteFileAtomic(dir + "/stale", "old");
    try {
      WaitForFile(dir + "/stale", "rank 0's file", Fnv64("new"));
      ADD_FAILURE() << "an older copy passed for rank 0's file";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("(it sees other bytes (fnv64 " + HexHash(Fnv64("old")) + ", 3 bytes))"),
                std::string::npos)
          << e.what();
    }
  }
  for (const char* bad : {"", "soon", "-1", "1e9"}) {
    const SharedFolderWait wait(bad);
    try {
      WaitForFile(dir + "/never", "a file");
      ADD_FAILURE() << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("R1LAB_SHARED_FOLDER_WAIT_S='" + std::string(bad) +
                                           "': expected a number of seconds in [0, 86400]"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace r1lab
