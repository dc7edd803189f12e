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
#include "backend/flash_onednn.hpp"
#include "backend/flash_products.hpp"
#include "backend/row_sum.hpp"
#include "backend/threads.hpp"
#include "core/dispatch.hpp"
#include "core/strided.hpp"

namespace attograd::backend {

namespace {

// The products (flash_products.hpp) want their right operand row-major along the output's columns, so
// Kᵀ (and in backward Vᵀ) is made once per call, block by block: dst [N, blocks, C, kFlashBlockK] from src
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
  FlashProductF32 product = nullptr;   // float32's products: oneDNN's or ours (flash_onednn.hpp)

  // C = (accumulate ? C : 0) + op(A)·B, op(A) = A or the stored Aᵀ (ta): float32 through `product`,
  // float64 through gemm_acc.
  void mm(bool ta, bool accumulate, std::int64_t m, std::int64_t n, std::int64_t kk, const T* a, std::int64_t lda,
          const T* b, std::int64_t ldb, T* c, std::int64_t ldc) const {
    if constexpr (std::is_same_v<T, float>) {
      product(ta, accumulate, m, n, kk, a, lda, b, ldb, c, ldc);
    } else {
      if (!accumulate) {
        for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
      }
      if (ta) {
        gemm_acc_ta(m, n, kk, a, lda, b, ldb, c, ldc);
      } else {
        gemm_acc(m, n, kk, a, lda, b, ldb, c, ldc);
      }
    }
  }

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
    mm(false, false, rows, cols, D, q + (n * Tq + i0) * D, D, block_of(kt, n, j0, D), kFlashBlockK, s, cols);
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
                      bool with_vt, FlashProductF32 product) {
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
  p.product = product != nullptr ? product : flash_product_for(p.D, p.Dv);  // by the head's size
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
void forward_block(const Problem<T>& p, std::int64_t n, std::int64_t i0, T* out, T* lse, std::vector<T>& scratch,
                   std::vector<double>& l) {
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const std::int64_t rows = std::min(kFlashBlockQ, p.Tq - i0);
  scratch.resize(static_cast<std::size_t>(rows * (kFlashBlockK + p.Dv + 1)));
  T* s = scratch.data();                   // [rows, cols]: the block's scores, then its weights
  T* o = s + rows * kFlashBlockK;          // [rows, Dv]: the unnormalised output
  T* m = o + rows * p.Dv;                  // [rows]: the running max
  std::fill(o, o + rows * p.Dv, T(0));
  l.assign(static_cast<std::size_t>(rows), 0.0);  // the running sum of e^(s - m), in the task's own buffer
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
    p.mm(false, true, rows, p.Dv, cols, s, cols, p.v + (n * p.Tk + j0) * p.Dv, p.Dv, o, p.Dv);  // O += P V
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
      p.mm(true, true, cols, p.Dv, rows, s, cols, g, p.Dv, dv + (base_k + j0) * p.Dv, p.Dv);
      // dP = dO Vᵀ
      p.mm(false, false, rows, cols, p.Dv, g, p.Dv, p.block_of(p.vt, n, j0, p.Dv), kFlashBlockK, dp, cols);
      // c·dS = c·P ∘ (dP - Δ): the scale folded in here, once, for both products below
      for (std::int64_t r = 0; r < rows; ++r) {
        const T dr = delta[i0 + r];
        for (std::int64_t col = 0; col < cols; ++col) {
          dp[r * cols + col] = p.c * (s[r * cols + col] * (dp[r * cols + col] - dr));
        }
      }
      // dQ_i += c dS K_j    dK_j += c dSᵀ Q_i
      p.mm(false, true, rows, p.D, cols, dp, cols, kj, p.D, dq + (base_q + i0) * p.D, p.D);
      p.mm(true, true, cols, p.D, rows, dp, cols, p.q + (base_q + i0) * p.D, p.D, dk + (base_k + j0) * p.D, p.D);
    }
  }
}

}  // namespace

void flash_attention_forward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask,
                             double scale, Tensor& out, Tensor& lse, FlashProductF32 product) {
  const Tensor q = contiguous_copy(q_in), k = contiguous_copy(k_in), v = contiguous_copy(v_in);
  dispatch_float("fused_attention", q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Problem<T> p = problem_of<T>(q, k, v, mask, scale, false, product);
    const std::int64_t blocks = (p.Tq + kFlashBlockQ - 1) / kFlashBlockQ;
    T* po = out.data<T>();
    T* pl = lse.data<T>();
    // Work: the products' multiply-adds, (D + Dv) per score.
    parallel_for(p.N * blocks, p.N * p.Tq * p.Tk * (p.D + p.Dv + 1), [&](std::int64_t first, std::int64_t last) {
      std::vector<T> scratch;
      std::vector<double> l;
      for (std::int64_t t = first; t < last; ++t) {
        forward_block(p, t / blocks, (t % blocks) * kFlashBlockQ, po, pl, scratch, l);
      }
    });
  });
}

void flash_attention_backward(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask,
                              double scale, const Tensor& out_in, const Tensor& lse_in, const Tensor& dout_in,
                              Tensor& dq, Tensor& dk, Tensor& dv, FlashProductF32 product) {
  const Tensor q = contiguous_copy(q_in), k = contiguous_copy(k_in), v = contiguous_copy(v_in);
  const Tensor out = contiguous_copy(out_in), lse = contiguous_copy(lse_in), dout = contiguous_copy(dout_in);
  fill(dq, 0.0);
  fill(dk, 0.0);
  fill(dv, 0.0);
  dispatch_float("fused_attention", q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Problem<T> p = problem_of<T>(q, k, v, mask, scale, true, product);
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
