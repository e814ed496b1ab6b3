#include "io.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lzma.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "error.h"
#include "text.h"

namespace r1lab {
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError(path + ": is a folder; expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open for reading (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read failed");
  return ss.str();
}

std::string Gzip(const std::string& text) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper; deflate's default header has no name and time 0.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw InternalError("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw InternalError("gzip: deflate did not finish");
  return out;
}

std::string Gunzip(const std::string& data, const std::string& source) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw InternalError("gunzip: inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    // Members one after another (cat a.gz b.gz) are one gzip file, as zcat
    // and Python read it; other bytes after the data are not.
    if (rc == Z_STREAM_END && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
      inflateReset(&z);
      continue;
    }
    if (rc != Z_OK) break;  // the end, an error, or input that ended before the stream did
  }
  const bool ok = rc == Z_STREAM_END;
  const size_t trailing = z.avail_in;
  const std::string why = z.msg ? z.msg : "cut short";
  inflateEnd(&z);
  if (!ok) throw IoError(source + ": not a complete gzip file (" + why + ")");
  if (trailing > 0)
    throw IoError(source + ": " + std::to_string(trailing) + " bytes after the end of the gzip data; expected none");
  return out;
}

namespace {
// Runs an xz coder over all of its input, appending what it writes to *out;
// its last return (LZMA_STREAM_END when the stream ended).
lzma_ret LzmaFinish(lzma_stream* z, std::string* out) {
  uint8_t buf[1 << 16];
  lzma_ret rc = LZMA_OK;
  while (rc == LZMA_OK) {
    z->next_out = buf;
    z->avail_out = sizeof buf;
    rc = lzma_code(z, LZMA_FINISH);
    out->append(reinterpret_cast<const char*>(buf), sizeof buf - z->avail_out);
  }
  return rc;
}
}  // namespace

std::string Xz(const std::string& text) {
  lzma_options_lzma opt;
  if (lzma_lzma_preset(&opt, 9 | LZMA_PRESET_EXTREME)) throw InternalError("xz: no preset 9e");
  uint32_t dict = LZMA_DICT_SIZE_MIN;
  while (dict < text.size() && dict < opt.dict_size) dict *= 2;
  opt.dict_size = dict;
  const lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  // The stream encoder, as Python's lzma uses it (the one-call buffer encoder
  // writes sizes into the block header, so other bytes).
  lzma_stream z = LZMA_STREAM_INIT;
  if (lzma_stream_encoder(&z, filters, LZMA_CHECK_CRC64) != LZMA_OK) throw InternalError("xz: encoder init failed");
  z.next_in = reinterpret_cast<const uint8_t*>(text.data());
  z.avail_in = text.size();
  std::string out;
  const lzma_ret rc = LzmaFinish(&z, &out);
  lzma_end(&z);
  if (rc != LZMA_STREAM_END) throw InternalError("xz: encoder failed (" + std::to_string(rc) + ")");
  return out;
}

std::string Unxz(const std::string& data, const std::string& source) {
  const std::string magic("\xfd" "7zXZ\0", 6);
  std::string out;
  size_t at = 0;
  // Streams one after another (cat a.xz b.xz) are read as xzcat reads them;
  // other bytes after the data are not.
  do {
    lzma_stream z = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z, UINT64_MAX, 0) != LZMA_OK) throw InternalError("xz: decoder init failed");
    z.next_in = reinterpret_cast<const uint8_t*>(data.data() + at);
    z.avail_in = data.size() - at;
    const lzma_ret rc = LzmaFinish(&z, &out);
    at = data.size() - z.avail_in;
    lzma_end(&z);
    if (rc != LZMA_STREAM_END) {
      const std::string why = rc == LZMA_FORMAT_ERROR    ? "no xz header"
                              : rc == LZMA_BUF_ERROR     ? "cut short"
                              : rc == LZMA_DATA_ERROR    ? "corrupt data"
                              : rc == LZMA_OPTIONS_ERROR ? "options this liblzma does not support"
                              : rc == LZMA_MEM_ERROR     ? "out of memory"
                                                         : "liblzma error " + std::to_string(rc);
      throw IoError(source + ": not a complete xz file (" + why + ")");
    }
    // Stream padding: zero bytes, four at a time, may follow a stream.
    size_t zeros = 0;
    while (at + zeros < data.size() && data[at + zeros] == '\0') ++zeros;
    if (zeros % 4 == 0) at += zeros;
  } while (data.compare(at, magic.size(), magic) == 0);
  if (at < data.size())
    throw IoError(source + ": " + std::to_string(data.size() - at) + " bytes after the end of the xz data; expected none");
  return out;
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IoError(path + ": cannot write (" + std::strerror(errno) + ")");
  // A failed write (a full disk) leaves neither a half file nor its .tmp.
  auto fail = [&](const char* what) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(path + ": " + what + " (" + why + ")");
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) fail("write failed");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("write failed");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) fail("write failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename temp file");
}

void EnsureWritableDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir + ": cannot create output directory (" + ec.message() + ")");
  const std::string probe = (fs::path(dir) / ".r1lab_write_probe").string();
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IoError(dir + ": output directory is not writable (" + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

bool FileExists(const std::string& path) { return fs::exists(path); }

double SharedFolderWaitSeconds() {
  const char* v = std::getenv("R1LAB_SHARED_FOLDER_WAIT_S");
  if (!v) return 120;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (*v == '\0' || *end != '\0' || !(s >= 0 && s <= 86400))
    throw ConfigError(std::string("environment variable R1LAB_SHARED_FOLDER_WAIT_S='") + v +
                      "': expected a number of seconds in [0, 86400]");
  return s;
}

void WaitForFile(const std::string& path, const std::string& whose, std::optional<uint64_t> fnv64) {
  const double wait = SharedFolderWaitSeconds();
  const auto start = std::chrono::steady_clock::now();
  std::string seen;  // what this rank sees, for the error
  for (int poll = 0;; ++poll) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      seen = "no such file";
    } else if (!fnv64) {
      return;
    } else {
      try {
        const std::string bytes = ReadFile(path);
        const uint64_t h = Fnv64(bytes);
        if (h == *fnv64) return;
        seen = "other bytes (fnv64 " + HexHash(h) + ", " + std::to_string(bytes.size()) + " bytes)";
      } catch (const IoError& e) {  // renamed over while being read: look again
        seen = e.what();
      }
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited >= wait) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%g", wait);
      throw IoError(path + ": " + whose + (fnv64 ? " (fnv64 " + HexHash(*fnv64) + ")" : "") +
                    " is not there for this rank after " + secs + " s (it sees " + seen +
                    "). The ranks need one output folder on a shared file system, each seeing what the others "
                    "write (an NFS mount: close-to-open consistency); set R1LAB_SHARED_FOLDER_WAIT_S to wait "
                    "longer for a slow one");
    }
    // 10 ms at first, up to 1 s between looks.
    const double pause = std::min({0.01 * (1 << std::min(poll, 7)), 1.0, wait - waited});
    std::this_thread::sleep_for(std::chrono::duration<double>(pause));
  }
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ReadText(const std::string& path) {
  auto ends = [&](const char* suffix) { return path.size() > 3 && path.compare(path.size() - 3, 3, suffix) == 0; };
  if (ends(".xz")) return Unxz(ReadFile(path), path);
  if (ends(".gz")) return Gunzip(ReadFile(path), path);
  return ReadFile(path);
}

void WriteXzAtomic(const std::string& stem, const std::string& text) {
  WriteFileAtomic(stem + ".xz", Xz(text));
  std::remove((stem + ".gz").c_str());
}

std::string CompressedPath(const std::string& stem) {
  for (const char* suffix : {".xz", ".gz"})
    if (FileExists(stem + suffix)) return stem + suffix;
  return "";
}

std::vector<std::string> ReadLines(const std::string& path) {
  return FileExists(path) ? SplitLines(ReadText(path)) : std::vector<std::string>{};
}

struct JsonlWriter::Impl {
  std::FILE* f = nullptr;
};

JsonlWriter::JsonlWriter(const std::string& path, bool truncate) : path_(path), impl_(new Impl) {
  impl_->f = std::fopen(path.c_str(), truncate ? "w" : "a");
  if (!impl_->f) {
    delete impl_;
    throw IoError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  }
}

JsonlWriter::~JsonlWriter() {
  std::fclose(impl_->f);
  delete impl_;
}

void JsonlWriter::Write(const std::string& json_line) {
  std::fputs(json_line.c_str(), impl_->f);
  std::fputc('\n', impl_->f);
  if (std::fflush(impl_->f) != 0) throw IoError(path_ + ": write failed");
}

int RunProgram(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path) {
  if (argv.empty()) throw InternalError("RunProgram: no program");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw IoError("cannot start " + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) {  // the child: only async-signal-safe calls until exec
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);  // before chdir: relative paths
    if (fd < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw IoError("waiting for " + argv[0] + ": " + std::strerror(errno));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

}  // namespace r1lab
