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
// other processes kept busy over the last tenth of a second. A busy core is the expensive case: an
// OpenMP team waits at its closing barrier for its slowest thread, and a thread sharing a core with
// another program runs a time slice (milliseconds) late, so a split of microseconds of work can take
// milliseconds. docs/performance.md ("Threads by default") has the measurements behind each choice.
//
// OpenMP keeps its team size per thread; attograd's own kernels pass the count to each parallel
// region, and a oneDNN product runs inside an OmpThreads scope (a oneDNN primitive fixes its thread
// count when it is created, and reads OpenMP's setting to do so).
//
// Kernels split only work whose pieces write disjoint outputs and compute each output exactly as the
// single-threaded loop does, so results are the same bits at any thread count (tests/backend/
// test_parallel.cpp).
#pragma once

#include <cstdint>
#include <exception>

#include <omp.h>

#include "core/strided.hpp"

namespace attograd::backend {

// Below this many elements a kernel of attograd's own stays on the calling thread: starting the
// threads of a parallel region costs about a microsecond when they are awake and tens when they
// sleep, as long as an elementwise pass over a few thousand floats.
inline constexpr std::int64_t kParallelGrain = 32768;

// The same for a matrix product, in floating-point operations (2·M·N·K): a product smaller than this
// runs on one thread, and each further thread needs this much more.
inline constexpr std::int64_t kMatmulGrainFlops = std::int64_t{8} << 20;

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

// Calls body(begin, end) on ranges that cover [0, n) in order, one contiguous range per thread when
// `work` (the elements the whole loop touches) reaches kParallelGrain and more than one thread is
// allowed; otherwise body(0, n) on the calling thread. An exception thrown by body is rethrown here, on
// the calling thread, after every range has ended (an exception must not leave an OpenMP region).
template <class Body>
void parallel_for(std::int64_t n, std::int64_t work, Body&& body) {
  const int threads = n > 1 && work >= kParallelGrain ? threads_allowed() : 1;
  if (threads <= 1) {
    if (n > 0) body(std::int64_t{0}, n);
    return;
  }
  count_parallel_region();
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t parts = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t size = n / parts, extra = n % parts;  // the first `extra` ranges get one more
    const std::int64_t begin = t * size + (t < extra ? t : extra);
    const std::int64_t end = begin + size + (t < extra ? 1 : 0);
    try {
      if (begin < end) body(begin, end);
    } catch (...) {
#pragma omp critical(attograd_parallel_for_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
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
