#include "attograd/core/tensor.hpp"

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>

#include <fmt/format.h>

#include "attograd/core/errors.hpp"
#include "core/storage_cache.hpp"
#include "core/strided.hpp"
#include "core/dispatch.hpp"
#include "core/element_offset.hpp"

namespace attograd {

namespace detail {
void throw_undefined_tensor() {
  throw ValueError("tensor: this tensor is undefined (default-constructed, or a gradient not computed yet)");
}
void throw_dtype_mismatch(DType wanted, DType actual) {
  throw DTypeError(fmt::format("data: asked for {} elements of a {} tensor; ask for the tensor's own type, or "
                               "convert first with .to({})",
                               wanted, actual, constant_name(wanted)));
}
}  // namespace detail

void require_defined(std::string_view op, const Tensor& x, std::string_view which) {
  if (!x.defined()) {
    throw ValueError(fmt::format("{}: {} is an undefined tensor (default-constructed, or a gradient not computed "
                                 "yet)",
                                 op, which));
  }
}

// --- Storage -----------------------------------------------------------------------------------

// The bytes come from a per-thread cache of freed blocks (core/storage_cache.hpp).
Storage::Storage(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  data_ = storage_cache::allocate(bytes);
}

Storage::~Storage() { storage_cache::release(data_, bytes_); }

Tensor empty(const Shape& shape, DType dtype) {
  for (std::int64_t d : shape) {
    if (d < 0) throw ShapeError(fmt::format("empty: negative size in shape {}", shape));
  }
  // No allocation can exceed PTRDIFF_MAX bytes (pointer differences must fit). Checking here, before
  // anything is allocated, keeps a wrapped-around byte count from giving a huge shape a tiny buffer.
  constexpr auto kMaxBytes = static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max());
  const auto numel = static_cast<std::uint64_t>(checked_numel("empty", shape));
  const std::uint64_t size = element_size(dtype);
  if (numel > kMaxBytes / size) {
    throw ShapeError(fmt::format("empty: shape {} of {} needs {} elements of {} bytes, more than the {} bytes one "
                                 "allocation can hold",
                                 shape, dtype, numel, size, kMaxBytes));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(numel * size));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// --- shape queries -------------------------------------------------------------------------------

std::int64_t Tensor::size(std::int64_t dim) const {
  // normalize_dim lets ops take dim 0 of a rank-0 tensor, but there is no size to read there.
  if (this->dim() == 0) {
    throw IndexError(fmt::format("size: a tensor of rank 0 has no dims (asked for dim {})", dim));
  }
  return shape()[normalize_dim("size", dim, this->dim())];
}

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked();
  if (t.shape.numel() == 0) return true;  // no element, so no order to get wrong (as in PyTorch)
  std::int64_t expected = 1;
  for (int d = t.shape.rank() - 1; d >= 0; --d) {
    if (t.shape[d] == 1) continue;  // the stride of a size-1 dim never matters
    if (t.strides[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

// --- element access ----------------------------------------------------------------------------

namespace {

template <class To>
To read_as(std::string_view op, const TensorImpl& t, std::int64_t offset) {
  return dispatch_all(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    return checked_cast<To>(op, static_cast<const T*>(t.storage->data())[offset]);
  });
}

}  // namespace

template <ElementValue T>
T Tensor::item() const {
  const TensorImpl& t = checked();
  if (t.shape.numel() != 1) {
    throw ValueError(fmt::format("item: a tensor with {} elements (shape {}) has no single value; "
                                 "item() needs exactly one element",
                                 t.shape.numel(), t.shape));
  }
  // The one element sits at the offset whatever the strides.
  return read_as<T>("item", t, t.offset);
}

template <ElementValue T>
T Tensor::at(std::initializer_list<std::int64_t> index) const {
  const TensorImpl& t = checked();
  return read_as<T>("at", t, element_offset(t, "at", index));
}

// Tensor::set is an in-place update: it lives with the others, in lib/ops/inplace.cpp.

template <ElementValue To>
std::vector<To> Tensor::to_vector() const {
  const TensorImpl& t = checked();
  std::vector<To> out;
  out.reserve(static_cast<std::size_t>(t.shape.numel()));
  dispatch_all(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* base = static_cast<const T*>(t.storage->data()) + t.offset;
    for_each_run<1>(t.shape, {t.strides}, [&](auto off, std::int64_t n, auto step) {
      for (std::int64_t i = 0; i < n; ++i) out.push_back(checked_cast<To>("to_vector", base[off[0] + i * step[0]]));
    });
  });
  return out;
}

#define ATTOGRAD_INSTANTIATE_ACCESS(T)                                              \
  template T Tensor::item<T>() const;                                               \
  template T Tensor::at<T>(std::initializer_list<std::int64_t>) const;              \
  template std::vector<T> Tensor::to_vector<T>() const;
ATTOGRAD_INSTANTIATE_ACCESS(float)
ATTOGRAD_INSTANTIATE_ACCESS(double)
ATTOGRAD_INSTANTIATE_ACCESS(std::int64_t)
ATTOGRAD_INSTANTIATE_ACCESS(bool)
ATTOGRAD_INSTANTIATE_ACCESS(int)
#undef ATTOGRAD_INSTANTIATE_ACCESS

// --- autograd state ------------------------------------------------------------------------------

Tensor& Tensor::requires_grad_(bool on) {
  TensorImpl& t = checked();
  if (t.grad_fn) {
    throw AutogradError(
        "requires_grad_: only leaf tensors can change requires_grad; this tensor is the output of an op "
        "(use detach() to get a leaf)");
  }
  if (on && !is_floating(t.dtype)) {
    throw DTypeError(fmt::format("requires_grad_: only floating-point tensors can require gradients, got {}; convert "
                                 "first: x.to(kFloat32).requires_grad_()",
                                 t.dtype));
  }
  t.requires_grad = on;
  if (on && t.storage) t.storage->mark_leaf_requiring_grad();  // never unset: it only keeps a bf16 copy
  return *this;
}

Tensor Tensor::grad() const {
  const TensorImpl& t = checked();
  if (t.grad) return Tensor(t.grad);
  // PyTorch warns and returns None here; a warning is easy to miss and None fails later, far away, so
  // attograd refuses at once and says how to keep the gradient.
  if (t.grad_fn && !t.retains_grad) {
    const std::string who = t.name.empty() ? "this tensor" : fmt::format("'{}'", t.name);
    throw AutogradError(fmt::format(
        "grad: {} is an intermediate (the output of {}), and backward() keeps the gradients of leaves only; "
        "call retain_grad() on it before backward() to keep its gradient",
        who, grad_fn_name()));
  }
  return Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  TensorImpl& t = checked();
  if (!g.defined()) {
    t.grad.reset();
    return;
  }
  if (g.shape() != t.shape || g.dtype() != t.dtype) {
    const std::string message = fmt::format("set_grad: gradient {} {} does not match the tensor {} {}{}", g.shape(),
                                            g.dtype(), t.shape, t.dtype,
                                            g.dtype() != t.dtype ? fmt::format("; convert it with .to({})",
                                                                               constant_name(t.dtype))
                                                                 : std::string());
    if (g.shape() != t.shape) throw ShapeError(message);
    throw DTypeError(message);
  }
  // Backward adds into .grad in place: in an expand() view several elements share one location and
  // would each receive the sum.
  for (int d = 0; d < g.dim(); ++d) {
    if (g.strides()[d] == 0 && g.shape()[d] > 1) {
      throw ValueError(fmt::format("set_grad: the gradient (shape {}, strides {}) has several elements sharing "
                                   "one memory location (an expand() view); pass a clone()",
                                   g.shape(), g.strides()));
    }
  }
  t.grad = g.impl_ptr();
}

void Tensor::zero_grad() { checked().grad.reset(); }

Tensor& Tensor::retain_grad() {
  TensorImpl& t = checked();
  if (!t.requires_grad) {
    throw AutogradError("retain_grad: the tensor does not require grad, so it will never get a gradient");
  }
  t.retains_grad = true;
  return *this;
}

Tensor& Tensor::set_name(std::string name) {
  checked().name = std::move(name);
  return *this;
}

}  // namespace attograd

namespace attograd {

Tensor Tensor::detach() const {
  const TensorImpl& t = checked();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->shape = t.shape;
  impl->strides = t.strides;
  impl->offset = t.offset;
  impl->dtype = t.dtype;
  impl->name = t.name;
  return Tensor(std::move(impl));
}

}  // namespace attograd
