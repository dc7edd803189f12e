// bench_driver: runs the benchmark of issue 7 and writes build/bench/results.json.
//
//   build/bench/bench/bench_driver [--quick] [--out FILE] [--threads 1,2] [--workloads tiny,gpt]
//                                  [--no-busy | --busy-only] [--no-long | --long-only] [--no-dist | --dist-only]
//   build/bench/bench/bench_driver --check      # losses only: do both sides compute the same thing?
//
// For each thread count and workload it runs bench_attograd and bench_libtorch (A) (B) alternately,
// A B A B ..., each run a fresh process that warms up and then times its steps; every figure is the
// median over the repetitions of each process's median step. Both sides get the same environment:
// OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS equal to the thread count,
// OMP_WAIT_POLICY=PASSIVE (LibTorch's OpenMP workers otherwise spin and starve OpenBLAS's threads), and
// LD_LIBRARY_PATH pointing at Debian's OpenBLAS, so that LibTorch's matmuls run on OpenBLAS whatever
// the system's libblas.so.3 alternative says (attograd loads no BLAS). For the transformers a third
// process joins the alternation, A B C A B C: bench_attograd in its bf16 mode (MatmulPrecision::BFloat16),
// whose step time and loss after the same steps go in the "bf16" table beside attograd's float32 ones.
// Then bench_matmul gives float32 matmul GFLOP/s through attograd and through bare oneDNN at each
// thread count, and the "busy" section (busy.hpp) the library's default thread count against 1 and 2
// threads, idle and beside competing loads (--no-busy skips it, --busy-only runs nothing else), the
// "long" section (long.hpp) the gpt workload at T = 128 .. 1024 (--no-long skips it; --long-only runs
// nothing else and replaces only "long" in an existing results file), and the "dist" section (dist.hpp)
// data-parallel training under mpirun (--no-dist skips it, --dist-only runs nothing else and replaces
// only the "dist" and "allreduce" entries of an existing --out file).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "busy.hpp"
#include "run_command.hpp"
#include "tables.hpp"
#include "long.hpp"
#include "dist.hpp"
#include "common/step_program.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using bench::is_transformer;
using bench::number;
using bench::relative_difference;

namespace {

struct Plan {
  std::int64_t warmup, steps;
};

struct Config {
  bool quick = false, check = false, busy = true, busy_only = false, long_sweep = true, long_only = false;
  bool dist = true, dist_only = false;
  fs::path bin, out;
  std::vector<int> threads{1, 2};
  std::vector<std::string> workloads{"tiny", "mlp", "ctrans", "gpt"};
  int reps = 0;  // 0: the mode's default
  std::string blas_dir = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
};

// Untimed and timed steps per process: each process runs about 0.3-3 s.
Plan plan_for(const Config& c, const std::string& workload) {
  if (c.check) return {0, workload == "tiny" ? 5 : 3};
  const std::map<std::string, Plan> full{{"tiny", {200, 2000}}, {"mlp", {20, 200}}, {"ctrans", {3, 15}}, {"gpt", {3, 15}}};
  const std::map<std::string, Plan> quick{{"tiny", {100, 500}}, {"mlp", {10, 50}}, {"ctrans", {2, 6}}, {"gpt", {2, 6}}};
  return (c.quick ? quick : full).at(workload);
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) items.push_back(item);
  return items;
}

Config parse(int argc, char** argv) {
  Config c;
  c.bin = fs::canonical("/proc/self/exe").parent_path();
  c.out = c.bin.parent_path() / "results.json";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
      return std::string(argv[++i]);
    };
    if (flag == "--quick") {
      c.quick = true;
    } else if (flag == "--check") {
      c.check = true;
    } else if (flag == "--no-busy") {
      c.busy = false;
    } else if (flag == "--busy-only") {
      c.busy_only = true;
    } else if (flag == "--no-long") {
      c.long_sweep = false;
    } else if (flag == "--long-only") {
      c.long_only = true;
    } else if (flag == "--no-dist") {
      c.dist = false;
    } else if (flag == "--dist-only") {
      c.dist_only = true;
    } else if (flag == "--out") {
      c.out = value();
    } else if (flag == "--reps") {
      c.reps = std::stoi(value());
    } else if (flag == "--blas-dir") {
      c.blas_dir = value();
    } else if (flag == "--threads") {
      c.threads.clear();
      for (const std::string& t : split(value())) c.threads.push_back(std::stoi(t));
    } else if (flag == "--workloads") {
      c.workloads = split(value());
    } else {
      throw std::invalid_argument("unknown option " + flag);
    }
  }
  if (c.reps == 0) c.reps = c.check ? 1 : c.quick ? 3 : 5;
  return c;
}

