#include <algorithm>

#include "attograd/backend/settings.hpp"
#include "backend/basic.hpp"
#include "backend/matmul.hpp"
#include "core/dispatch.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

namespace {

// One [M, K]·[K, N] product with strided operands into a contiguous [M, N] block. The k loop sits
// outside the n loop so that the innermost loop streams a row of B and a row of C.
template <class T>
void gemm(const T* a, std::int64_t sa_m, std::int64_t sa_k, const T* b, std::int64_t sb_k, std::int64_t sb_n, T* c,
          std::int64_t M, std::int64_t N, std::int64_t K) {
  std::fill(c, c + M * N, T(0));
  for (std::int64_t m = 0; m < M; ++m) {
    T* crow = c + m * N;
    for (std::int64_t k = 0; k < K; ++k) {
      const T av = a[m * sa_m + k * sa_k];
      const T* brow = b + k * sb_k;
      if (sb_n == 1) {
        for (std::int64_t n = 0; n < N; ++n) crow[n] += av * brow[n];
      } else {
        for (std::int64_t n = 0; n < N; ++n) crow[n] += av * brow[n * sb_n];
      }
    }
  }
}

Shape leading(const Shape& s, int drop) {
  Shape out;
  for (int d = 0; d + drop < s.rank(); ++d) out.push_back(s[d]);
  return out;
}

// A contiguous float32 copy of x with every element rounded to bfloat16.
Tensor rounded_to_bfloat16(const Tensor& x) {
  Tensor r = copy(x, kFloat32);
  float* p = r.data<float>();
  for (std::int64_t i = 0; i < r.numel(); ++i) p[i] = round_to_bfloat16(p[i]);
  return r;
}

}  // namespace

void matmul_reference(const Tensor& a, const Tensor& b, Tensor& c) {
  if (c.dtype() == kFloat32 && matmul_precision() == MatmulPrecision::BFloat16) {
    MatmulPrecisionGuard strict(MatmulPrecision::Strict);
    matmul_reference(rounded_to_bfloat16(a), rounded_to_bfloat16(b), c);
    return;
  }
  const std::int64_t M = c.shape()[-2], N = c.shape()[-1], K = a.shape()[-1];
  const Shape batch = leading(c.shape(), 2);
  const Strides sa = broadcast_strides(leading(a.shape(), 2), leading(a.strides(), 2), batch);
  const Strides sb = broadcast_strides(leading(b.shape(), 2), leading(b.strides(), 2), batch);
  const Strides sc = contiguous_strides(batch);
  const std::int64_t block = M * N;
  dispatch_float("matmul", c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // An operand with no elements may own no memory at all (a null data pointer), so with an empty
    // output or K = 0 (every entry an empty sum, 0) the operands are not touched.
    if (c.numel() == 0) return;
    T* pc = c.data<T>();
    if (K == 0) {
      std::fill(pc, pc + c.numel(), T(0));
      return;
    }
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    for_each_run<3>(batch, {sa, sb, sc}, [&](auto off, std::int64_t n, auto step) {
      for (std::int64_t i = 0; i < n; ++i) {
        gemm(pa + off[0] + i * step[0], a.strides()[-2], a.strides()[-1], pb + off[1] + i * step[1], b.strides()[-2],
             b.strides()[-1], pc + (off[2] + i * step[2]) * block, M, N, K);
      }
    });
  });
}

}  // namespace attograd::backend
