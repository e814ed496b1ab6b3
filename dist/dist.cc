#include "dist.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef R1LAB_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "error.h"
#include "io.h"
#include "text.h"

namespace r1lab {

namespace {

constexpr std::chrono::hours kRoundTimeout{24 * 30};

#ifdef R1LAB_HAVE_NCCL
// A collective that times out (a peer is gone) must reach Dist::Wait as an
// exception, to end the run with its clear error. By default NCCL's watchdog
// aborts the whole process instead; CleanUpOnly (2) aborts the communicators
// and lets the waiting call throw. A value the user set is kept. Set before
// main, while the process has one thread (setenv races getenv).
const bool kNcclErrorHandling = setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", /*overwrite=*/0) == 0;
#endif

int IntVar(const std::map<std::string, std::string>& env, const std::string& name, int lo, int hi, int def) {
  const auto it = env.find(name);
  if (it == env.end()) return def;
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < lo || v > hi)
    throw ConfigError("environment variable " + name + "='" + it->second + "': expected an integer in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(v);
}

// Every error of a rank starts with which rank it is.
std::string RankPrefix(const DistEnv& env) {
  return "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + ": ";
}

// Ends the process with `message` (as an i/o error: exit code 3) unless
// destroyed within `after`. A store that takes the connection but never
// answers (one of another LibTorch version: torchrun's from a torch 2.x
// wheel, to r1lab on Debian's 1.13) holds the rendezvous in a read that
// has no deadline, and SIGTERM does not end it.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds after, std::string message)
      : thread_([this, after, message] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, after, [this] { return done_; })) {
            std::fprintf(stderr, "r1lab: i/o error: %s\n", message.c_str());
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: it uses the others
};

// A store torchrun's agent serves outlives a restart of the ranks: each
// attempt's keys apart.
std::string KeyPrefix(const DistEnv& env) {
  return env.agent_store ? "r1lab/attempt-" + std::to_string(env.restart) + "/" : "";
}

}  // namespace

DistEnv DistEnvFrom(const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> env = given;
  if (env.empty())
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
                             "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"})
      if (const char* v = std::getenv(name)) env[name] = v;
  DistEnv d;
  if (!env.count("WORLD_SIZE")) {
    if (env.count("RANK")) throw ConfigError("environment variable RANK is set but WORLD_SIZE is not");
    return d;
  }
  d.world_size = IntVar(env, "WORLD_SIZE", 1, 65536, 1);
  if (!env.count("RANK") && d.world_size > 1) throw ConfigError("environment variable WORLD_SIZE is set but RANK is not");
  d.rank = IntVar(env, "RANK", 0, d.world_size - 1, 0);
  d.local_rank = IntVar(env, "LOCAL_RANK", 0, 65535, 0);
  d.master_port = IntVar(env, "MASTER_PORT", 1, 65535, 29500);
  if (env.count("MASTER_ADDR")) d.master_addr = env["MASTER_ADDR"];
  if (d.master_addr.empty()) throw ConfigError("environment variable MASTER_ADDR is empty");
  d.agent_store = env.count("TORCHELASTIC_USE_AGENT_STORE") && env["TORCHELASTIC_USE_AGENT_STORE"] == "True";
  d.restart = IntVar(env, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 30, 0);
  return d;
}

struct Dist::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> rounds;  // RoundBarrier's: kRoundTimeout
#ifdef R1LAB_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // CUDA tensors, when this process sees a GPU
#endif
  bool failed = false;  // a collective failed: a peer is gone
};

