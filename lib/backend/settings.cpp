#include "attograd/backend/settings.hpp"

#include <atomic>
#include <cstdint>

#include <fmt/format.h>
#include <omp.h>

#include "attograd/core/errors.hpp"
#include "backend/threads.hpp"

namespace attograd {

namespace {

// 0 until set_num_threads() is called: OpenMP's own default (OMP_NUM_THREADS or the core count) holds.
std::atomic<int> requested_threads{0};

thread_local MatmulBackend current_matmul_backend = MatmulBackend::Auto;
thread_local MatmulPrecision current_matmul_precision = MatmulPrecision::Strict;

std::atomic<std::uint64_t> parallel_region_count{0};

}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError(fmt::format("set_num_threads: the number of threads must be at least 1, got {}", n));
  requested_threads.store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);
}

int num_threads() {
  const int n = requested_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

void set_matmul_backend(MatmulBackend backend) { current_matmul_backend = backend; }

MatmulBackend matmul_backend() { return current_matmul_backend; }

void set_matmul_precision(MatmulPrecision precision) {
  if (precision != MatmulPrecision::Strict && precision != MatmulPrecision::BFloat16) {
    throw ValueError(fmt::format("set_matmul_precision: unknown precision {} (Strict is 0, BFloat16 is 1)",
                                 static_cast<int>(precision)));
  }
  current_matmul_precision = precision;
}

MatmulPrecision matmul_precision() { return current_matmul_precision; }

namespace backend {

int apply_num_threads() {
  const int n = requested_threads.load(std::memory_order_relaxed);
  if (n > 0 && omp_get_max_threads() != n) omp_set_num_threads(n);
  return omp_get_max_threads();
}

std::uint64_t parallel_regions() { return parallel_region_count.load(std::memory_order_relaxed); }

void count_parallel_region() { parallel_region_count.fetch_add(1, std::memory_order_relaxed); }

}  // namespace backend

}  // namespace attograd
