// c10d on loopback: two ranks (threads of this process) rendezvous through a
// TCPStore and all-reduce through Gloo; a rank whose peers never come, or
// whose peer is gone, gets an error naming it within the timeout.
#include "dist.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "error.h"
#include "io.h"
#include "loopback.h"
#include "test_util.h"
#include "text.h"

namespace r1lab {
namespace {

using testing::FreePort;
using testing::LoopbackRank;

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

// Runs rank(r) for r in [0, world) on threads of their own; each rank's error
// ("(no error)" when it finished).
std::vector<std::string> EachRank(int world, const std::function<void(int)>& rank) {
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] { errors[static_cast<size_t>(r)] = ErrorOf([&] { rank(r); }); });
  for (auto& t : threads) t.join();
  return errors;
}

TEST(Dist, TwoRanksAllReduceAndMeetAtABarrier) {
  const int port = FreePort();
  torch::Tensor sums[2];
  const std::vector<std::string> errors = EachRank(2, [&](int r) {
    Dist d(LoopbackRank(r, 2, port), std::chrono::seconds(20));
    EXPECT_EQ(d.rank(), r);
    torch::Tensor t = torch::tensor({1.0 + r, 10.0 * (r + 1)});
    d.AllReduceSum(t);
    d.Barrier();
    sums[r] = t;
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "(no error)") << "rank " << r;
    EXPECT_TRUE(torch::equal(sums[r], torch::tensor({3.0, 30.0}))) << sums[r];
  }
}

// Every rank's bytes (of any length, none included, zero bytes inside)
// reach every rank in rank order; texts keep their boundaries.
TEST(Dist, RanksGatherEachOthersBytesAndTexts) {
  const int world = 3;
  std::vector<std::vector<std::string>> bytes(world), texts(world);
  const auto errors = testing::OnRanks(world, [&](Dist& d) {
    const int r = d.rank();
    const std::string mine = r == 1 ? std::string() : std::string(static_cast<size_t>(1000 * (r + 1)), 'a' + r) + '\0';
    bytes[static_cast<size_t>(r)] = d.AllGather(mine);
    std::vector<std::string> t;
    for (int k = 0; k < r; ++k) t.push_back(std::string(static_cast<size_t>(k), '0' + r));  // "", "2", ...
    texts[static_cast<size_t>(r)] = AllGatherTexts(d, t);
  });
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "") << r;
    const auto& b = bytes[static_cast<size_t>(r)];
    ASSERT_EQ(b.size(), 3u) << r;
    EXPECT_EQ(b[0], std::string(1000, 'a') + '\0');
    EXPECT_EQ(b[1], "");
    EXPECT_EQ(b[2], std::string(3000, 'c') + '\0');
    EXPECT_EQ(texts[static_cast<size_t>(r)], (std::vector<std::string>{"", "", "2"})) << r;
  }
}

// `world` loopback ranks, local rank = rank, each on GPU rank % GPUs, sum a
// CUDA tensor of rank + 1: every rank gets the sum, on its own device.
void ExpectCudaSumsOnEachRanksDevice(int world) {
  const int gpus = static_cast<int>(torch::cuda::device_count()), port = FreePort();
  std::vector<torch::Tensor> sums(static_cast<size_t>(world));
  const std::vector<std::string> errors = EachRank(world, [&](int r) {
    DistEnv env = LoopbackRank(r, world, port);
    env.local_rank = r;
    Dist d(env, std::chrono::seconds(60));
    torch::Tensor t = torch::full({1000}, 1.0 + r, torch::TensorOptions().device(torch::kCUDA));
    d.AllReduceSum(t);
    sums[static_cast<size_t>(r)] = t;
  });
  for (int r = 0; r < world; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "(no error)") << "rank " << r;
    EXPECT_TRUE(sums[static_cast<size_t>(r)].is_cuda());
    EXPECT_EQ(sums[static_cast<size_t>(r)].device().index(), r % gpus);
    EXPECT_TRUE(torch::all(sums[static_cast<size_t>(r)].cpu() == world * (world + 1) / 2.0).item<bool>());
  }
}

// On a GPU (scripts/gpu_check.sh; skipped without one): CUDA tensors are
// summed where they live (through NCCL in a build whose LibTorch has it),
// one rank per GPU by LOCAL_RANK: two ranks where two GPUs are visible, one
// on a single GPU.
TEST(Dist, CudaTensorsAreSummedOnTheirDevice) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device in this LibTorch build";
  ExpectCudaSumsOnEachRanksDevice(std::min<int>(2, static_cast<int>(torch::cuda::device_count())));
}