Dist::Dist(const DistEnv& env, std::chrono::milliseconds timeout) : env_(env), timeout_(timeout), impl_(new Impl) {
  const std::string where = RankPrefix(env);
  const std::string addr = env.master_addr + ":" + std::to_string(env.master_port);
  const std::string wait = " within " + std::to_string(timeout.count() / 1000.0).substr(0, 5) + " s";
  // Past the store's own deadlines (its connect and its wait for the ranks
  // each take up to `timeout`), which give the errors below.
  const std::chrono::milliseconds last_resort = 3 * timeout + std::chrono::seconds(1);
  const Watchdog watchdog(last_resort,
                          where + "the rendezvous at " + addr + " got no answer within " +
                              std::to_string(last_resort.count() / 1000.0).substr(0, 5) +
                              " s: the store there does not answer this r1lab's requests (LibTorch " TORCH_VERSION
                              "); a torchrun or rank 0 of another LibTorch version serves it?");
  try {
    c10d::TCPStoreOptions opt;
    opt.port = static_cast<uint16_t>(env.master_port);
    opt.isServer = env.rank == 0 && !env.agent_store;
    opt.numWorkers = static_cast<size_t>(env.world_size);
    opt.waitWorkers = true;
    opt.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opt);
  } catch (const std::exception& e) {
    throw IoError(where + "the rendezvous at " + addr + " did not gather all " + std::to_string(env.world_size) +
                  " ranks" + wait + " (" + std::string(e.what()).substr(0, 200) + ")");
  }
  try {
    // One machine: the loopback interface; several: this host's own address.
    const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
    auto group = [&](const std::string& prefix, std::chrono::milliseconds deadline) {
      auto options = c10d::ProcessGroupGloo::Options::create(deadline);
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
      return c10::make_intrusive<c10d::ProcessGroupGloo>(
          c10::make_intrusive<c10d::PrefixStore>(KeyPrefix(env) + prefix, impl_->store), env.rank, env.world_size,
          options);
    };
    impl_->group = group("gloo", timeout);
    impl_->rounds = group("rounds", kRoundTimeout);
  } catch (const std::exception& e) {
    throw IoError(where + "the rendezvous at " + addr + " did not gather all " + std::to_string(env.world_size) +
                  " ranks" + wait + " (the Gloo group did not form: " + std::string(e.what()).substr(0, 200) + ")");
  }
#ifdef R1LAB_HAVE_NCCL
  if (torch::cuda::is_available()) {
    // Each rank of a machine on its own GPU (LOCAL_RANK), which becomes the
    // device every CUDA model of this process is built on. The NCCL
    // communicator itself forms at the first all-reduce.
    const int gpus = static_cast<int>(torch::cuda::device_count());
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank % gpus));
    // NCCL refuses two ranks on one GPU. Where any rank shares its GPU (more
    // local ranks than GPUs), every rank sums CUDA tensors through Gloo via
    // the host instead: all ranks must use the same group.
    std::vector<torch::Tensor> shared = {torch::full({1}, env.local_rank >= gpus ? 1.0f : 0.0f)};
    try {
      impl_->group->allreduce(shared)->wait(timeout);
    } catch (const std::exception& e) {
      throw IoError(where + "the ranks did not agree on NCCL within the timeout (" +
                    std::string(e.what()).substr(0, 200) + ")");
    }
    if (shared[0].item<float>() == 0) {
      // The caller's wait times out first and throws (Wait's clear error);
      // the watchdog, later, is only a backstop (kNcclErrorHandling). With
      // equal timeouts its abort could complete the work before the wait
      // saw the time out, and the all-reduce would return unsummed.
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout + std::chrono::seconds(30);
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c10::make_intrusive<c10d::PrefixStore>(KeyPrefix(env) + "nccl", impl_->store), env.rank, env.world_size,
          options);
    }
  }
#endif
}

Dist::~Dist() {
#ifdef R1LAB_HAVE_NCCL
  // NCCL's communicators are released here, not left to the process's exit
  // (LibTorch warns about, and may hang on, a group never shut down).
  if (impl_->nccl) {
    try {
      if (impl_->failed)
        impl_->nccl->abort();  // a peer is gone: a shutdown would wait for it
      else
        impl_->nccl->shutdown();
    } catch (const std::exception&) {  // a peer already gone: nothing left to release cleanly
    }
  }
#endif
}

