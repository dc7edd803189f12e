// See matmul_timer.hpp: this file interposes oneDNN's C entry point for executing a primitive.
#include "matmul_timer.hpp"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>

#include <oneapi/dnnl/dnnl.h>

namespace bench::matmul_timer {
namespace {

using Clock = std::chrono::steady_clock;
using Execute = dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int, const dnnl_exec_arg_t*);

// attograd cuts a large product into pieces and runs them on the OpenMP threads at once
// (lib/backend/onednn_problem.hpp): calls and flops are counted from every thread; time only on the
// thread that trains (the one that called reset()), which takes its share of the pieces while the
// others take theirs, so its time inside the kernels is the products' wall time, give or take the
// imbalance between the threads' shares (none when the pieces divide evenly).
std::atomic<std::uint64_t> g_calls{0};
Clock::duration g_time{};
std::atomic<bool> g_count_flops{false};
std::atomic<double> g_flops{0};
std::atomic<std::thread::id> g_timed_thread{std::this_thread::get_id()};
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

// 2·M·N·K for each product of a matmul primitive: dst [.., M, N] from src [.., M, K] (the batch dims
// are in dst's). 0 for any other primitive.
double flops_of(const_dnnl_primitive_t primitive) {
  const_dnnl_primitive_desc_t pd = nullptr;
  dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
  if (dnnl_primitive_get_primitive_desc(primitive, &pd) != dnnl_success ||
      dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind) != dnnl_success || kind != dnnl_matmul) {
    return 0;
  }
  const dnnl_memory_desc_t* src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t* dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  double outputs = 1;
  for (int d = 0; d < dst->ndims; ++d) outputs *= static_cast<double>(dst->dims[d]);
  return 2.0 * outputs * static_cast<double>(src->dims[src->ndims - 1]);
}

}  // namespace

void reset() {
  g_calls = 0;
  g_time = {};
  g_timed_thread = std::this_thread::get_id();
}

Totals totals() { return {g_calls, std::chrono::duration<double, std::milli>(g_time).count(), g_flops}; }

void count_flops(bool on) {
  if (on) g_flops = 0;
  g_count_flops = on;
}

}  // namespace bench::matmul_timer

extern "C" dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs,
                                                const dnnl_exec_arg_t* args) {
  using namespace bench::matmul_timer;
  const auto real = real_execute();
  if (g_count_flops && t_depth == 0) {
    const double flops = flops_of(primitive);
    for (double old = g_flops.load(); !g_flops.compare_exchange_weak(old, old + flops);) {
    }
  }
  if (t_depth > 0) return real(primitive, stream, nargs, args);
  ++g_calls;
  if (!g_enabled || std::this_thread::get_id() != g_timed_thread.load()) return real(primitive, stream, nargs, args);
  ++t_depth;
  const auto t0 = Clock::now();
  const dnnl_status_t status = real(primitive, stream, nargs, args);
  g_time += Clock::now() - t0;
  --t_depth;
  return status;
}
