// SelfAttention and MultiHeadSelfAttention: composites of linear, matmul, masked_fill and softmax, with
// no backward of their own (docs/derivations/attention.md follows the gradient through them).
#include "attograd/nn/attention.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/linalg.hpp"
#include "attograd/ops/softmax.hpp"
#include "ops/one_dtype.hpp"
#include "nn/residual.hpp"

namespace attograd::nn {

namespace {

// A sequence [T, C] or a batch of them [B, T, C], of floating dtype.
void check_sequence(std::string_view op, const Tensor& x) {
  if (x.dim() != 2 && x.dim() != 3) {
    throw ShapeError(fmt::format("{}: expected an input [T, C] or [B, T, C], got shape {}", op, x.shape()));
  }
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("{}: expected a floating-point input, got {}; convert with .to(kFloat32)", op, x.dtype()));
  }
}

// Checked before the projections are made, so that the errors name this module and the head split.
std::int64_t checked_emb(std::int64_t emb, std::int64_t heads) {
  if (emb <= 0 || heads <= 0) {
    throw ValueError(fmt::format("MultiHeadSelfAttention: emb and heads must be positive, got emb {} and heads {}",
                                 emb, heads));
  }
  if (emb % heads != 0) {
    throw ValueError(fmt::format("MultiHeadSelfAttention: emb {} is not divisible by heads {}: each head gets "
                                 "emb / heads dimensions",
                                 emb, heads));
  }
  return emb;
}

}  // namespace

// S = c·Q Kᵀ    S' = S with -inf where j > i (causal)    A = softmax(S')    Y = A V
// Q, K, V [B, H, T, D]    S, A [B, H, T, T]    Y [B, H, T, D]
AttentionResult AttentionModule::attend(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                        bool causal) const {
  Tensor scores = matmul(q, k.mT());
  // The basic form has no scale: leave out a multiplication by 1, so that its graph is the lecture's
  // "two matrix products and a softmax".
  if (scale != 1.0) scores = scores * scale;
  if (causal) {
    // -inf before the softmax, not 0 after it: masked weights are then exactly 0 and each row still
    // sums to 1 (lecture slides 42-45).
    scores = masked_fill(scores, causal_mask(q.size(-2)), -std::numeric_limits<double>::infinity());
  }
  Tensor weights = softmax(scores, -1);
  if (recording_) {
    if (scores.requires_grad()) {
      scores.retain_grad();
      weights.retain_grad();
    }
    record_ = {scores, weights};
  }
  return {matmul(weights, v), weights};
}

Tensor AttentionModule::attend_output(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                                      bool causal) const {
  if (recording_) return attend(q, k, v, scale, causal).output;
  // Nobody looks at the weights: scaled_dot_product_attention computes them block by block and never
  // stores them (fused_attention; docs/performance.md, "Long sequences"), the same Y up to rounding,
  // once the sequence is long enough for that to pay (128 keys, more for heads over 21 dims).
  return scaled_dot_product_attention(q, k, v, causal ? causal_mask(q.size(-2)) : Tensor(), scale);
}

// --- SelfAttention -------------------------------------------------------------------------------

SelfAttention::SelfAttention(SelfAttentionOptions options) : AttentionModule("SelfAttention"), options_(options) {}

std::string SelfAttention::describe() const {
  return fmt::format("scaled={}, causal={}", options_.scaled, options_.causal);
}

// W' = X Xᵀ (· 1/sqrt(C))    W = softmax(W')    Y = W X        X [B, T, C] seen as one head [B, 1, T, C]
AttentionResult SelfAttention::run(const Tensor& x, bool with_weights) const {
  check_sequence("SelfAttention", x);
  const std::int64_t C = x.size(-1);
  if (options_.scaled && C == 0) {
    throw ShapeError(fmt::format("SelfAttention: the vectors of input {} are empty, so the scale 1/sqrt(C) is "
                                 "undefined",
                                 x.shape()));
  }
  const bool batched = x.dim() == 3;
  const Tensor xs = (batched ? x : x.unsqueeze(0)).unsqueeze(1);  // [B, 1, T, C]
  const double scale = options_.scaled ? 1.0 / std::sqrt(static_cast<double>(C)) : 1.0;
  // Query, key and value are all X itself: the weights are derived from the inputs, not learned.
  AttentionResult r = with_weights ? attend(xs, xs, xs, scale, options_.causal)
                                   : AttentionResult{attend_output(xs, xs, xs, scale, options_.causal), Tensor()};
  r.output = r.output.squeeze(1);
  if (with_weights) r.weights = r.weights.squeeze(1);
  if (!batched) {
    r.output = r.output.squeeze(0);
    if (with_weights) r.weights = r.weights.squeeze(0);
  }
  return r;
}

