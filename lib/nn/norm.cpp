#include "attograd/nn/norm.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/norm.hpp"

namespace attograd::nn {

LayerNorm::LayerNorm(const Shape& normalized_shape, LayerNormOptions options)
    : Module("LayerNorm"), normalized_shape_(normalized_shape), eps_(options.eps) {
  const bool sizes_ok = !normalized_shape.empty() &&
                        std::all_of(normalized_shape.begin(), normalized_shape.end(), [](auto d) { return d >= 1; });
  if (!sizes_ok) {
    throw ValueError(
        fmt::format("LayerNorm: normalized_shape needs at least one dim, each at least 1, got {}", normalized_shape));
  }
  if (!(std::isfinite(options.eps) && options.eps >= 0.0)) {
    throw ValueError(fmt::format("LayerNorm: eps must be finite and >= 0, got {}", options.eps));
  }
  if (!is_floating(options.dtype)) {
    throw DTypeError(fmt::format("LayerNorm: parameters must be floating point, got dtype {}", options.dtype));
  }
  if (options.elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape, {.dtype = options.dtype}));
    bias = register_parameter("bias", zeros(normalized_shape, {.dtype = options.dtype}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, normalized_shape_, weight, bias, eps_); }

std::string LayerNorm::describe() const {
  return fmt::format("shape={}, eps={}, affine={}", normalized_shape_, eps_, weight.defined());
}

}  // namespace attograd::nn
