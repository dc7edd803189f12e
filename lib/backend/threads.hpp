// Internal: how many threads one kernel runs on, and the loop that splits a kernel's work over them.
//
// Every kernel asks threads_for() how many threads its call is worth, from the work it does:
//
//   // rows [0, rows) in contiguous ranges, one per thread when rows * n elements are worth it
//   parallel_for(rows, rows * n, [&](std::int64_t begin, std::int64_t end) {
//     for (std::int64_t r = begin; r < end; ++r) normalise_row(r);
//   });
//
// The answer is 1 below the kernel's grain (waking a second thread costs more than it saves), else at
// most the setting's thread count: set_num_threads() or OMP_NUM_THREADS when the user gave one; by
// default the cores this process may use (divided among the MPI ranks on the node), less the cores
// other processes kept busy over the last tenth of a second. A busy core is the expensive case: a
// thread sharing a core with another program runs a time slice (milliseconds) late, and a worker that
// sleeps wakes tens of microseconds late. docs/performance.md ("Threads by default") has the
// measurements behind each choice.
//
// The threads are attograd's own (pool.hpp): the caller and workers take a call's parts one at a time,
// so a thread that starts late (asleep, or sharing its core with another program) slows nobody. oneDNN
// still reads OpenMP's setting, when it creates a primitive and when it runs one: an OmpThreads scope
// sets it to one thread around both, and the pool's workers keep it at one.
//
// Kernels split only work whose pieces write disjoint outputs and compute each output exactly as the
// single-threaded loop does, so results are the same bits at any thread count (tests/backend/
// test_parallel.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include <omp.h>

#include "backend/pool.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

// Below this many elements a kernel of attograd's own stays on the calling thread. Waking a worker
// that sleeps costs tens of microseconds of CPU time and arrives as late (70 on the 2-core virtual
// machine of docs/performance.md), as long as an elementwise pass over a few hundred thousand floats:
// below that a second thread adds more CPU time than it takes off the wall.
inline constexpr std::int64_t kParallelGrain = std::int64_t{1} << 18;

// A matrix product, in floating-point operations (2·M·N·K), is cut into pieces from this size on, one
// more piece per further grain (onednn_problem.hpp). The cut decides the bits, so it is a fixed size
// that never changes with the thread count or the machine's load.
inline constexpr std::int64_t kMatmulGrainFlops = std::int64_t{8} << 20;

// From this size on a product's pieces run on more than one thread (below it, one after another on
// the calling thread, the same bits): about 0.4 ms of work on one core, some five wake-ups.
inline constexpr std::int64_t kMatmulThreadFlops = std::int64_t{32} << 20;

// The number of threads a call doing `work` (in the units of `grain`) runs on: 1 when work < grain,
// else one more thread per further grain of work, up to the threads allowed now (see above).
int threads_for(std::int64_t work, std::int64_t grain);

// The set_num_threads() value, or 0 while the default holds (for guards that restore the setting).
int thread_setting();

// The threads allowed now, whatever the work: the setting's count, or the default's count less the
// cores other processes are using.
int threads_allowed();

// Sets the calling thread's OpenMP team size for one scope (a oneDNN product), then restores it.
class OmpThreads {
 public:
  explicit OmpThreads(int n) : previous_(omp_get_max_threads()) {
    if (n != previous_) omp_set_num_threads(n);
  }
  ~OmpThreads() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

// What the default is made of, for tests and the bench: the cores this process may use, the most
// threads the default gives it, and the cores other processes used over the last window measured
// (negative before the first window).
struct ThreadDefaults {
  int cores = 1;
  int cap = 1;
  double others_busy = -1;
};
ThreadDefaults thread_defaults();

// How many times kernels went parallel since the process started (tests use it to tell that the
// parallel path ran).
std::uint64_t parallel_regions();
void count_parallel_region();

// How many ranges parallel_for cuts a loop into per thread.
inline constexpr int kPartsPerThread = 4;

// Calls body(begin, end) on ranges that cover [0, n), on the pool's threads (pool.hpp) when `work`
// (the elements the whole loop touches) reaches kParallelGrain and more than one thread is allowed;
// otherwise body(0, n) on the calling thread. An exception thrown by body is rethrown here, on the
// calling thread, after every range taken has ended.
template <class Body>
void parallel_for(std::int64_t n, std::int64_t work, Body&& body) {
  const int threads = n > 1 && work >= kParallelGrain ? threads_allowed() : 1;
  if (threads <= 1) {
    if (n > 0) body(std::int64_t{0}, n);
    return;
  }
  count_parallel_region();
  // kPartsPerThread equal ranges, taken one at a time: a thread that starts late takes fewer.
  const std::int64_t parts = std::min<std::int64_t>(n, std::int64_t{kPartsPerThread} * threads);
  const std::int64_t size = n / parts, extra = n % parts;  // the first `extra` ranges get one more
  run_parts(threads, parts, [&](std::int64_t part, int) {
    const std::int64_t begin = part * size + std::min(part, extra);
    body(begin, begin + size + (part < extra ? 1 : 0));
  });
}

// for_each_run over loop (core/strided.hpp), split along dim d by parallel_for: each run of the serial
// walk is made once, by one thread, with the same offsets. Operand 0 is the one written: it needs a
// nonzero stride along d, so that no two threads write the same element.
template <int N, class Run>
void parallel_for_each_run(const Loop<N>& loop, int d, Run&& run) {
  parallel_for(loop.shape[d], loop.shape.numel(), [&](std::int64_t begin, std::int64_t end) {
    Loop<N> part = loop;
    part.shape.data()[d] = end - begin;
    std::array<std::int64_t, N> base{};
    for (int k = 0; k < N; ++k) base[k] = begin * loop.strides[k][d];
    for_each_run<N>(part, run, base);
  });
}

// The elementwise case: out (operand 0) written once per element, split along the outermost dim.
template <int N, class Run>
void parallel_for_each_element_run(const Shape& shape, const std::array<Strides, N>& strides, Run&& run) {
  const Loop<N> loop = coalesce<N>(shape, strides);
  if (loop.shape.rank() == 0 || loop.strides[0][0] == 0) {  // one element, or out broadcast (overlapping)
    for_each_run<N>(loop, run);
    return;
  }
  parallel_for_each_run<N>(loop, 0, run);
}

}  // namespace attograd::backend
