// Time spent inside oneDNN's matmul kernels, measured from within bench_attograd.
//
//   matmul_timer::reset();
//   ... train some steps ...
//   matmul_timer::Totals t = matmul_timer::totals();   // t.calls primitives run, t.ms inside them
//   matmul_timer::count_flops(true); ... one step ...; matmul_timer::count_flops(false);  // t.flops
//
// How: bench_attograd defines dnnl_primitive_execute itself and exports it (CMake ENABLE_EXPORTS), so
// the dynamic linker binds libattograd.so's calls to this definition, which times the call and
// forwards it to oneDNN's (found with dlsym(RTLD_NEXT)). attograd executes no oneDNN primitive other
// than its matmuls (lib/backend/onednn.cpp, and fused attention's block products for heads of 64 dims
// and more, lib/backend/flash_onednn.cpp), so the total is the time of every float32 product that
// ran on oneDNN, forward and backward: the kernels alone, without attograd's dispatch, allocation or
// copies around them. In the bf16 mode (--precision bf16) each product is preceded by two reorders
// that convert its operands to bf16: they are counted too (three calls per product), so the total is
// then the products with their conversions. A large product is cut into pieces (one call each) that
// the OpenMP threads run at once: only the training thread's calls are timed (matmul_timer.cpp says
// why that is the products' wall time). Products that oneDNN declines run on attograd's reference
// loops and are not counted (none do in these workloads).
// The cost is two clock reads per product (about 20 ns each): BENCH_MATMUL_TIMER=off in the environment
// leaves them out, to measure it (docs/performance.md gives the figure).
#pragma once

#include <cstdint>

namespace bench::matmul_timer {

struct Totals {
  std::uint64_t calls = 0;
  double ms = 0;
  double flops = 0;  // of the products executed while count_flops(true) was in force
};

// Resets the calls and the time (not the flops).
void reset();
Totals totals();
// Starts (and resets) or stops counting the floating-point operations of each product, read from
// the primitive's memory descriptors: a few queries per call, so only for one untimed step.
void count_flops(bool on);

}  // namespace bench::matmul_timer
