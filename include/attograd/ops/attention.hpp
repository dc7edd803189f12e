/// \file
/// Scaled dot-product attention and the causal mask.
///
/// \code
/// Tensor q = ..., k = ..., v = ...;                        // [B, H, T, D] each (or any [.., T, D])
/// Tensor y = scaled_dot_product_attention(q, k, v);        // [B, H, T, D]
/// Tensor c = scaled_dot_product_attention(q, k, v, causal_mask(T));   // position i sees j <= i only
/// AttentionResult r = scaled_dot_product_attention_with_weights(q, k, v, causal_mask(T));
/// fmt::print("{}\n", r.weights);                           // [B, H, T, T], each row sums to 1
/// \endcode
///
/// Without its weights asked for, scaled_dot_product_attention runs fused_attention from 128 keys on
/// (and 6·D for a head of D > 21 dims): the same value, computed block by block as FlashAttention does,
/// so that no [.., Tq, Tk] tensor is ever stored (its memory grows with T, not T²; docs/performance.md,
/// "Long sequences"); shorter sequences, where the composite is faster, take it. Asking for the weights
/// (_with_weights, or recording in an attention module) keeps the composite below, whose every step
/// a picture can show.
///
/// Written from primitives (matmul, mul, masked_fill, softmax, matmul), so its gradient comes from
/// theirs; see the lecture's slides on self-attention, scaling (slide 14) and masking (slides 42-45).
///
/// MASK CONVENTION: true = masked = "may not attend". This is attograd's masked_fill convention and
/// that of PyTorch's nn.MultiheadAttention; PyTorch's F.scaled_dot_product_attention uses the opposite
/// one for bool masks (true = may attend), so invert a mask written for it.
#pragma once

#include <cstdint>
#include <optional>

#include "attograd/core/tensor.hpp"

namespace attograd {

/// bool [T, T], true where j > i (key j comes after query i: masked). Row i has i + 1 false entries.
/// \code
/// causal_mask(3) = [[false, true,  true ],
///                   [false, false, true ],
///                   [false, false, false]]
/// \endcode
Tensor causal_mask(std::int64_t T);

/// The attention weights alone:
/// A = softmax(scale · Q Kᵀ, with -inf where mask is true) along the last dim
/// Q [.., Tq, D]  K [.., Tk, D]  A [.., Tq, Tk]; batch dims broadcast as in matmul.
/// mask: optional bool, broadcastable to [.., Tq, Tk], true = masked. A fully masked row gets weights 0
/// (softmax's convention; PyTorch gives NaN there).
/// scale: default 1/sqrt(D), D the size of one query (per head: the last dim of q, not the model width).
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& mask = {},
                         std::optional<double> scale = std::nullopt);

/// Y = A · V    with A = attention_weights(Q, K, mask, scale)
/// Q [.., Tq, D]  K [.., Tk, D]  V [.., Tk, Dv]  Y [.., Tq, Dv]
/// dV = Aᵀ dY    dA = dY Vᵀ    dS = A * (dA - rowsum(dA * A))    dQ = scale dS K    dK = scale dSᵀ Q
/// (each from the primitive that computes that step)
/// float64, and float32 outside the bf16 matmul mode, run fused_attention (below) from Tk >= max(128, 6·D)
/// on, where it measured faster; else the composite.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                                    std::optional<double> scale = std::nullopt);

/// The same Y, fused: for each block of queries, an online softmax over the blocks of keys keeps a
/// running max m and sum l per row; L = m + log l (the row's logsumexp) and Y are all it saves.
/// Backward recomputes each block's weights P = e^(S - L) and, with Δ = rowsum(dY ∘ Y),
/// \code
/// dV = Pᵀ dY    dS = P ∘ (dY Vᵀ - Δ)    dQ = scale dS K    dK = scale dSᵀ Q
/// \endcode
/// (docs/derivations/attention_fused.md). Same arguments, checks, errors and mask meaning as
/// scaled_dot_product_attention; a fully masked row gives 0, as there. float32 or float64 only.
Tensor fused_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {},
                       std::optional<double> scale = std::nullopt);

/// What scaled_dot_product_attention_with_weights returns: the output and the attention weights.
struct AttentionResult {
  Tensor output;   ///< Y [.., Tq, Dv]
  Tensor weights;  ///< A [.., Tq, Tk]: part of the graph, so a loss may use it too
};

/// The same, also returning the attention weights (for pictures, or for a loss on them).
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                          const Tensor& mask = {},
                                                          std::optional<double> scale = std::nullopt);

}  // namespace attograd