AttentionResult SelfAttention::forward_with_weights(const Tensor& x) const { return run(x, true); }
Tensor SelfAttention::forward(const Tensor& x) const { return run(x, false).output; }

// --- MultiHeadSelfAttention ----------------------------------------------------------------------

MultiHeadSelfAttention::MultiHeadSelfAttention(std::int64_t emb, std::int64_t heads,
                                               MultiHeadSelfAttentionOptions options)
    : AttentionModule("MultiHeadSelfAttention"),
      // Registered (and so drawn from the generator) in the order query, key, value, out, each weight
      // before its bias.
      query(checked_emb(emb, heads), emb, {.bias = options.bias, .generator = options.generator}),
      key(emb, emb, {.bias = options.bias, .generator = options.generator}),
      value(emb, emb, {.bias = options.bias, .generator = options.generator}),
      out(emb, emb, {.bias = options.out_bias, .generator = options.generator}),
      emb_(emb),
      heads_(heads),
      causal_(options.causal) {
  register_module("query", query);
  register_module("key", key);
  register_module("value", value);
  register_module("out", out);
}

std::string MultiHeadSelfAttention::describe() const {
  return fmt::format("emb={}, heads={}, head_size={}, bias={}, out_bias={}, causal={}", emb_, heads_, head_size(),
                     query.has_bias(), out.has_bias(), causal_);
}

AttentionResult MultiHeadSelfAttention::run(const Tensor& x, bool with_weights, const Tensor& residual) const {
  constexpr std::string_view kOp = "MultiHeadSelfAttention";
  check_sequence(kOp, x);
  if (x.size(-1) != emb_) {
    throw ShapeError(fmt::format("{}: expected inputs of {} features (emb), got shape {}", kOp, emb_, x.shape()));
  }
  // Checked here, before the projections, so that the message names this module.
  require_one_dtype(kOp, {{"input", x}, {"parameters", query.weight}}, Holds::InputAndParameters);
  const bool batched = x.dim() == 3;
  const Tensor xb = batched ? x : x.unsqueeze(0);  // [B, T, C]
  const std::int64_t B = xb.size(0), T = xb.size(1), H = heads_, D = head_size();

  // [B, T, C] -> [B, T, H, D] -> [B, H, T, D]: head h owns dims h·D .. h·D + D - 1 of each projection.
  auto split_heads = [&](const Tensor& t) { return t.reshape({B, T, H, D}).transpose(1, 2); };
  const Tensor q = split_heads(query(xb));
  const Tensor k = split_heads(key(xb));
  const Tensor v = split_heads(value(xb));

  // Per head: each dot product has D terms, so 1/sqrt(D) brings its variance back to about 1
  // (lecture slide 14; docs/derivations/attention.md, "Why scale by 1/√C").
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  AttentionResult r = with_weights ? attend(q, k, v, scale, causal_)
                                   : AttentionResult{attend_output(q, k, v, scale, causal_), Tensor()};

  // [B, H, T, D] -> [B, T, H, D] -> [B, T, C]: the heads side by side again, then mixed by Wo.
  Tensor joined = r.output.transpose(1, 2).reshape({B, T, emb_});
  if (!batched) {
    joined = joined.squeeze(0);
    if (with_weights) r.weights = r.weights.squeeze(0);
  }
  // The residual, when there is one, is added by Wo's product: the sum R + (Z Woᵀ + bo), in one pass.
  Tensor y = residual.defined() ? linear_add(joined, out.weight, out.bias, residual) : out(joined);
  return {std::move(y), std::move(r.weights)};
}

AttentionResult MultiHeadSelfAttention::forward_with_weights(const Tensor& x) const { return run(x, true); }
Tensor MultiHeadSelfAttention::forward(const Tensor& x) const { return run(x, false).output; }

Tensor MultiHeadSelfAttention::forward_add(const Tensor& x, const Tensor& residual) const {
  check_residual("MultiHeadSelfAttention::forward_add", x, residual);
  return run(x, false, residual).output;
}

}  // namespace attograd::nn
