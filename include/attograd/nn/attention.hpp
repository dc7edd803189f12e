/// \file
/// The lecture's two self-attention layers, with a record of what they
/// attended to.
///
/// \code
/// SelfAttention basic;                              // no parameters: the weights come from the inputs
/// Tensor y = basic.forward(x);                      // x [B, T, C] -> y [B, T, C]
/// MultiHeadSelfAttention attn(8, 2, {.causal = true});
/// attn.record(true);                                // keep scores and weights of each forward
/// attn.forward(x).sum().backward();
/// fmt::print("{}\n", attn.recorded().weights.grad());   // [B, H, T, T]: dL/dA of the last forward
/// \endcode
///
/// Both are written from primitives (linear, matmul, masked_fill, softmax), so the gradient through the
/// derived weights comes from theirs: docs/derivations/attention.md. Shape letters: docs/conventions.md
/// (the lecture's k is C). Lecture 10: Transformers, MLVU: slides 1-9 (the basic form), 14 (the scale),
/// 15-20 (keys, queries, values and heads), 42-45 (the causal mask).
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/random.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/linear.hpp"
#include "attograd/nn/module.hpp"
#include "attograd/ops/attention.hpp"

namespace attograd::nn {

/// What an attention module keeps from its last forward while recording (attention inspection).
/// Both tensors are [B, H, T, T] whatever the input's rank: an unbatched input has B = 1, SelfAttention
/// has H = 1. Row i of a map belongs to output (query) i, column j to input (key) j.
struct AttentionRecord {
  /// S = c·Q Kᵀ, with -inf where the causal mask hides a key: the softmax's input.
  Tensor scores;
  /// A = softmax(S) along the last dim: each row sums to 1; masked entries are exactly 0.
  Tensor weights;

  bool empty() const { return !weights.defined(); }  ///< nothing recorded yet
  /// dL/dS and dL/dA after a backward from some L through the recorded forward; undefined before that,
  /// and when the forward did not require grad (no_grad, or an input and module that need none).
  Tensor scores_grad() const { return scores.defined() ? scores.grad() : Tensor(); }
  /// \copydoc scores_grad
  Tensor weights_grad() const { return weights.defined() ? weights.grad() : Tensor(); }
};

/// The part both modules share: the attention step itself, and recording it.
class AttentionModule : public Module {
 public:
  using Module::Module;  ///< the module's type name, as Module's constructor takes it

  /// While on, each forward replaces the record with its scores and weights and marks them to keep
  /// their gradients (retain_grad). The record holds the last recorded forward's graph alive until the
  /// next recorded forward or clear_record(); turning recording off keeps the last record.
  void record(bool on = true) { recording_ = on; }
  bool recording() const { return recording_; }  ///< whether forwards are being recorded
  /// the last recorded forward's scores and weights
  const AttentionRecord& recorded() const { return record_; }
  void clear_record() { record_ = {}; }  ///< drops the record (and the graph it held alive)

 protected:
  /// Y = softmax(c·Q Kᵀ, masked) V    Q, K, V [B, H, T, D]  Y [B, H, T, D]; weights [B, H, T, T].
  /// Composed from matmul, mul, masked_fill and softmax (the same steps as attention_weights in
  /// attograd/ops/attention.hpp), spelled out here so that the scores can be recorded.
  AttentionResult attend(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal) const;
  /// The same step when the caller wants no weights: Y alone. While recording it is attend's output;
  /// otherwise scaled_dot_product_attention, which runs fused_attention (attograd/ops/attention.hpp) and
  /// stores no [B, H, T, T] tensor.
  Tensor attend_output(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal) const;

 private:
  bool recording_ = false;
  // Written by the (const) forward: an observation of the computation, not part of the module's state.
  mutable AttentionRecord record_;
};

/// Options of SelfAttention.
struct SelfAttentionOptions {
  bool scaled = false;  ///< divide the dot products by sqrt(C) (the lecture's basic form does not)
  bool causal = false;  ///< output i sees inputs j <= i only
};

/// The basic, parameter-free self-attention of the lecture's first slides:
/// \code
/// W' = X Xᵀ (· 1/sqrt(C) when scaled)    W = softmax over each row    Y = W X
/// X [T, C] or [B, T, C]    W [B, T, T]    Y the shape of X
/// \endcode
/// Every output is a weighted sum of all inputs, with weights derived from the inputs, so X reaches Y
/// along two paths: the values (linear) and the weights (through the softmax). It has no parameters.
class SelfAttention : public AttentionModule {
 public:
  /// projections of size emb, with the options' biases and causality
  explicit SelfAttention(SelfAttentionOptions options = {});

