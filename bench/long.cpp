#include "long.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "run_command.hpp"
#include "tables.hpp"

namespace bench {

using nlohmann::json;

namespace {

json run_one(const LongConfig& c, const std::string& program, const std::string& args) {
  std::string env = fmt::format("OMP_NUM_THREADS={0} OPENBLAS_NUM_THREADS={0} MKL_NUM_THREADS={0} "
                                "OMP_WAIT_POLICY=PASSIVE",
                                c.threads);
  if (std::filesystem::is_directory(c.blas_dir)) {
    const char* old = std::getenv("LD_LIBRARY_PATH");
    env += fmt::format(" LD_LIBRARY_PATH='{}{}'", c.blas_dir, old ? std::string(":") + old : "");
  }
  const std::string command = fmt::format("env {} '{}' {}", env, (c.bin / program).string(), args);
  const std::string output = bench::run_command(command);
  std::stringstream in(output);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.empty()) throw std::runtime_error("no output from " + command);
  return json::parse(last);
}

}  // namespace

json run_long(const LongConfig& c) {
  json rows = json::array();
  const std::int64_t lengths[] = {128, 256, 512, 1024};
  for (const char* sweep : {"a", "b"}) {
    for (std::int64_t T : lengths) {
      const std::int64_t batch = sweep[0] == 'a' ? 2048 / T : 2;
      // Steps: a step at T = 1024 takes about a second unfused; fewer steps there keep the sweep short.
      const int steps = c.quick ? 2 : (T >= 512 ? 3 : 6);
      const std::string args = fmt::format("gpt --threads {} --warmup 1 --steps {} --T {} --batch {}", c.threads,
                                           steps, T, batch);
      // Fused at every T, as the sweep compares (by default T = 128 would take the composite).
      const json fused = run_one(c, "bench_attograd", args + " --attention fused");
      const json unfused = run_one(c, "bench_attograd", args + " --attention unfused");
      const json torch = run_one(c, "bench_libtorch", args);
      rows.push_back({{"sweep", sweep}, {"T", T}, {"batch", batch}, {"threads", c.threads},
                      {"attograd_ms", number(fused, "median_ms")}, {"attograd_rss_mb", number(fused, "rss_mb")},
                      {"attograd_unfused_ms", number(unfused, "median_ms")},
                      {"attograd_unfused_rss_mb", number(unfused, "rss_mb")}, {"libtorch_ms", number(torch, "median_ms")},
                      {"libtorch_rss_mb", number(torch, "rss_mb")}, {"attograd_cpu_ms", number(fused, "cpu_ms")},
                      {"attograd_unfused_cpu_ms", number(unfused, "cpu_ms")}, {"libtorch_cpu_ms", number(torch, "cpu_ms")},
                      {"attograd_loss", fused["last_loss"]},
                      {"attograd_unfused_loss", unfused["last_loss"]}, {"libtorch_loss", torch["last_loss"]}});
      fmt::print(stderr, "[long] ({}) T {:>4} batch {:>2}: attograd {:.4g} ms {:.0f} MB, unfused {:.4g} ms {:.0f} MB, "
                         "libtorch {:.4g} ms {:.0f} MB\n",
                 sweep, T, batch, number(fused, "median_ms"), number(fused, "rss_mb"), number(unfused, "median_ms"),
                 number(unfused, "rss_mb"), number(torch, "median_ms"), number(torch, "rss_mb"));
    }
  }
  return rows;
}

void print_long(const json& rows) {
  if (rows.empty()) return;
  fmt::print("\nlong sequences (gpt, {} thread(s)): (a) batch x T = 2048, (b) batch 2; ms per step (median) and peak "
             "RSS in MB; cpu/lt = CPU time per step against LibTorch's, which other programs on a busy machine do "
             "not inflate\n{:<3}{:>5} {:>5} {:>10} {:>8} {:>10} {:>8} {:>10} {:>8}   {:>7} {:>7} {:>7}\n",
             rows[0]["threads"].get<int>(), "", "T", "batch", "fused ms", "MB", "unfused", "MB", "libtorch", "MB",
             "ms/lt", "cpu/lt", "MB/lt");
  for (const json& r : rows) {
    fmt::print("{:<3}{:>5} {:>5} {:>10.1f} {:>8.1f} {:>10.1f} {:>8.1f} {:>10.1f} {:>8.1f}   {:>7.3f} {:>7.3f} {:>7.3f}\n",
               r["sweep"].get<std::string>(), r["T"].get<int>(), r["batch"].get<int>(), number(r, "attograd_ms"),
               number(r, "attograd_rss_mb"), number(r, "attograd_unfused_ms"), number(r, "attograd_unfused_rss_mb"),
               number(r, "libtorch_ms"), number(r, "libtorch_rss_mb"), number(r, "attograd_ms") / number(r, "libtorch_ms"),
               number(r, "attograd_cpu_ms") / number(r, "libtorch_cpu_ms"), number(r, "attograd_rss_mb") / number(r, "libtorch_rss_mb"));
  }
  // (a): the fused RSS within 10% across T; at T = 1024 the targets.
  double lo = INFINITY, hi = 0;
  for (const json& r : rows) {
    if (r["sweep"] != "a") continue;
    lo = std::min(lo, number(r, "attograd_rss_mb"));
    hi = std::max(hi, number(r, "attograd_rss_mb"));
    if (r["T"] == 1024) {
      const double rss = number(r, "attograd_rss_mb") / number(r, "libtorch_rss_mb");
      const double ms = number(r, "attograd_ms") / number(r, "libtorch_ms");
      const double cpu = number(r, "attograd_cpu_ms") / number(r, "libtorch_cpu_ms");
      fmt::print("(a) T = 1024: RSS {:.3f} x LibTorch's (target <= 0.2: {}), time {:.3f} x (target <= 0.7: {}), "
                 "CPU time {:.3f} x\n",
                 rss, rss <= 0.2 ? "ok" : "MISS", ms, ms <= 0.7 ? "ok" : "MISS", cpu);
    }
  }
  fmt::print("(a) fused RSS across T: {:.1f} .. {:.1f} MB, spread {:.1f}% (target <= 10%: {})\n", lo, hi,
             100 * (hi - lo) / lo, (hi - lo) / lo <= 0.10 ? "ok" : "MISS");
}

}  // namespace bench
