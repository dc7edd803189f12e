// dropout, composed from primitives: a random mask of 0 and 1/(1-p), then a mul. The mul's gradient
// (dX = dY * mask) is exactly dropout's, so dropout needs no backward of its own.
#include "attograd/ops/dropout.hpp"

#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "attograd/ops/compare.hpp"
#include "attograd/ops/elementwise.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Op;

// Y = X * M / (1 - p)    dX = dY * M / (1 - p)    (from mul)
const Op dropout_op({.name = "dropout",
                     .gradient = Gradient::Composite,
                     .rule = "X * mask, mask 0 or 1/(1 - p)",
                     .derivation = "elementwise.md#the-four-operations"});
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw ValueError(fmt::format("dropout: probability p must be between 0 and 1, got {}", p));
  }
  if (!x.is_floating_point()) {
    throw DTypeError(fmt::format("dropout: expected a floating-point tensor, got {}; convert with .to(kFloat32)", x.dtype()));
  }
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * zeros(x.shape(), {.dtype = x.dtype()});  // everything dropped; no 1/0 scale

  // Uniform numbers in float64 whatever x's dtype, so that the mask for a seed does not depend on it.
  const Tensor keep = ge(rand(x.shape(), gen, {.dtype = kFloat64}), p);  // true with probability 1 - p
  const Tensor mask = where(keep, scalar_tensor(1.0 / (1.0 - p), {.dtype = x.dtype()}), 0.0);
  return x * mask;
}

Tensor dropout(const Tensor& x, double p, bool training) { return dropout(x, p, training, default_generator()); }

}  // namespace attograd