// More local ranks than GPUs (a rank shares its GPU): NCCL refuses that, so
// every rank sums its CUDA tensors through Gloo via the host.
TEST(Dist, CudaTensorsOfRanksSharingAGpuAreSummedThroughTheHost) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device in this LibTorch build";
  ExpectCudaSumsOnEachRanksDevice(static_cast<int>(torch::cuda::device_count()) + 1);
}

TEST(Dist, ARankWhosePeersNeverComeFailsWithinTheTimeout) {
  const int port = FreePort(), port2 = FreePort();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = ErrorOf([&] { Dist d(LoopbackRank(0, 2, port), std::chrono::milliseconds(1500)); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(e.find("rank 0 of 2: the rendezvous at 127.0.0.1:" + std::to_string(port) + " did not gather all 2 ranks within 1.5"),
            std::string::npos) << e;
  EXPECT_LT(s, 15.0);
  const std::string client = ErrorOf([&] { Dist d(LoopbackRank(1, 2, port2), std::chrono::milliseconds(1500)); });
  EXPECT_NE(client.find("rank 1 of 2: the rendezvous at 127.0.0.1:" + std::to_string(port2)), std::string::npos) << client;
}

TEST(Dist, APeerThatIsGoneIsAnErrorNotAHang) {
  const int port = FreePort();
  std::string error;
  double seconds = 0;
  std::thread peer([&] {
    Dist d(LoopbackRank(1, 2, port), std::chrono::seconds(20));
    d.Barrier();
  });  // leaves: its sockets close
  {
    Dist d(LoopbackRank(0, 2, port), std::chrono::seconds(3));
    d.Barrier();
    peer.join();
    torch::Tensor t = torch::ones({4});
    const auto t0 = std::chrono::steady_clock::now();
    error = ErrorOf([&] { d.AllReduceSum(t); });
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  EXPECT_NE(error.find("rank 0 of 2: all-reduce failed (a peer is gone or did not answer within 3000 ms)"), std::string::npos) << error;
  EXPECT_LT(seconds, 10.0);
}

// The size sweep's bug: a rank that finished its runs waited for its peer's
// longer one at a barrier that gave up after the group's timeout (120 s in
// `r1lab run`), whatever deadline it asked for. Here the group's timeout is
// 4 s and the peer comes 8 s late.
TEST(Dist, ARoundBarrierWaitsLongerThanTheGroupsTimeout) {
  const int port = FreePort();
  torch::Tensor sums[2];
  const std::vector<std::string> errors = EachRank(2, [&](int r) {
    Dist d(LoopbackRank(r, 2, port), std::chrono::seconds(4));
    if (r == 1) std::this_thread::sleep_for(std::chrono::seconds(8));  // a longer run
    d.RoundBarrier();
    torch::Tensor t = torch::ones({2});
    d.AllReduceSum(t);  // the short-deadline group still works afterwards
    sums[r] = t;
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "(no error)") << "rank " << r;
    EXPECT_TRUE(torch::equal(sums[r], torch::full({2}, 2.0))) << sums[r];
  }
}

// ... but a peer that is gone ends the 30-day wait at once.
TEST(Dist, APeerThatIsGoneEndsARoundBarrier) {
  const int port = FreePort();
  std::thread peer([&] {
    Dist d(LoopbackRank(1, 2, port), std::chrono::seconds(20));
    std::this_thread::sleep_for(std::chrono::seconds(1));
  });  // leaves without coming to the barrier: its sockets close
  std::string error;
  double seconds = 0;
  {
    Dist d(LoopbackRank(0, 2, port), std::chrono::seconds(20));
    const auto t0 = std::chrono::steady_clock::now();
    error = ErrorOf([&] { d.RoundBarrier(); });
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    peer.join();
  }
  EXPECT_NE(error.find("rank 0 of 2: waiting for the other ranks' runs failed (a peer is gone)"), std::string::npos) << error;
  EXPECT_LT(seconds, 15.0);
}

// torchrun's agent serves the store at MASTER_ADDR:MASTER_PORT and tells
// its ranks so (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 must join it as
// a client, not bind the port itself (it fails, the port taken), and a
// restarted attempt's ranks join the same store again.
TEST(Dist, RanksJoinTheStoreTorchrunsAgentServes) {
  const int port = FreePort();
  c10d::TCPStoreOptions o;
  o.port = static_cast<uint16_t>(port);
  o.isServer = true;
  o.waitWorkers = false;
  o.timeout = std::chrono::seconds(20);
  const auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", o);
  for (int restart = 0; restart < 2; ++restart) {
    torch::Tensor sums[2];
    const std::vector<std::string> errors = EachRank(2, [&](int r) {
      DistEnv env = LoopbackRank(r, 2, port);
      env.agent_store = true;
      env.restart = restart;
      Dist d(env, std::chrono::seconds(20));
      torch::Tensor t = torch::tensor({1.0 + r});
      d.AllReduceSum(t);
      sums[r] = t;
    });
    for (int r = 0; r < 2; ++r) {
      ASSERT_EQ(errors[static_cast<size_t>(r)], "(no error)") << "rank " << r << ", restart " << restart;
      EXPECT_EQ(sums[r].item<double>(), 3.0);
    }
  }
}

// A store that takes the connection and reads the requests but never
// answers (as torchrun's from a torch 2.x wheel does Debian's LibTorch
// 1.13's) would hold the rendezvous in a read with no deadline: the rank
// ends with an error naming it instead (the process: no thread is left
// blocked, and SIGTERM would not end it).
TEST(Dist, AStoreThatNeverAnswersEndsTheRankWithAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 8) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
          std::_Exit(5);
        std::thread([fd] {  // takes every connection and drains it
          for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0;)
            std::thread([c] {
              char buf[256];
              while (::read(c, buf, sizeof buf) > 0) {
              }
            }).detach();
        }).detach();
        DistEnv env = LoopbackRank(1, 2, ntohs(a.sin_port));
        env.agent_store = true;  // torchrun's: every rank a client
        try {
          Dist d(env, std::chrono::milliseconds(1500));
        } catch (const IoError& e) {
          std::fprintf(stderr, "an error thrown, not the hang this test is about: %s\n", e.what());
          std::_Exit(4);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(3),
      "r1lab: i/o error: rank 1 of 2: the rendezvous at 127\\.0\\.0\\.1:[0-9]+ got no answer within 5\\.500 s: the store "
      "there does not answer");
}

TEST(Dist, ReadsTorchrunsEnvironmentAndNamesABadVariable) {
  const DistEnv one = DistEnvFrom({{"UNRELATED", "1"}});
  EXPECT_EQ(one.world_size, 1);
  const DistEnv two = DistEnvFrom({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "29600"}, {"LOCAL_RANK", "0"}});
  EXPECT_EQ(two.rank, 1);
  EXPECT_EQ(two.world_size, 2);
  EXPECT_EQ(two.master_addr, "10.0.0.5");
  EXPECT_EQ(two.master_port, 29600);
  EXPECT_FALSE(two.agent_store);
  const DistEnv agent = DistEnvFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                     {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(agent.agent_store) << "torchrun's agent serves the store: rank 0 must not bind its port";
  EXPECT_EQ(agent.restart, 2);
  EXPECT_NE(ErrorOf([] {
              DistEnvFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"TORCHELASTIC_RESTART_COUNT", "x"}});
            }).find("TORCHELASTIC_RESTART_COUNT='x'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { DistEnvFrom({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }).find("environment variable RANK='2': expected an integer in [0, 1]"), std::string::npos);
  EXPECT_NE(ErrorOf([] { DistEnvFrom({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "http"}}); }).find("MASTER_PORT='http'"), std::string::npos);
  EXPECT_NE(ErrorOf([] { DistEnvFrom({{"RANK", "0"}}); }).find("RANK is set but WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(ErrorOf([] { DistEnvFrom({{"WORLD_SIZE", "2"}}); }).find("WORLD_SIZE is set but RANK is not"), std::string::npos);
}

// R1LAB_SHARED_FOLDER_WAIT_S for one test (ctest runs each in a process of its own).
struct SharedFolderWait {
  explicit SharedFolderWait(const char* seconds) { ::setenv("R1LAB_SHARED_FOLDER_WAIT_S", seconds, 1); }
  ~SharedFolderWait() { ::unsetenv("R1LAB_SHARED_FOLDER_WAIT_S"); }
};

// Each rank's own view of a shared folder: folder r for rank r, as two
// machines mount one share. Rank 1 first holds an older checkpoint, and
// the share shows it rank 0's 300 ms later; where rank 0 has none, no rank
// waits, whatever the others hold.
TEST(Dist, EveryRankTakesRankZerosFileWaitingForItsVeryBytes) {
  const std::string dir = testing::TempDir("dist_share");
  const SharedFolderWait wait("20");
  const std::string view[2] = {dir + "/0/checkpoint.pt", dir + "/1/checkpoint.pt"};
  for (const char* r : {"/0", "/1"}) std::filesystem::create_directories(dir + r);
  WriteFileAtomic(view[0], "step 4");
  WriteFileAtomic(view[1], "step 2");
  const int port = FreePort();
  bool has[2] = {false, false}, none[2] = {true, true};
  double waited[2] = {0, 0};
  std::thread share;  // the share shows rank 1 rank 0's bytes 300 ms after the ranks have met
  const std::vector<std::string> errors = EachRank(2, [&](int r) {
    Dist d(LoopbackRank(r, 2, port), std::chrono::seconds(20));
    if (r == 1)
      share = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        WriteFileAtomic(view[1], "step 4");
      });
    const auto t0 = std::chrono::steady_clock::now();
    has[r] = ShareRankZerosFile(d, view[r], FileExists(view[r]));
    waited[r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    none[r] = ShareRankZerosFile(d, view[r] + ".absent", r == 1);  // only rank 0's say counts
  });
  share.join();
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "(no error)") << "rank " << r;
    EXPECT_TRUE(has[r]) << r;
    EXPECT_FALSE(none[r]) << r;
    EXPECT_GT(waited[r], 0.25) << "rank " << r << " left before rank 1 saw rank 0's bytes";
  }
}

