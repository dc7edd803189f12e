// layer_norm, composed from primitives: the first version the style guide asks for. Its gradient
// comes from mean, sub, mul, sqrt and div; a fused kernel would have to keep this as its oracle.
#include "attograd/ops/norm.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/ops/elementwise.hpp"
#include "attograd/ops/reduction.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Op;

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
  if (!p.is_floating_point()) {
    throw DTypeError(fmt::format("layer_norm: {} must be a floating-point tensor, got {}", what, p.dtype()));
  }
}

}  // namespace

// mu = mean(X)    Xc = X - mu    var = mean(Xc^2)    Y = Xc / sqrt(var + eps) * weight + bias
// (over the last normalized_shape.rank() dims; every derivative comes from the primitives)
const Op layer_norm_op({.name = "layer_norm",
                        .gradient = Gradient::Composite,
                        .rule = "(X - mean) / sqrt(var + eps) * weight + bias",
                        .derivation = "norm.md"});
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("layer_norm: expected a floating-point input, got {}", x.dtype()));
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
  if (!(eps >= 0.0) || !std::isfinite(eps)) {
    throw ValueError(fmt::format("layer_norm: eps must be finite and >= 0, got {}", eps));
  }

  Shape dims;  // the last k dims
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
