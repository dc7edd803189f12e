// What the two step programs (bench_attograd, bench_libtorch) share: their command line, the timed
// loop, and the figures they report. The driver (bench/driver.cpp) runs them as separate processes,
// so that each process's peak RSS and thread settings are its own.
//
//   bench_attograd ctrans --threads 1 --warmup 3 --steps 15 [--precision bf16]
//   bench_attograd gpt --T 1024 --batch 2 --attention fused|unfused  (the "long" sweep: bench/long.hpp)
//   -> {"side": "attograd", "workload": "ctrans", "threads": 1, "median_ms": ..., ...}   (one line)
//
// A process trains `warmup` steps untimed, then `steps` steps each timed on its own, always from the
// same initial weights: so both sides' losses after warmup + steps steps are comparable.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace bench {

struct StepOptions {
  std::string workload;
  int threads = 1;  // 0: the library's default (bench_attograd only)
  std::int64_t warmup = 10;
  std::int64_t steps = 100;
  std::string precision = "f32";  // "bf16": attograd's MatmulPrecision::BFloat16 (bench_attograd only)
  std::int64_t T = 0, batch = 0;  // > 0: the workload's sequence length and batch replaced (transformers)
  std::int64_t heads = 0;         // > 0: the transformers' heads replaced (D = C / heads; C stays)
  // bench_attograd only: "auto" (scaled_dot_product_attention's choice by length), "fused" (fused_attention
  // at any length) or "unfused" (the composite that stores the weights)
  std::string attention = "auto";
};

inline StepOptions parse_step_options(int argc, char** argv) {
  StepOptions o;
  if (argc < 2) {
    throw std::invalid_argument(
        "usage: <program> WORKLOAD [--threads N] [--warmup N] [--steps N] [--precision f32|bf16] [--T N] "
        "[--batch N] [--heads N] [--attention auto|fused|unfused]");
  }
  o.workload = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
    if (flag == "--precision") {
      o.precision = argv[++i];
      if (o.precision != "f32" && o.precision != "bf16") throw std::invalid_argument("--precision is f32 or bf16");
      continue;
    }
    if (flag == "--attention") {
      o.attention = argv[++i];
      if (o.attention != "auto" && o.attention != "fused" && o.attention != "unfused") {
        throw std::invalid_argument("--attention is auto, fused or unfused");
      }
      continue;
    }
    const std::int64_t value = std::stoll(argv[++i]);
    if (flag == "--threads") {
      o.threads = static_cast<int>(value);
    } else if (flag == "--warmup") {
      o.warmup = value;
    } else if (flag == "--steps") {
      o.steps = value;
    } else if (flag == "--T") {
      o.T = value;
    } else if (flag == "--batch") {
      o.batch = value;
    } else if (flag == "--heads") {
      o.heads = value;
    } else {
      throw std::invalid_argument("unknown option " + flag);
    }
  }
  if (o.threads < 0 || o.warmup < 0 || o.steps < 1 || o.T < 0 || o.batch < 0 || o.heads < 0) {
    throw std::invalid_argument("bad --threads/--warmup/--steps/--T/--batch/--heads");
  }
  return o;
}

// The process's peak resident set, in MB (VmHWM in /proc/self/status, which the kernel reports in kB).
inline double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    in.ignore(1 << 16, '\n');
  }
  return NAN;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// CPU time used by this process so far, all threads. Unlike the wall clock it does not count the time
// other programs on the machine take the cores away: on a shared machine, a check on the step times.
inline double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

struct LoopResult {
  std::vector<double> step_ms;  // one per timed step
  double timed_ms = 0;          // all timed steps together
  double cpu_ms = 0;            // the CPU time of the process (all its threads) over the timed steps
  double first_loss = NAN;      // the loss of step 0 (the initial weights)
  double last_loss = NAN;       // the loss of the last step (after warmup + steps - 1 updates)
};

// step(i) trains one step on batch i % kBatches and returns the loss tensor; read_loss(loss) gives its
// value, outside the timing (only the first and the last loss are read). on_timed_start() runs once,
// just before the first timed step.
template <class Step, class ReadLoss, class OnTimedStart>
LoopResult run_loop(const StepOptions& o, Step&& step, ReadLoss&& read_loss, OnTimedStart&& on_timed_start) {
  using Clock = std::chrono::steady_clock;
  LoopResult r;
  const std::int64_t total = o.warmup + o.steps;
  r.step_ms.reserve(static_cast<std::size_t>(o.steps));
  double cpu_start = 0;
  for (std::int64_t i = 0; i < total; ++i) {
    if (i == o.warmup) {
      on_timed_start();
      cpu_start = process_cpu_ms();
    }
    const auto t0 = Clock::now();
    const auto loss = step(i);
    const auto t1 = Clock::now();
    if (i >= o.warmup) r.step_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (i == 0) r.first_loss = read_loss(loss);
    if (i == total - 1) r.last_loss = read_loss(loss);
  }
  r.cpu_ms = process_cpu_ms() - cpu_start;
  for (double ms : r.step_ms) r.timed_ms += ms;
  return r;
}

// A number for the one-line JSON report: JSON has no NaN or infinity, so those become null.
inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.9g}", v);
}

}  // namespace bench
