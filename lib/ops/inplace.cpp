// In-place updates: zero_, fill_, copy_, add_, mul_. autograd does not record them; instead they bump
// the storage's version, so that a graph which saved the old value refuses to run backward, and they
// refuse to touch a tensor that requires grad while grad mode is on.
#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "backend/basic.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Op;

namespace {

void check_writable(std::string_view op, const Tensor& t) {
  if (t.requires_grad() && GradMode::is_enabled()) {
    throw AutogradError(fmt::format("{}: in-place update of a tensor that requires grad (shape {}); autograd "
                                    "cannot record it. Wrap the update in a NoGradGuard (as optimisers do) or "
                                    "use the out-of-place op",
                                    op, t.shape()));
  }
  for (int d = 0; d < t.dim(); ++d) {
    if (t.strides()[d] == 0 && t.shape()[d] > 1) {
      throw ValueError(fmt::format("{}: the tensor (shape {}, strides {}) has several elements sharing one memory "
                                   "location (an expand() view); clone() it first",
                                   op, t.shape(), t.strides()));
    }
  }
}

void check_broadcasts(std::string_view op, const Tensor& dst, const Tensor& src) {
  if (broadcast_shapes(op, src.shape(), dst.shape()) != dst.shape()) {
    throw ShapeError(fmt::format("{}: source of shape {} does not broadcast to the destination's shape {}", op,
                                 src.shape(), dst.shape()));
  }
}

// A scalar written into an int64 tensor must lie in int64's range: converting inf, NaN or 1e19 is
// undefined behaviour. One that scales values (alpha, factor) must also be whole, or the truncation
// (0.5 to 0) would silently change the arithmetic.
void check_int64_scalar(std::string_view op, std::string_view what, const Tensor& t, double value, bool whole) {
  if (t.dtype() != kInt64) return;
  if (whole && value != std::trunc(value)) {
    throw ValueError(fmt::format("{}: {} {} is not a whole number, which an int64 tensor cannot use; convert the "
                                 "tensor with to(kFloat64) first",
                                 op, what, value));
  }
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (!(value >= -kTwoTo63 && value < kTwoTo63)) {
    throw ValueError(fmt::format("{}: {} {} does not fit in int64", op, what, value));
  }
}

// src itself, or a copy of it when it shares memory with dst (x.copy_(x.mT()) must read before writing).
Tensor without_overlap(const Tensor& dst, const Tensor& src) {
  if (dst.impl()->storage != src.impl()->storage) return src;
  return backend::copy(src, src.dtype());
}

// zero_ and fill_ share the work but each names itself in its errors.
void fill_checked(std::string_view op, Tensor& t, double value) {
  check_writable(op, t);
  check_int64_scalar(op, "value", t, value, false);
  backend::fill(t, value);
  t.impl()->storage->bump_version();
}

}  // namespace

// Not recorded: an optimiser's update is not part of the graph. Refused on a tensor that requires grad
// while grad mode is on (check_writable).
constexpr std::string_view kInPlace = "in-place update, not recorded";
const Op zero_op({.name = "zero_", .gradient = Gradient::None, .rule = kInPlace});
const Op fill_op({.name = "fill_", .gradient = Gradient::None, .rule = kInPlace});
const Op copy_op({.name = "copy_", .gradient = Gradient::None, .rule = kInPlace});
const Op add_in_place_op({.name = "add_", .gradient = Gradient::None, .rule = kInPlace});
const Op mul_in_place_op({.name = "mul_", .gradient = Gradient::None, .rule = kInPlace});

Tensor& Tensor::zero_() {
  fill_checked("zero_", *this, 0.0);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  fill_checked("fill_", *this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_writable("copy_", *this);
  check_broadcasts("copy_", *this, src);
  backend::copy_into(*this, without_overlap(*this, src));
  impl()->storage->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_writable("add_", *this);
  check_broadcasts("add_", *this, other);
  if (other.dtype() != dtype()) {
    throw DTypeError(fmt::format("add_: dtypes differ: tensor {} vs other {}", dtype(), other.dtype()));
  }
  check_int64_scalar("add_", "alpha", *this, alpha, true);
  backend::add_into(*this, without_overlap(*this, other), alpha);
  impl()->storage->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  check_writable("mul_", *this);
  check_int64_scalar("mul_", "factor", *this, factor, true);
  backend::scale_into(*this, factor);
  impl()->storage->bump_version();
  return *this;
}

}  // namespace attograd
