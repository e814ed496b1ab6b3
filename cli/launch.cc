// `r1lab run --nproc N`: N ranks of this command on this machine, with the
// torchrun environment (dist/dist.h) and a free loopback port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.h"
#include "error.h"

namespace r1lab {

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw IoError("--nproc: no socket for a rendezvous port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw IoError("--nproc: no free loopback port for the rendezvous");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int LaunchRanks(int argc, char** argv, int nproc) {
  std::vector<std::string> args;  // this command without --nproc N
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--nproc") {
      ++i;
      continue;
    }
    args.emplace_back(argv[i]);
  }
  std::vector<char*> child_argv;
  for (std::string& s : args) child_argv.push_back(s.data());
  child_argv.push_back(nullptr);
  const std::string port = std::to_string(FreeLoopbackPort());
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) throw IoError("--nproc: fork failed for rank " + std::to_string(r));
    if (pid == 0) {
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::execv("/proc/self/exe", child_argv.data());
      std::perror("r1lab: --nproc: exec");
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  // The first rank to fail ends the others (they would fail at their next
  // wait for it anyway); its exit code is the job's.
  int code = 0;
  for (size_t left = pids.size(); left > 0;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    --left;
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (rc != 0 && code == 0) {
      code = rc;
      int rank = 0;
      for (size_t r = 0; r < pids.size(); ++r)
        if (pids[r] == pid) rank = static_cast<int>(r);
      std::fprintf(stderr, "r1lab: rank %d of %d ended with exit code %d; stopping the others\n", rank, nproc, rc);
      for (pid_t other : pids)
        if (other != pid) ::kill(other, SIGTERM);
    }
  }
  return code;
}

}  // namespace r1lab
