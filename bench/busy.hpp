// The bench's "busy" section: does the library's default thread count ever lose? Each program and
// workload runs with the default (no setting), with 1 thread and with 2 (OMP_NUM_THREADS, which the
// library takes as the user's setting), on an idle machine and beside each of two competing loads the
// section starts and stops itself:
//   busy   a plain busy loop on one core (`while :; do :; done`)
//   churn  a loop that keeps starting short processes (`while :; do /bin/true; done`), the load a
//          build or a test run makes
// The programs: bench_attograd's workloads (ms per timed step, the mean, so that stalls count), and
// examples 02, 03, 05, 07 and docs/tutorial.md's program at their default flags (ms for the whole
// process). Settings alternate, default 1 2 default 1 2 ..., and each figure is the median of `reps`
// runs (programs under half a second 2·reps + 1, programs of 3 s and more one run).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

struct BusyConfig {
  std::filesystem::path bin;  // build/bench/bench: the bench programs; the examples are in ../examples
  bool quick = false;         // shorter runs (examples with fewer steps), one repetition
  int reps = 3;
  std::vector<std::string> workloads;  // bench workloads to include
};

// Runs the section; returns its rows: {workload, competing, default_ms, one_thread_ms, two_threads_ms,
// default_vs_best} (default_vs_best = default / the faster of 1 and 2 threads; target <= 1.1).
nlohmann::json run_busy(const BusyConfig& c);

void print_busy(const nlohmann::json& rows);

}  // namespace bench
