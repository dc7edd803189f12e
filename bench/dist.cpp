// The bench's "dist" section (dist.hpp says what it measures).
#include "dist.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "common/step_program.hpp"
#include "run_command.hpp"
#include "common/workloads.hpp"

namespace bench {

using nlohmann::json;

namespace {

struct Setting {
  int ranks;
  int threads;  // 0: the library's default
  bool overlap;
  bool small_buckets;
};

// The 1-minute load average now.
double load_now() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

// Runs bench_dist on `ranks` ranks; returns the JSON of each line rank 0 printed.
std::vector<json> run_mpi(const DistConfig& c, int ranks, int threads, const std::string& args) {
  // Open MPI refuses root without its two variables (a container); OMP_NUM_THREADS only when set.
  std::string env = "env -u OMP_NUM_THREADS OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                    "OMP_WAIT_POLICY=PASSIVE";
  if (threads > 0) env += fmt::format(" OMP_NUM_THREADS={}", threads);
  // --bind-to none: Open MPI binds 2 ranks to a core each by default, which would pin a 2-thread rank
  // to one core; unbound, the library's default divides the node's cores by the local ranks itself.
  const std::string command = fmt::format("{} '{}' -n {} --bind-to none '{}' {}", env, c.mpiexec, ranks,
                                          (c.bin / "bench_dist").string(), args);
  const std::string output = bench::run_command(command, "dist: ");
  std::vector<json> lines;
  std::stringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.front() == '{') lines.push_back(json::parse(line));
  }
  if (lines.empty()) throw std::runtime_error("dist: no output from " + command);
  return lines;
}

std::vector<double> field(const std::vector<json>& runs, const char* key) {
  std::vector<double> v;
  for (const json& r : runs) v.push_back(r.at(key).is_number() ? r.at(key).get<double>() : NAN);
  return v;
}

}  // namespace

json run_dist(const DistConfig& c) {
  const std::vector<Setting> settings{{1, 1, true, false}, {2, 1, true, false}, {1, 2, true, false},
                                      {2, 1, true, true},  {2, 1, false, true}, {2, 0, true, false}};
  const int warmup = c.quick ? 1 : 2, steps = c.quick ? 6 : 12;
  json rows = json::array();
  std::int64_t gpt_bytes = 0;
  for (const std::string& w : c.workloads) {
    if (w != "ctrans" && w != "gpt") continue;
    std::vector<std::vector<json>> runs(settings.size());
    std::vector<std::vector<double>> loads(settings.size());
    for (int r = 0; r < c.reps; ++r) {
      for (std::size_t s = 0; s < settings.size(); ++s) {
        const Setting& set = settings[s];
        const std::string args =
            fmt::format("{} --threads {} --warmup {} --steps {} --bucket-mb {}{}", w, set.threads, warmup, steps,
                        set.small_buckets ? c.bucket_mb : 25.0, set.overlap ? "" : " --no-overlap");
        loads[s].push_back(load_now());
        runs[s].push_back(run_mpi(c, set.ranks, set.threads, args).back());
        fmt::print(stderr, "[bench] dist {:<6} {} rank(s) x {} thread(s){}, run {}/{}: {:.4g} steps/s (load {:.2f})\n",
                   w, set.ranks, runs[s].back()["threads_per_rank"].get<int>(),
                   set.small_buckets ? fmt::format(", {} MB buckets{}", c.bucket_mb, set.overlap ? "" : ", no overlap") : "",
                   r + 1, c.reps, runs[s].back()["steps_per_s"].get<double>(), loads[s].back());
      }
    }
    const double base = median(field(runs[0], "steps_per_s"));
    for (std::size_t s = 0; s < settings.size(); ++s) {
      const json& first = runs[s][0];
      const double sps = median(field(runs[s], "steps_per_s"));
      const int threads = first["threads_per_rank"];
      const int cores = settings[s].ranks * threads;
      rows.push_back({{"workload", w}, {"ranks", settings[s].ranks}, {"threads_per_rank", threads},
                      {"threads", settings[s].threads == 0 ? "default" : "set"}, {"overlap", settings[s].overlap},
                      {"bucket_mb", first["bucket_mb"]}, {"buckets", first["buckets"]},
                      {"allreduce_bytes", first["allreduce_bytes"]}, {"global_batch", first["global_batch"]},
                      {"steps_per_s", sps}, {"efficiency", sps / (cores * base)},
                      {"allreduce_wait_share", median(field(runs[s], "allreduce_wait_share"))},
                      {"median_ms", median(field(runs[s], "median_ms"))},
                      {"cpu_ms", median(field(runs[s], "cpu_ms"))}, {"steps", warmup + steps},
                      {"last_loss", first["last_loss"]}, {"steps_per_s_runs", field(runs[s], "steps_per_s")},
                      {"load", loads[s]}});
      if (w == "gpt") gpt_bytes = first["allreduce_bytes"];
    }
  }
  // MPI_Allreduce on 2 ranks, 4 kB to ten times gpt's gradient (with its flags, as DataParallel sends it).
  std::vector<std::int64_t> sizes{4096, 16384, 65536, 262144, 1048576, 4194304};
  if (gpt_bytes == 0) gpt_bytes = 4 * [] {
    std::int64_t n = 0;
    for (const ParamSpec& p : workload("gpt").params) n += numel(p.shape) + 1;
    return n;
  }();
  sizes.push_back(gpt_bytes);
  sizes.push_back(10 * gpt_bytes);
  std::sort(sizes.begin(), sizes.end());
  const double load = load_now();
  json allreduce = json::array();
  const std::string list = fmt::format("{}", fmt::join(sizes, ","));
  for (json row : run_mpi(c, 2, 1, fmt::format("--allreduce {} --reps {}", list, c.quick ? 30 : 100))) {
    row["load"] = load;
    allreduce.push_back(row);
  }
  return {{"rows", rows}, {"allreduce", allreduce}};
}

