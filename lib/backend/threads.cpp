// The thread count: set_num_threads() and the default (threads.hpp says how a kernel uses it).
//
// The default has two parts, each read from the machine:
// - the cap, read once: the CPUs this process may run on (its affinity mask, and its cgroup's CPU
//   quota when one is set), divided among the MPI ranks on this node when started by mpirun
//   (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE, MPICH's MPI_LOCALNRANKS), or OMP_NUM_THREADS when given;
// - the load, read at most every kLoadWindow while kernels ask for more than one thread: the busy time
//   of those CPUs in /proc/stat less this process's own CPU time, over the window. Threads allowed =
//   the cap less the cores others kept busy, where more than a quarter of a core counts as a busy
//   core. Before the first window ends, the threads running at that instant stand in for it.
#include "attograd/backend/settings.hpp"
#include "backend/threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd {

namespace {

using Clock = std::chrono::steady_clock;

// How long one measurement of the other processes' load lasts. /proc/stat counts in ticks of 10 ms, so
// a window of 100 ms reads a core's load to about a tenth; a window older than kStaleWindow (the
// program did nothing parallel for a while) says nothing about now and is started again.
constexpr auto kLoadWindow = std::chrono::milliseconds(100);
constexpr auto kStaleWindow = std::chrono::seconds(1);

// 0 until set_num_threads() is called: the default holds.
std::atomic<int> requested_threads{0};

std::atomic<std::uint64_t> parallel_region_count{0};

// A positive whole number from the environment, or 0.
int positive_env(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && value > 0 && value < 1 << 20 ? static_cast<int>(value) : 0;
}

// The cgroup (v2) CPU quota of this process in cores, rounded up, or 0 when none is set.
int cgroup_cores() {
  std::ifstream cgroup("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cgroup, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  for (const std::string& dir : {"/sys/fs/cgroup" + path, std::string("/sys/fs/cgroup")}) {
    std::ifstream max(dir + "/cpu.max");
    std::string quota;
    double period = 0;
    if (max >> quota >> period && quota != "max" && period > 0) {
      const double cores = std::atof(quota.c_str()) / period;
      if (cores > 0) return std::max(1, static_cast<int>(std::ceil(cores)));
    }
  }
  return 0;
}

struct Machine {
  std::vector<int> cpus;  // the CPUs of the affinity mask, whose lines of /proc/stat are read
  int cores = 1;          // the cores this process may use
  int cap = 1;            // the default's most threads: OMP_NUM_THREADS, or cores / ranks on the node
  bool env_threads = false;

  Machine() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
      }
    }
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    cores = !cpus.empty() ? static_cast<int>(cpus.size()) : static_cast<int>(std::max(1L, online));
    if (const int quota = cgroup_cores(); quota > 0) cores = std::min(cores, quota);
    // Ranks bound to cores already see one core each; unbound ones share the node's cores.
    int ranks = positive_env("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (ranks == 0) ranks = positive_env("MPI_LOCALNRANKS");
    cap = ranks > 1 ? std::max(1, std::min<int>(cores, static_cast<int>(std::max(1L, online)) / ranks)) : cores;
    if (const int env = positive_env("OMP_NUM_THREADS"); env > 0) {
      cap = env;
      env_threads = true;
    }
  }
};

const Machine& machine() {
  static const Machine m;
  return m;
}

// One reading: the busy ticks of our CPUs, this process's CPU time, and when.
struct Sample {
  Clock::time_point when{};
  double busy_seconds = 0;  // of every CPU in the set, all processes
  double own_seconds = 0;   // of this process, every thread
  bool valid = false;
};

Sample read_sample(const Machine& m) {
  Sample s;
  s.when = Clock::now();
  timespec own{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &own);
  s.own_seconds = static_cast<double>(own.tv_sec) + static_cast<double>(own.tv_nsec) * 1e-9;
  std::FILE* stat = std::fopen("/proc/stat", "re");
  if (stat == nullptr) return s;
  static const double ticks_per_second = static_cast<double>(std::max(1L, sysconf(_SC_CLK_TCK)));
  char line[512];
  std::uint64_t busy = 0;
  int seen = 0;
  // The per-CPU lines come right after the total; stop at the first other line (the long "intr").
  while (std::fgets(line, sizeof line, stat) != nullptr && std::strncmp(line, "cpu", 3) == 0) {
    int cpu = -1;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (std::sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &user, &nice, &system, &idle, &iowait,
                    &irq, &softirq, &steal) != 9) {
      continue;  // the total line ("cpu  ...") has no number after "cpu"
    }
    if (m.cpus.empty() || std::binary_search(m.cpus.begin(), m.cpus.end(), cpu)) {
      busy += user + nice + system + irq + softirq + steal;
      ++seen;
    }
  }
  std::fclose(stat);
  s.busy_seconds = static_cast<double>(busy) / ticks_per_second;
  s.valid = seen > 0;
  return s;
}

