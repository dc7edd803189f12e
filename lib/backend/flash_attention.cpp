// FlashAttention's forward and backward on the CPU (flash_attention.hpp says what and why). Names follow
// the derivation (docs/derivations/attention_fused.md): S = c·Q Kᵀ for one block, P = its weights,
// m and l the running max and sum of a row, L = m + log l its logsumexp, Δ = rowsum(dO ∘ O).
#include "backend/flash_attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "backend/basic.hpp"
#include "backend/fast_math.hpp"
#include "backend/row_sum.hpp"
#include "backend/threads.hpp"
#include "core/dispatch.hpp"
#include "core/strided.hpp"

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
  // The columns past the last whole group of four vectors (all of them when n < 4 vectors: short
  // sequences, small heads): row by row, p outer, so that the compiler vectorises along j. Each element
  // still adds its terms in the order p = 0, 1, ..
  for (i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    for (std::int64_t p = 0; p < kk; ++p) {
      const T u = TA ? a[p * lda + i] : a[i * lda + p];
      const T* bp = b + p * ldb;
      for (std::int64_t j = n_vec; j < n; ++j) ci[j] += u * bp[j];
    }
  }
}

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

// The products above want their right operand row-major along the output's columns, so Kᵀ (and in
// backward Vᵀ) is made once per call, block by block: dst [N, blocks, C, kFlashBlockK] from src
// [N, R, C], block b holding rows b·64 .. b·64 + 63 of src as columns (as much memory as K itself).
// Block by block, not [C, R] whole: rows R apart (4 KB at R = 1024 floats) all fall in the same few
// sets of the L1 cache, and a product reading 32 of them evicted its own operand.
template <class T>
std::vector<T> transposed_blocks(const T* src, std::int64_t N, std::int64_t R, std::int64_t C) {
  const std::int64_t blocks = (R + kFlashBlockK - 1) / kFlashBlockK;
  std::vector<T> dst(static_cast<std::size_t>(N * blocks * C * kFlashBlockK), T(0));
  for (std::int64_t n = 0; n < N; ++n) {
    for (std::int64_t r = 0; r < R; ++r) {
      T* block = dst.data() + ((n * blocks + r / kFlashBlockK) * C) * kFlashBlockK + r % kFlashBlockK;
      for (std::int64_t col = 0; col < C; ++col) block[col * kFlashBlockK] = src[(n * R + r) * C + col];
    }
  }
  return dst;
}

