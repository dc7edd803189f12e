// The block products of fused attention (flash_products.hpp says what they compute and promise).
#include "backend/flash_products.hpp"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace attograd::backend {

namespace {

// As in fast_math.cpp: one clone per SIMD width, picked at load time. The library is built with
// -ffp-contract=off, and each output element below sums its terms in one fixed order, so every clone
// (and a vector body or its scalar tail) gives the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ATTOGRAD_FLASH_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ATTOGRAD_FLASH_SIMD
#endif

// 32 bytes of T (8 floats, 4 doubles) as one value, in GCC's vector extension: an AVX2 register in
// the avx2 clone, two SSE registers in the baseline one. A named variable of this type stays in a
// register; an array of scalars (the first version) was kept on the stack and every addition waited on
// a store and a load.
// (The helpers that pass these by value are always inlined, so no call ever uses the AVX argument
// convention that -Wpsabi warns about.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
using F32x8 = float __attribute__((vector_size(32)));
using F64x4 = double __attribute__((vector_size(32)));
template <class T>
using Vec = std::conditional_t<std::is_same_v<T, float>, F32x8, F64x4>;

template <class T>
[[gnu::always_inline]] inline Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
[[gnu::always_inline]] inline void store(T* p, const Vec<T>& v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// C[m, n] += A[m, kk] · B[kk, n], row-major with leading dims lda, ldb, ldc; with TA, A is stored
// transposed (element (i, p) at a[p·lda + i]: Pᵀ·dY and dSᵀ·Q read P and dS as they are). Each C element adds its
// kk terms in the order p = 0, 1, .. (a multiply, then an add: no FMA, no reassociation), whether it
// sits in a vector or in the scalar tail. Two rows of C by four vectors are held in eight registers
// while p runs, so each row of B loaded serves two rows of C.
// C[:, j .. j + V vectors) += A·B[:, j ..), R rows of C at a time (then one at a time), each row's V
// vectors held in registers while p runs: each vector of B loaded serves R rows. Terms in the order
// p = 0, 1, .., as everywhere in gemm_acc_body.
template <class T, bool TA, int R, int V>
[[gnu::always_inline]] inline void gemm_acc_narrow(std::int64_t m, std::int64_t j, std::int64_t kk, const T* a,
                                                   std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                                                   std::int64_t ldc) {
  constexpr std::int64_t L = 32 / sizeof(T);
  const std::int64_t sa = TA ? lda : 1, ra = TA ? 1 : lda;  // A(i, p) = a[i·ra + p·sa]
  std::int64_t i = 0;
  for (; i + R <= m; i += R) {
    Vec<T> x[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) x[r][v] = load(c + (i + r) * ldc + j + v * L);
    }
    for (std::int64_t p = 0; p < kk; ++p) {
      Vec<T> bv[V];
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) bv[v] = load(b + p * ldb + j + v * L);
      const T* ap = a + i * ra + p * sa;
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const T u = ap[r * ra];
#pragma GCC unroll 2
        for (int v = 0; v < V; ++v) x[r][v] += u * bv[v];
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) store(c + (i + r) * ldc + j + v * L, x[r][v]);
    }
  }
  for (; i < m; ++i) {
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      Vec<T> x = load(c + i * ldc + j + v * L);
      for (std::int64_t p = 0; p < kk; ++p) x += a[i * ra + p * sa] * load(b + p * ldb + j + v * L);
      store(c + i * ldc + j + v * L, x);
    }
  }
}

