#include "attograd/nn/linear.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/linalg.hpp"

namespace attograd::nn {

Linear::Linear(std::int64_t in, std::int64_t out, LinearOptions options) : Module("Linear") {
  if (in < 1 || out < 1) {
    throw ValueError(fmt::format("Linear: in and out must be at least 1, got in={}, out={}", in, out));
  }
  if (!is_floating(options.dtype)) {
    throw DTypeError(fmt::format("Linear: parameters must be floating point, got dtype {}", options.dtype));
  }
  Generator& gen = options.generator != nullptr ? *options.generator : default_generator();
  // Each output unit sums `in` products: scaling the range by 1/sqrt(in) keeps its variance
  // independent of the layer's width.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", uniform({out, in}, -bound, bound, gen, {.dtype = options.dtype}));
  if (options.bias) bias = register_parameter("bias", uniform({out}, -bound, bound, gen, {.dtype = options.dtype}));
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

std::string Linear::describe() const {
  return fmt::format("in={}, out={}, bias={}", in_features(), out_features(), has_bias());
}

}  // namespace attograd::nn
