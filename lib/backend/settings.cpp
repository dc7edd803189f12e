// The matmul backend and precision settings (the thread count is in threads.cpp).
#include "attograd/backend/settings.hpp"

#include <fmt/format.h>

#include "attograd/core/errors.hpp"

namespace attograd {

namespace {

thread_local MatmulBackend current_matmul_backend = MatmulBackend::Auto;
thread_local MatmulPrecision current_matmul_precision = MatmulPrecision::Strict;

}  // namespace

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

}  // namespace attograd
