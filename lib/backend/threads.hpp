// Internal: the thread count every parallel kernel uses, and the loop that splits a kernel's work over
// the threads when the work is large enough to pay for it.
//
// OpenMP keeps its team size per thread: omp_set_num_threads() in the main thread does not reach a
// std::thread started by the user. set_num_threads() therefore records the count for the process, and
// each kernel calls apply_num_threads() before it runs in parallel (or creates a oneDNN primitive,
// which fixes its thread count when it is created).
//
//   // rows [0, rows) in contiguous ranges, one per thread when rows * n elements are worth it
//   parallel_for(rows, rows * n, [&](std::int64_t begin, std::int64_t end) {
//     for (std::int64_t r = begin; r < end; ++r) normalise_row(r);
//   });
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

// Makes the calling thread's OpenMP team size the process-wide setting (when one was set) and returns
// the number of threads a parallel region started now would use.
int apply_num_threads();

// Below this many elements a kernel stays on the calling thread: starting the threads of a parallel
// region costs about a microsecond when they are awake and tens when they sleep, as long as an
// elementwise pass over a few thousand floats. 32768 elements take 5-30 us on one core here.
inline constexpr std::int64_t kParallelGrain = 32768;

// How many times kernels went parallel since the process started (tests use it to tell that the
// parallel path ran).
std::uint64_t parallel_regions();
void count_parallel_region();

// Calls body(begin, end) on ranges that cover [0, n) in order, one contiguous range per thread when
// `work` (the elements the whole loop touches) reaches kParallelGrain and more than one thread is
// set; otherwise body(0, n) on the calling thread. An exception thrown by body is rethrown here, on
// the calling thread, after every range has ended (an exception must not leave an OpenMP region).
template <class Body>
void parallel_for(std::int64_t n, std::int64_t work, Body&& body) {
  const int threads = work >= kParallelGrain && n > 1 ? apply_num_threads() : 1;
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