void Dist::Wait(const std::string& what, const std::function<void()>& op) {
  try {
    op();
  } catch (const std::exception& e) {
    impl_->failed = true;
    throw IoError(RankPrefix(env_) + what +
                  " failed (a peer is gone or did not answer within " + std::to_string(timeout_.count()) +
                  " ms): " + std::string(e.what()).substr(0, 200));
  }
}

void Dist::AllReduce(torch::Tensor& t, bool max) {
  c10d::AllreduceOptions o;
  o.reduceOp = max ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
  Wait("all-reduce", [&] {
#ifdef R1LAB_HAVE_NCCL
    if (t.is_cuda() && impl_->nccl) {  // on the device: the host waits for nothing but its stream
      std::vector<torch::Tensor> ts = {t};
      impl_->nccl->allreduce(ts, o)->wait(timeout_);
      return;
    }
#endif
    std::vector<torch::Tensor> ts = {t.is_cpu() ? t : t.cpu()};  // Gloo: through the host
    impl_->group->allreduce(ts, o)->wait(timeout_);
    if (!t.is_cpu()) t.copy_(ts[0]);
  });
}

void Dist::AllReduceSum(torch::Tensor& t) { AllReduce(t, /*max=*/false); }

void Dist::AllReduceMax(torch::Tensor& t) { AllReduce(t, /*max=*/true); }

void Dist::Barrier() {
  Wait("barrier", [&] { impl_->group->barrier()->wait(timeout_); });
}

void Dist::RoundBarrier() {
  try {
    impl_->rounds->barrier()->wait(kRoundTimeout);
  } catch (const std::exception& e) {
    impl_->failed = true;
    throw IoError(RankPrefix(env_) + "waiting for the other ranks' runs failed (a peer is gone): " +
                  std::string(e.what()).substr(0, 200));
  }
}

uint64_t Dist::FromRankZero(uint64_t v) {
  // Summed with the others' zeros: rank 0's bits, exactly.
  torch::Tensor t = torch::tensor({static_cast<int64_t>(env_.rank == 0 ? v : 0)}, torch::kLong);
  AllReduceSum(t);
  return static_cast<uint64_t>(t.item<int64_t>());
}

std::vector<std::string> Dist::AllGather(const std::string& bytes) {
  const int W = env_.world_size;
  std::vector<torch::Tensor> sizes_in = {torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong)};
  std::vector<std::vector<torch::Tensor>> sizes_out(1);
  for (int r = 0; r < W; ++r) sizes_out[0].push_back(torch::zeros({1}, torch::kLong));
  Wait("all-gather", [&] { impl_->group->allgather(sizes_out, sizes_in)->wait(timeout_); });
  int64_t longest = 0;
  for (const torch::Tensor& t : sizes_out[0]) longest = std::max(longest, t.item<int64_t>());
  // Gloo gathers tensors of one size: each rank's bytes, zero-padded.
  std::vector<torch::Tensor> in = {torch::zeros({std::max<int64_t>(longest, 1)}, torch::kByte)};
  std::memcpy(in[0].data_ptr<uint8_t>(), bytes.data(), bytes.size());
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < W; ++r) out[0].push_back(torch::empty_like(in[0]));
  Wait("all-gather", [&] { impl_->group->allgather(out, in)->wait(timeout_); });
  std::vector<std::string> all;
  for (int r = 0; r < W; ++r)
    all.emplace_back(reinterpret_cast<const char*>(out[0][static_cast<size_t>(r)].data_ptr<uint8_t>()),
                     static_cast<size_t>(sizes_out[0][static_cast<size_t>(r)].item<int64_t>()));
  return all;
}

std::string Dist::Who() const { return RankPrefix(env_); }

