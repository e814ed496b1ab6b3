// File helpers. Every write of a result file is atomic (temp file + rename),
// so an interrupted run never leaves a half-written result behind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace r1lab {

// Whole file as a string; IoError naming the path if it cannot be read or is a folder.
std::string ReadFile(const std::string& path);
// Writes `content` to path.tmp, fsyncs, renames over path.
void WriteFileAtomic(const std::string& path, const std::string& content);
// gzip (RFC 1952) of `text`, deterministic (no name, no time stamp): what
// zcat and Python's gzip read. Gunzip: the text back (of every member, as
// zcat reads them); IoError naming `source` when the data is not gzip, is
// cut short or has other bytes after it.
std::string Gzip(const std::string& text);
std::string Gunzip(const std::string& data, const std::string& source);
// xz (LZMA2, preset 9e, CRC64) of `text`, deterministic: what xzcat and
// Python's lzma read, and the bytes Python's lzma.compress writes with the
// same filter (its dictionary the smallest power of two, from 4 KiB, that
// holds the text: a larger one finds nothing more and costs memory), and
// about a third fewer bytes than Gzip on r1lab's records. Unxz: the text back (of
// every stream, as xzcat reads them); IoError naming `source` when the data
// is not xz, is cut short or has other bytes after it.
std::string Xz(const std::string& text);
std::string Unxz(const std::string& data, const std::string& source);
// Creates the directory (and parents) and proves it writable with a probe
// file; IoError naming the directory otherwise.
void EnsureWritableDir(const std::string& dir);
bool FileExists(const std::string& path);

// Ranks on several machines share an output folder, whose file system may
// show one machine's new file to another only later: an NFS client caches a
// folder's listing for up to a minute by default. How long a rank waits for
// a file another rank has written: R1LAB_SHARED_FOLDER_WAIT_S seconds, 120
// unless set; ConfigError naming the variable when it is not a number of
// seconds in [0, 86400].
double SharedFolderWaitSeconds();
// Returns once `path` exists and, where `fnv64` is given, its bytes hash to
// it (Fnv64): at once on a local disk, else after polling for up to
// SharedFolderWaitSeconds(). IoError naming the path, `whose` (e.g. "rank
// 0's checkpoint"), what this rank sees instead, and what to do.
void WaitForFile(const std::string& path, const std::string& whose, std::optional<uint64_t> fnv64 = std::nullopt);
// Whole text of a file, decompressed when the path ends in ".xz" or ".gz";
// IoError naming the path if it is missing, a folder or badly compressed.
std::string ReadText(const std::string& path);
// Lines of ReadText(path), without newlines; none if the file does not exist.
std::vector<std::string> ReadLines(const std::string& path);
// Writes Xz(text) to stem + ".xz" (WriteFileAtomic) and removes stem + ".gz",
// an older r1lab's copy of the same record, which the new one replaces.
void WriteXzAtomic(const std::string& stem, const std::string& text);
// stem + ".xz" if that file exists, else stem + ".gz" (records finished
// before r1lab wrote xz) if that exists, else "".
std::string CompressedPath(const std::string& stem);
// Splits text into lines (a trailing newline ends the last one).
std::vector<std::string> SplitLines(const std::string& text);

// Runs argv[0] (looked up on PATH) with its arguments, no shell involved, in
// directory `cwd`, its stdout and stderr going to `log_path`; waits. Returns
// the exit status, 127 if the program could not be started (not installed),
// 126 if `log_path` or `cwd` cannot be used, 128 + n if signal n ended it.
int RunProgram(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path);

// Appends JSON lines to a file, flushing each, so a killed run keeps every
// line written so far.
class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path, bool truncate = false);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void Write(const std::string& json_line);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  struct Impl;
  Impl* impl_;
};

}  // namespace r1lab