void print_dist(const json& section) {
  if (section.is_null() || section["rows"].empty()) return;
  fmt::print("\ndata-parallel training at the same global batch (ctrans 32 rows, gpt 16), median of the runs;\n"
             "efficiency = steps/s over (ranks x threads x steps/s of 1 x 1), target >= 0.85 for 2 ranks x 1 thread;\n"
             "wait = share of a step waiting for the all-reduce after backward; cpu = rank 0's CPU ms per step (all\n"
             "its threads); load = 1-min load average at the runs' starts (above ~0.5 other programs shared the\n"
             "cores and the figures are not the machine's)\n");
  fmt::print("{:<7}{:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>5} {:>7} {:>7}   {}\n", "work", "ranks", "threads",
             "overlap", "bucketMB", "buckets", "steps/s", "eff", "", "wait", "cpu", "load");
  for (const json& r : section["rows"]) {
    const bool target = r["ranks"] == 2 && r["threads"] == "set" && r["bucket_mb"].get<double>() >= 25;
    const double eff = r["efficiency"];
    std::vector<std::string> loads;
    for (const json& l : r["load"]) loads.push_back(fmt::format("{:.2f}", l.get<double>()));
    fmt::print("{:<7}{:>6} {:>8} {:>8} {:>8} {:>8} {:>9.3f} {:>8.3f} {:>5} {:>6.1f}% {:>7.1f}   {}\n",
               r["workload"].get<std::string>(), r["ranks"].get<int>(),
               fmt::format("{}{}", r["threads_per_rank"].get<int>(), r["threads"] == "default" ? " (def)" : ""),
               r["ranks"] == 1 ? "-" : r["overlap"].get<bool>() ? "yes" : "no", r["bucket_mb"].get<double>(),
               r["buckets"].get<int>(), r["steps_per_s"].get<double>(), eff, target ? (eff >= 0.85 ? "ok" : "MISS") : "",
               100 * r["allreduce_wait_share"].get<double>(), r["cpu_ms"].get<double>(), fmt::join(loads, " "));
  }
  fmt::print("\nMPI_Allreduce (float sum, in place) on 2 ranks of this machine: the median and the fastest repetition\n"
             "{:>12} {:>12} {:>12} {:>12}\n", "bytes", "median us", "fastest us", "GB/s (fast)");
  for (const json& r : section["allreduce"]) {
    const double bytes = r["bytes"], us = r["median_us"], fastest = r["min_us"];
    fmt::print("{:>12.0f} {:>12.1f} {:>12.1f} {:>12.2f}\n", bytes, us, fastest, bytes / fastest * 1e-3);
  }
}

}  // namespace bench