std::vector<std::string> AllGatherTexts(Dist& d, const std::vector<std::string>& texts) {
  std::string mine;
  for (const std::string& t : texts) {
    const uint64_t n = t.size();
    mine.append(reinterpret_cast<const char*>(&n), sizeof n);
    mine.append(t);
  }
  std::vector<std::string> all;
  for (const std::string& bytes : d.AllGather(mine))
    for (size_t at = 0; at < bytes.size();) {
      uint64_t n = 0;
      R1_CHECK(at + sizeof n <= bytes.size(), "AllGatherTexts: a rank's bytes end inside a length");
      std::memcpy(&n, bytes.data() + at, sizeof n);
      at += sizeof n;
      R1_CHECK(n <= bytes.size() - at, "AllGatherTexts: a rank's bytes end inside a text");
      all.push_back(bytes.substr(at, n));
      at += n;
    }
  return all;
}

std::vector<std::pair<std::string, std::string>> AllGatherPairs(
    Dist& d, const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<std::string> texts;
  for (const auto& [prompt, completion] : pairs) {
    texts.push_back(prompt);
    texts.push_back(completion);
  }
  texts = AllGatherTexts(d, texts);
  std::vector<std::pair<std::string, std::string>> all;
  for (size_t i = 0; i + 1 < texts.size(); i += 2) all.emplace_back(texts[i], texts[i + 1]);
  return all;
}

bool ShareRankZerosFile(Dist& d, const std::string& path, bool rank0_has) {
  const bool lead = d.rank() == 0;
  const uint64_t hash = lead && rank0_has ? Fnv64(ReadFile(path)) : 0;
  const bool has = d.FromRankZero(lead && rank0_has ? 1 : 0) != 0;
  const uint64_t want = d.FromRankZero(hash);
  if (has && !lead) WaitForFile(path, "rank 0's file", want);
  d.RoundBarrier();  // rank 0 waits while the others look, however long
  return has;
}

void CheckRanksShare(Dist& d, const std::string& experiment, const std::string& root) {
  const bool lead = d.rank() == 0;
  const uint64_t mine = Fnv64(experiment), theirs = d.FromRankZero(mine);
  torch::Tensor differ = torch::tensor({mine != theirs ? 1.0 : 0.0});
  d.AllReduceSum(differ);
  if (const int n = static_cast<int>(differ.item<double>())) {
    const std::string n_of = std::to_string(n) + " of " + std::to_string(d.world_size());
    throw ConfigError(d.Who() +
                      (mine != theirs ? "this rank's experiment differs from rank 0's (" + n_of + " ranks differ)"
                                      : n_of + " ranks run another experiment than rank 0's") +
                      ": start every rank with the same command, CONFIG and options");
  }
  if (root.empty()) return;  // nothing to write: no folder to share
  // The probe's name and content: a number rank 0 draws, so that no earlier
  // job's probe, nor another job's in the same folder, passes for this one.
  uint64_t nonce = 0;
  if (lead) {
    std::random_device rd;
    nonce = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    EnsureWritableDir(root);
    WriteFileAtomic(root + "/.rank0-probe-" + HexHash(nonce), HexHash(nonce));
  }
  nonce = d.FromRankZero(nonce);
  const std::string probe = root + "/.rank0-probe-" + HexHash(nonce);
  std::string error;
  if (!lead) try {
      WaitForFile(probe, "rank 0's probe file", Fnv64(HexHash(nonce)));
    } catch (const IoError& e) {
      error = e.what();
    }
  d.RoundBarrier();  // rank 0 waits while the others look
  torch::Tensor blind = torch::tensor({error.empty() ? 0.0 : 1.0});
  d.AllReduceSum(blind);
  if (lead) std::remove(probe.c_str());
  if (const int n = static_cast<int>(blind.item<double>()))
    throw IoError(d.Who() + (error.empty() ? std::to_string(n) + " of " + std::to_string(d.world_size()) +
                                                 " ranks do not see rank 0's output folder " + root +
                                                 ": every rank needs the same output folder on a shared file system"
                                           : "the output folder " + root + " is not rank 0's: " + error));
}

}  // namespace r1lab
