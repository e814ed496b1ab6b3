// Processes working together through torch.distributed's c10d (issue #20):
// a TCPStore rendezvous, a Gloo process group on the CPU and, in a CUDA
// build whose LibTorch has it, an NCCL group for tensors on the GPU. Where the
// ranks come from: torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT, LOCAL_RANK). A rank that cannot reach the others, or a peer
// that is gone, ends in an IoError naming the rank, the address and the
// timeout, never a hang.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace r1lab {

struct DistEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Started by torchrun, whose agent serves the store at MASTER_ADDR:
  // MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True): every rank is its
  // client, and keys are kept apart by restart (TORCHELASTIC_RESTART_COUNT).
  bool agent_store = false;
  int restart = 0;
};

// The torchrun variables from `env` (the process environment when empty).
// Those of torchrun's agent store too.
// Absent: one rank. ConfigError naming the variable when one is malformed,
// out of range, or set without the others it needs.
DistEnv DistEnvFrom(const std::map<std::string, std::string>& env = {});

class Dist {
 public:
  // Rendezvous (rank 0 serves the store) and the Gloo group; IoError after
  // `timeout` when a rank does not come.
  Dist(const DistEnv& env, std::chrono::milliseconds timeout);
  ~Dist();

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  // Sums `t` over the ranks, in place: a CPU tensor through Gloo; a CUDA
  // tensor through NCCL where r1lab was built against a LibTorch with it
  // (each local rank then on its own GPU, LOCAL_RANK), else through Gloo
  // via the host.
  void AllReduceSum(torch::Tensor& t);
  // The element-wise maximum over the ranks, in place.
  void AllReduceMax(torch::Tensor& t);
  // All ranks meet here; IoError after the group's timeout.
  void Barrier();
  // Ranks waiting for each other's whole runs or evaluations, which can
  // take hours: no deadline short of 30 days, but a peer whose process
  // ends fails the wait at once (its sockets close). Its own Gloo group:
  // LibTorch 1.13's Gloo barrier waits only as long as its group's timeout,
  // whatever deadline the call asks for.
  void RoundBarrier();
  // Rank 0's `v` on every rank (what the others pass is ignored).
  uint64_t FromRankZero(uint64_t v);
  // Every rank's `bytes`, in rank order, on every rank (sizes may differ).
  // IoError after the group's timeout: ranks that may arrive far apart meet
  // at a RoundBarrier first.
  std::vector<std::string> AllGather(const std::string& bytes);
  // The prefix of every rank's errors: "rank R of W: ".
  std::string Who() const;

 private:
  void Wait(const std::string& what, const std::function<void()>& op);
  void AllReduce(torch::Tensor& t, bool max);
  DistEnv env_;
  std::chrono::milliseconds timeout_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every rank's `texts`, one after another in rank order, on every rank
// (Dist::AllGather, each rank's texts with their lengths).
std::vector<std::string> AllGatherTexts(Dist& d, const std::vector<std::string>& texts);
// Every rank's (prompt, completion) pairs, in rank order, on every rank.
std::vector<std::pair<std::string, std::string>> AllGatherPairs(
    Dist& d, const std::vector<std::pair<std::string, std::string>>& pairs);

// Rank 0's say on whether it has `path` (`rank0_has`; the other ranks'
// values are ignored), on every rank. Where it has, each other rank then
// waits (WaitForFile, core/io.h) until its own view of the path holds rank
// 0's very bytes: a shared folder's file system may show it late, or show
// an older copy, and a data-parallel rank resuming from another checkpoint
// than rank 0's would train silently wrong weights. The ranks leave together.
bool ShareRankZerosFile(Dist& d, const std::string& path, bool rank0_has);

// Before any work: the ranks were started on the same `experiment` (text
// whose hash is compared: the config as loaded, with the flags that change
// what runs), ConfigError on every rank otherwise; and they share the output
// folder `root` (rank 0 writes a probe file there that every other rank must
// see, waiting as WaitForFile does), IoError on every rank otherwise. An
// empty `root`: the experiment alone is compared.
void CheckRanksShare(Dist& d, const std::string& experiment, const std::string& root);

}  // namespace r1lab