TEST(Dist, ARankThatNeverSeesRankZerosFileStopsWithAnErrorNamingIt) {
  const std::string dir = testing::TempDir("dist_share_fail");
  const SharedFolderWait wait("0.5");
  const std::string view[2] = {dir + "/0/checkpoint.pt", dir + "/1/checkpoint.pt"};
  for (const char* r : {"/0", "/1"}) std::filesystem::create_directories(dir + r);
  WriteFileAtomic(view[0], "step 4");
  const int port = FreePort();
  const std::vector<std::string> errors = EachRank(2, [&](int r) {
    Dist d(LoopbackRank(r, 2, port), std::chrono::seconds(20));
    ShareRankZerosFile(d, view[r], true);
  });
  EXPECT_NE(errors[1].find(view[1] + ": rank 0's file (fnv64 " + HexHash(Fnv64("step 4")) +
                           ") is not there for this rank after 0.5 s (it sees no such file)"),
            std::string::npos)
      << errors[1];
  EXPECT_NE(errors[0].find("rank 0 of 2: waiting for the other ranks' runs failed (a peer is gone)"), std::string::npos)
      << errors[0];
}

// Ranks started on different experiments, or on output folders that are
// not one shared folder, stop before any work, every one with an error.
TEST(Dist, RanksCheckTheyRunOneExperimentInOneFolder) {
  const std::string dir = testing::TempDir("dist_check");
  const SharedFolderWait wait("0.5");
  auto check = [&](const std::string& exp1, const std::string& root1) {
    const int port = FreePort();
    return EachRank(2, [&](int r) {
      Dist d(LoopbackRank(r, 2, port), std::chrono::seconds(20));
      CheckRanksShare(d, r == 0 ? "run\nname: \"a\"\n" : exp1, r == 0 ? dir + "/out" : root1);
    });
  };
  std::vector<std::string> errors = check("run\nname: \"a\"\n", dir + "/out");
  EXPECT_EQ(errors[0], "(no error)");
  EXPECT_EQ(errors[1], "(no error)");
  for (const auto& e : std::filesystem::directory_iterator(dir + "/out"))
    ADD_FAILURE() << "the probe is left behind: " << e.path();

  errors = check("run\nname: \"b\"\n", dir + "/out");
  EXPECT_NE(errors[0].find("rank 0 of 2: 1 of 2 ranks run another experiment than rank 0's: start every rank with "
                           "the same command, CONFIG and options"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("rank 1 of 2: this rank's experiment differs from rank 0's (1 of 2 ranks differ)"), std::string::npos) << errors[1];

  errors = check("run\nname: \"a\"\n", dir + "/elsewhere");
  EXPECT_NE(errors[0].find("rank 0 of 2: 1 of 2 ranks do not see rank 0's output folder " + dir + "/out"), std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("rank 1 of 2: the output folder " + dir + "/elsewhere is not rank 0's: " + dir +
                           "/elsewhere/.rank0-probe-"),
            std::string::npos)
      << errors[1];
}

}  // namespace
}  // namespace r1lab