// y = e^x over a row: float32 through the vectorised exp, float64 through libm.
inline void exp_row(float* x, std::int64_t n) { exp_f32(x, x, n); }
inline void exp_row(double* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

template <class T>
struct Problem {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  std::vector<T> kt, vt;  // K and V transposed in blocks of keys (transposed_blocks)
  std::int64_t N = 1, Tq = 0, Tk = 0, D = 0, Dv = 0;
  T c = 1;
  const bool* mask = nullptr;          // null: nothing masked
  std::vector<std::int64_t> mask_off;  // per batch row n: where its [Tq, Tk] mask starts
  std::int64_t smq = 0, smk = 0;       // the mask's strides along queries and keys (0 when broadcast)

  // The mask's row for query i of batch row n, from key j0 on (step smk); null when nothing is masked.
  const bool* mask_row(std::int64_t n, std::int64_t i, std::int64_t j0) const {
    return mask == nullptr ? nullptr : mask + mask_off[static_cast<std::size_t>(n)] + i * smq + j0 * smk;
  }
  // A block whose every entry is masked adds nothing to any row: skipped (half the blocks when causal).
  bool all_masked(std::int64_t n, std::int64_t i0, std::int64_t rows, std::int64_t j0, std::int64_t cols) const {
    if (mask == nullptr) return false;
    for (std::int64_t r = 0; r < rows; ++r) {
      const bool* mr = mask_row(n, i0 + r, j0);
      for (std::int64_t col = 0; col < cols; ++col) {
        if (!mr[col * smk]) return false;
      }
    }
    return true;
  }
  // Block j0 / 64 of batch row n in kt or vt: [C, kFlashBlockK].
  const T* block_of(const std::vector<T>& t, std::int64_t n, std::int64_t j0, std::int64_t C) const {
    const std::int64_t blocks = (Tk + kFlashBlockK - 1) / kFlashBlockK;
    return t.data() + ((n * blocks + j0 / kFlashBlockK) * C) * kFlashBlockK;
  }
  // S = c·Q Kᵀ for queries i0.. (rows) and keys j0.. (cols), -inf where masked.
  void scores(std::int64_t n, std::int64_t i0, std::int64_t rows, std::int64_t j0, std::int64_t cols, T* s) const {
    std::fill(s, s + rows * cols, T(0));
    gemm_acc(rows, cols, D, q + (n * Tq + i0) * D, D, block_of(kt, n, j0, D), kFlashBlockK, s, cols);
    constexpr T kInf = std::numeric_limits<T>::infinity();
    for (std::int64_t r = 0; r < rows; ++r) {
      T* sr = s + r * cols;
      const bool* mr = mask_row(n, i0 + r, j0);
      if (mr == nullptr) {
        for (std::int64_t col = 0; col < cols; ++col) sr[col] *= c;
      } else {
        for (std::int64_t col = 0; col < cols; ++col) sr[col] = mr[col * smk] ? -kInf : sr[col] * c;  // a select
      }
    }
  }
};

template <class T>
Problem<T> problem_of(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale,
                      bool with_vt) {
  Problem<T> p;
  p.q = q.data<T>();
  p.k = k.data<T>();
  p.v = v.data<T>();
  p.Tq = q.shape()[-2];
  p.Tk = k.shape()[-2];
  p.D = q.shape()[-1];
  p.Dv = v.shape()[-1];
  for (int d = 0; d + 2 < q.dim(); ++d) p.N *= q.shape()[d];
  p.c = static_cast<T>(scale);
  p.kt = transposed_blocks(p.k, p.N, p.Tk, p.D);
  if (with_vt) p.vt = transposed_blocks(p.v, p.N, p.Tk, p.Dv);
  if (mask.defined()) {
    Shape full;
    for (int d = 0; d + 2 < q.dim(); ++d) full.push_back(q.shape()[d]);
    const int batch_rank = full.rank();
    full.push_back(p.Tq);
    full.push_back(p.Tk);
    const Strides sm = broadcast_strides(mask.shape(), mask.strides(), full);
    p.mask = mask.data<bool>();
    p.smq = sm[batch_rank];
    p.smk = sm[batch_rank + 1];
    for (std::int64_t n = 0; n < p.N; ++n) {
      std::int64_t off = 0, rest = n;
      for (int d = batch_rank - 1; d >= 0; --d) {
        off += (rest % full[d]) * sm[d];
        rest /= full[d];
      }
      p.mask_off.push_back(off);
    }
  }
  return p;
}

Tensor contiguous_copy(const Tensor& x) { return x.is_contiguous() ? x : copy(x, x.dtype()); }

// Rows i0 .. i0 + rows of batch n: the online softmax over the blocks of keys.
template <class T>
void forward_block(const Problem<T>& p, std::int64_t n, std::int64_t i0, T* out, T* lse, std::vector<T>& scratch) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const std::int64_t rows = std::min(kFlashBlockQ, p.Tq - i0);
  scratch.resize(static_cast<std::size_t>(rows * (kFlashBlockK + p.Dv + 1)));
  T* s = scratch.data();                   // [rows, cols]: the block's scores, then its weights
  T* o = s + rows * kFlashBlockK;          // [rows, Dv]: the unnormalised output
  T* m = o + rows * p.Dv;                  // [rows]: the running max
  std::fill(o, o + rows * p.Dv, T(0));
  std::vector<double> l(static_cast<std::size_t>(rows), 0.0);  // the running sum of e^(s - m)
  std::fill(m, m + rows, -kInf);
  for (std::int64_t j0 = 0; j0 < p.Tk; j0 += kFlashBlockK) {
    const std::int64_t cols = std::min(kFlashBlockK, p.Tk - j0);
    if (p.all_masked(n, i0, rows, j0, cols)) continue;
    p.scores(n, i0, rows, j0, cols, s);
    for (std::int64_t r = 0; r < rows; ++r) {
      T* sr = s + r * cols;
      const T m_new = std::max(m[r], *std::max_element(sr, sr + cols));
      if (m_new == -kInf) {  // no key of this row seen yet: nothing to add
        std::fill(sr, sr + cols, T(0));
        continue;
      }
      // What was summed under the old max m is rescaled to the new one: e^(s - m_new) = e^(s - m) · α.
      const T alpha = std::exp(m[r] - m_new);  // 0 when m[r] = -inf
      for (std::int64_t col = 0; col < cols; ++col) sr[col] -= m_new;
      exp_row(sr, cols);  // e^(-inf) = 0 for masked keys
      l[static_cast<std::size_t>(r)] = l[static_cast<std::size_t>(r)] * static_cast<double>(alpha) +
                                       row_sum(cols, [&](std::int64_t t) { return static_cast<double>(sr[t]); });
      if (alpha != T(1)) {
        for (std::int64_t d = 0; d < p.Dv; ++d) o[r * p.Dv + d] *= alpha;
      }
      m[r] = m_new;
    }
    gemm_acc(rows, p.Dv, cols, s, cols, p.v + (n * p.Tk + j0) * p.Dv, p.Dv, o, p.Dv);  // O += P V
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const double sum = l[static_cast<std::size_t>(r)];
    T* y = out + (n * p.Tq + i0 + r) * p.Dv;
    // A row with every key masked: output 0 and logsumexp -inf (the composite's weights are all 0).
    for (std::int64_t d = 0; d < p.Dv; ++d) y[d] = sum > 0 ? static_cast<T>(o[r * p.Dv + d] / sum) : T(0);
    lse[n * p.Tq + i0 + r] = sum > 0 ? static_cast<T>(m[r] + std::log(sum)) : -kInf;
  }
}