  Tensor forward(const Tensor& x) const;  ///< X [B, T, C] or [T, C] to Y of the same shape
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  /// The output and the weights W: [T, T] for an input [T, C], [B, T, T] for [B, T, C].
  AttentionResult forward_with_weights(const Tensor& x) const;

  const SelfAttentionOptions& options() const { return options_; }  ///< as constructed
  std::string describe() const override;

 private:
  AttentionResult run(const Tensor& x, bool weights) const;  // weights: computed and returned
  SelfAttentionOptions options_;
};

/// Options of MultiHeadSelfAttention.
struct MultiHeadSelfAttentionOptions {
  bool bias = false;        ///< biases on the query, key and value projections
  bool out_bias = true;     ///< a bias on the output projection
  bool causal = false;      ///< output i sees inputs j <= i only
  Generator* generator = nullptr;  ///< for the initial weights; the default generator when null
};

/// Multi-head self-attention with learned projections (lecture slides 15-20):
/// \code
/// Q = query(X)   K = key(X)   V = value(X)                      X [B, T, C]   each [B, T, C]
/// split C into H heads of D = C / H:                            each [B, H, T, D]
/// A = softmax(Q Kᵀ / sqrt(D), masked)   per head                  A [B, H, T, T]
/// Y = out(concat over heads (A V))                                Y [B, T, C]
/// \endcode
/// The scale uses the head size D, not C: the companion code's old bug divided by sqrt(C), a different
/// function whose gradients are still right for it (so only a forward value can catch it).
/// The four projections are Linear submodules, C -> C: query, key and value with a bias when
/// options.bias, out with one when options.out_bias. Their parameters read `query.weight`, `out.bias`,
/// and inside a model `blocks.0.attn.query.weight`. So 3C² (+ 3C) for the projections, C² + C for the
/// output. Initialised as PyTorch's Linear: every value uniform in [-1/sqrt(C), 1/sqrt(C)].
/// Inputs [T, C] are treated as one sequence (B = 1) and give [T, C].
class MultiHeadSelfAttention : public AttentionModule {
 public:
  /// emb must be a multiple of heads (ValueError otherwise): each head works in emb / heads dims.
  MultiHeadSelfAttention(std::int64_t emb, std::int64_t heads, MultiHeadSelfAttentionOptions options = {});

  Tensor forward(const Tensor& x) const;  ///< X [B, T, C] or [T, C] to Y of the same shape
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  /// The output and the weights A: [B, H, T, T] for an input [B, T, C], [H, T, T] for [T, C].
  AttentionResult forward_with_weights(const Tensor& x) const;
  /// residual + forward(x), the same values and gradients bit for bit, with the residual added by the
  /// output projection's product (linear_add) instead of a pass of its own: a block's residual
  /// connection. residual has x's shape (ShapeError otherwise).
  Tensor forward_add(const Tensor& x, const Tensor& residual) const;

  std::int64_t emb() const { return emb_; }  ///< C, the embedding size
  std::int64_t heads() const { return heads_; }  ///< H, the number of heads
  std::int64_t head_size() const { return emb_ / heads_; }  ///< D = C / H
  bool causal() const { return causal_; }  ///< whether output i sees inputs j <= i only
  std::string describe() const override;

  Linear query;  ///< C -> C: Q = X Wqᵀ (+ bq)
  Linear key;    ///< C -> C: K = X Wkᵀ (+ bk)
  Linear value;  ///< C -> C: V = X Wvᵀ (+ bv)
  Linear out;    ///< C -> C: mixes the concatenated heads, Y = Z Woᵀ + bo

 private:
  // weights: computed and returned; residual: when defined, added by the output projection
  AttentionResult run(const Tensor& x, bool weights, const Tensor& residual = {}) const;
  std::int64_t emb_;
  std::int64_t heads_;
  bool causal_;
};

}  // namespace attograd::nn
