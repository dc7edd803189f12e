/// \file
/// The transformer block, self-attention then a feed-forward layer, each
/// wrapped in a residual connection and a layer norm, in either of the lecture's two orders.
///
/// \code
/// TransformerBlock block(64, 4);                                    // post-norm, as the companion code
/// TransformerBlock gpt(64, 4, {.order = NormOrder::PreNorm, .causal = true,
///                              .activation = FeedForwardActivation::GELU});
/// Tensor y = block(x);                                              // x [B, T, 64] -> y [B, T, 64]
/// block.attn.record();                                              // look at what it attended to
/// \endcode
///
/// The block maps a sequence to a sequence of the same shape, so blocks stack (ModuleList in
/// attograd/nn/models.hpp). Attention is the only place where positions exchange information; the
/// feed-forward layer works on each position alone. Lecture 10: Transformers, MLVU, the block slide.
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/attention.hpp"
#include "attograd/nn/dropout.hpp"
#include "attograd/nn/feedforward.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/nn/norm.hpp"

namespace attograd::nn {

/// Where the layer norms sit relative to the residual connections.
enum class NormOrder {
  PostNorm,  ///< after each residual add: the blog post and the companion code (and the original paper)
  PreNorm,   ///< before each sublayer, inside its residual branch: the lecture's block slide (and GPT-2)
};

/// Options of TransformerBlock.
struct TransformerBlockOptions {
  NormOrder order = NormOrder::PostNorm;  ///< where the layer norms sit
  bool causal = false;             ///< output i sees inputs j <= i only (a generator's blocks)
  std::int64_t hidden_mult = 4;    ///< the feed-forward layer's hidden width, in multiples of emb
  FeedForwardActivation activation = FeedForwardActivation::ReLU;  ///< the feed-forward nonlinearity
  double dropout = 0.0;            ///< on each sublayer's output before its residual add (training only)
  bool attention_bias = false;     ///< biases on the query, key and value projections
  bool attention_out_bias = true;  ///< a bias on the attention's output projection
  Generator* generator = nullptr;  ///< initial values and dropout masks; nullptr: the default generator
};

/// X [B, T, C] (or one sequence [T, C]) -> Y the same shape. With a = attn, f = ff, d = dropout:
/// \code
/// post-norm:  H = norm1(X + d(a(X)))         Y = norm2(H + f(H))
/// pre-norm:   H = X + d(a(norm1(X)))         Y = H + f(norm2(H))
/// \endcode
/// f applies its own dropout (ff.dropout, the same p) to its output. Post-norm's output is normalised;
/// pre-norm's residual stream is not, which is why a pre-norm model ends with a LayerNorm of its own.
/// Parameters: attention 4C² + C (+ 3C with attention_bias), feed-forward 2hC² + hC + C, two layer
/// norms 2C each; for h = 4 and the default biases, 12C² + 10C.
class TransformerBlock : public Module {
 public:
  /// emb must be a multiple of heads
  TransformerBlock(std::int64_t emb, std::int64_t heads, TransformerBlockOptions options = {});

  Tensor forward(const Tensor& x) const;  ///< X [B, T, C] or [T, C] to Y of the same shape
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  NormOrder order() const { return order_; }  ///< where its layer norms sit
  std::int64_t emb() const { return attn.emb(); }  ///< C

  MultiHeadSelfAttention attn;  ///< the attention sublayer
  LayerNorm norm1;  ///< post-norm: after the attention's residual add; pre-norm: on the attention's input
  FeedForward ff;  ///< the feed-forward sublayer
  LayerNorm norm2;  ///< post-norm: after the feed-forward's residual add; pre-norm: on its input
  Dropout dropout;  ///< on the attention's output (the feed-forward has its own)

 private:
  Tensor attention_add(const Tensor& x, const Tensor& residual) const;  // residual + dropout(attn(x))
  NormOrder order_;
};

/// The order's name: "post-norm" or "pre-norm".
std::string to_string(NormOrder order);

}  // namespace attograd::nn