// The threads of every process that are running or ready to run at this instant, or -1 when unknown.
int running_now() {
  std::FILE* loadavg = std::fopen("/proc/loadavg", "re");
  if (loadavg == nullptr) return -1;
  double one = 0, five = 0, fifteen = 0;
  int running = -1, total = 0;
  if (std::fscanf(loadavg, "%lf %lf %lf %d/%d", &one, &five, &fifteen, &running, &total) != 5) running = -1;
  std::fclose(loadavg);
  return running;
}

// The default's threads allowed now, kept up to date by whichever thread finds the window over.
class LoadMonitor {
 public:
  int allowed(const Machine& m) {
    if (m.cap <= 1) return 1;
    const Clock::time_point now = Clock::now();
    if (now.time_since_epoch().count() >= next_.load(std::memory_order_relaxed)) {
      std::unique_lock lock(mutex_, std::try_to_lock);
      if (lock.owns_lock()) update(m, now);
    }
    return allowed_.load(std::memory_order_relaxed);
  }

  double others_busy() {
    std::lock_guard lock(mutex_);
    return others_busy_;
  }

 private:
  void update(const Machine& m, Clock::time_point now) {
    const Sample s = read_sample(m);
    if (!s.valid) {  // no /proc/stat: the cap holds, as with any OpenMP program
      allowed_.store(m.cap, std::memory_order_relaxed);
      next_.store((now + kStaleWindow).time_since_epoch().count(), std::memory_order_relaxed);
      return;
    }
    if (last_.valid && now - last_.when <= kStaleWindow) {
      const double wall = std::chrono::duration<double>(s.when - last_.when).count();
      const double others = std::max(0.0, (s.busy_seconds - last_.busy_seconds) - (s.own_seconds - last_.own_seconds));
      others_busy_ = others / wall;
      const int free_cores = static_cast<int>(std::floor(static_cast<double>(m.cores) - others_busy_ + 0.25));
      allowed_.store(std::clamp(free_cores, 1, m.cap), std::memory_order_relaxed);
    } else if (!last_.valid) {
      // The process's first window: until it ends, go by the threads running at this instant, less the
      // calling one (/proc/loadavg's fourth field: running/total). None of ours runs yet: no op has
      // asked for a second thread before. (After a stale window the last decision stands: by then our
      // own OpenMP threads may be among the running ones.)
      const int others_now = running_now() - 1;
      allowed_.store(others_now >= 0 ? std::clamp(m.cores - others_now, 1, m.cap) : 1, std::memory_order_relaxed);
    }
    last_ = s;
    next_.store((now + kLoadWindow).time_since_epoch().count(), std::memory_order_relaxed);
  }

  std::mutex mutex_;
  Sample last_;
  double others_busy_ = -1;
  std::atomic<int> allowed_{1};
  std::atomic<Clock::rep> next_{0};
};

LoadMonitor& load_monitor() {
  static LoadMonitor* const instance = new LoadMonitor;  // never destroyed: kernels may run at exit
  return *instance;
}

}  // namespace

void set_num_threads(int n) {
  if (n < 1) {
    throw ValueError(fmt::format(
        "set_num_threads: the number of threads must be at least 1, got {} (reset_num_threads() goes back to "
        "the default)",
        n));
  }
  requested_threads.store(n, std::memory_order_relaxed);
}

void reset_num_threads() { requested_threads.store(0, std::memory_order_relaxed); }

int num_threads() {
  const int n = requested_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : machine().cap;
}

namespace backend {

int thread_setting() { return requested_threads.load(std::memory_order_relaxed); }

int threads_allowed() {
  if (const int n = requested_threads.load(std::memory_order_relaxed); n > 0) return n;
  const Machine& m = machine();
  return m.env_threads ? m.cap : load_monitor().allowed(m);
}

int threads_for(std::int64_t work, std::int64_t grain) {
  if (work < grain) return 1;
  const std::int64_t worth = 1 + work / grain;
  return static_cast<int>(std::min<std::int64_t>(worth, threads_allowed()));
}

ThreadDefaults thread_defaults() {
  const Machine& m = machine();
  return {m.cores, m.cap, load_monitor().others_busy()};
}

std::uint64_t parallel_regions() { return parallel_region_count.load(std::memory_order_relaxed); }

void count_parallel_region() { parallel_region_count.fetch_add(1, std::memory_order_relaxed); }

}  // namespace backend

}  // namespace attograd
