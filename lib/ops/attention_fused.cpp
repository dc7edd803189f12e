// fused_attention: scaled dot-product attention as one op with a backward of its own, computed block
// by block (backend/flash_attention.hpp) so that neither the scores nor the weights [.., Tq, Tk] are
// ever stored. Its oracle is the composite scaled_dot_product_attention_with_weights
// (tests/ops/test_attention_fused.cpp); docs/derivations/attention_fused.md derives the backward.
#include <algorithm>
#include <utility>

#include "attograd/autograd/node.hpp"
#include "attograd/autograd/op_registry.hpp"
#include "attograd/backend/settings.hpp"
#include "attograd/ops/attention.hpp"
#include "attograd/ops/shape_ops.hpp"
#include "backend/flash_attention.hpp"
#include "ops/attention_checks.hpp"

namespace attograd {

using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

namespace {

Shape batch_of(const Tensor& t) {
  Shape b;
  for (int d = 0; d + 2 < t.dim(); ++d) b.push_back(t.shape()[d]);
  return b;
}

// x [.., R, C] with its batch dims broadcast to `batch`, by the expand op (whose backward sums the
// gradient back to x's shape), or x itself when they already are.
Tensor with_batch(const Tensor& x, const Shape& batch) {
  if (batch_of(x) == batch) return x;
  Shape to = batch;
  to.push_back(x.shape()[-2]);
  to.push_back(x.shape()[-1]);
  return expand(x, to);
}

}  // namespace

bool fused_attention_applies(const Tensor& q, const Tensor& k, const Tensor& v) {
  if (!q.defined() || !k.defined() || !v.defined() || q.dim() < 2 || k.dim() < 2) return false;
  const DType t = q.dtype();
  if (k.dtype() != t || v.dtype() != t) return false;
  // The bf16 mode rounds the products' operands to bfloat16 (backend/settings.hpp); the fused kernel's
  // products are float32 loops of its own, so in that mode the composite keeps the mode's meaning.
  if (t != kFloat64 && (t != kFloat32 || matmul_precision() != MatmulPrecision::Strict)) return false;
  // Only where it pays: the fused kernel saves the passes over the [.., Tq, Tk] scores and weights, but
  // computes Q·Kᵀ twice, on products slower than oneDNN's (no FMA) below 64 dims per head and on small
  // blocks of oneDNN from 64 on, and a block holds all the keys of a short sequence. bench/attention_crossover measured forward + backward against the composite
  // (docs/performance.md, "Long sequences", "Where the fused path starts to pay"): below 128 keys the
  // fused path was slower at every head size without a mask (from D = 16 with a causal one), and its
  // products' share grows with D, so a larger head needs more keys: from max(128, 6·D) on it was as
  // fast or faster for D = 8 to 32, causal or not (at D = 64 as fast causal, a third slower unmasked,
  // where the memory saved is worth it). Below that length the weights are small anyway (a [T, T]
  // float32 per head: 64 KB at T = 128).
  // Shapes alone decide, never the machine or the thread count, so a run's bits do not change.
  const std::int64_t keys = k.shape()[-2], head = q.shape()[-1];
  return keys >= std::max(kFusedAttentionMinKeys, kFusedAttentionKeysPerDim * head);
}

// Y = softmax(c Q Kᵀ, masked) V, saving Y and L = logsumexp of each row of c Q Kᵀ (masked)
// P = e^(c Q Kᵀ - L)   Δ = rowsum(dY ∘ Y)   dV = Pᵀ dY   dS = P ∘ (dY Vᵀ - Δ)   dQ = c dS K   dK = c dSᵀ Q
const Op fused_attention_op({.name = "fused_attention",
                             .rule = "dQ = c G·K   dK = c Gᵀ·Q   dV = Pᵀ·dY   with P = e^(c Q·Kᵀ - L) recomputed "
                                     "and G = P * (dY·Vᵀ - rowsum(dY * Y))",
                             .derivation = "attention_fused.md#the-backward-from-y-and-l-alone"});
Tensor fused_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& mask,
                       std::optional<double> scale) {
  const double c = check_attention(q_in, k_in, v_in, mask, scale);
  const Shape batch = broadcast_shapes("fused_attention", broadcast_shapes("fused_attention", batch_of(q_in),
                                                                           batch_of(k_in)),
                                       batch_of(v_in));
  const Tensor q = with_batch(q_in, batch), k = with_batch(k_in, batch), v = with_batch(v_in, batch);
  Shape y_shape = batch, l_shape = batch;
  y_shape.push_back(q.shape()[-2]);
  y_shape.push_back(v.shape()[-1]);
  l_shape.push_back(q.shape()[-2]);
  Tensor y = empty(y_shape, q.dtype());  // Y [.., Tq, Dv]
  Tensor l = empty(l_shape, q.dtype());  // L [.., Tq]: all the backward keeps of the softmax
  backend::flash_attention_forward(q, k, v, mask, c, y, l);
  if (Node* node = record(fused_attention_op, y, {q, k, v})) {
    // The mask is read, never written, by both passes; it is kept as given (a [T, T] causal mask is
    // T² bytes, not the weights' B·H·T² numbers).
    node->backward = [Q = node->save(q), K = node->save(k), V = node->save(v), Y = node->save(y),
                      L = node->save(l), mask, c](const Tensor& dY, Grads& d) {
      Tensor dq = empty(Q.shape(), Q.dtype()), dk = empty(K.shape(), K.dtype()), dv = empty(V.shape(), V.dtype());
      backend::flash_attention_backward(Q, K, V, mask, c, Y, L, dY, dq, dk, dv);
      if (d.wanted(0)) d[0] = std::move(dq);
      if (d.wanted(1)) d[1] = std::move(dk);
      if (d.wanted(2)) d[2] = std::move(dv);
    };
  }
  return y;
}

}  // namespace attograd
