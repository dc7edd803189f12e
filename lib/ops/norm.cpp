// layer_norm: one kernel forward and one backward (backend/norm.cpp), with its derivative below the
// forward. The first version, composed from mean, sub, mul, sqrt and div, stays as
// layer_norm_composite: the fused kernel's oracle in the tests, and the path for n = 0.
#include "attograd/ops/norm.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"
#include "attograd/autograd/node.hpp"
#include "backend/norm.hpp"
#include "ops/norm_composite.hpp"
#include "ops/one_dtype.hpp"

namespace attograd {

using autograd::Grads;
using autograd::Node;
using autograd::Op;
using autograd::record;

namespace {

// The trailing dims of shape that normalized_shape names, as text for messages: [*, 3, 4].
std::string star_shape(const Shape& normalized_shape) {
  return fmt::format("[*, {}]", fmt::join(normalized_shape.begin(), normalized_shape.end(), ", "));
}

void check_affine(std::string_view what, const Tensor& p, const Shape& normalized_shape) {
  if (!p.defined()) return;
  if (p.shape() != normalized_shape) {
    throw ShapeError(fmt::format("layer_norm: {} has shape {} but normalized_shape is {}; they must be equal", what,
                                 p.shape(), normalized_shape));
  }
}

}  // namespace

// mu = mean(X)    Xc = X - mu    var = mean(Xc^2)    rstd = 1 / sqrt(var + eps)
// Y = Xc rstd * weight + bias      (over the last normalized_shape.rank() dims, n values per row)
const Op layer_norm_op({.name = "layer_norm",
                        .rule = "dX = r (G - mean(G) - Xhat mean(G Xhat))   dW = sum(dY Xhat)   dB = sum(dY)   "
                                "(G = dY W, Xhat = (X - mu) r, r = 1 / sqrt(var + eps))",
                        .derivation = "layer_norm.md#backward"});
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("layer_norm: expected a floating-point input, got {}; convert with .to(kFloat32)", x.dtype()));
  }
  if (normalized_shape.empty()) {
    throw ShapeError("layer_norm: normalized_shape must name at least one dim, got []");
  }
  const int k = normalized_shape.rank();
  bool fits = k <= x.dim();
  for (int i = 1; fits && i <= k; ++i) fits = x.shape()[-i] == normalized_shape[-i];
  if (!fits) {
    throw ShapeError(fmt::format("layer_norm: normalized_shape {} expects an input of shape {}, got {}",
                                 normalized_shape, star_shape(normalized_shape), x.shape()));
  }
  check_affine("weight", weight, normalized_shape);
  check_affine("bias", bias, normalized_shape);
  // One dtype for the input and the affine parameters, as for linear: a float32 LayerNorm does not
  // silently turn a float64 input's result into float64 (docs/conventions.md, "Dtypes").
  require_one_dtype("layer_norm", {{"input", x}, {"weight", weight}, {"bias", bias}}, Holds::InputAndParameters);
  if (!(eps >= 0.0) || !std::isfinite(eps)) {
    throw ValueError(fmt::format("layer_norm: eps must be finite and >= 0, got {}", eps));
  }

  const std::int64_t n = normalized_shape.numel();
  if (n == 0) return layer_norm_composite(x, normalized_shape, weight, bias, eps);  // no values to normalise

  const Tensor xc = x.contiguous();
  const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor y = empty(x.shape(), x.dtype());
  Tensor mu = empty({x.numel() / n}, x.dtype());
  Tensor rstd = empty({x.numel() / n}, x.dtype());
  backend::layer_norm_forward(xc, w, bias.defined() ? bias.contiguous() : Tensor(), eps, y, mu, rstd);
  // Xhat = (X - mu) rstd    G = dY weight
  // dX = rstd (G - mean(G) - Xhat mean(G Xhat))    dweight = sum dY Xhat    dbias = sum dY
  // (means over each row of n, sums over the rows; docs/derivations/layer_norm.md)
  if (Node* node = record(layer_norm_op, y, {x, weight, bias})) {
    node->backward = [X = node->save(xc), Mu = node->save(mu), R = node->save(rstd),
                      W = w.defined() ? node->save(w) : Tensor(), ns = normalized_shape](const Tensor& dY, Grads& d) {
      Tensor dX = d.wanted(0) ? empty(X.shape(), X.dtype()) : Tensor();
      Tensor dW = d.wanted(1) ? empty(ns, X.dtype()) : Tensor();
      Tensor dB = d.wanted(2) ? empty(ns, X.dtype()) : Tensor();
      backend::layer_norm_backward(dY.contiguous(), X, Mu, R, W, dX.defined() ? &dX : nullptr,
                                   dW.defined() ? &dW : nullptr, dB.defined() ? &dB : nullptr);
      d[0] = dX;
      d[1] = dW;
      d[2] = dB;
    };
  }
  return y;
}

// The same from primitives, each derivative from theirs.
Tensor layer_norm_composite(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                            double eps) {
  Shape dims;  // the last k dims
  const int k = normalized_shape.rank();
  for (int d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor mu = mean(x, dims, true);
  const Tensor xc = x - mu;
  const Tensor var = mean(xc * xc, dims, true);  // biased: divides by the count, not count - 1
  Tensor y = xc / sqrt(var + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

}  // namespace attograd
