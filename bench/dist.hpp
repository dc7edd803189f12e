// The bench's "dist" section: which use of two cores trains faster, two processes or two threads, and
// what the gradient all-reduce costs. For ctrans and gpt, at the workload's global batch, bench_dist
// (bench/dist_step.cpp) runs under mpirun --bind-to none in these settings, alternating, each `reps`
// times:
//   1 rank  x 1 thread                 the baseline
//   2 ranks x 1 thread                 default buckets (25 MB: one bucket, nothing to overlap)
//   1 rank  x 2 threads
//   2 ranks x 1 thread, overlap        small buckets (bucket_mb), so that backward can hide the exchange
//   2 ranks x 1 thread, no overlap     the same buckets, every all-reduce after backward
//   2 ranks x the library's default    threads_per_rank shows what the default picked under mpirun
// Each row's figures are medians over its runs: steps per second (1000 / the median step),
// efficiency = steps_per_s / (ranks x threads x steps_per_s of 1 x 1) (the same global batch, so the
// same work per step), and the share of a step spent waiting for the all-reduce after backward. Then
// a blocking MPI_Allreduce of sizes from 4 kB to ten times gpt's gradient, on 2 ranks, for the cost
// model (bench/dist_model.cpp, docs/distributed.md). Every run records the 1-minute load average at
// its start: on a busy machine the figures say little.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

struct DistConfig {
  std::filesystem::path bin;  // build/bench/bench: bench_dist
  std::string mpiexec;        // mpirun
  bool quick = false;         // fewer steps
  int reps = 3;
  double bucket_mb = 0.25;    // the overlap rows' bucket size: at least 4 buckets for both workloads
  std::vector<std::string> workloads{"ctrans", "gpt"};  // others than these two are left out
};

// Runs the section; returns {"rows": the "dist" rows, "allreduce": one row per size}.
nlohmann::json run_dist(const DistConfig& c);

void print_dist(const nlohmann::json& section);

}  // namespace bench