// Runs one program with the benchmark's environment for `threads`; returns the JSON of each line it
// printed on stdout (its stderr goes to ours).
std::vector<json> run(const Config& c, int threads, const std::string& program, const std::string& args) {
  std::string env = fmt::format("OMP_NUM_THREADS={0} OPENBLAS_NUM_THREADS={0} MKL_NUM_THREADS={0} "
                                "OMP_WAIT_POLICY=PASSIVE",
                                threads);
  if (fs::is_directory(c.blas_dir)) {
    const char* old = std::getenv("LD_LIBRARY_PATH");
    env += fmt::format(" LD_LIBRARY_PATH='{}{}'", c.blas_dir, old ? std::string(":") + old : "");
  }
  const std::string command = fmt::format("env {} '{}' {}", env, (c.bin / program).string(), args);
  const std::string output = bench::run_command(command);
  std::vector<json> lines;
  std::stringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  if (lines.empty()) throw std::runtime_error("no output from " + command);
  return lines;
}

std::vector<double> field(const std::vector<json>& runs, const char* key) {
  std::vector<double> v;
  for (const json& r : runs) v.push_back(number(r, key));
  return v;
}

// One row of "runs"; for the transformers also one row of "bf16", appended to bf16_rows.
json bench_workload(const Config& c, const std::string& workload, int threads, json& bf16_rows) {
  const Plan p = plan_for(c, workload);
  const std::string args = fmt::format("{} --threads {} --warmup {} --steps {}", workload, threads, p.warmup, p.steps);
  std::vector<json> a, t, b;
  for (int r = 0; r < c.reps; ++r) {
    a.push_back(run(c, threads, "bench_attograd", args).back());
    t.push_back(run(c, threads, "bench_libtorch", args).back());
    if (is_transformer(workload)) b.push_back(run(c, threads, "bench_attograd", args + " --precision bf16").back());
    fmt::print(stderr, "[bench] {:<6} {} thread(s), run {}/{}: attograd {:.4g} ms, libtorch {:.4g} ms{}\n", workload,
               threads, r + 1, c.reps, number(a.back(), "median_ms"), number(t.back(), "median_ms"),
               b.empty() ? "" : fmt::format(", attograd bf16 {:.4g} ms", number(b.back(), "median_ms")));
  }
  if (!b.empty()) {
    const double f32_ms = bench::median(field(a, "median_ms")), bf16_ms = bench::median(field(b, "median_ms"));
    const double f32_cpu = bench::median(field(a, "cpu_ms")), bf16_cpu = bench::median(field(b, "cpu_ms"));
    const double lt_ms = bench::median(field(t, "median_ms")), lt_cpu = bench::median(field(t, "cpu_ms"));
    bf16_rows.push_back({{"workload", workload}, {"threads", threads}, {"steps", p.warmup + p.steps},
                         {"f32_ms", f32_ms}, {"bf16_ms", bf16_ms}, {"speedup", f32_ms / bf16_ms},
                         {"f32_cpu_ms", f32_cpu}, {"bf16_cpu_ms", bf16_cpu}, {"cpu_speedup", f32_cpu / bf16_cpu},
                         {"libtorch_ms", lt_ms}, {"libtorch_cpu_ms", lt_cpu},
                         {"bf16_vs_libtorch_cpu", bf16_cpu / lt_cpu},
                         {"f32_loss", a[0]["last_loss"]}, {"bf16_loss", b[0]["last_loss"]},
                         {"bf16_first_loss", b[0]["first_loss"]},
                         {"f32_matmul_ms", bench::median(field(a, "matmul_ms_per_step"))},
                         {"bf16_matmul_ms", bench::median(field(b, "matmul_ms_per_step"))},
                         {"f32_ms_runs", field(a, "median_ms")}, {"bf16_ms_runs", field(b, "median_ms")}});
  }
  const double a_ms = bench::median(field(a, "median_ms")), t_ms = bench::median(field(t, "median_ms"));
  const double a_rss = bench::median(field(a, "rss_mb")), t_rss = bench::median(field(t, "rss_mb"));
  json row{{"workload", workload}, {"threads", threads}, {"attograd_ms", a_ms}, {"libtorch_ms", t_ms},
           {"ratio", a_ms / t_ms}, {"attograd_rss_mb", a_rss}, {"libtorch_rss_mb", t_rss},
           {"attograd_cpu_ms", bench::median(field(a, "cpu_ms"))}, {"libtorch_cpu_ms", bench::median(field(t, "cpu_ms"))},
           {"cpu_ratio", bench::median(field(a, "cpu_ms")) / bench::median(field(t, "cpu_ms"))},
           {"attograd_matmul_share", bench::median(field(a, "matmul_share"))},
           {"attograd_matmul_ms", bench::median(field(a, "matmul_ms_per_step"))},
           {"matmul_gflop_per_step", number(a[0], "matmul_gflop_per_step")},
           {"attograd_matmul_gflops_in_step", bench::median(field(a, "matmul_gflops_in_step"))},
           {"matmul_calls_per_step", number(a[0], "matmul_calls_per_step")},
           {"onednn_products_per_step", number(a[0], "onednn_products_per_step")},
           {"onednn_executions_per_step", number(a[0], "onednn_executions_per_step")},
           {"steps", p.warmup + p.steps}, {"attograd_first_loss", a[0]["first_loss"]},
           {"libtorch_first_loss", t[0]["first_loss"]}, {"attograd_last_loss", a[0]["last_loss"]},
           {"libtorch_last_loss", t[0]["last_loss"]}, {"attograd_ms_runs", field(a, "median_ms")},
           {"libtorch_ms_runs", field(t, "median_ms")}, {"libtorch_blas", t[0]["blas"]}};
  return row;
}

