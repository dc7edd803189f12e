// Per-call time of a float32 matmul through attograd next to a bare oneDNN execute.
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DATTOGRAD_BUILD_BENCH=ON
//   cmake --build build/bench --target matmul_overhead
//   build/bench/bench/matmul_overhead [threads, default 1]
//
// For [n, n]·[n, n] with n = 8 (the call overhead is all there is) and n = 256 (the kernel is), each
// row is one way of computing the same product:
//   oneDNN execute, C++ API   a primitive and memory objects built beforehand, execute() and wait():
//                             the floor any caller of oneDNN pays
//   oneDNN execute, C API     the same through dnnl_primitive_execute (no std::unordered_map of args)
//   dnnl_sgemm                oneDNN's BLAS-like call: no primitive to keep, 2-D only
//   backend::matmul           attograd's dispatch into a preallocated c: cache lookup, pointing the
//                             cached memory objects at the data, execute
//   attograd::matmul          the op under NoGradGuard: checks, allocating c, then the dispatch
//   reference kernel          attograd's own loops (MatmulBackend::Reference), for scale
// Each row is timed in 40 batches of about 5 ms, interleaved with the other rows so that they share the
// machine's noise; the table gives the fastest batch and the median one, per call.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <attograd/attograd.hpp>

#include "backend/matmul.hpp"
#include "backend/threads.hpp"

using namespace attograd;
using Clock = std::chrono::steady_clock;

namespace {

struct Row {
  Row(std::string name_, std::function<void()> call_) : name(std::move(name_)), call(std::move(call_)) {}
  std::string name;
  std::function<void()> call;
  std::int64_t reps = 1;
  std::vector<double> us_per_call;  // one value per batch
};

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Enough calls for a batch of about 5 ms: short batches give more of them a quiet moment on a busy
// machine, and the fastest batch is the figure that says what the code costs.
std::int64_t calibrate(const std::function<void()>& call) {
  std::int64_t reps = 1;
  while (true) {
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < reps; ++i) call();
    const double s = seconds(t0, Clock::now());
    if (s > 0.002) return std::max<std::int64_t>(1, static_cast<std::int64_t>(reps * 0.005 / s));
    reps *= 4;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return in ? fmt::format("{} (1 min), {} (5 min)", one, five) : "unknown";
}

void bench(std::int64_t n, int rounds) {
  using dnnl::memory;
  const Tensor a = randn({n, n});
  const Tensor b = randn({n, n});
  Tensor c = empty({n, n});

  // The bare side: what a program using oneDNN directly would keep between calls.
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc md({n, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(md, md, md), attr, engine);
  const dnnl::matmul primitive(pd);
  float* pa = const_cast<float*>(a.data<float>());
  float* pb = const_cast<float*>(b.data<float>());
  const memory ma(md, engine, pa), mb(md, engine, pb), mc(md, engine, c.data<float>());
  const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  const dnnl_exec_arg_t c_args[3] = {{DNNL_ARG_SRC, ma.get()}, {DNNL_ARG_WEIGHTS, mb.get()}, {DNNL_ARG_DST, mc.get()}};

  std::vector<Row> rows;
  rows.emplace_back("oneDNN execute, C++ API", [&] {
                    primitive.execute(stream, args);
                    stream.wait();
                  });
  rows.emplace_back("oneDNN execute, C API", [&] {
                    dnnl_primitive_execute(primitive.get(), stream.get(), 3, c_args);
                    dnnl_stream_wait(stream.get());
                  });
  rows.emplace_back("dnnl_sgemm", [&] {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, pa, n, pb, n, 0.0f, c.data<float>(), n);
  });
  rows.emplace_back("backend::matmul", [&] { backend::matmul(a, b, c); });
  rows.emplace_back("attograd::matmul", [&] {
                    NoGradGuard no_grad;
                    Tensor out = matmul(a, b);
                  });
  rows.emplace_back("reference kernel", [&] {
                    MatmulBackendGuard reference(MatmulBackend::Reference);
                    backend::matmul(a, b, c);
                  });

  for (Row& row : rows) {
    row.call();  // builds attograd's cached primitive, warms caches
    row.reps = calibrate(row.call);
  }
  for (int r = 0; r < rounds; ++r) {
    for (Row& row : rows) {
      const std::int64_t reps = row.name == "reference kernel" ? std::max<std::int64_t>(1, row.reps / 4) : row.reps;
      const auto t0 = Clock::now();
      for (std::int64_t i = 0; i < reps; ++i) row.call();
      row.us_per_call.push_back(seconds(t0, Clock::now()) * 1e6 / static_cast<double>(reps));
    }
  }

  const double flop = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  const double floor = *std::min_element(rows[0].us_per_call.begin(), rows[0].us_per_call.end());
  fmt::print("\n[{0}, {0}]·[{0}, {0}] float32, oneDNN implementation {1}\n", n, pd.impl_info_str());
  fmt::print("  {:<26} {:>12} {:>12} {:>12} {:>14}\n", "", "best us", "median us", "best GFLOP/s", "best - floor");
  for (const Row& row : rows) {
    const double best = *std::min_element(row.us_per_call.begin(), row.us_per_call.end());
    fmt::print("  {:<26} {:>12.3f} {:>12.3f} {:>12.2f} {:>+14.3f}\n", row.name, best, median(row.us_per_call),
               flop / best * 1e-3, best - floor);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 1;
  set_num_threads(threads);
  // attograd gives each op its threads itself; the bare oneDNN rows read OpenMP's setting, which
  // would otherwise stay at every core and compare two threads with one.
  const attograd::backend::OmpThreads bare(threads);
  const dnnl_version_t* v = dnnl_version();
  fmt::print("matmul_overhead: oneDNN {}.{}.{}, {} thread(s), load average {}\n", v->major, v->minor, v->patch,
             num_threads(), load_average());
  fmt::print("(\"floor\" is the C++ API execute; \"best - floor\" is the extra cost per call, in us)\n");
  for (std::int64_t n : {8, 64, 256}) bench(n, 40);
}
