// Scaled dot-product attention, composed from matmul and softmax: no backward of its own. The
// scale and the mask are applied inside the softmax (ops/softmax_fused.hpp, whose oracle is the
// composite with mul and masked_fill). The lecture's derivation (dV = Aᵀ dY, the softmax Jacobian,
// dQ = c dS K, dK = c dSᵀ Q) is what the engine computes from those ops.
#include "attograd/ops/attention.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/linalg.hpp"
#include "attograd/ops/softmax.hpp"
#include "ops/attention_checks.hpp"
#include "ops/matmul_layout.hpp"
#include "ops/one_dtype.hpp"
#include "ops/softmax_fused.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Op;

// Attention is composed from matmul, softmax and masked_fill; its gradient is derived in one place.
constexpr std::string_view kDerivation = "attention.md#two-paths-from-the-input-to-the-output";

namespace {

constexpr std::string_view kOp = "scaled_dot_product_attention";

Shape batch_of(const Tensor& t) {
  Shape b;
  for (int d = 0; d + 2 < t.dim(); ++d) b.push_back(t.shape()[d]);
  return b;
}

void check_qk(const Tensor& q, const Tensor& k) {
  require_defined(kOp, q, "q");
  require_defined(kOp, k, "k");
  require_one_dtype(kOp, {{"q", q}, {"k", k}}, Holds::Inputs);
  if (q.dim() < 2 || k.dim() < 2) {
    throw ShapeError(fmt::format("{}: q and k need at least 2 dims [.., T, D], got q {} and k {}", kOp, q.shape(),
                                 k.shape()));
  }
  if (q.shape()[-1] != k.shape()[-1]) {
    throw ShapeError(fmt::format("{}: q and k must have the same last dim (the key size D), got q {} and k {}", kOp,
                                 q.shape(), k.shape()));
  }
  try {
    broadcast_shapes(kOp, batch_of(q), batch_of(k));
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("{}: the batch dims of q {} and k {} cannot be broadcast", kOp, q.shape(),
                                 k.shape()));
  }
}
// The scale c: the one given, which must be finite, or 1/sqrt(D).
double checked_scale(const Tensor& q, std::optional<double> scale) {
  const std::int64_t D = q.shape()[-1];
  if (scale && !std::isfinite(*scale)) {
    throw ValueError(fmt::format("{}: scale must be finite, got {}", kOp, *scale));
  }
  if (!scale && D == 0) {
    throw ShapeError(fmt::format("{}: the key size D (last dim of q {}) is 0, so the default scale 1/sqrt(D) is "
                                 "undefined",
                                 kOp, q.shape()));
  }
  return scale.value_or(1.0 / std::sqrt(static_cast<double>(D)));
}

// mask: bool, broadcastable to the scores [.., Tq, Tk] (each of its dims 1 or the scores' size).
void check_mask(const Tensor& mask, const Shape& scores) {
  if (!mask.defined()) return;
  if (mask.dtype() != kBool) {
    throw DTypeError(fmt::format("{}: the mask must be bool (true = masked), got {}; convert with .to(kBool)", kOp, mask.dtype()));
  }
  bool fits = mask.dim() <= scores.rank();
  for (int i = 1; fits && i <= mask.dim(); ++i) fits = mask.shape()[-i] == 1 || mask.shape()[-i] == scores[-i];
  if (!fits) {
    throw ShapeError(fmt::format("{}: the mask of shape {} does not broadcast to the attention scores' shape {} "
                                 "[.., Tq, Tk]",
                                 kOp, mask.shape(), scores));
  }
}

// v: one row per key, batch dims broadcastable with q's and k's.
void check_v(const Tensor& q, const Tensor& k, const Tensor& v) {
  require_defined(kOp, v, "v");
  require_one_dtype(kOp, {{"q", q}, {"k", k}, {"v", v}}, Holds::Inputs);
  if (v.dim() < 2 || v.shape()[-2] != k.shape()[-2]) {
    throw ShapeError(fmt::format("{}: v needs one row per key (dim -2 equal to k's), got k {} and v {}", kOp,
                                 k.shape(), v.shape()));
  }
  try {
    broadcast_shapes(kOp, broadcast_shapes(kOp, batch_of(q), batch_of(k)), batch_of(v));
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("{}: the batch dims of q {}, k {} and v {} cannot be broadcast", kOp, q.shape(),
                                 k.shape(), v.shape()));
  }
}

}  // namespace

double check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                       std::optional<double> scale) {
  check_qk(q, k);
  check_v(q, k, v);
  const double c = checked_scale(q, scale);
  Shape scores = broadcast_shapes(kOp, batch_of(q), batch_of(k));
  scores.push_back(q.shape()[-2]);
  scores.push_back(k.shape()[-2]);
  check_mask(mask, scores);
  return c;
}

const Op causal_mask_op({.name = "causal_mask", .gradient = Gradient::None, .rule = "bool output (a mask)"});
Tensor causal_mask(std::int64_t T) {
  if (T < 0) throw ValueError(fmt::format("causal_mask: the sequence length must be >= 0, got {}", T));
  const Tensor i = arange(static_cast<double>(T), {.dtype = kInt64}).reshape({T, 1});  // query positions
  const Tensor j = arange(static_cast<double>(T), {.dtype = kInt64}).reshape({1, T});  // key positions
  return gt(j, i);  // key after query: masked
}

// S = scale · Q Kᵀ    S' = S with -inf where mask    A = softmax(S') along the last dim
const Op attention_weights_op({.name = "attention_weights",
                               .gradient = Gradient::Composite,
                               .rule = "softmax(masked_fill(c Q·Kᵀ, mask, -inf))",
                               .derivation = kDerivation});
Tensor attention_weights(const Tensor& q, const Tensor& k, const Tensor& mask, std::optional<double> scale) {
  check_qk(q, k);
  const double c = checked_scale(q, scale);
  const Tensor scores = matmul(q, k.mT());  // [.., Tq, Tk], scaled in the softmax below
  check_mask(mask, scores.shape());
  // softmax(masked_fill(scores * c, mask, -inf), -1) as one op (ops/softmax_fused.hpp): -inf before the
  // softmax, so a masked key gets weight exactly 0 and each row still sums to 1 (zeroing after the
  // softmax would leave rows summing to less than 1).
  return scaled_masked_softmax(scores, mask, c);
}

// Y = A · V
const Op sdpa_op({.name = "scaled_dot_product_attention",
                  .gradient = Gradient::Composite,
                  .rule = "attention_weights(Q, K) · V",
                  .derivation = kDerivation});
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                          const Tensor& mask, std::optional<double> scale) {
  check_qk(q, k);
  check_v(q, k, v);
  Tensor weights = attention_weights(q, k, mask, scale);
  // Y in V's layout when they have one shape (self-attention): a head split's Y is then joined back
  // into [B, T, C] by a view, not a copy (ops/matmul_layout.hpp).
  Tensor output = matmul_laid_out_as(weights, v, v);
  return {std::move(output), std::move(weights)};
}

// Without the weights asked for, from 128 keys on (6·D for a head of D > 21: fused_attention_applies,
// where the measurement is), the same value computed block by block (attention_fused.cpp), which never
// holds the [.., Tq, Tk] weights; shorter sequences, where the composite is faster, and other dtypes
// take the composite, which names what is wrong.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    std::optional<double> scale) {
  if (fused_attention_applies(q, k, v)) return fused_attention(q, k, v, mask, scale);
  return scaled_dot_product_attention_with_weights(q, k, v, mask, scale).output;
}

}  // namespace attograd
