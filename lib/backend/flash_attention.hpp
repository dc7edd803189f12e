// Internal: attention without its [Tq, Tk] weights in memory, the way FlashAttention computes it. No
// graph: lib/ops/attention_fused.cpp wraps these in an op. docs/performance.md ("Long sequences")
// draws the blocks; docs/derivations/attention_fused.md derives the backward.
//
//   forward:  for each block of queries, walk the blocks of keys keeping per row the running max m,
//             the running sum l of e^(s - m) and the unnormalised output; at the end O = O / l and
//             L = m + log l (the row's logsumexp) is kept for backward.
//   backward: each block's weights are recomputed, P = e^(S - L), and nothing [Tq, Tk] is read.
//
// Tensors: q [.., Tq, D], k [.., Tk, D], v [.., Tk, Dv], all with the same batch dims ".." (N rows of
// batch in all). out [.., Tq, Dv] and lse [.., Tq] are written (contiguous, q's dtype, float32 or
// float64). mask: bool, broadcast to [.., Tq, Tk], true = masked; or undefined for none. A row whose
// keys are all masked gets output 0, logsumexp -inf, and gradient 0 (what softmax gives it).
//
// Threads: the forward splits (batch, block of queries) pairs, the backward splits the batch; each
// output element is computed by one thread in one fixed order, so the bits do not depend on the thread
// count. float64's products, and float32's for heads under 64 dims, are loops of our own, vectorised
// across the output's columns: no sum is reassociated, so every SIMD width gives the same bits too.
// float32 heads of 64 dims and more use oneDNN's (flash_onednn.hpp: faster there), each block product
// on one thread: the same bits at any thread count, not across SIMD widths.
#pragma once

#include <cstdint>

#include "attograd/core/tensor.hpp"

namespace attograd::backend {

// Rows of queries and of keys in one block. 64 x 64 scores of float32 are 16 KB: with the key block
// and its values they stay in the L1 and L2 caches while a block is worked on.
inline constexpr std::int64_t kFlashBlockQ = 64;
inline constexpr std::int64_t kFlashBlockK = 64;

// One float32 block product: C[m, n] = (accumulate ? C : 0) + op(A)·B, row-major with leading dims
// lda, ldb, ldc; op(A) = A [m, kk], or with a_transposed the stored [kk, m] read as its transpose.
// Called from several threads at once, each on its own block. Null (the default) takes the one
// flash_product_for(D, Dv) picks by the head's size (flash_onednn.hpp: oneDNN's from 64 dims, ours
// below); bench/flash_block_products.cpp passes each in turn, flash_product_ours (flash_products.hpp)
// and flash_product_onednn, to measure the choice (docs/performance.md, "Block products: ours or
// oneDNN's").
using FlashProductF32 = void (*)(bool a_transposed, bool accumulate, std::int64_t m, std::int64_t n,
                                 std::int64_t kk, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                                 float* c, std::int64_t ldc);

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale,
                             Tensor& out, Tensor& lse, FlashProductF32 product = nullptr);

// dq, dk, dv: contiguous, shaped as q, k, v, overwritten.
void flash_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale,
                              const Tensor& out, const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, FlashProductF32 product = nullptr);

}  // namespace attograd::backend