std::string first_line_of(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// --check: one short run per workload at one thread; both sides must start from the same loss and
// stay together, and for the transformers attograd's bf16 mode within 0.1% of its float32. Returns the
// number of disagreements.
int check(const Config& c) {
  int bad = 0;
  for (const std::string& w : c.workloads) {
    const Plan p = plan_for(c, w);
    const std::string args = fmt::format("{} --threads 1 --warmup {} --steps {}", w, p.warmup, p.steps);
    const json a = run(c, 1, "bench_attograd", args).back(), t = run(c, 1, "bench_libtorch", args).back();
    const double first = relative_difference(number(a, "first_loss"), number(t, "first_loss"));
    const double last = relative_difference(number(a, "last_loss"), number(t, "last_loss"));
    const bool ok = first < 1e-4 && last < 1e-3;
    bad += !ok;
    fmt::print("{:<7} first loss {:.7g} vs {:.7g} (rel {:.1e}), after {} steps {:.7g} vs {:.7g} (rel {:.1e}): {}\n",
               w, number(a, "first_loss"), number(t, "first_loss"), first, p.warmup + p.steps,
               number(a, "last_loss"), number(t, "last_loss"), last, ok ? "agree" : "DIFFER");
    if (is_transformer(w)) {  // the bf16 mode trains the same model, its losses within bf16's rounding
      const json b = run(c, 1, "bench_attograd", args + " --precision bf16").back();
      const double b_first = relative_difference(number(b, "first_loss"), number(a, "first_loss"));
      const double b_last = relative_difference(number(b, "last_loss"), number(a, "last_loss"));
      const bool b_ok = b_first < 1e-3 && b_last < 1e-3;
      bad += !b_ok;
      fmt::print("{:<7} bf16 mode: first loss {:.7g} (rel {:.1e} from f32), after {} steps {:.7g} (rel {:.1e}): {}\n",
                 w, number(b, "first_loss"), b_first, p.warmup + p.steps, number(b, "last_loss"), b_last,
                 b_ok ? "close" : "FAR");
    }
  }
  return bad;
}

// The dist section, where bench_dist was built (CMake found MPI); null otherwise.
json run_dist_section(const Config& c) {
#ifdef ATTOGRAD_BENCH_MPIEXEC
  return bench::run_dist({.bin = c.bin, .mpiexec = ATTOGRAD_BENCH_MPIEXEC, .quick = c.quick, .reps = c.quick ? 1 : 3,
                          .workloads = c.workloads});
#else
  (void)c;
  fmt::print(stderr, "[bench] dist: skipped, CMake found no MPI (bench_dist was not built)\n");
  return json();
#endif
}

// --long-only and --dist-only: one section alone, its entries written into the --out file (the other
// sections' results, if the file has them, stay).
int write_section(const Config& c, const std::string& section, const json& entries, const std::string& load_before) {
  json results = json::object();
  if (fs::exists(c.out)) results = json::parse(std::ifstream(c.out));
  for (const auto& [key, value] : entries.items()) results[key] = value;
  results[section + "_config"] = {{"quick", c.quick}, {"load_before", load_before}, {"load_after", first_line_of("/proc/loadavg")}};
  fs::create_directories(c.out.parent_path());
  const fs::path temporary = c.out.string() + ".tmp";
  std::ofstream(temporary) << results.dump(2) << "\n";
  fs::rename(temporary, c.out);
  fmt::print("\nwrote the {} section into {} (load average before: {}; after: {})\n", section, c.out.string(),
             load_before, first_line_of("/proc/loadavg"));
  return 0;
}

int dist_only(const Config& c, const std::string& load_before) {
  const json dist = run_dist_section(c);
  if (dist.is_null()) return 1;
  bench::print_dist(dist);
  return write_section(c, "dist", {{"dist", dist["rows"]}, {"allreduce", dist["allreduce"]}}, load_before);
}

int long_only(const Config& c, const std::string& load_before) {
  const json rows = bench::run_long({.bin = c.bin, .blas_dir = c.blas_dir, .threads = c.threads.front(), .quick = c.quick});
  bench::print_long(rows);
  return write_section(c, "long", {{"long", rows}}, load_before);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Config c = parse(argc, argv);
    if (c.check) return check(c) == 0 ? 0 : 1;

    const std::string load_before = first_line_of("/proc/loadavg");
    if (c.long_only) return long_only(c, load_before);
    if (c.dist_only) return dist_only(c, load_before);
    json runs = json::array(), bf16 = json::array(), matmul = json::array(), busy = json::array(), long_rows = json::array(), dist;
    // How long each section took, on stderr beside its progress lines: --quick's budget is their sum.
    auto section_start = std::chrono::steady_clock::now();
    const auto section_done = [&section_start](const char* name) {
      const auto now = std::chrono::steady_clock::now();
      fmt::print(stderr, "[bench] the {} section took {:.0f} s\n", name,
                 std::chrono::duration<double>(now - section_start).count());
      section_start = now;
    };
    if (!c.busy_only) {
      for (int threads : c.threads) {
        for (const std::string& w : c.workloads) runs.push_back(bench_workload(c, w, threads, bf16));
      }
      section_done("workloads");
      for (int threads : c.threads) {
        const std::string args = fmt::format("--threads {} --rounds {}", threads, c.quick ? 5 : 15);
        for (const json& row : run(c, threads, "bench_matmul", args)) matmul.push_back(row);
      }
      section_done("matmul");
    }
    if (c.long_sweep && !c.busy_only) {
      long_rows = bench::run_long({.bin = c.bin, .blas_dir = c.blas_dir, .threads = c.threads.front(), .quick = c.quick});
      section_done("long");
    }
    if (c.busy || c.busy_only) {
      busy = bench::run_busy({.bin = c.bin, .quick = c.quick, .reps = c.quick ? 1 : 2, .workloads = c.workloads});
      section_done("busy");
    }
    if (c.dist && !c.busy_only) {
      dist = run_dist_section(c);
      section_done("dist");
    }
    if (!c.busy_only) {
      bench::print_runs(runs);
      bench::print_bf16(bf16);
      bench::print_matmul(matmul);
    }
    bench::print_busy(busy);
    bench::print_long(long_rows);
    bench::print_dist(dist);

    const json results{{"runs", runs}, {"bf16", bf16}, {"matmul", matmul}, {"busy", busy}, {"long", long_rows},
                       {"dist", dist.is_null() ? json::array() : dist["rows"]},
                       {"allreduce", dist.is_null() ? json::array() : dist["allreduce"]},
                       {"config", {{"quick", c.quick}, {"reps", c.reps}, {"load_before", load_before},
                                   {"load_after", first_line_of("/proc/loadavg")}, {"omp_wait_policy", "PASSIVE"},
                                   {"libtorch_blas", runs.empty() ? json() : runs[0]["libtorch_blas"]}}}};
    fs::create_directories(c.out.parent_path());
    std::ofstream(c.out) << results.dump(2) << "\n";
    fmt::print("\nwrote {} (load average before: {}; after: {})\n", c.out.string(), load_before,
               first_line_of("/proc/loadavg"));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_driver: {}\n", e.what());
    return 1;
  }
}
