// The thread count (lib/backend/threads.cpp): set_num_threads() and reset_num_threads(), the threads a
// call is worth from its work, and the default: its cap (cores, OMP_NUM_THREADS, MPI ranks on the node)
// and its measure of the cores other processes keep busy. (parallel_for itself and the kernels that use
// it are tested in test_parallel.cpp.)
#include "support/test.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "backend/threads.hpp"

using namespace attograd;
using namespace attograd::testing;
namespace utf = boost::unit_test;
using namespace std::chrono_literals;

namespace {

// Asks for threads for `duration`, as kernels would, so that the load monitor reads its windows; returns
// the last answer.
int allowed_after(std::chrono::milliseconds duration) {
  const auto end = std::chrono::steady_clock::now() + duration;
  int allowed = 0;
  while (std::chrono::steady_clock::now() < end) {
    allowed = backend::threads_allowed();
    std::this_thread::sleep_for(5ms);
  }
  return allowed;
}

// Child processes that spin until stopped: the load another program puts on the machine.
class BusyProcesses {
 public:
  explicit BusyProcesses(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        volatile unsigned long spin = 0;
        for (;;) spin = spin + 1;
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~BusyProcesses() {
    for (pid_t pid : pids_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::size_t started() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE(set_num_threads_sets_the_most_threads_an_op_uses) {
  ThreadCount guard(1);
  BOOST_TEST(num_threads() == 1);
  BOOST_TEST(backend::threads_allowed() == 1);
  set_num_threads(3);
  BOOST_TEST(num_threads() == 3);
  BOOST_TEST(backend::threads_allowed() == 3);
  BOOST_TEST(backend::thread_setting() == 3);
}

BOOST_AUTO_TEST_CASE(reset_num_threads_goes_back_to_the_default) {
  ThreadCount guard(3);
  reset_num_threads();
  BOOST_TEST(backend::thread_setting() == 0);
  BOOST_TEST(num_threads() == backend::thread_defaults().cap);
  BOOST_TEST(backend::threads_allowed() >= 1);
  BOOST_TEST(backend::threads_allowed() <= backend::thread_defaults().cap);
}

BOOST_AUTO_TEST_CASE(fewer_than_one_thread_is_an_error) {
  const int before = backend::thread_setting();
  BOOST_CHECK_EXCEPTION(set_num_threads(0), ValueError,
                        has_message("set_num_threads: the number of threads must be at least 1, got 0 "
                                    "(reset_num_threads() goes back to the default)"));
  BOOST_CHECK_EXCEPTION(set_num_threads(-3), ValueError, has_message("got -3"));
  BOOST_TEST(backend::thread_setting() == before);  // unchanged by the refused calls
}

BOOST_AUTO_TEST_CASE(the_setting_reaches_threads_the_program_starts) {
  // OpenMP keeps its count per thread; attograd's setting is for the whole process.
  for (int n : {1, 3}) {
    ThreadCount guard(n);
    int seen = 0, allowed = 0;
    std::thread([&] {
      seen = num_threads();
      allowed = backend::threads_allowed();
    }).join();
    BOOST_TEST(seen == n);
    BOOST_TEST(allowed == n);
  }
}

BOOST_AUTO_TEST_CASE(a_call_gets_one_thread_per_grain_of_work) {
  ThreadCount four(4);
  const std::int64_t grain = 1000;
  BOOST_TEST(backend::threads_for(0, grain) == 1);
  BOOST_TEST(backend::threads_for(grain - 1, grain) == 1);  // small: the calling thread alone
  BOOST_TEST(backend::threads_for(grain, grain) == 2);
  BOOST_TEST(backend::threads_for(2 * grain + 1, grain) == 3);
  BOOST_TEST(backend::threads_for(100 * grain, grain) == 4);  // never more than the setting
  set_num_threads(1);
  BOOST_TEST(backend::threads_for(100 * grain, grain) == 1);
}

BOOST_AUTO_TEST_CASE(a_small_product_stays_on_one_thread) {
  // [64, 64]·[64, 64] is 0.5 MFLOP, some microseconds on one core: a second thread would cost more.
  ThreadCount two(2);
  BOOST_TEST(backend::threads_for(2 * 64 * 64 * 64, backend::kMatmulGrainFlops) == 1);
  BOOST_TEST(backend::threads_for(2 * 512 * 512 * 512, backend::kMatmulGrainFlops) == 2);
}

BOOST_AUTO_TEST_CASE(the_default_cap_is_the_cores_this_process_may_use) {
  const backend::ThreadDefaults d = backend::thread_defaults();
  BOOST_TEST(d.cores >= 1);
  BOOST_TEST(d.cores <= static_cast<int>(std::thread::hardware_concurrency()));
  if (std::getenv("OMP_NUM_THREADS") == nullptr && std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE") == nullptr) {
    BOOST_TEST(d.cap == d.cores);
  }
}

// Runs only when named on the command line, as the next tests do in a child process with the
// environment set: the default's cap as the environment makes it.
BOOST_AUTO_TEST_CASE(default_thread_count_probe, *utf::disabled()) {
  const char* expected = std::getenv("ATTOGRAD_EXPECTED_THREADS");
  BOOST_TEST_REQUIRE(expected != nullptr);
  BOOST_TEST(num_threads() == std::atoi(expected));
}

namespace {
int probe(const std::string& env, int expected) {
  const std::string self = utf::framework::master_test_suite().argv[0];
  const std::string command = fmt::format(
      "env -u OMP_NUM_THREADS -u OMPI_COMM_WORLD_LOCAL_SIZE -u MPI_LOCALNRANKS {} ATTOGRAD_EXPECTED_THREADS={} '{}' "
      "--run_test=threads/default_thread_count_probe >/dev/null 2>&1",
      env, expected, self);
  return std::system(command.c_str());
}
}  // namespace

BOOST_AUTO_TEST_CASE(omp_num_threads_gives_the_cap) {
  BOOST_TEST(probe("OMP_NUM_THREADS=3", 3) == 0);
  BOOST_TEST(probe("OMP_NUM_THREADS=1", 1) == 0);
  BOOST_TEST(probe("OMP_NUM_THREADS=3", 4) != 0);  // the probe does check the count
}

BOOST_AUTO_TEST_CASE(mpi_ranks_on_the_node_share_its_cores) {
  // Under mpirun each rank gets the cores divided by the ranks on the node (at least one), so that N
  // ranks do not start N teams of one thread per core each.
  const int online = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const int cores = backend::thread_defaults().cores;
  for (int ranks : {2, 4, 64}) {
    const int expected = std::max(1, std::min(cores, online / ranks));
    BOOST_TEST(probe(fmt::format("OMPI_COMM_WORLD_LOCAL_SIZE={}", ranks), expected) == 0, "ranks " << ranks);
    BOOST_TEST(probe(fmt::format("MPI_LOCALNRANKS={}", ranks), expected) == 0, "ranks " << ranks);
  }
  BOOST_TEST(probe("OMPI_COMM_WORLD_LOCAL_SIZE=1", cores) == 0);
}

BOOST_AUTO_TEST_CASE(by_default_busy_cores_are_left_alone) {
  // Another program spinning on every core: the default must fall to one thread, whatever the cap.
  reset_num_threads();
  const int cores = backend::thread_defaults().cores;
  BusyProcesses busy(cores);
  BOOST_TEST_REQUIRE(busy.started() == static_cast<std::size_t>(cores));
  BOOST_TEST(allowed_after(400ms) == 1);
  BOOST_TEST(backend::thread_defaults().others_busy > 0.5 * cores);
}

BOOST_AUTO_TEST_CASE(by_default_the_process_own_threads_are_not_others) {
  // This process's own busy threads (a parallel region, a spinning OpenMP worker) are not load from
  // other programs: they must not lower the default.
  reset_num_threads();
  allowed_after(300ms);
  const double before = backend::thread_defaults().others_busy;
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (int i = 0; i < 2; ++i) {
    spinners.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  allowed_after(400ms);
  const double during = backend::thread_defaults().others_busy;
  stop = true;
  for (std::thread& t : spinners) t.join();
  BOOST_TEST(during < before + 0.6, "others' load read " << during << " cores with ours spinning, " << before
                                                         << " before");
}

BOOST_AUTO_TEST_SUITE_END()
