// See matmul_timer.hpp: this file interposes oneDNN's C entry point for executing a primitive.
#include "matmul_timer.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <oneapi/dnnl/dnnl.h>

namespace bench::matmul_timer {
namespace {

using Clock = std::chrono::steady_clock;
using Execute = dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t*);

std::uint64_t g_calls = 0;
Clock::duration g_time{};
thread_local int t_depth = 0;  // counts only the outermost call if oneDNN ever nests executes

// BENCH_MATMUL_TIMER=off leaves the clock out, to measure what the timer itself costs.
const bool g_enabled = [] {
  const char* v = std::getenv("BENCH_MATMUL_TIMER");
  return v == nullptr || std::string_view(v) != "off";
}();

Execute real_execute() {
  static const Execute real = [] {
    auto* f = reinterpret_cast<Execute>(dlsym(RTLD_NEXT, "dnnl_primitive_execute"));
    if (f == nullptr) {
      std::fprintf(stderr, "matmul_timer: oneDNN's dnnl_primitive_execute not found: %s\n", dlerror());
      std::abort();  // a benchmark program, not the library: nothing sensible to continue with
    }
    return f;
  }();
  return real;
}

}  // namespace

void reset() {
  g_calls = 0;
  g_time = {};
}

Totals totals() { return {g_calls, std::chrono::duration<double, std::milli>(g_time).count()}; }

}  // namespace bench::matmul_timer

extern "C" dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs,
                                                const dnnl_exec_arg_t* args) {
  using namespace bench::matmul_timer;
  const auto real = real_execute();
  if (!g_enabled || t_depth > 0) return real(primitive, stream, nargs, args);
  ++t_depth;
  const auto t0 = Clock::now();
  const dnnl_status_t status = real(primitive, stream, nargs, args);
  g_time += Clock::now() - t0;
  ++g_calls;
  --t_depth;
  return status;
}
