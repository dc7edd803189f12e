// bench_matmul: float32 [n, n]·[n, n] GFLOP/s through attograd::matmul against a bare oneDNN execute,
// for n = 64, 256, 1024 (or the sizes given), one line of JSON per size.
//
//   build/bench/bench/bench_matmul --threads 1 [--rounds 15] [--sizes 64,256,1024]
//
// The bare side is what a program using oneDNN directly keeps between calls: a primitive and its
// memory objects built beforehand, so a call is execute() and wait(). The attograd side is what a user
// pays: attograd::matmul(a, b) under NoGradGuard (checks, allocating the result, the cached dispatch).
// Both use strict float32 math. The two are timed in alternating batches of about 20 ms, so that they
// share the machine's noise; each figure is the median batch, and the fastest batch is given too.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <attograd/attograd.hpp>

#include "backend/onednn.hpp"
#include "common/step_program.hpp"

using attograd::Tensor;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_of(const std::function<void()>& call, std::int64_t reps) {
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < reps; ++i) call();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Calls per batch of about 20 ms.
std::int64_t calibrate(const std::function<void()>& call) {
  std::int64_t reps = 1;
  while (true) {
    const double s = seconds_of(call, reps);
    if (s > 0.005) return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(reps) * 0.02 / s));
    reps *= 4;
  }
}

void measure(std::int64_t n, int rounds) {
  using dnnl::memory;
  attograd::Generator gen(n);
  const Tensor a = attograd::randn({n, n}, gen);
  const Tensor b = attograd::randn({n, n}, gen);
  Tensor c = attograd::empty({n, n});

  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc md({n, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(md, md, md), attr, engine);
  const dnnl::matmul primitive(pd);
  const memory ma(md, engine, const_cast<float*>(a.data<float>()));
  const memory mb(md, engine, const_cast<float*>(b.data<float>()));
  const memory mc(md, engine, c.data<float>());
  const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};

  const std::function<void()> bare = [&] {
    primitive.execute(stream, args);
    stream.wait();
  };
  const std::function<void()> through_attograd = [&] {
    attograd::NoGradGuard no_grad;
    const Tensor out = attograd::matmul(a, b);
  };
  bare();
  through_attograd();  // builds attograd's cached primitive
  const std::int64_t reps_bare = calibrate(bare), reps_attograd = calibrate(through_attograd);
  std::vector<double> s_bare, s_attograd;
  for (int r = 0; r < rounds; ++r) {
    s_bare.push_back(seconds_of(bare, reps_bare) / static_cast<double>(reps_bare));
    s_attograd.push_back(seconds_of(through_attograd, reps_attograd) / static_cast<double>(reps_attograd));
  }
  const double flop = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  const double onednn = flop / bench::median(s_bare) * 1e-9;
  const double ours = flop / bench::median(s_attograd) * 1e-9;
  // The fastest batches too: on a shared machine they are the ones nothing else interrupted.
  const double onednn_best = flop / *std::min_element(s_bare.begin(), s_bare.end()) * 1e-9;
  const double ours_best = flop / *std::min_element(s_attograd.begin(), s_attograd.end()) * 1e-9;
  const auto plan = attograd::backend::onednn::plan(a, b, c);
  fmt::print(
      "{{\"n\": {}, \"threads\": {}, \"attograd_gflops\": {}, \"onednn_gflops\": {}, \"ratio\": {}, "
      "\"attograd_best_gflops\": {}, \"onednn_best_gflops\": {}, \"best_ratio\": {}, "
      "\"onednn_impl\": \"{}\", \"attograd_impl\": \"{}\"}}\n",
      n, attograd::num_threads(), bench::json_number(ours), bench::json_number(onednn),
      bench::json_number(ours / onednn), bench::json_number(ours_best), bench::json_number(onednn_best),
      bench::json_number(ours_best / onednn_best), pd.impl_info_str(), plan.implementation);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int threads = 1, rounds = 15;
    std::vector<std::int64_t> sizes{64, 256, 1024};
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--threads") {
        threads = std::stoi(value);
      } else if (flag == "--rounds") {
        rounds = std::stoi(value);
      } else if (flag == "--sizes") {
        sizes.clear();
        std::stringstream list(value);
        for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoll(item));
      } else {
        throw std::invalid_argument("unknown option " + flag + " (--threads N, --rounds N, --sizes a,b,c)");
      }
    }
    attograd::set_num_threads(threads);
    for (std::int64_t n : sizes) measure(n, rounds);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench_matmul: {}\n", e.what());
    return 1;
  }
}