template <class T, bool TA>
[[gnu::always_inline]] inline void gemm_acc_body(std::int64_t m, std::int64_t n, std::int64_t kk, const T* a,
                                                 std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                                                 std::int64_t ldc) {
  constexpr std::int64_t L = 32 / sizeof(T), W = 4 * L;
  const std::int64_t n_vec = n / W * W;
  std::int64_t i = 0;
  for (; i + 2 <= m; i += 2) {
    // A(i, p) = a0[p · sa]: a row of A, or with TA a column of the stored Aᵀ
    const std::int64_t sa = TA ? lda : 1;
    const T* a0 = TA ? a + i : a + i * lda;
    const T* a1 = TA ? a0 + 1 : a0 + lda;
    T* c0 = c + i * ldc;
    T* c1 = c0 + ldc;
    for (std::int64_t j = 0; j < n_vec; j += W) {
      Vec<T> x0 = load(c0 + j), x1 = load(c0 + j + L), x2 = load(c0 + j + 2 * L), x3 = load(c0 + j + 3 * L);
      Vec<T> y0 = load(c1 + j), y1 = load(c1 + j + L), y2 = load(c1 + j + 2 * L), y3 = load(c1 + j + 3 * L);
      for (std::int64_t p = 0; p < kk; ++p) {
        const T* bp = b + p * ldb + j;
        const Vec<T> b0 = load(bp), b1 = load(bp + L), b2 = load(bp + 2 * L), b3 = load(bp + 3 * L);
        const T u = a0[p * sa], w = a1[p * sa];
        x0 += u * b0;
        x1 += u * b1;
        x2 += u * b2;
        x3 += u * b3;
        y0 += w * b0;
        y1 += w * b1;
        y2 += w * b2;
        y3 += w * b3;
      }
      store(c0 + j, x0), store(c0 + j + L, x1), store(c0 + j + 2 * L, x2), store(c0 + j + 3 * L, x3);
      store(c1 + j, y0), store(c1 + j + L, y1), store(c1 + j + 2 * L, y2), store(c1 + j + 3 * L, y3);
    }
  }
  for (; i < m; ++i) {  // the last row when m is odd
    const std::int64_t sa = TA ? lda : 1;
    const T* a0 = TA ? a + i : a + i * lda;
    T* c0 = c + i * ldc;
    for (std::int64_t j = 0; j < n_vec; j += W) {
      Vec<T> x0 = load(c0 + j), x1 = load(c0 + j + L), x2 = load(c0 + j + 2 * L), x3 = load(c0 + j + 3 * L);
      for (std::int64_t p = 0; p < kk; ++p) {
        const T* bp = b + p * ldb + j;
        const T u = a0[p * sa];
        x0 += u * load(bp);
        x1 += u * load(bp + L);
        x2 += u * load(bp + 2 * L);
        x3 += u * load(bp + 3 * L);
      }
      store(c0 + j, x0), store(c0 + j + L, x1), store(c0 + j + 2 * L, x2), store(c0 + j + 3 * L, x3);
    }
  }
  if (n_vec == n) return;
  // Whole vectors past those groups (all of them when n is 8 to 31: a small head's P·V, dV, dQ, dK):
  // up to two vectors by four or eight rows of accumulators. (Row by row, as the last columns below,
  // each addition waited on the store of the one before: D = 16 ran at half oneDNN's speed.)
  const std::int64_t n_one = n_vec + (n - n_vec) / L * L;
  std::int64_t j = n_vec;
  for (; j + 2 * L <= n_one; j += 2 * L) gemm_acc_narrow<T, TA, 4, 2>(m, j, kk, a, lda, b, ldb, c, ldc);
  if (j < n_one) gemm_acc_narrow<T, TA, 8, 1>(m, j, kk, a, lda, b, ldb, c, ldc);
  if (n_one == n) return;
  // The last n mod 8 (float) or 4 (double) columns: row by row, p outer, so that the compiler
  // vectorises along j. Each element still adds its terms in the order p = 0, 1, ..
  for (i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    for (std::int64_t p = 0; p < kk; ++p) {
      const T u = TA ? a[p * lda + i] : a[i * lda + p];
      const T* bp = b + p * ldb;
      for (std::int64_t jj = n_one; jj < n; ++jj) ci[jj] += u * bp[jj];
    }
  }
}

}  // namespace

ATTOGRAD_FLASH_SIMD void gemm_acc(std::int64_t m, std::int64_t n, std::int64_t kk, const float* a, std::int64_t lda,
                                  const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  gemm_acc_body<float, false>(m, n, kk, a, lda, b, ldb, c, ldc);
}
ATTOGRAD_FLASH_SIMD void gemm_acc(std::int64_t m, std::int64_t n, std::int64_t kk, const double* a, std::int64_t lda,
                                  const double* b, std::int64_t ldb, double* c, std::int64_t ldc) {
  gemm_acc_body<double, false>(m, n, kk, a, lda, b, ldb, c, ldc);
}
// C[m, n] += A[kk, m]ᵀ · B[kk, n]
ATTOGRAD_FLASH_SIMD void gemm_acc_ta(std::int64_t m, std::int64_t n, std::int64_t kk, const float* a,
                                     std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  gemm_acc_body<float, true>(m, n, kk, a, lda, b, ldb, c, ldc);
}
ATTOGRAD_FLASH_SIMD void gemm_acc_ta(std::int64_t m, std::int64_t n, std::int64_t kk, const double* a,
                                     std::int64_t lda, const double* b, std::int64_t ldb, double* c, std::int64_t ldc) {
  gemm_acc_body<double, true>(m, n, kk, a, lda, b, ldb, c, ldc);
}

void flash_product_ours(bool ta, bool accumulate, std::int64_t m, std::int64_t n, std::int64_t kk, const float* a,
                        std::int64_t lda, const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  if (!accumulate) {
    for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
  }
  if (ta) {
    gemm_acc_ta(m, n, kk, a, lda, b, ldb, c, ldc);
  } else {
    gemm_acc(m, n, kk, a, lda, b, ldb, c, ldc);
  }
}

}  // namespace attograd::backend