// Batch row n whole: every block of queries against every block of keys, in order, so that dK and dV
// (summed over the query blocks) and dQ (over the key blocks) each add their terms in one fixed order.
template <class T>
void backward_batch(const Problem<T>& p, std::int64_t n, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                    T* dv, std::vector<T>& scratch) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const std::int64_t B = kFlashBlockQ * kFlashBlockK;
  scratch.resize(static_cast<std::size_t>(2 * B + p.Tq));  // each part written before it is read
  T* s = scratch.data();   // [rows, cols]: P
  T* dp = s + B;           // [rows, cols]: dP, then dS
  T* delta = dp + B;       // [Tq]: Δ_i = rowsum(dO ∘ O)_i
  const std::int64_t base_q = n * p.Tq, base_k = n * p.Tk;
  for (std::int64_t i = 0; i < p.Tq; ++i) {
    const T* a = out + (base_q + i) * p.Dv;
    const T* g = dout + (base_q + i) * p.Dv;
    delta[i] = static_cast<T>(row_sum(p.Dv, [&](std::int64_t d) { return static_cast<double>(a[d] * g[d]); }));
  }
  for (std::int64_t i0 = 0; i0 < p.Tq; i0 += kFlashBlockQ) {
    const std::int64_t rows = std::min(kFlashBlockQ, p.Tq - i0);
    const T* g = dout + (base_q + i0) * p.Dv;  // dO of this block [rows, Dv]
    for (std::int64_t j0 = 0; j0 < p.Tk; j0 += kFlashBlockK) {
      const std::int64_t cols = std::min(kFlashBlockK, p.Tk - j0);
      if (p.all_masked(n, i0, rows, j0, cols)) continue;
      // P = e^(S - L): the block's weights, recomputed from the saved logsumexp.
      p.scores(n, i0, rows, j0, cols, s);
      for (std::int64_t r = 0; r < rows; ++r) {
        T* sr = s + r * cols;
        const T L = lse[base_q + i0 + r];
        if (L == -kInf) {  // every key of the row masked: weights 0
          std::fill(sr, sr + cols, T(0));
          continue;
        }
        for (std::int64_t col = 0; col < cols; ++col) sr[col] -= L;
        exp_row(sr, cols);
      }
      const T* kj = p.k + (base_k + j0) * p.D;
      // dV_j += Pᵀ dO
      gemm_acc_ta(cols, p.Dv, rows, s, cols, g, p.Dv, dv + (base_k + j0) * p.Dv, p.Dv);
      // dP = dO Vᵀ
      std::fill(dp, dp + rows * cols, T(0));
      gemm_acc(rows, cols, p.Dv, g, p.Dv, p.block_of(p.vt, n, j0, p.Dv), kFlashBlockK, dp, cols);
      // c·dS = c·P ∘ (dP - Δ): the scale folded in here, once, for both products below
      for (std::int64_t r = 0; r < rows; ++r) {
        const T dr = delta[i0 + r];
        for (std::int64_t col = 0; col < cols; ++col) {
          dp[r * cols + col] = p.c * (s[r * cols + col] * (dp[r * cols + col] - dr));
        }
      }
      // dQ_i += c dS K_j    dK_j += c dSᵀ Q_i
      gemm_acc(rows, p.D, cols, dp, cols, kj, p.D, dq + (base_q + i0) * p.D, p.D);
      gemm_acc_ta(cols, p.D, rows, dp, cols, p.q + (base_q + i0) * p.D, p.D, dk + (base_k + j0) * p.D, p.D);
    }
  }
}

}  // namespace

