// In-place updates: zero_, fill_, copy_, add_, mul_ and set. autograd does not record them; instead they
// bump the storage's version, so that a graph which saved the old value refuses to run backward, and
// they refuse to touch a tensor that requires grad while grad mode is on (check_writable).
#include <cmath>

#include <fmt/format.h>

#include "attograd/autograd/grad_mode.hpp"
#include "attograd/autograd/op_registry.hpp"
#include "attograd/core/errors.hpp"
#include "attograd/core/factories.hpp"
#include "backend/basic.hpp"
#include "core/dispatch.hpp"
#include "core/element_offset.hpp"

namespace attograd {

using autograd::Gradient;
using autograd::Op;

namespace {

// Refuses a write autograd could not account for. While grad mode is on: into a leaf that requires
// grad (an optimiser's update belongs in a NoGradGuard), or into a value a graph was computed from,
// whose gradient would then silently be that of the old value. At any time: into an expand() view,
// whose elements share one memory location.
void check_writable(std::string_view op, const Tensor& t) {
  if (t.requires_grad() && GradMode::is_enabled()) {
    if (t.is_leaf()) {
      throw AutogradError(fmt::format("{}: in-place update of {} that requires grad (shape {}); autograd does not "
                                      "record in-place updates. Wrap the update in a NoGradGuard (as optimisers "
                                      "do), or update a copy: x.detach().clone()",
                                      op, t.name().empty() ? "a leaf" : fmt::format("leaf '{}'", t.name()),
                                      t.shape()));
    }
    throw AutogradError(fmt::format("{}: in-place update of the output of '{}' (shape {}), which is part of a graph "
                                    "that requires grad; autograd does not record in-place updates, so the "
                                    "gradient would be wrong. Compute the new value out of place (where, "
                                    "masked_fill), or update a copy cut from the graph, x.detach().clone(), if no "
                                    "gradient should flow through it",
                                    op, t.grad_fn_name(), t.shape()));
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
const Op set_op({.name = "set", .gradient = Gradient::None, .rule = kInPlace});

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
    throw DTypeError(fmt::format("add_: dtypes differ: tensor {} vs other {}; convert other with .to({})", dtype(),
                                 other.dtype(), constant_name(dtype())));
  }
  check_int64_scalar("add_", "alpha", *this, alpha, true);
  backend::add_into(*this, without_overlap(*this, other), alpha);
  impl()->storage->bump_version();
  return *this;
}

Tensor& Tensor::add_(double value) {
  check_int64_scalar("add_", "value", *this, value, true);
  return add_(scalar_tensor(value, {.dtype = dtype()}));
}

Tensor& Tensor::mul_(double factor) {
  check_writable("mul_", *this);
  check_int64_scalar("mul_", "factor", *this, factor, true);
  backend::scale_into(*this, factor);
  impl()->storage->bump_version();
  return *this;
}

// One element, by index (negative counts from the end). A float that int64 cannot hold is refused.
void Tensor::set(std::initializer_list<std::int64_t> index, double value) {
  check_writable("set", *this);
  TensorImpl& t = *impl();
  const std::int64_t offset = element_offset(t, "set", index);
  dispatch_all(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(t.storage->data())[offset] = checked_cast<T>("set", value);
  });
  t.storage->bump_version();
}

}  // namespace attograd
