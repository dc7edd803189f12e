/// \file
/// Layer normalisation as a module.
///
/// \code
/// LayerNorm ln{C};                          // over the last dim: weight ones [C], bias zeros [C]
/// Tensor y = ln(x);                         // x [B, T, C]: each [C] vector mean 0, variance 1
/// LayerNorm plain{C, {.elementwise_affine = false}};  // no parameters
/// LayerNorm grid{{T, C}, {.eps = 1e-6}};    // over the last two dims
/// \endcode
#pragma once

#include <cstdint>
#include <string>

#include "attograd/core/dtype.hpp"
#include "attograd/core/shape.hpp"
#include "attograd/core/tensor.hpp"
#include "attograd/nn/module.hpp"

namespace attograd::nn {

/// Options of LayerNorm.
struct LayerNormOptions {
  double eps = 1e-5;  ///< added to the variance
  bool elementwise_affine = true;  ///< learn a per-element scale (weight) and shift (bias)
  DType dtype = kFloat32;  ///< of the parameters
};

/// Over the last dims of X, which must equal normalized_shape (attograd::layer_norm, ops/norm.hpp):
/// \code
/// Y = (X - mean) / sqrt(var + eps) * weight + bias
/// \endcode
/// weight starts as ones and bias as zeros, so that a new LayerNorm only normalises.
class LayerNorm : public Module {
 public:
  /// normalises over the trailing dims of that shape, with a learned weight and bias of that shape
  LayerNorm(const Shape& normalized_shape, LayerNormOptions options = {});
  /// over the last dim, of size dim
  LayerNorm(std::int64_t dim, LayerNormOptions options = {}) : LayerNorm(Shape{dim}, options) {}

  Tensor forward(const Tensor& x) const;  ///< X [..., normalized_shape] to Y of the same shape
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)
  std::string describe() const override;

  const Shape& normalized_shape() const { return normalized_shape_; }  ///< the trailing dims it normalises
  double eps() const { return eps_; }  ///< added to the variance

  Tensor weight;  ///< normalized_shape; undefined without elementwise_affine
  Tensor bias;    ///< normalized_shape; undefined without elementwise_affine

 private:
  Shape normalized_shape_;
  double eps_;
};

}  // namespace attograd::nn