void flash_attention_forward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask,
                             double scale, Tensor& out, Tensor& lse) {
  const Tensor q = contiguous_copy(q_in), k = contiguous_copy(k_in), v = contiguous_copy(v_in);
  dispatch_float("fused_attention", q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Problem<T> p = problem_of<T>(q, k, v, mask, scale, false);
    const std::int64_t blocks = (p.Tq + kFlashBlockQ - 1) / kFlashBlockQ;
    T* po = out.data<T>();
    T* pl = lse.data<T>();
    // Work: the products' multiply-adds, (D + Dv) per score.
    parallel_for(p.N * blocks, p.N * p.Tq * p.Tk * (p.D + p.Dv + 1), [&](std::int64_t first, std::int64_t last) {
      std::vector<T> scratch;
      for (std::int64_t t = first; t < last; ++t) forward_block(p, t / blocks, (t % blocks) * kFlashBlockQ, po, pl, scratch);
    });
  });
}

void flash_attention_backward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask,
                              double scale, const Tensor& out_in, const Tensor& lse_in, const Tensor& dout_in,
                              Tensor& dq, Tensor& dk, Tensor& dv) {
  const Tensor q = contiguous_copy(q_in), k = contiguous_copy(k_in), v = contiguous_copy(v_in);
  const Tensor out = contiguous_copy(out_in), lse = contiguous_copy(lse_in), dout = contiguous_copy(dout_in);
  fill(dq, 0.0);
  fill(dk, 0.0);
  fill(dv, 0.0);
  dispatch_float("fused_attention", q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Problem<T> p = problem_of<T>(q, k, v, mask, scale, true);
    parallel_for(p.N, p.N * p.Tq * p.Tk * (2 * p.D + 2 * p.Dv + 1), [&](std::int64_t first, std::int64_t last) {
      std::vector<T> scratch;
      for (std::int64_t n = first; n < last; ++n) {
        backward_batch(p, n, out.data<T>(), lse.data<T>(), dout.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>(),
                       scratch);
      }
    });
  });
}

}  // namespace attograd::backend
