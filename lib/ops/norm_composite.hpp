// Internal: layer_norm composed from mean, sub, mul, sqrt and div, with no backward of its own. The
// fused layer_norm (lib/ops/norm.cpp) is checked against it (tests/backend/test_norm.cpp) and falls
// back to it when weight or bias has another dtype than the input.
#pragma once

#include "attograd/core/shape.hpp"
#include "attograd/core/tensor.hpp"

namespace attograd {

// layer_norm's arguments, already checked by layer_norm.
Tensor layer_norm_composite(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                            double eps);

}  // namespace attograd
