// The bench's "busy" section (busy.hpp says what it measures).
#include "busy.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "common/step_program.hpp"

namespace bench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A competing load: a shell loop in its own process group, killed with the group.
class Load {
 public:
  explicit Load(const std::string& kind) {
    if (kind == "none") return;
    const std::string loop = kind == "busy" ? "while :; do :; done" : "while :; do /bin/true; done";
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("busy: cannot fork the competing load");
    if (pid_ == 0) {
      setpgid(0, 0);
      execl("/bin/sh", "sh", "-c", loop.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid_, pid_);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // running before the first measurement
  }
  ~Load() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

 private:
  pid_t pid_ = -1;
};

struct Program {
  std::string name;     // a bench workload or an example's name
  std::string command;  // without the thread environment
  bool workload;        // true: report bench_attograd's mean step; false: the whole process's wall time
  int steps = 1;        // a workload's timed steps (and warm-up steps are few): for its time limit
};

std::vector<Program> programs(const BusyConfig& c) {
  std::vector<Program> list;
  for (const std::string& w : c.workloads) {
    const bool big = w == "ctrans" || w == "gpt";
    const int steps = w == "tiny" ? (c.quick ? 2000 : 6000) : w == "mlp" ? (c.quick ? 150 : 400) : (c.quick ? 6 : 12);
    list.push_back({w,
                    fmt::format("'{}' {} --threads 0 --warmup {} --steps {}", (c.bin / "bench_attograd").string(), w,
                                big ? 1 : steps / 10, steps),
                    true, steps + (big ? 1 : steps / 10)});
  }
  const fs::path examples = c.bin.parent_path() / "examples";
  const fs::path out = c.bin.parent_path() / "busy-runs";
  const auto example = [&](const std::string& name, const std::string& quick_args) {
    const fs::path program = examples / name;
    if (!fs::exists(program)) throw std::runtime_error("busy: " + program.string() + " was not built");
    return Program{name, fmt::format("'{}' --out '{}' {}", program.string(), (out / name).string(), c.quick ? quick_args : ""),
                   false};
  };
  list.push_back(example("02_xor", ""));
  list.push_back(example("03_sine", "--steps 1000"));
  list.push_back(example("05_negation", "--steps 300"));
  list.push_back(example("07_sort", "--steps 60"));
  const fs::path tutorial = examples / "tutorial_first_model";
  if (!fs::exists(tutorial)) throw std::runtime_error("busy: " + tutorial.string() + " was not built");
  // The tutorial's program writes into the current folder: run it in the bench's.
  list.push_back({"tutorial", fmt::format("cd '{}' && '{}'", out.string(), tutorial.string()), false});
  fs::create_directories(out);
  return list;
}

// Runs the program once with `threads` (0: the default, nothing set) and returns its figure in ms. A run
// past `limit_s` seconds is stopped and counts as its time so far, a lower bound (the section's time
// stays bounded: two threads beside the churn took 07_sort from 8 s to 278 s).
double run_once(const Program& p, int threads, double limit_s, bool& stopped) {
  // No OpenMP variable of the bench's own reaches the program: a user's program runs with none.
  std::string env = "env -u OMP_NUM_THREADS -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT";
  if (threads > 0) env += fmt::format(" OMP_NUM_THREADS={}", threads);
  const std::string command =
      fmt::format("timeout -s KILL {:.0f} {} sh -c \"{}\" 2>/dev/null", std::ceil(limit_s), env, p.command);
  const auto t0 = std::chrono::steady_clock::now();
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("busy: cannot run " + command);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 137) {  // timeout's status for a program it killed
    stopped = true;
    return p.workload ? wall_ms / static_cast<double>(p.steps) : wall_ms;
  }
  if (status != 0) throw std::runtime_error("busy: failed: " + command);
  if (!p.workload) return wall_ms;
  std::string last;
  std::stringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return json::parse(last).at("mean_ms").get<double>();
}

}  // namespace

json run_busy(const BusyConfig& c) {
  json rows = json::array();
  const std::vector<Program> list = programs(c);
  for (const std::string competing : {"none", "busy", "churn"}) {
    const Load load(competing);
    for (const Program& p : list) {
      // Short programs vary most from run to run and cost least: they get more repetitions, a program
      // of seconds fewer (the first round's 1-thread time decides).
      std::vector<double> by_setting[3];
      bool stopped = false;
      for (int r = 0, reps = c.reps; r < reps; ++r) {
        // Each run may take `factor` times the slowest first-round run of the other settings, and at
        // least `floor_s` (--quick: twice and 4 s, which still shows a setting that loses, in a third of
        // the time; two threads beside a load are what runs into it).
        const double factor = c.quick ? 2 : 5, floor_s = c.quick ? 4 : 20;
        double limit_s = floor_s;
        for (int s = 0; s < 3; ++s) {
          by_setting[s].push_back(run_once(p, s, limit_s, stopped));
          if (r == 0 && s < 2) limit_s = std::max(limit_s, factor * 1e-3 * by_setting[s][0] * (p.workload ? p.steps : 1));
        }
        if (r == 0 && !p.workload) {
          const double ms = by_setting[1][0];
          reps = ms >= 3000 ? 1 : ms >= 500 ? c.reps : 2 * c.reps + 1;
        }
      }
      const double def = median(by_setting[0]), one = median(by_setting[1]), two = median(by_setting[2]);
      rows.push_back({{"workload", p.name}, {"competing", competing}, {"default_ms", def}, {"one_thread_ms", one},
                      {"two_threads_ms", two}, {"default_vs_best", def / std::min(one, two)},
                      {"stopped", stopped},
                      {"default_ms_runs", by_setting[0]}, {"one_thread_ms_runs", by_setting[1]},
                      {"two_threads_ms_runs", by_setting[2]}});
      fmt::print(stderr, "[bench] busy: {:<9} beside {:<5} default {:.4g} ms, 1 thread {:.4g}, 2 threads {:.4g}\n", p.name,
                 competing, def, one, two);
    }
  }
  return rows;
}

void print_busy(const json& rows) {
  if (rows.empty()) return;
  fmt::print("\nthe default thread count against 1 and 2 threads, idle and beside a competing load (busy: a busy\n"
             "loop; churn: a loop starting short processes). Workloads: ms per step; programs: ms per run.\n"
             "Target: default within 1.1x of the faster of 1 and 2 threads. +: a run was stopped at its time\n"
             "limit (5x the other settings' first run, at least 20 s; --quick: 2x, 4 s), so the figure is a\n"
             "lower bound\n");
  fmt::print("{:<10} {:<6} {:>10} {:>10} {:>10} {:>8} {:>5}\n", "program", "load", "default", "1 thread", "2 threads",
             "def/best", "");
  for (const json& r : rows) {
    const double ratio = r["default_vs_best"];
    fmt::print("{:<10} {:<6} {:>10.4g} {:>10.4g} {:>9.4g}{} {:>8.3f} {:>5}\n", r["workload"].get<std::string>(),
               r["competing"].get<std::string>(), r["default_ms"].get<double>(), r["one_thread_ms"].get<double>(),
               r["two_threads_ms"].get<double>(), r["stopped"].get<bool>() ? "+" : " ", ratio,
               ratio <= 1.1 ? "ok" : "MISS");
  }
}

}  // namespace bench
